"""Plan runs: queue (202), poll, cancel, publish."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from onestop.dispatch.errors import RequestError
from onestop.dispatch.model import parse_request
from onestop.dispatch.planner import zones_of
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select

from .. import crud, runs
from ..deps import DispatcherDep, SessionDep, SettingsDep, require_dispatcher
from ..errors import field_error, not_found, pydantic_errors, validation_problem
from ..models import RUN_STATUSES, PlanRun, PublishedPlan
from ..schemas import PublishedOut, RunAccepted, RunOut, RunPage, StoredPlanIn
from ..travel_policy import check_travel

router = APIRouter(prefix="/plans", tags=["plans"])

_STORED_KEYS = frozenset(StoredPlanIn.model_fields)

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/PlanRequestIn"},
                        {"$ref": "#/components/schemas/StoredPlanIn"},
                    ]
                }
            }
        },
    }
}


def run_out(run: PlanRun, *, published: bool = False, with_plan: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id,
        "status": run.status,
        "date": run.date,
        "zone": run.zone,
        "source": run.source,
        "attempts": run.attempts,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "progress": {"phase": run.phase, "fraction": run.progress, "best_objective": run.best_objective},
        "cancel_requested": run.cancel_requested,
        "published": published,
    }
    if with_plan and run.plan is not None:
        out["plan"] = run.plan
    if run.error is not None:
        out["error"] = run.error
    if run.violations is not None:
        out["violations"] = run.violations.get("items", [])
    if run.publication is not None:
        out["publication"] = run.publication
    if run.base_run_id is not None:
        out["base"] = run.base_run_id
    return out


def _is_published(session: Any, run: PlanRun) -> bool:
    return (
        session.scalar(select(PublishedPlan.run_id).where(PublishedPlan.run_id == run.id).limit(1))
        is not None
    )


def _get_run(session: Any, run_id: str, who: Any) -> PlanRun:
    run = session.get(PlanRun, run_id)
    if run is None:
        raise not_found("plan run", run_id)
    require_dispatcher(who, run.zone)
    return run


@router.post(
    "",
    status_code=202,
    response_model=RunAccepted,
    summary="Queue a plan run",
    description=(
        "The body is a whole v1 request, or `{date, zone}` (with optional `timezone` and "
        "`options`) to plan the stored jobs of that date and zone with the stored resources. "
        "Answers 202 at once; poll `GET /v1/plans/{id}`."
    ),
    openapi_extra=_BODY_DOC,
)
def create_run(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: DispatcherDep,
    body: Annotated[dict[str, Any], Body(include_in_schema=False)],
) -> Any:
    if set(body) <= _STORED_KEYS:
        try:
            stored = StoredPlanIn.model_validate(body)
        except ValidationError as exc:
            raise validation_problem(pydantic_errors(exc.errors(include_url=False))) from None
        zone = stored.zone if stored.zone is not None or who.zone is None else who.zone
        require_dispatcher(who, zone)
        options = stored.options.model_dump(exclude_unset=True) if stored.options else None
        check_travel(options, settings)  # before any row is read, file looked at or host contacted
        payload = crud.stored_request(
            session=session,
            date=stored.date,
            zone=zone,
            timezone=stored.timezone or settings.timezone,
            options=options,
        )
        if not payload["jobs"]:
            where = f" in zone {zone!r}" if zone else ""
            raise validation_problem([field_error("date", f"no open jobs stored for {stored.date}{where}")])
        try:
            zones_of(parse_request(payload))
        except RequestError as exc:
            raise crud.stored_data_problem(exc, payload) from None
        source, date = "stored", stored.date
    else:
        require_dispatcher(who, None)  # a whole request belongs to no zone
        check_travel(body.get("options"), settings)
        zones_of(parse_request(body))  # RequestError → 422 naming the field, before anything is queued
        payload, source, zone = body, "request", None
        date = dt.date.fromisoformat(body["date"])
    run = runs.new_run(
        session=session, request=payload, source=source, date=date, zone=zone, created_by=who.key_id
    )
    session.commit()
    request.app.state.executor.submit(run.id)
    return JSONResponse(
        {"id": run.id, "status": run.status}, status_code=202, headers={"Location": f"/v1/plans/{run.id}"}
    )


@router.get("", response_model=RunPage, summary="List plan runs")
def list_runs(
    session: SessionDep,
    who: DispatcherDep,
    date: Annotated[dt.date | None, Query()] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(RUN_STATUSES) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    filters: list[Any] = []
    if who.zone is not None:
        filters.append(PlanRun.zone == who.zone)
    if date is not None:
        filters.append(PlanRun.date == date)
    if status is not None:
        filters.append(PlanRun.status == status)
    rows, total = crud.list_rows(
        session=session,
        table=PlanRun,
        filters=filters,
        limit=limit,
        offset=offset,
        order=PlanRun.created_at.desc(),
    )
    published = {p.run_id for p in session.scalars(select(PublishedPlan))}
    items = [run_out(r, published=r.id in published, with_plan=False) for r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/{run_id}", response_model=RunOut, summary="A plan run: status, progress, plan")
def read_run(run_id: str, session: SessionDep, who: DispatcherDep) -> Any:
    run = _get_run(session, run_id, who)
    return run_out(run, published=_is_published(session, run))


@router.delete("/{run_id}", response_model=RunOut, summary="Cancel a queued or running plan run")
def cancel_run(run_id: str, session: SessionDep, who: DispatcherDep) -> Any:
    run = _get_run(session, run_id, who)
    run = crud.cancel_run(session=session, run=run)
    return run_out(run, with_plan=False)


class PublishIn(BaseModel):
    """Publishing a run that breaks validator rules takes ``force`` and a reason, which is kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    force: bool = Field(False, description="publish even though the validator found broken rules")
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="why (required with force when the run breaks rules); shown on the run"
    )


@router.post(
    "/{run_id}/publish",
    response_model=PublishedOut,
    summary="Make a run the date's active plan",
    description=(
        "Compare-and-swap: the run replaces the live plan only if that is still the plan that was "
        "live when the run was made (409 `plan-moved` with `live_run` otherwise). A run with "
        "validator violations is refused (409 `plan-has-violations`, each rule in `errors`) unless "
        '`{"force": true, "reason": "…"}`.'
    ),
)
def publish(
    run_id: str, session: SessionDep, who: DispatcherDep, body: Annotated[PublishIn | None, Body()] = None
) -> Any:
    run = _get_run(session, run_id, who)
    body = body or PublishIn()
    done = runs.publish(session=session, run=run, by=who.key_id, force=body.force, reason=body.reason)
    return {
        "run": done.run,
        "date": done.date,
        "zone": done.zone,
        "published_at": done.published_at,
        "replaced": done.replaced,
    }


def routers() -> list[APIRouter]:
    return [router]
