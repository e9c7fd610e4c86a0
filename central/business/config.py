"""The ``business`` section: where the business database lives (``CC_BUSINESS__DATABASE_URL``)."""

from __future__ import annotations

from pydantic import Field

from cluster.config import Section


class BusinessConfig(Section):
    # None: a SQLite file ``business.db`` in the central's data directory (shared by the replicas)
    database_url: str | None = None
    data_dir: str = "./data"
    # the keyed hash of account numbers: a deployment secret shared with the sites
    account_salt: str = "callcenter-demo-account-salt"
    migrate_on_start: bool = True
    seed_demo: bool = False  # load the demo bank's customers on start (callcenter demo)
    max_page: int = Field(default=100, ge=1, le=1000)
