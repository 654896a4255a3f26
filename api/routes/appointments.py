"""Appointment booking against the live plan: quote 2-hour windows, book one (a new plan version)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from onestop.dispatch.booking import BookingError, book, earliest, quote
from onestop.dispatch.schema import Id, JobIn
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from .. import crud, living
from ..deps import DispatcherDep, SessionDep, SettingsDep, require_dispatcher
from ..errors import Problem, conflict, field_error, validation_problem
from ..limits import QuoteLimit
from ..models import RUN_SUCCEEDED, Job, PlanRun, PublishedPlan, utcnow
from ..schemas import Zone
from ..travel_policy import stored_travel_problem

router = APIRouter(prefix="/appointments", tags=["appointments"])

#: Bookings against one live plan are made one at a time (each makes the next version).
_BOOKING = threading.Lock()
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


def _live(session: Any, day: dt.date, zone: str | None) -> PlanRun:
    pubs = {p.zone: p for p in session.scalars(select(PublishedPlan).where(PublishedPlan.date == day))}
    pub = pubs.get(zone or "") or pubs.get("")
    run = session.get(PlanRun, pub.run_id) if pub is not None else None
    if run is None or run.plan is None:
        raise Problem(404, "No published plan", f"no plan is published for {day}", kind="no-published-plan")
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
    require_dispatcher(who, body.zone)
    day = body.date or dt.datetime.now(ZoneInfo(settings.timezone)).date()
    run = _live(session, day, body.zone or who.zone)
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


@router.post("", status_code=201, response_model=BookOut, summary="Book a window and insert the job")
def book_job(body: BookIn, session: SessionDep, settings: SettingsDep, who: DispatcherDep) -> Any:
    """On the live plan's day the job is inserted where the quote found room and the new plan
    version is published at once (nothing else moves); on a later day it is stored for that day's plan."""
    require_dispatcher(who, body.zone)
    try:
        start, end = (dt.datetime.fromisoformat(w) for w in body.window)
    except ValueError:
        raise validation_problem([field_error("window", "two ISO 8601 datetimes")]) from None
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise validation_problem([field_error("window", "two aware datetimes, the first earlier")])
    job = _job_dict(body.job)
    job_id = job.setdefault("id", crud.new_job_id())
    if session.get(Job, job_id) is not None:
        raise conflict(f"job {job_id!r} exists")
    zone = body.zone or who.zone
    live_day = body.date or start.date()
    with _BOOKING:
        run: PlanRun | None = None
        try:
            run = _live(session, live_day, zone)
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
            return JSONResponse(
                {
                    "job": job_id,
                    "date": start.date().isoformat(),
                    "window": window,
                    "inserted": False,
                    "resource": None,
                    "plan_run": None,
                    "status": "new",
                },
                status_code=201,
            )
        assert run is not None
        base_request, base_plan = living.run_data(session, run.id)  # type: ignore[misc]
        travel = stored_travel_problem(base_request, settings)
        if travel is not None:
            raise travel
        try:
            new_request, new_plan = book(base_request, base_plan, job, window, at=_at(body.at, base_request))
        except BookingError as exc:
            raise Problem(409, "Window not available", str(exc), kind="window-not-available") from None
        row = Job(
            id=job_id, date=run.date or live_day, zone=run.zone, kind=job["kind"], status="new", data=data
        )
        session.add(row)
        crud.add_event(session=session, kind="created", job_id=job_id, data={"booked": window})
        version = PlanRun(
            id=str(uuid.uuid4()),
            status=RUN_SUCCEEDED,
            date=run.date,
            zone=run.zone,
            source="booking",
            request=new_request,
            plan=new_plan,
            phase="done",
            progress=1.0,
            attempts=1,
            cancel_requested=False,
            created_by=who.key_id,
            started_at=utcnow(),
            finished_at=utcnow(),
        )
        session.add(version)
        crud.add_event(
            session=session, kind="run_booked", run_id=version.id, data={"base": run.id, "job": job_id}
        )
        session.flush()
        crud.publish_run(session=session, run=version, by=who.key_id)
        session.commit()  # the next booking starts from this version
    return JSONResponse(
        {
            "job": job_id,
            "date": row.date.isoformat(),
            "window": window,
            "inserted": True,
            "resource": row.resource_id,
            "plan_run": version.id,
            "status": row.status,
        },
        status_code=201,
    )


def routers() -> list[APIRouter]:
    return [router]
