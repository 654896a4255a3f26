"""Progress events and position pings from courier and technician apps: ``POST /v1/events``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import crud, living
from ..deps import PrincipalDep, SessionDep, require_dispatcher
from ..errors import Problem, conflict, field_error, forbidden, not_found, validation_problem
from ..limits import EventLimit
from ..models import JOB_CANCELLED, JOB_NEW, JOB_UNASSIGNED, Job, ProgressEvent
from ..security import Principal

router = APIRouter(tags=["living day"])

EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class EventIn(BaseModel):
    """One report: a state change of a job, or a position ping (``kind: position``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: EventId = Field(description="the app's own id for this event; a repeat is taken once")
    kind: Literal["en_route", "arrived", "started", "completed", "failed", "position"]
    at: AwareDatetime = Field(description="when it happened, with its UTC offset")
    job: Ref | None = Field(None, description="required except for position pings")
    resource: Ref | None = Field(None, description="who reports; implied by a courier/technician key")
    reason: Literal["customer_absent", "wrong_item", "needs_parts", "other"] | None = Field(
        None, description="why a job failed (failed events only)"
    )
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    position: tuple[Lon, Lat] | None = Field(None, description="[lon, lat]; required for pings")

    @model_validator(mode="after")
    def _shape(self) -> EventIn:
        if self.kind == "position":
            if self.position is None:
                raise ValueError("a position ping needs position [lon, lat]")
        elif self.job is None:
            raise ValueError(f"a {self.kind} event needs the job it is about")
        if self.kind == "failed" and self.reason is None:
            raise ValueError("a failed event needs a reason")
        if self.kind != "failed" and self.reason is not None:
            raise ValueError("only failed events have a reason")
        return self


class EtaOut(BaseModel):
    job: str
    stop_type: str
    eta: str
    start: str
    window: list[str] | None
    late: bool
    late_by_s: int


class EventOut(BaseModel):
    id: str
    kind: str
    job: str | None
    resource: str | None
    at: dt.datetime
    duplicate: bool = Field(description="true when this event id was taken before (nothing changed)")
    state: str | None = Field(
        None,
        description="the state of the reporter's part of the job after all its events, in time order "
        "(the whole job's, unless a delivery_installation is split between a courier and a technician: "
        "then each crew's half has its own)",
    )
    status: str | None = None
    etas: list[EtaOut] = Field(default=[], description="fresh estimates for the resource's remaining stops")
    late: list[str] = Field(default=[], description="jobs whose stops will now miss their window")


def _reporter(who: Principal, body: EventIn, allowed: set[str] | None, zone: str | None) -> str | None:
    """The resource the event is from; 403 unless the key may report it (404 for a crew's key
    naming a job that is not on its route: another crew's job is as unknown as a missing one)."""
    if who.role in ("courier", "technician"):
        if body.resource is not None and body.resource != who.resource_id:
            raise forbidden("this key reports only for its own resource")
        if allowed is not None and who.resource_id not in allowed:
            raise not_found("job", body.job)
        return who.resource_id
    if who.is_dispatcher:
        require_dispatcher(who, zone)
        if allowed is not None:
            if body.resource is not None and body.resource not in allowed:
                raise forbidden(f"job {body.job!r} is not assigned to {body.resource!r}")
            return body.resource or (sorted(allowed)[0] if allowed else None)
        if body.resource is None:
            raise validation_problem([field_error("resource", "a dispatcher's ping names the resource")])
        return body.resource
    raise forbidden(f"a {who.role} key may not report events")


def _out(ev: ProgressEvent, *, duplicate: bool, **extra: Any) -> dict[str, Any]:
    return {
        "id": ev.id,
        "kind": ev.kind,
        "job": ev.job_id,
        "resource": ev.resource_id,
        "at": ev.at,
        "duplicate": duplicate,
        **extra,
    }


@router.post(
    "/events",
    status_code=201,
    response_model=EventOut,
    summary="Report progress or position",
    responses={200: {"model": EventOut, "description": "a repeat of an event already taken"}},
    dependencies=[EventLimit],
)
def post_event(body: EventIn, session: SessionDep, who: PrincipalDep) -> Any:
    """A state change of a job (``en_route`` … ``completed``/``failed``) or a position ping, from
    the resource doing the job. 201 when taken, 200 for a repeated id, 409 for a transition the
    job's other events make impossible, 403 from a resource not on the job. A delivery_installation
    split between a courier and a technician keeps one state machine per crew half."""
    at = body.at.astimezone(dt.UTC)
    job: Job | None = None
    allowed: set[str] | None = None
    zone: str | None = None
    if body.job is not None:
        job = session.get(Job, body.job)
        if job is None:
            if who.role == "customer":
                raise forbidden("a customer key may not report events")
            raise not_found("job", body.job)
        allowed = living.job_resources(session, job)
        zone = job.zone
    elif who.is_dispatcher and body.resource is not None:
        zone = living.resource_zone(session, body.resource)
    resource = _reporter(who, body, allowed, zone)
    event = ProgressEvent(
        id=body.id,
        kind=body.kind,
        job_id=body.job,
        resource_id=resource,
        at=at,
        reason=body.reason,
        note=body.note,
        lon=body.position[0] if body.position else None,
        lat=body.position[1] if body.position else None,
        key_id=who.key_id,
    )
    seen = session.get(ProgressEvent, body.id)
    if seen is not None:
        return _replayed(session, seen, event)
    state = status = None
    if job is not None:
        if job.status in (JOB_NEW, JOB_UNASSIGNED, JOB_CANCELLED) or job.plan_run_id is None:
            raise conflict(f"job {job.id!r} is {job.status}, not on a published plan")
        # one writer per job at a time (PostgreSQL); SQLite serialises writers anyway
        session.execute(select(Job.id).where(Job.id == job.id).with_for_update())
        state = living.apply_state_event(session, job, event)
        status = job.status
        run_id: str | None = job.plan_run_id
    else:
        session.add(event)
        if zone is None:
            zone = living.resource_zone(session, resource)
        run_id = living.published_run_for(session, resource or "", at)
        living.add_change(
            session,
            "position",
            zone=zone,
            resource_id=resource,
            data={"resource": resource, "at": at.isoformat(), "position": list(body.position or ())},
        )
    try:
        session.flush()
    except IntegrityError:
        # the same event id raced us: the other delivery was taken, this one is its repeat
        session.rollback()
        seen = session.get(ProgressEvent, body.id)
        if seen is None:
            raise
        return _replayed(session, seen, event)
    estimates: list[dict[str, Any]] = []
    if run_id is not None and resource is not None:
        estimates = living.recompute_etas(session, resource_id=resource, run_id=run_id, zone=zone)
    out = _out(
        event,
        duplicate=False,
        state=state,
        status=status,
        etas=estimates,
        late=[e["job"] for e in estimates if e["late"]],
    )
    return JSONResponse(EventOut.model_validate(out).model_dump(mode="json"), status_code=201)


def _replayed(session: Any, seen: ProgressEvent, event: ProgressEvent) -> Any:
    if not living.same_event(seen, event):
        raise Problem(
            409,
            "Event id reused",
            f"event {seen.id!r} was taken before with different content",
            kind="event-id-reused",
        )
    state = status = None
    if seen.job_id is not None:
        job = session.get(Job, seen.job_id)
        events = living.job_events(session, seen.job_id)
        if job is None:
            state = living.state_of(events)
        else:
            halves = living.split_halves(session, job)
            groups, _ = living.replay_halves(session, job, events, halves)
            own = groups.get(living.half_of(session, halves, seen.resource_id)) or []
            state = own[-1].kind if own else "scheduled"
        status = job.status if job is not None else None
    out = _out(seen, duplicate=True, state=state, status=status)
    return JSONResponse(EventOut.model_validate(out).model_dump(mode="json"), status_code=200)


def routers() -> list[APIRouter]:
    return [router]


__all__ = ["EventIn", "crud", "routers"]
