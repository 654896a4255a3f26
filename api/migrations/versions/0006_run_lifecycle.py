"""One run lifecycle: the live version a run was made from, and why it was published by force.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # the published run of the run's day and zone when the run was made: publishing is a
    # compare-and-swap against it, so nothing published since is silently replaced
    op.add_column("plan_runs", sa.Column("base_run_id", sa.String(36), nullable=True))
    # {forced, reason, by, at, violations} when a run with violations was published anyway
    op.add_column("plan_runs", sa.Column("publication", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("plan_runs", "publication")
    op.drop_column("plan_runs", "base_run_id")
