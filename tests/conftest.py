"""Root conftest: shared fixtures are plugins, so every test folder sees them."""

pytest_plugins = ["tests.fixtures_etcd", "tests.fixtures_pg"]
