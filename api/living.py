"""The living day's storage side: progress events and the job state machine, live ETAs with
window-miss flags, the change feed the streams read, and what a re-plan needs from the
stored events. Estimates and plans come from ``onestop.dispatch``; nothing here plans.

State machine (per job, or per crew half of a split job): ``scheduled → en_route → arrived →
started → completed | failed``. A ``delivery_installation`` split between a courier (its
``deliver`` stop) and a technician (its ``install`` stop, on another route) has one machine per
half, chosen by the reporting resource; the job's state combines them (``delivered`` between the
courier's completion and the technician's first event, ``completed`` only with the install,
``failed`` if either half fails). A half's events are kept in order of their own time (then
of the state order), and the whole sequence is replayed on every new event: a state may be
skipped (an app that never said ``arrived``) but never gone back to or repeated, and nothing
follows ``completed`` or ``failed``. Because any subset of a valid sequence is valid, the same
events delivered in any order, any number of times, leave the same final state.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from onestop.dispatch.eta import etas
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import crud
from .errors import conflict
from .models import (
    JOB_ARRIVED,
    JOB_CANCELLED,
    JOB_COMPLETED,
    JOB_DELIVERED,
    JOB_FAILED,
    JOB_ON_THE_WAY,
    JOB_STARTED,
    Courier,
    Job,
    JobEta,
    LiveChange,
    PlanRun,
    ProgressEvent,
    PublishedPlan,
    Technician,
    utcnow,
)

log = logging.getLogger(__name__)

STATES = ("en_route", "arrived", "started", "completed", "failed")
RANK = {"scheduled": 0, "en_route": 1, "arrived": 2, "started": 3, "completed": 4, "failed": 4}
FINAL = frozenset({"completed", "failed"})
#: The job row's status for each state (``on_the_way`` is the stored name of en route).
STATUS_OF = {
    "en_route": JOB_ON_THE_WAY,
    "arrived": JOB_ARRIVED,
    "started": JOB_STARTED,
    "completed": JOB_COMPLETED,
    "failed": JOB_FAILED,
    "delivered": JOB_DELIVERED,
}
FAIL_REASONS = ("customer_absent", "wrong_item", "needs_parts", "other")
POSITION = "position"
CUSTOMER_STOPS = frozenset({"deliver", "install", "swap", "collect", "visit"})
#: An ETA that moves less than this is not sent to the streams again.
ETA_NOTICE_S = 60


# --- plans of stored runs (runs never change once succeeded: kept per process) ----------------

_RUNS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
_RUNS_LOCK = threading.Lock()


def run_data(session: Session, run_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(request, plan) of a succeeded run, or None."""
    hit = _RUNS.get(run_id)
    if hit is not None:
        return hit
    run = session.get(PlanRun, run_id)
    if run is None or run.plan is None:
        return None
    hit = (run.request, run.plan)
    with _RUNS_LOCK:
        if len(_RUNS) > 64:
            _RUNS.clear()
        _RUNS[run_id] = hit
    return hit


def job_resources(session: Session, job: Job) -> set[str]:
    """Every resource with a stop of ``job`` on its published plan (two for a split installation)."""
    found = {s["resource"] for s in crud.job_stops(session=session, job=job)}
    if job.resource_id:
        found.add(job.resource_id)
    return found


def resource_info(request: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """The resource's role and first name as the request names them."""
    for role, section in (("technician", "technicians"), ("courier", "couriers")):
        for r in request.get(section, []):
            if r.get("id") == resource_id:
                name = (r.get("name") or "").strip()
                return {"role": role, "first_name": name.split()[0] if name else None}
    return {"role": None, "first_name": None}


def resource_zone(session: Session, resource_id: str | None) -> str | None:
    if not resource_id:
        return None
    row = session.get(Courier, resource_id) or session.get(Technician, resource_id)
    return row.zone if row is not None else None


# --- the change feed ----------------------------------------------------------------------------


def add_change(
    session: Session,
    kind: str,
    *,
    zone: str | None = None,
    job_id: str | None = None,
    resource_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(LiveChange(kind=kind, zone=zone, job_id=job_id, resource_id=resource_id, data=data))


# --- the state machine ------------------------------------------------------------------------


def _order_key(e: ProgressEvent) -> tuple[dt.datetime, int, str]:
    return (e.at, RANK[e.kind], e.id)


def replay(events: Iterable[ProgressEvent]) -> tuple[list[ProgressEvent], str | None]:
    """The events in order and the first impossible transition (None when there is none)."""
    ordered = sorted(events, key=_order_key)
    state = "scheduled"
    for e in ordered:
        if state in FINAL:
            return ordered, f"{e.kind} at {e.at.isoformat()} after the job was {state}"
        if RANK[e.kind] <= RANK[state]:
            return ordered, f"{e.kind} at {e.at.isoformat()} cannot follow {state}"
        state = e.kind
    return ordered, None


def state_of(events: Sequence[ProgressEvent]) -> str:
    ordered, _ = replay(events)
    return ordered[-1].kind if ordered else "scheduled"


def split_halves(session: Session, job: Job) -> dict[str, str]:
    """resource → its customer stop (``deliver`` / ``install``) for a job split between two crews; else {}."""
    found: dict[str, str] = {}
    for s in crud.job_stops(session=session, job=job):
        if s.get("type") in CUSTOMER_STOPS:
            found.setdefault(s["resource"], s["type"])
    return found if len(set(found.values())) > 1 else {}


def half_of(session: Session, halves: dict[str, str], resource_id: str | None) -> str:
    """The half an event of ``resource_id`` belongs to: "" for a job that is not split."""
    if not halves:
        return ""
    half = halves.get(resource_id or "")
    if half is None:  # a crew no longer on the plan (re-planned): its kind tells the half
        half = "deliver" if resource_id and session.get(Courier, resource_id) is not None else "install"
    return half


def replay_halves(
    session: Session, job: Job, events: Iterable[ProgressEvent], halves: dict[str, str] | None = None
) -> tuple[dict[str, list[ProgressEvent]], str | None]:
    """Each half's events in order (key "" when the job is not split) and the first impossible move."""
    if halves is None:
        halves = split_halves(session, job)
    groups: dict[str, list[ProgressEvent]] = {}
    for e in events:
        groups.setdefault(half_of(session, halves, e.resource_id), []).append(e)
    out: dict[str, list[ProgressEvent]] = {}
    error = None
    for half, evs in groups.items():
        out[half], err = replay(evs)
        if err is not None and error is None:
            error = f"{half} half: {err}" if half else err
    return out, error


def combined_state(groups: dict[str, list[ProgressEvent]]) -> str:
    """The job's state from its halves' ordered events (see the module's docstring)."""

    def last(half: str) -> str:
        evs = groups.get(half)
        return evs[-1].kind if evs else "scheduled"

    if not set(groups) - {""}:
        return last("")
    deliver, install = last("deliver"), last("install")
    if "failed" in (deliver, install):
        return "failed"
    if install != "scheduled":
        return install
    return "delivered" if deliver == "completed" else deliver


def job_events(session: Session, job_id: str) -> list[ProgressEvent]:
    q = select(ProgressEvent).where(ProgressEvent.job_id == job_id, ProgressEvent.kind != POSITION)
    return list(session.scalars(q))


def same_event(a: ProgressEvent, b: ProgressEvent) -> bool:
    return (a.kind, a.job_id, a.at, a.reason) == (b.kind, b.job_id, b.at, b.reason) and (
        a.resource_id == b.resource_id or b.resource_id is None
    )


def apply_state_event(session: Session, job: Job, event: ProgressEvent) -> str:
    """Store ``event`` if the job's events stay a possible sequence; 409 otherwise. The new state."""
    prior = job_events(session, job.id)
    halves = split_halves(session, job)
    groups, error = replay_halves(session, job, [*prior, event], halves)
    if error is not None:
        raise conflict(f"job {job.id!r}: {error}")
    session.add(event)
    half = half_of(session, halves, event.resource_id)
    ordered = groups[half]
    state = ordered[-1].kind
    current = combined_state(groups)
    before = job.status
    job.status = STATUS_OF[current]
    add_change(
        session,
        "status",
        zone=job.zone,
        job_id=job.id,
        resource_id=event.resource_id,
        data={
            "job": job.id,
            "state": event.kind,
            "at": event.at.isoformat(),
            "current": current,
            "stop": half or None,
            "half_state": state,
            "status": job.status,
            "previous_status": before,
            "resource": event.resource_id,
            "reason": event.reason,
            "late_delivery": ordered[-1] is not event,
        },
    )
    return state


# --- live ETAs ------------------------------------------------------------------------------


def _day_bounds(request: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(request.get("timezone") or "UTC")
    day = dt.date.fromisoformat(request["date"])
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    return start - dt.timedelta(hours=6), start + dt.timedelta(days=1, hours=6)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def recompute_etas(
    session: Session, *, resource_id: str, run_id: str, zone: str | None = None
) -> list[dict[str, Any]]:
    """Fresh estimates for the resource's remaining stops from its events; stored, changes sent."""
    data = run_data(session, run_id)
    if data is None:
        return []
    request, plan = data
    index = crud.cached_plan_index(run_id, session=session)
    route = index["routes"].get(resource_id)
    if route is None:
        return []
    on_route = [s for s in route["stops"] if s.get("job")]
    route_jobs = {s["job"] for s in on_route}
    lo, hi = _day_bounds(request)
    evs = list(
        session.scalars(
            select(ProgressEvent).where(
                ProgressEvent.resource_id == resource_id, ProgressEvent.at >= lo, ProgressEvent.at <= hi
            )
        )
    )
    if not evs:
        return []
    by_job: dict[str, list[ProgressEvent]] = {}
    for e in evs:
        if e.kind != POSITION and e.job_id in route_jobs:
            by_job.setdefault(e.job_id, []).append(e)
    # events reported for this route's jobs by others (a dispatcher) count too
    clock = max(e.at for e in evs)
    states = {j: replay(es)[0] for j, es in by_job.items()}
    done = {j for j, es in states.items() if es and es[-1].kind in ("arrived", "started", *FINAL)}
    position: list[float] | None = None
    pings = [e for e in evs if e.lon is not None and e.lat is not None]
    last_state = max((es[-1] for es in states.values() if es), key=_order_key, default=None)
    if pings:
        ping = max(pings, key=lambda e: e.at)
        if last_state is None or ping.at >= last_state.at:
            position = [ping.lon, ping.lat]  # type: ignore[list-item]
    now = clock
    if last_state is not None and last_state.kind in ("arrived", "started"):
        stop = next(
            (s for s in on_route if s["job"] == last_state.job_id and s["type"] in CUSTOMER_STOPS), None
        )
        if stop is not None:
            service = _parse(stop["end"]) - _parse(stop["start"])
            begun = last_state.at
            if last_state.kind == "arrived":
                begun = max(begun, _parse(stop["start"]))
            now = max(clock, begun + service)
            if position is None or (pings and max(p.at for p in pings) <= last_state.at):
                position = list(stop["location"])
    tz = ZoneInfo(request.get("timezone") or "UTC")
    estimates = etas(
        request, plan, resource_id, now=now.astimezone(tz).isoformat(), position=position, done=done
    )
    out, seen = [], set()
    for est in estimates:
        if est.stop_type in CUSTOMER_STOPS and est.job not in seen:  # a job's first customer stop
            seen.add(est.job)
            out.append(est.to_json())
    ids = [e["job"] for e in out]
    rows = {r.job_id: r for r in session.scalars(select(JobEta).where(JobEta.job_id.in_(ids)))} if ids else {}
    for e in out:
        row = rows.get(e["job"])
        owner = index["job_resource"].get(e["job"])
        if row is not None and row.resource_id not in (resource_id, None) and row.resource_id == owner:
            continue  # a split job's courier keeps its estimate until it has arrived
        start, arrival = _parse(e["start"]), _parse(e["eta"])
        window = e["window"]
        was_late = row.late if row is not None else False
        moved = row is None or abs((row.start - start).total_seconds()) >= ETA_NOTICE_S
        if row is None:
            row = JobEta(job_id=e["job"], resource_id=resource_id)
            session.add(row)
        row.resource_id, row.run_id, row.zone = resource_id, run_id, zone
        row.eta, row.start = arrival, start
        row.window_from = _parse(window[0]) if window else None
        row.window_to = _parse(window[1]) if window else None
        row.late, row.late_by_s, row.computed_at = e["late"], e["late_by_s"], now
        change = {**e, "resource": resource_id, "computed_at": now.isoformat()}
        if moved or was_late != e["late"]:
            add_change(session, "eta", zone=zone, job_id=e["job"], resource_id=resource_id, data=change)
        if e["late"] and not was_late:
            add_change(session, "eta_late", zone=zone, job_id=e["job"], resource_id=resource_id, data=change)
        elif was_late and not e["late"]:
            add_change(
                session, "eta_on_time", zone=zone, job_id=e["job"], resource_id=resource_id, data=change
            )
    gone = [j for j in done if j in route_jobs]
    if gone:
        session.execute(delete(JobEta).where(JobEta.job_id.in_(gone), JobEta.resource_id == resource_id))
    return out


def published_run_for(session: Session, resource_id: str, at: dt.datetime) -> str | None:
    """The published run routing ``resource_id`` on the local day of ``at``."""
    for day in (at.date(), at.date() - dt.timedelta(days=1), at.date() + dt.timedelta(days=1)):
        for pub in session.scalars(select(PublishedPlan).where(PublishedPlan.date == day)):
            data = run_data(session, pub.run_id)
            if (
                data is None
                or resource_id not in crud.cached_plan_index(pub.run_id, session=session)["routes"]
            ):
                continue
            tz = ZoneInfo(data[0].get("timezone") or "UTC")
            if at.astimezone(tz).date() == day:
                return pub.run_id
    return None


# --- re-planning and publishing ----------------------------------------------------------------


def progress_for_replan(
    session: Session, request: dict[str, Any], at: dt.datetime
) -> tuple[dict[str, str], dict[str, list[float]]]:
    """job → completed | started | en_route, and resource → last position, from events up to ``at``.

    A failed job counts as completed (the visit happened; it is not re-planned today), an
    arrived one as started (the resource is there).
    """
    ids = [j["id"] for j in request.get("jobs", [])]
    progress: dict[str, str] = {}
    by_job: dict[str, list[ProgressEvent]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        q = select(ProgressEvent).where(
            ProgressEvent.job_id.in_(chunk), ProgressEvent.kind != POSITION, ProgressEvent.at <= at
        )
        for e in session.scalars(q):
            by_job.setdefault(e.job_id or "", []).append(e)
    for job_id, evs in by_job.items():
        job = session.get(Job, job_id)
        state = combined_state(replay_halves(session, job, evs)[0]) if job is not None else state_of(evs)
        # a delivered split job: the deliver is done and the install is held for its technician
        progress[job_id] = {"failed": "completed", "arrived": "started", "delivered": "started"}.get(
            state, state
        )
    resources = [r["id"] for k in ("technicians", "couriers") for r in request.get(k, [])]
    lo, _ = _day_bounds(request)
    positions: dict[str, list[float]] = {}
    q = (
        select(ProgressEvent)
        .where(
            ProgressEvent.resource_id.in_(resources),
            ProgressEvent.lon.is_not(None),
            ProgressEvent.at <= at,
            ProgressEvent.at >= lo,
        )
        .order_by(ProgressEvent.at)
    )
    for e in session.scalars(q):
        positions[e.resource_id or ""] = [e.lon, e.lat]  # type: ignore[list-item]
    return progress, positions


def after_publish(session: Session, run: PlanRun) -> None:
    """A published re-plan or booking: cancel what it cancelled, move jobs under way to it, tell streams."""
    plan = run.plan or {}
    index = crud.cached_plan_index(run.id, session=session)
    info = plan.get("replan") or {}
    for job_id in info.get("cancelled", []):
        row = session.get(Job, job_id)
        if row is not None and row.status not in (JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED):
            row.status = JOB_CANCELLED
            crud.add_event(session=session, kind=JOB_CANCELLED, job_id=job_id, run_id=run.id)
            add_change(
                session, "status", zone=row.zone, job_id=job_id, data={"job": job_id, "status": "cancelled"}
            )
    under_way = (JOB_ON_THE_WAY, JOB_ARRIVED, JOB_STARTED, JOB_DELIVERED)
    ids = [j["id"] for j in run.request.get("jobs", [])]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in session.scalars(select(Job).where(Job.id.in_(chunk), Job.status.in_(under_way))):
            resource = index["job_resource"].get(row.id)
            if resource:
                row.resource_id, row.plan_run_id = resource, run.id
    if ids:
        moved = select(JobEta.job_id).where(JobEta.job_id.in_(ids[:30000]))
        stale = [
            e.job_id
            for e in session.scalars(select(JobEta).where(JobEta.job_id.in_(moved)))
            if index["job_resource"].get(e.job_id) != e.resource_id
        ]
        if stale:
            session.execute(delete(JobEta).where(JobEta.job_id.in_(stale)))
    add_change(
        session,
        "plan_published",
        zone=run.zone,
        data={"run": run.id, "date": str(run.date), "zone": run.zone, "replan": bool(info)},
    )


def now_utc() -> dt.datetime:
    return utcnow()
