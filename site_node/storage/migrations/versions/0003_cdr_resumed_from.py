"""CDR: the state a call had at a failed site when it carried on here

Revision ID: 0003_cdr_resumed_from
Revises: 0002_customer_pin
Create Date: 2026-11-26 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_cdr_resumed_from"
down_revision: str | None = "0002_customer_pin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing CDRs describe calls that never failed over into this site
    # or whose earlier state is unknown.
    op.add_column("calls", sa.Column("resumed_from", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("calls", "resumed_from")
