from tests.fixtures_pg import postgres_url  # noqa: F401
from tests.storage.conftest import backend, db_url, storage  # noqa: F401
