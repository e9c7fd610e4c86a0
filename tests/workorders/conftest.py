from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from central.business.db import migrate
from central.workorders.attachments import AttachmentFiles
from central.workorders.calendar import ALWAYS_OPEN
from central.workorders.service import WorkOrders
from central.workorders.store import WorkOrderStore
from cluster.clock import ManualClock
from site_node.storage.engine import create_engine
from tests.fixtures_pg import create_database, drop_database, postgres_url  # noqa: F401

START = 1_796_000_000.0


async def make_service(url: str, tmp_path: Path, clock: ManualClock) -> WorkOrders:
    await migrate(url)  # the business database's own migrations (customers, work orders, notifications)
    engine = create_engine(url)
    return WorkOrders(WorkOrderStore(engine), clock, AttachmentFiles(tmp_path / "attachments"), calendar=ALWAYS_OPEN)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def service(tmp_path: Path, clock: ManualClock) -> AsyncIterator[WorkOrders]:
    svc = await make_service(f"sqlite+aiosqlite:///{tmp_path / 'business.db'}", tmp_path, clock)
    yield svc
    await svc.store.engine.dispose()
