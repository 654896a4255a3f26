"""Tables. Resources and jobs keep their v1 wire form in ``data`` (so a stored day turns
back into a v1 request unchanged) beside the columns that are filtered on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")

# Names shared with the routes; the closed lists of states.
RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
)
RUN_STATUSES = (RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED)
RUN_FINAL = frozenset({RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED})

JOB_NEW, JOB_SCHEDULED, JOB_UNASSIGNED = "new", "scheduled", "unassigned"
JOB_ON_THE_WAY, JOB_ARRIVED, JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED = (
    "on_the_way",
    "arrived",
    "completed",
    "failed",
    "cancelled",
)
#: Work under way at the customer (a ``started`` progress event; the living day, issue 7).
JOB_STARTED = "started"
#: A split delivery_installation whose courier has delivered; the technician's install is to come.
JOB_DELIVERED = "delivered"
JOB_STATUSES = (
    JOB_NEW,
    JOB_SCHEDULED,
    JOB_UNASSIGNED,
    JOB_ON_THE_WAY,
    JOB_ARRIVED,
    JOB_STARTED,
    JOB_DELIVERED,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_CANCELLED,
)
#: Statuses a job on a published plan has: it may not be deleted.
JOB_ON_PLAN = frozenset({JOB_SCHEDULED, JOB_ON_THE_WAY, JOB_ARRIVED, JOB_STARTED, JOB_DELIVERED})

ROLES = ("dispatcher", "courier", "technician", "customer")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uid() -> str:
    """A row identity no client chooses (job ids are the client's and may come back)."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType}


class _Stamped:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Depot(_Stamped, Base):
    __tablename__ = "depots"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class Technician(_Stamped, Base):
    __tablename__ = "technicians"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    zone: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class Courier(_Stamped, Base):
    __tablename__ = "couriers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    zone: Mapped[str | None] = mapped_column(String(64), index=True)
    depot_id: Mapped[str] = mapped_column(String(128), ForeignKey("depots.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class Job(_Stamped, Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_date_zone_status", "date", "zone", "status"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    zone: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JOB_NEW)
    #: The resource doing it on the published plan (a courier for a split delivery_installation).
    resource_id: Mapped[str | None] = mapped_column(String(128), index=True)
    plan_run_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: This row's own identity: a customer token names it, so a job deleted and made again
    #: under the same id is not the old token's job (migration 0007).
    uid: Mapped[str | None] = mapped_column(String(32), default=new_uid)


class IdempotencyRecord(Base):
    """The first answer to a request made with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanRun(Base):
    __tablename__ = "plan_runs"
    __table_args__ = (Index("ix_plan_runs_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=RUN_QUEUED)
    date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    zone: Mapped[str | None] = mapped_column(String(64))
    #: "request" (a whole v1 request was posted) or "stored" (built from stored rows).
    source: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(JSONType)
    preset: Mapped[str | None] = mapped_column(String(16))
    time_limit_s: Mapped[float | None] = mapped_column(Float)
    solution_limit: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: A queued re-plan's inputs (``base`` run, ``at``, progress, changes, ``publish``); the
    #: worker replaces ``request`` with the rest-of-day request it planned.
    task: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: The published run of this run's day and zone when it was made (None: none was);
    #: publishing swaps the live plan only if it is still this one (``runs.publish``).
    base_run_id: Mapped[str | None] = mapped_column(String(36))
    #: How it was published when it broke rules: {forced, reason, by, at, violations}.
    publication: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    violations: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    phase: Mapped[str | None] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    best_objective: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    #: Unix time after which another worker may take the run over.
    lease_expires_at: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PublishedPlan(Base):
    """The active plan of a date (and zone; ``""`` for a plan over all zones)."""

    __tablename__ = "published_plans"

    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("plan_runs.id"))
    published_by: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(128), index=True)
    job_id: Mapped[str | None] = mapped_column(String(128), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(128))
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: After this instant the key is refused (None: until revoked). Migration 0007.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: A customer key's job row (``jobs.uid``): the key reads that row only, not a later job
    #: that reuses the id.
    subject_uid: Mapped[str | None] = mapped_column(String(32))


class Event(Base):
    """What happened to a job or a run, in order: the tracking history."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    job_id: Mapped[str | None] = mapped_column(String(128), index=True)
    run_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ServiceZone(_Stamped, Base):
    """A service zone: a GeoJSON polygon; its id is the ``zone`` jobs and resources carry."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


# --- the living day (issue 7): progress events, live ETAs, the change feed ---------------------


class ProgressEvent(Base):
    """One report from a courier or technician app, keyed by the app's own event id."""

    __tablename__ = "progress_events"
    __table_args__ = (Index("ix_progress_events_resource_at", "resource_id", "at"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: en_route | arrived | started | completed | failed | position
    kind: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(128), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(128))
    #: When it happened (the app's clock), which orders late deliveries.
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    key_id: Mapped[str | None] = mapped_column(String(32))


class JobEta(Base):
    """The latest live estimate for a job's customer stop, and whether it will miss its window."""

    __tablename__ = "job_etas"

    job_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(128), index=True)
    run_id: Mapped[str | None] = mapped_column(String(36))
    zone: Mapped[str | None] = mapped_column(String(64))
    eta: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    window_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    window_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    late_by_s: Mapped[int] = mapped_column(Integer, default=0)
    #: The resource's clock the estimate was made at.
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LiveChange(Base):
    """What the server-sent-event streams send: one row per change, in order of ``id``."""

    __tablename__ = "live_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    zone: Mapped[str | None] = mapped_column(String(64), index=True)
    job_id: Mapped[str | None] = mapped_column(String(128), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
