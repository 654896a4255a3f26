"""API bodies and answers. Resources and jobs reuse the v1 wire models of ``onestop.dispatch``
(so what is stored is what a request holds) plus the fields only the service knows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from onestop.dispatch.schema import CourierIn, DepotIn, Id, JobIn, OptionsIn, TechnicianIn
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .models import JOB_STATUSES, ROLES, RUN_STATUSES

Zone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Timezone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
JobStatus = Literal[JOB_STATUSES]  # type: ignore[valid-type]
RunStatus = Literal[RUN_STATUSES]  # type: ignore[valid-type]

#: Fields the service adds to the wire models; they never reach a v1 request.
SERVICE_FIELDS = frozenset({"zone", "date"})


class DepotCreate(DepotIn):
    zone: Zone | None = None


class TechnicianCreate(TechnicianIn):
    zone: Zone | None = None


class CourierCreate(CourierIn):
    zone: Zone | None = None


class JobCreate(JobIn):
    """A job to plan on ``date``; the server picks an ``id`` when none is given."""

    id: Id | None = None  # type: ignore[assignment]
    date: dt.date
    zone: Zone | None = None


class _Stamps(BaseModel):
    created_at: dt.datetime
    updated_at: dt.datetime


class DepotOut(_Stamps, DepotCreate):
    model_config = ConfigDict(extra="allow", frozen=True)


class TechnicianOut(_Stamps, TechnicianCreate):
    model_config = ConfigDict(extra="allow", frozen=True)


class CourierOut(_Stamps, CourierCreate):
    model_config = ConfigDict(extra="allow", frozen=True)


class JobOut(_Stamps, JobCreate):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    id: Id
    status: JobStatus
    resource: str | None = None
    plan_run: str | None = None


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class DepotPage(Page):
    items: list[DepotOut]


class TechnicianPage(Page):
    items: list[TechnicianOut]


class CourierPage(Page):
    items: list[CourierOut]


class JobPage(Page):
    items: list[JobOut]


class JobStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["on_the_way", "arrived", "completed", "failed", "cancelled"]
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class JobTracking(BaseModel):
    """What a customer sees of a job."""

    id: str
    status: JobStatus
    date: dt.date
    kind: str
    resource_kind: str | None = None
    planned_arrival: str | None = None
    planned_start: str | None = None
    planned_end: str | None = None
    windows: list[list[str]] = []
    history: list[dict[str, Any]] = []


class StoredPlanIn(BaseModel):
    """Plan the stored jobs of a date (and zone) with the stored resources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    zone: Zone | None = None
    timezone: Timezone | None = None
    options: OptionsIn | None = None


class RunAccepted(BaseModel):
    id: str
    status: RunStatus


class RunProgress(BaseModel):
    phase: str | None
    fraction: float
    best_objective: int | None


class RunOut(BaseModel):
    id: str
    status: RunStatus
    date: dt.date | None
    zone: str | None
    source: Literal["request", "stored", "replan", "booking"]
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    progress: RunProgress
    cancel_requested: bool = False
    published: bool = False
    plan: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    violations: list[dict[str, Any]] | None = None
    base: str | None = Field(None, description="the run that was live when this one was made")
    publication: dict[str, Any] | None = Field(
        None, description="{forced, reason, by, at, violations} when published despite broken rules"
    )


class RunPage(Page):
    items: list[RunOut]


class PublishedOut(BaseModel):
    run: str
    date: dt.date
    zone: str | None
    published_at: dt.datetime
    replaced: str | None = None


class RouteOut(BaseModel):
    """One resource's day on the published plan, with what an app needs at each stop."""

    resource: str
    resource_kind: str | None
    date: dt.date
    plan_run: str | None
    published_at: dt.datetime | None
    summary: dict[str, Any] | None
    stops: list[dict[str, Any]]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal[ROLES]  # type: ignore[valid-type]
    zone: Zone | None = None
    resource: Id | None = None
    label: Annotated[str, StringConstraints(max_length=200)] | None = None
    expires_at: dt.datetime | None = Field(
        None,
        description="when the key stops working (with a UTC offset); customer keys default to a few "
        "days after their job's date, other keys to never",
    )


class KeyCreated(BaseModel):
    id: str
    role: str
    zone: str | None
    resource: str | None
    key: str = Field(description="shown once; only a hash is stored")
    expires_at: dt.datetime | None = None


class KeyOut(BaseModel):
    """A key as listed: what it may do and how long, never its secret or hash."""

    id: str
    role: str
    zone: str | None
    resource: str | None
    job: str | None
    label: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool


class KeyPage(Page):
    items: list[KeyOut]


class ZoneCreate(BaseModel):
    """A service zone: ``geometry`` is a GeoJSON Polygon or MultiPolygon in [lon, lat]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Zone
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    geometry: dict[str, Any]


class ZoneOut(ZoneCreate):
    created_at: dt.datetime
    updated_at: dt.datetime


class ZonePage(Page):
    items: list[ZoneOut]
