"""The site node's storage: one object owning the engine and the repositories.

storage = await Storage.open(url)          # runs the migrations first
await storage.calls.upsert_call(cdr)
view = await storage.customers.by_caller_number("+49 30 1234567")
await storage.close()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from site_node.storage.admin import StatsRepository
from site_node.storage.agent_sessions import AgentSessionRepository
from site_node.storage.audit import AuditRepository
from site_node.storage.calls import CallRepository, EventInput
from site_node.storage.customers import CustomerRepository
from site_node.storage.directory import DirectoryRepository
from site_node.storage.engine import check_url, create_engine, session_factory
from site_node.storage.errors import translate_errors
from site_node.storage.flows import FlowRepository
from site_node.storage.hashing import DEMO_ACCOUNT_SALT
from site_node.storage.media import CallbackRepository, RecordingRepository, VoicemailRepository
from site_node.storage.migrate import migrate as run_migrations
from site_node.storage.records import CallDetailRecord


class CallStore(Protocol):
    """What a call driver needs from storage (an in-memory fake can stand in for unit tests)."""

    async def upsert_call(self, record: CallDetailRecord | Mapping[str, Any]) -> None: ...

    async def append_events(self, call_id: str, events: Sequence[EventInput]) -> list[int]: ...


class Storage:
    def __init__(self, engine: AsyncEngine, *, account_salt: bytes = DEMO_ACCOUNT_SALT, site: str = "") -> None:
        self.engine = engine
        sessions = session_factory(engine)
        self.calls = CallRepository(sessions)
        self.customers = CustomerRepository(sessions, account_salt)
        self.directory = DirectoryRepository(sessions)
        self.flows = FlowRepository(sessions)
        self.recordings = RecordingRepository(sessions)
        self.voicemail = VoicemailRepository(sessions)
        self.callbacks = CallbackRepository(sessions)
        self.audit = AuditRepository(sessions, site=site)  # entries name the site they happen at
        self.stats = StatsRepository(sessions)
        self.agent_sessions = AgentSessionRepository(sessions)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        account_salt: bytes = DEMO_ACCOUNT_SALT,
        site: str = "",
        app_role: str | None = None,
        **engine_options: Any,
    ) -> Storage:
        """Migrate the database to the newest schema (unless told not to) and connect;
        ``site`` names this site in its audit entries, ``app_role`` is the PostgreSQL role the
        application runs as (see :mod:`site_node.storage.append_only`)."""
        checked = check_url(url)
        if migrate:
            await run_migrations(checked, app_role=app_role)
        storage = cls(create_engine(checked, **engine_options), account_salt=account_salt, site=site)
        await storage.ping()
        return storage

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> None:
        """Raise :class:`~site_node.storage.errors.StorageUnavailable` if unreachable."""
        async with translate_errors("ping"), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Storage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
