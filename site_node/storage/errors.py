"""Errors of the storage feature (stable ``error_id``\\s, see :mod:`cluster.errors`)::

    CallCenterError
    └── StorageError                 storage.error          500
        ├── SensitiveDataRejected    storage.sensitive_data 422 (PIN, password, full number)
        ├── UnknownField             storage.unknown_field  400 (a key that is not a column)
        ├── NotFound                 storage.not_found      404
        ├── Conflict                 storage.conflict       409 (a concurrent write won)
        ├── StorageUnavailable       storage.unavailable    503 (database down / locked)
        ├── MigrationFailed          storage.migration_failed 500
        ├── SchemaNotCurrent         storage.schema_not_current 503 (migrate_on_start off, not migrated)
        └── OfflineSqlUnsupported    storage.offline_sql_unsupported 400 (``--sql`` for SQLite)

SQLAlchemy's exceptions are translated into these by :func:`translate_errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc

from cluster.errors import CallCenterError


class StorageError(CallCenterError):
    error_id = "storage.error"
    status = 500


class SensitiveDataRejected(StorageError):
    """Raised before anything is written when data carries a PIN, password or full number."""

    error_id = "storage.sensitive_data"
    status = 422


class UnknownField(StorageError):
    error_id = "storage.unknown_field"
    status = 400


class NotFound(StorageError):
    error_id = "storage.not_found"
    status = 404


class Conflict(StorageError):
    error_id = "storage.conflict"
    status = 409


class StorageUnavailable(StorageError):
    error_id = "storage.unavailable"
    status = 503


class MigrationFailed(StorageError):
    error_id = "storage.migration_failed"
    status = 500


class SchemaNotCurrent(StorageError):
    """The database is not at this build's schema and the site was told not to migrate it."""

    error_id = "storage.schema_not_current"
    status = 503


class OfflineSqlUnsupported(StorageError):
    error_id = "storage.offline_sql_unsupported"
    status = 400


@asynccontextmanager
async def translate_errors(what: str) -> AsyncIterator[None]:
    """Translate SQLAlchemy's exceptions raised inside the block into storage errors."""
    try:
        yield
    except CallCenterError:
        raise
    except sa_exc.IntegrityError as exc:
        raise Conflict(f"{what}: a conflicting row exists ({exc.orig})", operation=what) from exc
    except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError) as exc:
        raise StorageUnavailable(f"{what}: the database is not reachable or busy ({exc})", operation=what) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StorageError(f"{what}: {exc}", operation=what) from exc
