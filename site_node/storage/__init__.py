"""Site-node storage: SQLAlchemy 2 (async) models, repositories, Alembic migrations, demo data.

Public surface::

    Storage.open(url) -> Storage      migrate + connect; .calls .customers .directory .flows
                                      .recordings .voicemail .callbacks .audit .stats
    migrate(url)                      programmatic ``alembic upgrade head``
    database_url(url, data_dir=, site=)  configured URL or sqlite+aiosqlite:///<dir>/<site>.db
    seed_site(url, site)              demo bank data (see :mod:`site_node.storage.seed`)

Errors: :mod:`site_node.storage.errors` (``storage.*`` error ids).
"""

from site_node.storage.engine import database_url, default_database_url
from site_node.storage.errors import (
    Conflict,
    MigrationFailed,
    NotFound,
    SensitiveDataRejected,
    StorageError,
    StorageUnavailable,
    UnknownField,
)
from site_node.storage.migrate import current_revision, head_revision, migrate
from site_node.storage.records import (
    AccountView,
    AgentSessionRecord,
    AgentView,
    AuditRecord,
    CallbackRequest,
    CallDetailRecord,
    CallEventRecord,
    CustomerView,
    DispositionRecord,
    FlowVersion,
    KpiAggregate,
    QueueView,
    RecordingMeta,
    VoicemailMessage,
)
from site_node.storage.store import CallStore, Storage

__all__ = [
    "AccountView",
    "AgentSessionRecord",
    "AgentView",
    "AuditRecord",
    "CallDetailRecord",
    "CallEventRecord",
    "CallStore",
    "CallbackRequest",
    "Conflict",
    "CustomerView",
    "DispositionRecord",
    "FlowVersion",
    "KpiAggregate",
    "MigrationFailed",
    "NotFound",
    "QueueView",
    "RecordingMeta",
    "SensitiveDataRejected",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "UnknownField",
    "VoicemailMessage",
    "current_revision",
    "database_url",
    "default_database_url",
    "head_revision",
    "migrate",
]
