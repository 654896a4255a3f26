"""Initial tables: depots, technicians, couriers, jobs, idempotency keys, plan runs,
published plans, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("zone", sa.String(64)),
        sa.Column("resource_id", sa.String(128)),
        sa.Column("job_id", sa.String(128)),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("label", sa.Text()),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
    )
    op.create_table(
        "depots",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("zone", sa.String(64), index=True),
        sa.Column("data", JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "technicians",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("zone", sa.String(64), index=True),
        sa.Column("data", JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "couriers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("zone", sa.String(64), index=True),
        sa.Column("depot_id", sa.String(128), sa.ForeignKey("depots.id"), nullable=False, index=True),
        sa.Column("data", JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("zone", sa.String(64)),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(128), index=True),
        sa.Column("plan_run_id", sa.String(36)),
        sa.Column("data", JSON, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_jobs_date_zone_status", "jobs", ["date", "zone", "status"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", JSON, nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "plan_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("date", sa.Date(), index=True),
        sa.Column("zone", sa.String(64)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("preset", sa.String(16)),
        sa.Column("time_limit_s", sa.Float()),
        sa.Column("solution_limit", sa.Integer()),
        sa.Column("plan", JSON),
        sa.Column("error", JSON),
        sa.Column("violations", JSON),
        sa.Column("phase", sa.String(16)),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("best_objective", sa.BigInteger()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_expires_at", sa.Float()),
        sa.Column("created_by", sa.String(32)),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
    )
    op.create_index("ix_plan_runs_status_created", "plan_runs", ["status", "created_at"])
    op.create_table(
        "published_plans",
        sa.Column("date", sa.Date(), primary_key=True),
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("plan_runs.id"), nullable=False),
        sa.Column("published_by", sa.String(32)),
        _ts("published_at"),
    )


def downgrade() -> None:
    for table in (
        "published_plans",
        "plan_runs",
        "idempotency_keys",
        "jobs",
        "couriers",
        "technicians",
        "depots",
        "api_keys",
    ):
        op.drop_table(table)
