"""The living day: progress events from the apps, live ETAs with window-miss flags, the change feed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "progress_events",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(128), index=True),
        sa.Column("resource_id", sa.String(128)),
        _ts("at"),
        _ts("received_at"),
        sa.Column("reason", sa.String(32)),
        sa.Column("note", sa.Text()),
        sa.Column("lon", sa.Float()),
        sa.Column("lat", sa.Float()),
        sa.Column("key_id", sa.String(32)),
    )
    op.create_index("ix_progress_events_resource_at", "progress_events", ["resource_id", "at"])
    op.create_table(
        "job_etas",
        sa.Column("job_id", sa.String(128), primary_key=True),
        sa.Column("resource_id", sa.String(128), nullable=False, index=True),
        sa.Column("run_id", sa.String(36)),
        sa.Column("zone", sa.String(64)),
        _ts("eta"),
        _ts("start"),
        _ts("window_from", True),
        _ts("window_to", True),
        sa.Column("late", sa.Boolean(), nullable=False, index=True),
        sa.Column("late_by_s", sa.Integer(), nullable=False),
        _ts("computed_at"),
    )
    op.create_table(
        "live_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _ts("at"),
        sa.Column("zone", sa.String(64), index=True),
        sa.Column("job_id", sa.String(128), index=True),
        sa.Column("resource_id", sa.String(128)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", JSON),
    )


def downgrade() -> None:
    op.drop_table("live_changes")
    op.drop_table("job_etas")
    op.drop_index("ix_progress_events_resource_at", table_name="progress_events")
    op.drop_table("progress_events")
