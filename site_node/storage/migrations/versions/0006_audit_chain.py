"""Audit trail: role, site and a hash chain per site; append-only; the compliance role

Revision ID: 0006_audit_chain
Revises: 0005_cdr_whole_call
Create Date: 2026-12-02 00:00:00.000000

Existing entries are chained in ``id`` order with an empty site (the chain they were written
in did not name one); new entries chain per site from there.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from site_node.storage.append_only import configured_app_role, create_triggers, drop_triggers, grant_append_only
from site_node.storage.chain import GENESIS, entry_hash

revision: str = "0006_audit_chain"
down_revision: str | None = "0005_cdr_whole_call"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES_BEFORE = ("agent", "team_leader", "manager", "admin")
_ROLES_AFTER = (*_ROLES_BEFORE, "compliance")


def _roles_check(roles: tuple[str, ...]) -> str:
    return f"role IN ({', '.join(repr(r) for r in roles)})"


def _set_roles(roles: tuple[str, ...]) -> None:
    with op.batch_alter_table("agents", recreate="always" if op.get_bind().dialect.name == "sqlite" else "auto") as b:
        b.drop_constraint(op.f("ck_agents_role"), type_="check")
        b.create_check_constraint(op.f("ck_agents_role"), _roles_check(roles))


def _backfill() -> None:
    if context.is_offline_mode():
        # Offline SQL (``callcenter migrate --sql``) cannot compute hashes: it is for a new,
        # empty database. A database with audit entries from before 0006 is migrated online
        # (``callcenter migrate``), or the NOT NULL step below refuses it (nothing is lost).
        op.execute("-- audit_log entries written before 0006 are chained only by an online migration")
        return
    bind = op.get_bind()
    audit = sa.table(
        "audit_log", sa.column("id", sa.Integer), sa.column("at", sa.Double), sa.column("actor", sa.String),
        sa.column("action", sa.String), sa.column("target", sa.String), sa.column("details", sa.JSON),
        sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
    )  # fmt: skip
    prev = GENESIS
    rows = bind.execute(sa.select(audit).order_by(audit.c.id)).all()
    for row in rows:
        digest = entry_hash(prev, row.at, row.actor, "", "", row.action, row.target, row.details or {})
        bind.execute(audit.update().where(audit.c.id == row.id).values(prev_hash=prev, hash=digest))
        prev = digest


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("role", sa.String(length=20), server_default="", nullable=False))
        batch.add_column(sa.Column("site", sa.String(length=64), server_default="", nullable=False))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _backfill()
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_audit_log_site_id", ["site", "id"], unique=False)
    bind = op.get_bind()
    create_triggers(bind)
    grant_append_only(bind, configured_app_role(context.config.attributes, context.get_x_argument(as_dictionary=True)))
    _set_roles(_ROLES_AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM agents WHERE role = 'compliance'"))
    _set_roles(_ROLES_BEFORE)
    drop_triggers(op.get_bind())
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_site_id")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("site")
        batch.drop_column("role")
