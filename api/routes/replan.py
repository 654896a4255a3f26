"""Re-planning a day in progress: ``POST /v1/plans/{id}/replan`` → a new, stored, publishable run."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from onestop.dispatch.replan import replan
from onestop.dispatch.runner import violations_json
from onestop.dispatch.schema import Id, JobIn
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .. import crud, living, runs
from ..deps import DispatcherDep, SessionDep, require_dispatcher
from ..errors import Problem, conflict, field_error, not_found, validation_problem
from ..models import RUN_SUCCEEDED, Job, PlanRun, utcnow
from ..schemas import RunAccepted
from ..travel_policy import stored_travel_problem

router = APIRouter(prefix="/plans", tags=["plans"])


class ReplanIn(BaseModel):
    """What happened since the plan was made, at ``at``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Annotated[str, StringConstraints(min_length=5, max_length=40)] = Field(
        description="the moment to re-plan from: HH:MM on the plan's day, or an ISO 8601 datetime"
    )
    new_jobs: Annotated[list[JobIn], Field(max_length=1000)] = []
    cancelled: Annotated[list[Id], Field(max_length=10_000)] = []
    unavailable: Annotated[list[Id], Field(max_length=1000)] = Field(
        default=[], description="resources gone for the rest of the day"
    )
    preset: Annotated[str, StringConstraints(pattern="^(fast|balanced|quality)$")] | None = None
    time_limit_s: Annotated[float, Field(gt=0, le=120, allow_inf_nan=False)] | None = None
    publish: bool = Field(False, description="make the new run the day's active plan at once")
    wait: bool = Field(
        True,
        description="true: solve in this request and answer 201 with the plan; false: queue the "
        "re-plan as a background run (solved by the workers like any plan run) and answer 202 at "
        "once; poll GET /v1/plans/{id}. With publish, the worker publishes it when it succeeds "
        "without violations, unless a newer plan was published for the day meanwhile",
    )


class ReplanOut(BaseModel):
    id: str
    status: str
    base: str
    at: str
    changed: int = Field(description="jobs that were planned and are now on another resource")
    changed_jobs: list[str]
    kept: int
    lost: list[str]
    completed: list[str]
    cancelled: list[str]
    unavailable: list[str]
    seconds: float
    published: bool
    violations: list[dict[str, Any]]
    plan: dict[str, Any]


def _moment(text: str, request: dict[str, Any]) -> dt.datetime:
    tz = ZoneInfo(request.get("timezone") or "UTC")
    try:
        if len(text) in (5, 8) and text[2] == ":":
            clock = dt.time.fromisoformat(text)
            return dt.datetime.combine(dt.date.fromisoformat(request["date"]), clock, tzinfo=tz)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise validation_problem([field_error("at", "use HH:MM or an ISO 8601 datetime")]) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


@router.post(
    "/{run_id}/replan",
    status_code=201,
    response_model=ReplanOut,
    summary="Re-plan the rest of the day",
    responses={202: {"model": RunAccepted, "description": "queued as a background run (wait: false)"}},
)
def replan_run(run_id: str, body: ReplanIn, session: SessionDep, who: DispatcherDep, http: Request) -> Any:
    """From ``at``: completed and started stops stay, each resource starts where its events put
    it, promised windows hold, and as few assignments as possible change (reported)."""
    base = session.get(PlanRun, run_id)
    if base is None:
        raise not_found("plan run", run_id)
    require_dispatcher(who, base.zone)
    if base.status != RUN_SUCCEEDED or base.plan is None:
        raise conflict(f"run {run_id} is {base.status}; only a succeeded run can be re-planned")
    request, plan = base.request, base.plan
    travel = stored_travel_problem(request, http.app.state.settings)
    if travel is not None:
        raise travel
    day = base.date or dt.date.fromisoformat(request["date"])
    newer = runs.superseding_run(session, base.id)
    if newer is not None:
        # the newer plan may hold bookings and re-plans this one has not seen: the plan moved on
        raise runs.PlanMoved(
            f"run {run_id} was superseded by the published run {newer}; re-plan that one, "
            "so the bookings and changes made since are kept",
            live_run=newer,
            date=day,
            zone=base.zone,
        )
    # the version this re-plan starts from: publishing it later swaps only that one out, so
    # bookings made while it solves are never overwritten by it
    live_at_start = runs.live_run_id(session, day, base.zone)
    at = _moment(body.at, request)
    job_ids = {j["id"] for j in request.get("jobs", [])}
    resources = {r["id"] for k in ("technicians", "couriers") for r in request.get(k, [])}
    errors = [
        field_error(f"cancelled[{i}]", f"job {j!r} is not on this plan's request", "reference")
        for i, j in enumerate(body.cancelled)
        if j not in job_ids
    ]
    errors += [
        field_error(f"unavailable[{i}]", f"resource {r!r} is not on this plan's request", "reference")
        for i, r in enumerate(body.unavailable)
        if r not in resources
    ]
    new_jobs = [j.model_dump(by_alias=True, exclude_none=True, mode="json") for j in body.new_jobs]
    for i, j in enumerate(new_jobs):
        row = session.get(Job, j["id"])
        if j["id"] in job_ids or (row is not None and row.status not in ("new", "unassigned")):
            errors.append(field_error(f"new_jobs[{i}].id", f"job {j['id']!r} exists", "duplicate"))
    if errors:
        raise validation_problem(errors)
    progress, positions = living.progress_for_replan(session, request, at)
    if not body.wait:
        queued = runs.new_run(
            session=session,
            request=request,  # until the worker stores the rest-of-day request it planned
            source="replan",
            date=base.date,
            zone=base.zone,
            created_by=who.key_id,
            base_run_id=live_at_start,
            known_base=True,
            preset=body.preset,
            time_limit_s=body.time_limit_s,
            solution_limit=None,
            task={
                "kind": "replan",
                "base": base.id,
                "at": at.isoformat(),
                "progress": dict(progress),
                "positions": {k: list(v) for k, v in positions.items()},
                "new_jobs": new_jobs,
                "cancelled": list(body.cancelled),
                "unavailable": list(body.unavailable),
                "publish": body.publish,
            },
        )
        _store_new_jobs(session, new_jobs, day, base.zone)
        session.commit()
        http.app.state.executor.submit(queued.id)
        return JSONResponse(
            {"id": queued.id, "status": queued.status},
            status_code=202,
            headers={"Location": f"/v1/plans/{queued.id}"},
        )
    started = utcnow()
    began = time.monotonic()
    outcome = replan(
        request,
        plan,
        at=at.isoformat(),
        progress=progress,
        positions=positions,
        new_jobs=new_jobs,
        cancelled=body.cancelled,
        unavailable=body.unavailable,
        preset=body.preset,
        time_limit_s=body.time_limit_s,
    )
    violations = violations_json(outcome.violations)
    run = runs.new_run(
        session=session,
        request=outcome.request,
        source="replan",
        date=base.date,
        zone=base.zone,
        created_by=who.key_id,
        base_run_id=live_at_start,
        known_base=True,
        status=RUN_SUCCEEDED,
        preset=body.preset,
        time_limit_s=body.time_limit_s,
        solution_limit=None,
        plan=outcome.plan,
        violations={"items": violations} if violations else None,
        phase="done",
        progress=1.0,
        attempts=1,
        started_at=started,
        finished_at=utcnow(),
    )
    session.add(run)
    crud.add_event(
        session=session,
        kind="run_replanned",
        run_id=run.id,
        data={"base": base.id, "at": at.isoformat(), "changed": len(outcome.changed)},
    )
    _store_new_jobs(session, new_jobs, day, base.zone)
    session.flush()
    published = False
    if body.publish:
        try:
            runs.publish(session=session, run=run, by=who.key_id)
        except Problem as refused:
            # the new run is worth keeping (inspect it, or publish it with force): it is stored
            # and committed, and the answer says so truthfully
            session.commit()
            refused.detail = f"stored as run {run.id}, not published: {refused.detail}"
            refused.headers = {"Location": f"/v1/plans/{run.id}"}
            raise
        published = True
    summary = outcome.plan.get("replan", {})
    out = {
        "id": run.id,
        "status": run.status,
        "base": base.id,
        "at": summary.get("at", at.isoformat()),
        "changed": len(outcome.changed),
        "changed_jobs": outcome.changed,
        "kept": outcome.kept,
        "lost": outcome.lost,
        "completed": outcome.completed,
        "cancelled": outcome.cancelled,
        "unavailable": sorted(body.unavailable),
        "seconds": round(time.monotonic() - began, 3),
        "published": published,
        "violations": violations,
        "plan": outcome.plan,
    }
    return JSONResponse(
        ReplanOut.model_validate(out).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/plans/{run.id}"},
    )


def _store_new_jobs(session: Any, new_jobs: list[dict[str, Any]], day: dt.date, zone: str | None) -> None:
    """New jobs of a re-plan become stored jobs too (status new until a plan is published)."""
    for j in new_jobs:
        if session.get(Job, j["id"]) is None:
            data = {k: v for k, v in j.items() if k != "id"}
            session.add(Job(id=j["id"], date=day, zone=zone, kind=j["kind"], status="new", data=data))
            crud.add_event(session=session, kind="created", job_id=j["id"])


@router.get("/{run_id}/request", summary="The v1 request a run planned")
def run_request(run_id: str, session: SessionDep, who: DispatcherDep) -> Any:
    """The whole v1 request behind a run (for a re-plan: the rest of the day), to check or replay its plan."""
    run = session.get(PlanRun, run_id)
    if run is None:
        raise not_found("plan run", run_id)
    require_dispatcher(who, run.zone)
    return run.request


def routers() -> list[APIRouter]:
    return [router]
