"""Appointment booking against the live plan: quote 2-hour windows, book one (a new plan version)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from onestop.dispatch.booking import BookingError, book, earliest, quote
from onestop.dispatch.schema import Id, JobIn
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.exc import IntegrityError

from .. import crud, living, runs
from ..deps import DispatcherDep, SessionDep, SettingsDep
from ..errors import Problem, conflict, field_error, forbidden, validation_problem
from ..limits import QuoteLimit
from ..models import RUN_SUCCEEDED, Job, PlanRun, utcnow
from ..schemas import Zone
from ..security import Principal
from ..settings import Settings
from ..travel_policy import stored_travel_problem

router = APIRouter(prefix="/appointments", tags=["appointments"])

Moment = Annotated[str, StringConstraints(min_length=5, max_length=40)]


class AppointmentJob(JobIn):
    """The job to fit in; its windows are what is being quoted, so any given are ignored."""

    id: Id | None = None  # type: ignore[assignment]


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job: AppointmentJob
    date: dt.date | None = Field(None, description="the live plan's day (default: today)")
    zone: Zone | None = None
    days: Annotated[int, Field(ge=1, le=14)] = 3
    at: Moment | None = Field(None, description="now: HH:MM on that day or ISO 8601 (default: the clock)")
    urgent: bool = Field(
        False, description="answer with the earliest slot only (also when priority is urgent)"
    )


class SlotOut(BaseModel):
    date: str
    window: list[str]
    feasible: bool
    extra_cost_s: int
    resource: str | None
    detail: str = ""


class QuoteOut(BaseModel):
    date: dt.date
    plan_run: str
    slots: list[SlotOut]
    answer: dict[str, Any] | None = Field(
        None, description="urgent requests: {slot, today, message} ('none today, earliest is …')"
    )


class BookIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    job: AppointmentJob
    window: Annotated[list[Moment], Field(min_length=2, max_length=2)]
    date: dt.date | None = Field(None, description="the live plan's day (default: the window's day)")
    zone: Zone | None = None
    at: Moment | None = None


class BookOut(BaseModel):
    job: str
    date: dt.date
    window: list[str]
    inserted: bool = Field(description="true when placed into the live plan (a new, published version)")
    resource: str | None
    plan_run: str | None
    status: str


def _scope(who: Principal, named: str | None) -> str | None:
    """The zone a quote or booking works in: a zone key's own zone (naming another is refused),
    else the zone named in the body, else none (the all-zones plan)."""
    if who.zone is not None:
        if named is not None and named != who.zone:
            raise forbidden(f"this key is limited to zone {who.zone!r}, not zone {named!r}")
        return who.zone
    return named


def _live(session: Any, day: dt.date, zone: str | None, *, lock: bool = False) -> PlanRun:
    """The published plan of exactly ``day`` and ``zone`` (None: the all-zones plan). A zone
    without a plan of its own is told so; it is never answered from another zone's plan or
    from the all-zones one (which a zone key may not change)."""
    run_id = runs.live_run_id(session, day, zone, lock=lock)
    run = session.get(PlanRun, run_id) if run_id is not None else None
    if run is None or run.plan is None:
        where = f" for zone {zone!r}" if zone else " for all zones"
        raise Problem(
            404,
            "No published plan",
            f"no plan is published{where} on {day}; publish one for it first",
            kind="no-published-plan",
        )
    return run


def _at(text: str | None, request: dict[str, Any]) -> str:
    """``at`` as the booking functions read it (HH:MM or ISO); the clock when not given."""
    if text is not None:
        try:
            if not (len(text) in (5, 8) and text[2] == ":"):
                dt.datetime.fromisoformat(text)
            else:
                dt.time.fromisoformat(text)
        except ValueError:
            raise validation_problem([field_error("at", "use HH:MM or an ISO 8601 datetime")]) from None
        return text
    return dt.datetime.now(ZoneInfo(request.get("timezone") or "UTC")).isoformat()


def _job_dict(job: AppointmentJob) -> dict[str, Any]:
    out = job.model_dump(by_alias=True, exclude_none=True, mode="json")
    out.pop("windows", None)
    return out


@router.post(
    "/quote",
    response_model=QuoteOut,
    summary="Feasible 2-hour windows for a new job",
    dependencies=[QuoteLimit],
)
def quote_job(body: QuoteIn, session: SessionDep, settings: SettingsDep, who: DispatcherDep) -> Any:
    """Windows today (after ``at``) and on the next days, each feasible or not, with the travel it
    adds, checked against the live (published) plan; urgent jobs get the earliest one at once."""
    day = body.date or dt.datetime.now(ZoneInfo(settings.timezone)).date()
    run = _live(session, day, _scope(who, body.zone))
    data = living.run_data(session, run.id)
    assert data is not None
    request, plan = data
    travel = stored_travel_problem(request, settings)
    if travel is not None:
        raise travel
    at = _at(body.at, request)
    job = _job_dict(body.job)
    answer = None
    if body.urgent or job.get("priority") == "urgent":
        first = earliest(request, plan, job, days=body.days, at=at)
        slots = [first.slot.to_json()] if first.slot else []
        answer = {"slot": slots[0] if slots else None, "today": first.today, "message": first.message}
    else:
        slots = [s.to_json() for s in quote(request, plan, job, days=body.days, at=at)]
    return {"date": day, "plan_run": run.id, "slots": slots, "answer": answer}


@router.post(
    "",
    status_code=201,
    response_model=BookOut,
    summary="Book a window and insert the job",
    responses={
        409: {
            "description": "`slot-taken`: the window has no room on the live plan (quote again); "
            "`plan-moved`: the live plan kept changing under the booking (`live_run` names it)"
        }
    },
)
def book_job(body: BookIn, session: SessionDep, settings: SettingsDep, who: DispatcherDep) -> Any:
    """On the live plan's day the job is inserted where the quote found room and the new plan
    version is published at once (nothing else moves); on a later day it is stored for that day's plan.

    The new version replaces the live plan only if that is still the version the job was fitted
    into; when another booking or publication won the race, the booking is made again on the
    newer version (up to ``runs.BOOKING_TRIES`` times), so a 201 is always on the live plan."""
    try:
        start, end = (dt.datetime.fromisoformat(w) for w in body.window)
    except ValueError:
        raise validation_problem([field_error("window", "two ISO 8601 datetimes")]) from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise validation_problem([field_error("window", "two aware datetimes, the first earlier")])
    zone = _scope(who, body.zone)
    job = _job_dict(body.job)
    job_id = job.setdefault("id", crud.new_job_id())
    live_day = body.date or start.date()
    moved: runs.PlanMoved | None = None
    for _ in range(runs.BOOKING_TRIES):
        if session.get(Job, job_id) is not None:
            raise conflict(f"job {job_id!r} exists")
        try:
            out = _book_once(session, who, settings, body, job, job_id, start, end, zone, live_day)
            session.commit()
        except runs.PlanMoved as exc:
            session.rollback()  # nothing of this try stays; the next one starts from the newer plan
            moved = exc
            continue
        except IntegrityError:
            session.rollback()
            raise conflict(f"job {job_id!r} exists") from None
        return JSONResponse(out, status_code=201)
    assert moved is not None
    moved.detail = (
        f"the live plan changed {runs.BOOKING_TRIES} times while job {job_id!r} was being booked; "
        f"the live version is run {moved.live_run}. Nothing was booked: quote and book again"
    )
    raise moved


def _book_once(
    session: Any,
    who: Principal,
    settings: Settings,
    body: BookIn,
    job: dict[str, Any],
    job_id: str,
    start: dt.datetime,
    end: dt.datetime,
    zone: str | None,
    live_day: dt.date,
) -> dict[str, Any]:
    """One try: fit the job into the live plan as read now and publish the new version by
    compare-and-swap (``runs.PlanMoved`` when another version went live first)."""
    run: PlanRun | None = None
    try:
        run = _live(session, live_day, zone, lock=True)
    except Problem:
        if body.date is not None:
            raise
    request = living.run_data(session, run.id)[0] if run is not None else {}  # type: ignore[index]
    tz = ZoneInfo(request.get("timezone") or "UTC")
    window = [start.astimezone(tz).isoformat(), end.astimezone(tz).isoformat()]
    on_day = run is not None and start.astimezone(tz).date().isoformat() == request.get("date")
    data = {k: v for k, v in job.items() if k != "id"}
    data["windows"] = [window]
    if not on_day:
        row = Job(id=job_id, date=start.date(), zone=zone, kind=job["kind"], status="new", data=data)
        session.add(row)
        crud.add_event(session=session, kind="created", job_id=job_id, data={"booked": window})
        return {
            "job": job_id,
            "date": start.date().isoformat(),
            "window": window,
            "inserted": False,
            "resource": None,
            "plan_run": None,
            "status": "new",
        }
    assert run is not None
    base_request, base_plan = living.run_data(session, run.id)  # type: ignore[misc]
    travel = stored_travel_problem(base_request, settings)
    if travel is not None:
        raise travel
    try:
        new_request, new_plan = book(base_request, base_plan, job, window, at=_at(body.at, base_request))
    except BookingError as exc:
        raise runs.SlotTaken(f"{exc} (on the live plan, run {run.id})", plan_run=run.id) from None
    row = Job(id=job_id, date=run.date or live_day, zone=run.zone, kind=job["kind"], status="new", data=data)
    session.add(row)
    crud.add_event(session=session, kind="created", job_id=job_id, data={"booked": window})
    now = utcnow()
    version = runs.new_run(
        session=session,
        request=new_request,
        source="booking",
        date=run.date,
        zone=run.zone,
        created_by=who.key_id,
        base_run_id=run.id,
        known_base=True,
        status=RUN_SUCCEEDED,
        plan=new_plan,
        phase="done",
        progress=1.0,
        attempts=1,
        started_at=now,
        finished_at=now,
    )
    crud.add_event(
        session=session, kind="run_booked", run_id=version.id, data={"base": run.id, "job": job_id}
    )
    runs.publish(session=session, run=version, by=who.key_id)
    return {
        "job": job_id,
        "date": row.date.isoformat(),
        "window": window,
        "inserted": True,
        "resource": row.resource_id,
        "plan_run": version.id,
        "status": row.status,
    }


def routers() -> list[APIRouter]:
    return [router]
