"""What customers and dispatchers watch: a job's timeline, late stops, and server-sent events."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from .. import crud, living
from ..changes import ChangeHub
from ..deps import DispatcherDep, PrincipalDep, SessionDep
from ..errors import forbidden, not_found
from ..limits import StreamSlot, stream_slot
from ..models import Event, Job, JobEta, LiveChange, ProgressEvent
from ..security import Principal

router = APIRouter(tags=["living day"])

#: Job-history kinds (the ``events`` table) that are steps of the customer's timeline.
_PLAN_STEPS = {"scheduled": "scheduled", "unassigned": "unassigned", "cancelled": "cancelled"}
#: What a customer's stream carries.
CUSTOMER_KINDS = ("status", "eta")


class TimelineStep(BaseModel):
    state: str
    at: dt.datetime
    source: str
    event: str | None = None
    reason: str | None = None
    note: str | None = None
    stop: str | None = Field(None, description="deliver or install: the crew half of a split job")
    resource: str | None = None


class TimelineOut(BaseModel):
    """Every step of a job with its time, who does it, and when they will be there."""

    job: str
    status: str
    state: str
    message: str
    resource: dict[str, Any] | None
    windows: list[list[str]]
    planned: dict[str, Any] | None
    eta: dict[str, Any] | None
    steps: list[TimelineStep]


def _may_watch(who: Principal, job: Job | None, job_id: str) -> bool:
    if who.role == "customer":
        return who.job_id == job_id
    if who.is_dispatcher:
        return job is not None and who.sees_zone(job.zone)
    return False


def _clock(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def eta_window(start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A 20-minute window around an estimated start, on 5-minute marks (14:30 → 14:20–14:40)."""
    base = start.replace(second=0, microsecond=0)
    base -= dt.timedelta(minutes=base.minute % 5)
    lo = base - dt.timedelta(minutes=10)
    return lo, lo + dt.timedelta(minutes=20)


def timeline(session: Any, job: Job) -> dict[str, Any]:
    """The customer's view of ``job``: steps in order, the current state in a sentence, a live ETA."""
    request: dict[str, Any] = {}
    data = living.run_data(session, job.plan_run_id) if job.plan_run_id else None
    if data is not None:
        request = data[0]
    tz = ZoneInfo(request.get("timezone") or "UTC")
    steps: list[dict[str, Any]] = []
    for e in session.scalars(select(Event).where(Event.job_id == job.id).order_by(Event.at, Event.id)):
        state = _PLAN_STEPS.get(e.kind)
        if state is not None and (not steps or steps[-1]["state"] != state):
            steps.append({"state": state, "at": e.at, "source": "plan"})
    halves = living.split_halves(session, job)
    groups, _ = living.replay_halves(session, job, living.job_events(session, job.id), halves)
    events = sorted((e for evs in groups.values() for e in evs), key=lambda e: (e.at, _half_rank(e, halves)))
    for half, evs in groups.items():
        for e in evs:
            steps.append(
                {
                    "state": "delivered" if half == "deliver" and e.kind == "completed" else e.kind,
                    "at": e.at,
                    "source": "app",
                    "event": e.id,
                    "reason": e.reason,
                    "note": e.note,
                    "stop": half or None,
                    "resource": e.resource_id,
                }
            )
    steps.sort(key=lambda s: (s["at"], _HALF_ORDER.get(s.get("stop"), 0), living.RANK.get(s["state"], -1)))
    state = living.combined_state(groups) if events else ("scheduled" if job.plan_run_id else job.status)
    if job.status == "cancelled":
        state = "cancelled"
    active = job.resource_id
    if halves:  # the courier until it has delivered, then the technician
        by_half = {h: r for r, h in halves.items()}
        half = "install" if groups.get("install") or state == "delivered" else "deliver"
        active = by_half.get(half, active)
    resource = None
    if active:
        resource = {"id": active, **living.resource_info(request, active)}
    failing = [e for e in events if e.kind == "failed"]
    stops = crud.job_stops(session=session, job=job)
    customer = [s for s in stops if s.get("type") in living.CUSTOMER_STOPS]
    next_stop = customer[0] if customer else None
    if halves:  # the stop of the crew the customer waits for
        next_stop = next((s for s in customer if s["resource"] == active), next_stop)
    planned = None
    if customer:
        planned = {
            "arrival": customer[0]["arrival"],
            "start": customer[0]["start"],
            "end": customer[-1]["end"],
        }
    eta = None
    row = session.get(JobEta, job.id) if state not in living.FINAL and state != "cancelled" else None
    if row is not None and halves and row.resource_id != active:
        row = None  # the other crew's estimate: not the one the customer waits for
    if row is not None:
        lo, hi = eta_window(row.start)
        eta = {
            "eta": row.eta.astimezone(tz).isoformat(),
            "start": row.start.astimezone(tz).isoformat(),
            "window": [lo.astimezone(tz).isoformat(), hi.astimezone(tz).isoformat()],
            "late": row.late,
            "late_by_s": row.late_by_s,
            "computed_at": row.computed_at.astimezone(tz).isoformat(),
            "resource": row.resource_id,
        }
    elif next_stop is not None and state in ("scheduled", "en_route", "delivered"):
        lo, hi = eta_window(dt.datetime.fromisoformat(next_stop["start"]))
        eta = {
            "eta": next_stop["arrival"],
            "start": next_stop["start"],
            "window": [lo.isoformat(), hi.isoformat()],
        }
        eta.update(late=False, late_by_s=0, computed_at=None, resource=active)
    return {
        "job": job.id,
        "status": job.status,
        "state": state,
        "message": _message(state, resource, eta, failing or events, tz),
        "resource": resource,
        "windows": job.data.get("windows", []),
        "planned": planned,
        "eta": eta,
        "steps": steps,
    }


_HALF_ORDER = {"deliver": 0, "install": 1}


def _half_rank(e: ProgressEvent, halves: dict[str, str]) -> tuple[int, int]:
    return _HALF_ORDER.get(halves.get(e.resource_id or "", ""), 0), living.RANK[e.kind]


def _message(
    state: str, resource: dict[str, Any] | None, eta: dict[str, Any] | None, events: list[Any], tz: ZoneInfo
) -> str:
    who = (resource or {}).get("role") or "your service"
    who = who[0].upper() + who[1:]
    span = ""
    if eta is not None:
        a, b = (dt.datetime.fromisoformat(x) for x in eta["window"])
        span = f"{_clock(a, tz)}–{_clock(b, tz)}"
    if state == "scheduled":
        return "scheduled"
    if state == "en_route":
        return f"{who} on the way, arriving {span}" if span else f"{who} on the way"
    if state == "arrived":
        return f"{who} has arrived"
    if state == "started":
        return f"{who} at work"
    if state == "completed":
        return "completed"
    if state == "delivered":
        return f"delivered; {who.lower()} arriving {span} to install" if span else "delivered"
    if state == "failed":
        reason = (events[-1].reason or "other").replace("_", " ")
        return f"not completed: {reason}"
    return {"new": "received, not yet scheduled", "unassigned": "not yet scheduled"}.get(state, state)


@router.get("/jobs/{job_id}/timeline", response_model=TimelineOut, summary="A job's timeline (customer view)")
def job_timeline(job_id: str, session: SessionDep, who: PrincipalDep) -> Any:
    """Every state change with its time, the resource's role and first name, and a live ETA window;
    for the job's customer tracking token or a dispatcher of its zone."""
    job = session.get(Job, job_id)
    if not _may_watch(who, job, job_id):
        raise forbidden("this key may not see this job")
    if job is None:
        raise not_found("job", job_id)
    return timeline(session, job)


@router.get("/late-stops", summary="Stops that will miss their window (dispatcher)")
def late_stops(session: SessionDep, who: DispatcherDep) -> Any:
    """Every job whose live ETA says it will end after its window closes."""
    q = select(JobEta).where(JobEta.late.is_(True)).order_by(JobEta.start)
    if who.zone is not None:
        q = q.where(JobEta.zone == who.zone)
    return {
        "items": [
            {
                "job": r.job_id,
                "resource": r.resource_id,
                "eta": r.eta,
                "start": r.start,
                "window": [r.window_from, r.window_to],
                "late_by_s": r.late_by_s,
                "computed_at": r.computed_at,
            }
            for r in session.scalars(q)
        ]
    }


# --- server-sent events --------------------------------------------------------------------


def _read_changes(request: Request, filters: list[Any], after: int, limit: int = 500) -> list[LiveChange]:
    with request.app.state.sessions() as s:
        q = select(LiveChange).where(LiveChange.id > after, *filters).order_by(LiveChange.id).limit(limit)
        return list(s.scalars(q))


def _frame(c: LiveChange) -> ServerSentEvent:
    body = {"id": c.id, "kind": c.kind, "at": c.at.isoformat(), "job": c.job_id, "resource": c.resource_id}
    body["data"] = c.data
    data = json.dumps(body, default=str, separators=(",", ":"))
    return ServerSentEvent(data=data, id=str(c.id), event=c.kind, sep="\n")


def _hub(request: Request) -> ChangeHub:
    hub = getattr(request.app.state, "change_hub", None)
    if hub is None:
        hub = request.app.state.change_hub = ChangeHub(request.app.state.sessions)
    return hub


async def _stream(
    request: Request,
    filters: list[Any],
    wanted: Callable[[LiveChange], bool],
    after: int | None,
    once: bool,
    timeout: float,
    poll: float,
    slot: StreamSlot,
) -> AsyncIterator[ServerSentEvent]:
    """Frames of the changes ``filters`` (SQL) / ``wanted`` (in memory) select: from the
    process's shared read of the feed when it reaches back far enough, else from the
    database; woken when the feed moves, and at least every ``poll`` seconds. Keep-alive
    pings, the client going away and server shutdown are sse-starlette's business."""
    try:
        hub = _hub(request)
        await hub.start()
        if after is None:
            after = 0 if once else hub.newest
        yield ServerSentEvent(comment="onestop live changes", sep="\n")
        deadline = time.monotonic() + timeout
        while True:
            if hub.covers(after) and not once:
                seen = hub.newest
                batch = hub.since(after, wanted)
                full = False
            else:
                seen = after
                batch = await run_in_threadpool(_read_changes, request, filters, after)
                full = len(batch) == 500
            for c in batch:
                after = c.id
                yield _frame(c)
            seen = max(seen, after)
            if full:
                continue
            if once or time.monotonic() >= deadline:
                return
            left = max(0.05, min(poll, deadline - time.monotonic(), 15.0))
            await hub.wait_past(seen, left)
            if hub.covers(after):
                after = max(after, seen)  # nothing of ours up to seen: skip past it
    finally:
        slot.release()


def _sse(gen: AsyncIterator[ServerSentEvent], slot: StreamSlot) -> EventSourceResponse:
    """The stream as sse-starlette sends it: pings every 15 s, a client that reads nothing for
    30 s is dropped, and open streams end at once when the server shuts down."""
    return EventSourceResponse(
        gen,
        headers={"Cache-Control": "no-cache"},
        ping=15,
        sep="\n",
        send_timeout=30,
        background=BackgroundTask(slot.release),  # also when the body never started
    )


Once = Annotated[bool, Query(description="send what is there (after `after`) and close")]
Timeout = Annotated[float, Query(ge=0, le=3600, description="close the stream after this many seconds")]
After = Annotated[int | None, Query(ge=0, description="resume after this change id (or Last-Event-ID)")]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)]
Poll = Annotated[
    float,
    Query(
        ge=0.05,
        le=60,
        description="at most this many seconds between looks; new changes arrive sooner, as the "
        "server's one shared read of the feed (every 0.25 s) brings them",
    ),
]


def _resume(after: int | None, last_event_id: str | None) -> int | None:
    if after is None and last_event_id and last_event_id.isdigit():
        return int(last_event_id)
    return after


@router.get(
    "/stream",
    summary="Live changes for dispatchers (server-sent events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def dispatcher_stream(
    request: Request,
    who: DispatcherDep,
    once: Once = False,
    timeout: Timeout = 300.0,
    after: After = None,
    poll: Poll = 5.0,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    """Every change in the dispatcher's zones: job states, ETAs and window misses, pings, plans."""
    filters: list[Any] = []
    if who.zone is not None:
        filters.append(or_(LiveChange.zone == who.zone))
    zone = who.zone

    def wanted(c: LiveChange) -> bool:
        return zone is None or c.zone == zone

    slot = stream_slot(request, who)
    gen = _stream(request, filters, wanted, _resume(after, last_event_id), once, timeout, poll, slot)
    return _sse(gen, slot)


@router.get(
    "/jobs/{job_id}/stream",
    summary="Live changes of one job (server-sent events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_stream(
    job_id: str,
    request: Request,
    who: PrincipalDep,
    once: Once = False,
    timeout: Timeout = 300.0,
    after: After = None,
    poll: Poll = 5.0,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    """The job's state changes and ETA updates, for its customer tracking token or a dispatcher."""

    def _job() -> Job | None:
        with request.app.state.sessions() as s:
            return s.get(Job, job_id)

    job = await run_in_threadpool(_job)
    if not _may_watch(who, job, job_id):
        raise forbidden("this key may not see this job")
    if job is None:
        raise not_found("job", job_id)
    filters = [LiveChange.job_id == job_id, LiveChange.kind.in_(CUSTOMER_KINDS)]

    def wanted(c: LiveChange) -> bool:
        return c.job_id == job_id and c.kind in CUSTOMER_KINDS

    slot = stream_slot(request, who)
    gen = _stream(request, filters, wanted, _resume(after, last_event_id), once, timeout, poll, slot)
    return _sse(gen, slot)


def routers() -> list[APIRouter]:
    return [router]


__all__ = ["ProgressEvent", "routers", "timeline"]
