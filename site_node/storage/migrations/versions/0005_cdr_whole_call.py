"""CDR: the whole call wherever it ends (the first site, the failover gap)

Revision ID: 0005_cdr_whole_call
Revises: 0004_dispositions
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cdr_whole_call"
down_revision: str | None = "0004_dispositions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing CDRs describe calls that started where they ended and lost no time between sites.
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("first_site", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("failover_gap_s", sa.Double(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("failover_gap_s")
        batch.drop_column("first_site")
