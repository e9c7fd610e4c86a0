"""The audit table is append-only for the application (D3): triggers refuse UPDATE, DELETE
(and on PostgreSQL TRUNCATE) for everyone, and on PostgreSQL the application's database role,
when it is not the role that owns and migrates the schema, holds only INSERT and SELECT on it
(a role that does not own the table cannot disable its triggers either).

The application role comes from ``migrate(url, app_role=...)`` (a site passes its
``site.database_app_role``), ``alembic -x app_role=NAME``, or ``CC_SITE__DATABASE_APP_ROLE``.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

APP_ROLE_ENV = "CC_SITE__DATABASE_APP_ROLE"
MESSAGE = "audit_log is append-only"

SQLITE_TRIGGERS = {
    "audit_log_no_update": f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    "audit_log_no_delete": f"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
}
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$"
)
PG_TRIGGERS = {
    "audit_log_no_change": "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "audit_log_no_truncate": "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
}


def create_triggers(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(PG_FUNCTION))
        for sql in PG_TRIGGERS.values():
            connection.execute(text(sql))
    else:
        for sql in SQLITE_TRIGGERS.values():
            connection.execute(text(sql))


def drop_triggers(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for name in PG_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON audit_log"))
        connection.execute(text("DROP FUNCTION IF EXISTS audit_log_append_only()"))
    else:
        for name in SQLITE_TRIGGERS:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def configured_app_role(attributes: dict[str, Any], x_arguments: dict[str, str]) -> str | None:
    return attributes.get("app_role") or x_arguments.get("app_role") or os.environ.get(APP_ROLE_ENV) or None


def grant_append_only(connection: Connection, app_role: str | None) -> bool:
    """On PostgreSQL, leave ``app_role`` only INSERT and SELECT on ``audit_log`` (and the use of
    its id sequence). Nothing to do on SQLite, without a role, or when the application migrates
    as itself (an owner keeps every right on its tables). True if grants were changed."""
    if connection.dialect.name != "postgresql" or not app_role:
        return False
    if connection.execute(text("SELECT current_user")).scalar_one() == app_role:
        return False
    role = connection.dialect.identifier_preparer.quote(app_role)
    sequence = connection.execute(text("SELECT pg_get_serial_sequence('audit_log', 'id')")).scalar_one()
    connection.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}"))
    connection.execute(text(f"GRANT INSERT, SELECT ON audit_log TO {role}"))
    if sequence:
        connection.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {role}"))
    return True
