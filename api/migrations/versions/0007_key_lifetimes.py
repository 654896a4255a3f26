"""Keys with a life: expiry, and customer keys bound to their job's row identity.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("uid", sa.String(32), nullable=True))
    op.add_column("api_keys", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("subject_uid", sa.String(32), nullable=True))
    op.create_index("ix_api_keys_job_id", "api_keys", ["job_id"])
    op.create_index("ix_api_keys_resource_id", "api_keys", ["resource_id"])
    conn = op.get_bind()
    jobs = sa.table("jobs", sa.column("id", sa.String), sa.column("uid", sa.String))
    keys = sa.table(
        "api_keys",
        sa.column("role", sa.String),
        sa.column("job_id", sa.String),
        sa.column("subject_uid", sa.String),
    )
    # every existing job gets its identity; existing customer keys are bound to the job they
    # were made for (a key whose job is gone stays unbound, which no longer authenticates)
    for (job_id,) in conn.execute(sa.select(jobs.c.id)).all():
        uid = uuid.uuid4().hex
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(uid=uid))
        conn.execute(
            sa.update(keys)
            .where(keys.c.role == "customer", keys.c.job_id == job_id)
            .values(subject_uid=uid)
        )


def downgrade() -> None:
    op.drop_index("ix_api_keys_resource_id", "api_keys")
    op.drop_index("ix_api_keys_job_id", "api_keys")
    op.drop_column("api_keys", "subject_uid")
    op.drop_column("api_keys", "expires_at")
    op.drop_column("jobs", "uid")
