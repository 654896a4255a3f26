"""One life for every plan run: made (a plan, a re-plan, a booking), then published.

Publishing is a compare-and-swap on the day's (and zone's) live plan: a run remembers the
run that was live when it was made (``base_run_id``), and it replaces the live plan only if
that is still the live one (``UPDATE published_plans … WHERE run_id = base``, or an insert
that does nothing when a plan appeared meanwhile). Two server processes booking at once
cannot both win: the loser learns the newer version, and either tries again on it (bookings,
a bounded number of times) or answers 409 ``plan-moved`` naming it. A run that breaks a
validator rule is published only when a dispatcher forces it with a reason, which is kept.

This module sits above ``crud`` and ``living`` (both below it), so neither imports the other
to publish; routes and the worker come here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import crud, living
from .errors import Problem, conflict, field_error, validation_problem
from .models import (
    JOB_CANCELLED,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_NEW,
    JOB_SCHEDULED,
    JOB_UNASSIGNED,
    RUN_QUEUED,
    RUN_SUCCEEDED,
    Job,
    PlanRun,
    PublishedPlan,
    utcnow,
)

#: Runs planned afresh from the stored day or a whole request (not derived from a live plan).
FRESH_SOURCES = frozenset({"stored", "request"})
#: Tries of a booking whose live plan moved on under it (each on the newer version).
BOOKING_TRIES = 6
_JOB_DONE = (JOB_CANCELLED, JOB_COMPLETED, JOB_FAILED)


class PlanMoved(Problem):
    """409 ``plan-moved``: the live plan is not the version this change was made from."""

    def __init__(self, detail: str, *, live_run: str | None, date: dt.date, zone: str | None) -> None:
        super().__init__(409, "The live plan moved on", detail, kind="plan-moved")
        self.live_run = live_run
        self.date = date
        self.zone = zone

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return {
            **super().body(instance),
            "live_run": self.live_run,
            "date": self.date.isoformat(),
            "zone": self.zone,
        }


class SlotTaken(Problem):
    """409 ``slot-taken``: the window has no room on the live plan (quote again)."""

    def __init__(self, detail: str, *, plan_run: str) -> None:
        super().__init__(409, "The window is not available", detail, kind="slot-taken")
        self.plan_run = plan_run

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return {**super().body(instance), "plan_run": self.plan_run}


@dataclass(frozen=True, slots=True)
class Published:
    """What a publication did: the run now live, and the run it replaced (None: none was)."""

    run: str
    date: dt.date
    zone: str | None
    published_at: dt.datetime
    replaced: str | None


def run_day(run: PlanRun) -> dt.date:
    return run.date or dt.date.fromisoformat((run.plan or {}).get("date") or run.request["date"])


def live_run_id(session: Session, day: dt.date, zone: str | None, *, lock: bool = False) -> str | None:
    """The published run of ``day`` and ``zone`` (None: the all-zones plan), read now.

    ``lock`` holds the row until the transaction ends (PostgreSQL; SQLite has no row locks), so
    bookings of one plan queue up instead of all computing on the same version and retrying."""
    query = select(PublishedPlan.run_id).where(PublishedPlan.date == day, PublishedPlan.zone == (zone or ""))
    return session.scalar(query.with_for_update() if lock else query)


def new_run(
    *,
    session: Session,
    request: dict[str, Any],
    source: str,
    date: dt.date | None,
    zone: str | None,
    created_by: str | None,
    base_run_id: str | None = None,
    known_base: bool = False,
    **fields: Any,
) -> PlanRun:
    """A plan run of any source; its base is the live plan now unless given (``known_base``)."""
    if not known_base:
        day = date or dt.date.fromisoformat(request["date"])
        base_run_id = live_run_id(session, day, zone)
    options = request.get("options") or {}
    values: dict[str, Any] = {
        "status": RUN_QUEUED,
        "preset": options.get("preset"),
        "time_limit_s": options.get("time_limit_s"),
        "solution_limit": options.get("solution_limit"),
        "progress": 0.0,
        "attempts": 0,
        "cancel_requested": False,
    }
    values.update(fields)
    run = PlanRun(
        id=str(uuid.uuid4()),
        date=date,
        zone=zone,
        source=source,
        request=request,
        created_by=created_by,
        base_run_id=base_run_id,
        **values,
    )
    session.add(run)
    if run.status == RUN_QUEUED:
        crud.add_event(session=session, kind="run_queued", run_id=run.id, data={"base": base_run_id})
    return run


def superseding_run(session: Session, base_id: str | None) -> str | None:
    """The published run of ``base_id``'s day that is newer than it, if any: work booked or
    re-planned since the base would be dropped by re-planning or publishing from the base."""
    base = session.get(PlanRun, base_id) if base_id else None
    if base is None:
        return None
    active = live_run_id(session, run_day(base), base.zone)
    if active is None or active == base.id:
        return None
    newer = session.get(PlanRun, active)
    return newer.id if newer is not None and newer.created_at > base.created_at else None


def violation_errors(run: PlanRun) -> list[dict[str, str]]:
    """The run's validator findings in words, as problem ``errors``."""
    items = (run.violations or {}).get("items") or []
    out = []
    for i, v in enumerate(items):
        parts = [f"route {v['route']}" if v.get("route") else "", f"job {v['job']}" if v.get("job") else ""]
        where = " ".join(p for p in parts if p)
        message = v.get("message") or str(v)
        text = f"{where}: {message}" if where else message
        out.append(field_error(f"violations[{i}]", text, v.get("rule", "rule")))
    return out


def _may_replace(session: Session, run: PlanRun, current: str) -> bool:
    """Whether ``run`` may replace the live ``current`` without losing work made since.

    Yes when ``current`` is the run's base (or the run itself), and when both are fresh plans of
    the stored day made from the same base, ``current`` first: the later one was built from every
    stored job the earlier one saw (a dispatcher comparing two runs may publish either)."""
    if current in (run.base_run_id, run.id):
        return True
    if run.source not in FRESH_SOURCES:
        return False
    live = session.get(PlanRun, current)
    return (
        live is not None
        and live.source == run.source
        and live.base_run_id == run.base_run_id
        and live.created_at <= run.created_at
    )


def _swap(
    session: Session, run: PlanRun, day: dt.date, zone_key: str, by: str | None
) -> tuple[bool, str | None]:
    """Compare-and-swap the live plan to ``run``: (done, the run it replaced).

    The live row is read under a row lock on PostgreSQL (SQLite holds its one write lock already
    or takes it at the UPDATE) and changed only ``WHERE run_id`` is still what was read, so of two
    racing publishers exactly one wins and the other sees the newer version."""
    now = utcnow()
    where = (PublishedPlan.date == day, PublishedPlan.zone == zone_key)
    current = session.scalar(select(PublishedPlan.run_id).where(*where).with_for_update())
    if current is None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(PublishedPlan.__table__).values(
            date=day, zone=zone_key, run_id=run.id, published_by=by, published_at=now
        )
        done = session.execute(stmt.on_conflict_do_nothing(index_elements=["date", "zone"])).rowcount
        return bool(done), None
    if not _may_replace(session, run, current):
        return False, None
    done = session.execute(
        update(PublishedPlan)
        .where(*where, PublishedPlan.run_id == current)
        .values(run_id=run.id, published_by=by, published_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(done), (current if current != run.id else None)


def publish(
    *,
    session: Session,
    run: PlanRun,
    by: str | None,
    force: bool = False,
    reason: str | None = None,
) -> Published:
    """Make a succeeded run the live plan of its day and zone and mark the stored jobs.

    409 ``plan-moved`` (nothing written) when the live plan is no longer the run's base;
    409 ``plan-has-violations`` unless a run that breaks rules is ``force``d with a ``reason``.
    """
    if run.status != RUN_SUCCEEDED or run.plan is None:
        raise conflict(f"run {run.id} is {run.status}; only a succeeded run can be published")
    broken = violation_errors(run)
    if broken and not force:
        raise Problem(
            409,
            "The plan breaks rules",
            f"run {run.id} breaks {len(broken)} rule(s) of the validator ({broken[0]['message']}); "
            'it was not published. Publish it anyway with {"force": true, "reason": "…"}',
            kind="plan-has-violations",
            errors=broken,
        )
    if force and broken and not (reason or "").strip():
        raise validation_problem([field_error("reason", "say why a run that breaks rules is published")])
    day = run_day(run)
    zone_key = run.zone or ""
    session.flush()
    swapped, replaced = _swap(session, run, day, zone_key, by)
    if not swapped:
        live = live_run_id(session, day, zone_key)
        where = f" zone {run.zone!r}" if run.zone else ""
        raise PlanMoved(
            f"the live plan of {day}{where} is now run {live}, not run {run.base_run_id} that run "
            f"{run.id} was made from; it was not published (work made since would be lost). "
            f"Re-plan or book on run {live}",
            live_run=live,
            date=day,
            zone=run.zone,
        )
    if force and broken:
        run.publication = {
            "forced": True,
            "reason": (reason or "").strip(),
            "by": by,
            "at": utcnow().isoformat(),
            "violations": len(broken),
        }
    if replaced is not None:
        session.execute(
            update(Job)
            .where(Job.plan_run_id == replaced, Job.status.in_((JOB_SCHEDULED, JOB_UNASSIGNED)))
            .values(status=JOB_NEW, resource_id=None, plan_run_id=None)
            .execution_options(synchronize_session=False)
        )
    index = crud.cached_plan_index(run.id, session=session)
    job_ids = [j["id"] for j in run.request.get("jobs", [])]
    for start in range(0, len(job_ids), 500):
        chunk = job_ids[start : start + 500]
        for row in session.scalars(
            select(Job).where(Job.id.in_(chunk), Job.date == day).execution_options(populate_existing=True)
        ):
            if row.status in _JOB_DONE or row.status not in (JOB_NEW, JOB_SCHEDULED, JOB_UNASSIGNED):
                continue
            resource = index["job_resource"].get(row.id)
            row.status = JOB_SCHEDULED if resource else JOB_UNASSIGNED
            row.resource_id = resource
            row.plan_run_id = run.id
            crud.add_event(session=session, kind=row.status, job_id=row.id, run_id=run.id)
    crud.add_event(session=session, kind="run_published", run_id=run.id, data={"replaced": replaced})
    living.after_publish(session, run)
    session.flush()
    return Published(run.id, day, run.zone, utcnow(), replaced)


def publish_if_still_live(session: Session, run: PlanRun, by: str | None) -> str | None:
    """The worker's publish of a queued re-plan: None when published, else the newer live run
    (then nothing is written but an event saying why it stayed a stored run)."""
    try:
        publish(session=session, run=run, by=by)
    except PlanMoved as moved:
        crud.add_event(
            session=session, kind="run_not_published", run_id=run.id, data={"superseded_by": moved.live_run}
        )
        return moved.live_run or ""
    return None
