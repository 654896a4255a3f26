"""Database operations, keyword-only. Meaning is checked by ``onestop.dispatch`` (a row is
valid when the v1 request holding it parses); nothing here plans."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from onestop.dispatch.errors import RequestError
from onestop.dispatch.model import parse_request
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from .errors import Problem, conflict, field_error, not_found, validation_problem
from .models import (
    JOB_CANCELLED,
    JOB_COMPLETED,
    JOB_FAILED,
    JOB_ON_PLAN,
    RUN_CANCELLED,
    RUN_QUEUED,
    RUN_RUNNING,
    Courier,
    Depot,
    Event,
    Job,
    PlanRun,
    PublishedPlan,
    ServiceZone,
    Technician,
    utcnow,
)
from .schemas import SERVICE_FIELDS

#: A date that parses any "HH:MM" shift or window when a row is checked on its own.
_CHECK_DATE = "2000-01-03"
_JOB_DONE = (JOB_CANCELLED, JOB_COMPLETED, JOB_FAILED)


def wire_data(model: Any) -> dict[str, Any]:
    """A create model → the v1 wire dict that is stored (service fields left out)."""
    return model.model_dump(by_alias=True, exclude_none=True, exclude=set(SERVICE_FIELDS), mode="json")


def check_in_request(
    *, session: Session, section: str, item: dict[str, Any], timezone: str, date: str = _CHECK_DATE
) -> None:
    """422 naming the field unless a request holding ``item`` (and all stored depots) parses."""
    refs = {r for k in ("from", "to", "depot", "start", "end") if isinstance(r := item.get(k), str)}
    depots = []
    if section != "depots" and refs:
        depots = [{**d.data, "id": d.id} for d in session.scalars(select(Depot).where(Depot.id.in_(refs)))]
    request: dict[str, Any] = {"date": date, "timezone": timezone, "depots": depots, section: [item]}
    try:
        parse_request(request)
    except RequestError as exc:
        prefix = f"{section}[0]"
        errors = []
        for e in exc.errors:
            if e.loc == prefix or e.loc.startswith(prefix + ".") or e.loc.startswith(prefix + "["):
                loc = e.loc[len(prefix) :].lstrip(".")
            elif e.loc in ("timezone", "date"):
                loc = e.loc
            else:
                continue  # a stored depot at fault is not this body's problem
            errors.append(field_error(loc, e.message, e.code))
        if errors:
            raise validation_problem(errors) from None


# --- resources ------------------------------------------------------------------------


RESOURCE_TABLES: dict[str, type[Depot] | type[Technician] | type[Courier]] = {
    "depots": Depot,
    "technicians": Technician,
    "couriers": Courier,
}


def id_taken_by_other_kind(*, session: Session, section: str, ident: str) -> bool:
    """Technicians and couriers share one id space (a route is fetched by resource id)."""
    other = {"technicians": Courier, "couriers": Technician}.get(section)
    return other is not None and session.get(other, ident) is not None


def list_rows(
    *,
    session: Session,
    table: Any,
    filters: Sequence[Any],
    limit: int,
    offset: int,
    order: Any,
    extra_order: Any = None,
) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(table).where(*filters)) or 0
    orders = [order] if extra_order is None else [order, extra_order]
    rows = session.scalars(select(table).where(*filters).order_by(*orders).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def published_plans(*, session: Session, date: dt.date | None = None) -> list[PublishedPlan]:
    """The active plans (of ``date``), without loading the plans themselves."""
    query = select(PublishedPlan).order_by(PublishedPlan.zone)
    if date is not None:
        query = query.where(PublishedPlan.date == date)
    return list(session.scalars(query))


def resource_on_published_plan(*, session: Session, resource_id: str) -> str | None:
    """The date of a published plan that routes this resource, if any."""
    for pub in published_plans(session=session):
        if resource_id in cached_plan_index(pub.run_id, session=session)["routes"]:
            return pub.date.isoformat()
    return None


def depot_in_use(*, session: Session, depot_id: str) -> str | None:
    if session.scalar(select(func.count()).select_from(Courier).where(Courier.depot_id == depot_id)):
        return "a courier is based there"
    for tech in session.scalars(select(Technician)):
        if depot_id in (tech.data.get("start"), tech.data.get("end")):
            return f"technician {tech.id!r} starts or ends there"
    refs = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.status.not_in(_JOB_DONE))
        .where(or_(Job.data["from"].as_string() == depot_id, Job.data["to"].as_string() == depot_id))
    )
    if refs:
        return "open jobs load or unload there"
    return None


# --- jobs -----------------------------------------------------------------------------


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex[:16]


def check_job_references(*, session: Session, data: dict[str, Any], job_id: str) -> None:
    errors = []
    for field in ("from", "to"):
        ref = data.get(field)
        if ref is not None and session.get(Depot, ref) is None:
            errors.append(field_error(field, f"unknown depot {ref!r}", "reference"))
    after = data.get("after")
    if after is not None:
        if after == job_id:
            errors.append(field_error("after", "a job cannot come after itself", "cycle"))
        else:
            seen = {job_id}
            cur: str | None = after
            while cur is not None:
                if cur in seen:
                    errors.append(
                        field_error("after", f"`after` links form a cycle through {cur!r}", "cycle")
                    )
                    break
                seen.add(cur)
                row = session.get(Job, cur)
                if row is None:
                    if cur == after:
                        errors.append(field_error("after", f"unknown job {after!r}", "reference"))
                    break
                cur = row.data.get("after")
    if errors:
        raise validation_problem(errors)


def job_out(row: Job) -> dict[str, Any]:
    return {
        **row.data,
        "id": row.id,
        "date": row.date.isoformat(),
        "zone": row.zone,
        "status": row.status,
        "resource": row.resource_id,
        "plan_run": row.plan_run_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def resource_out(row: Any) -> dict[str, Any]:
    return {
        **row.data,
        "id": row.id,
        "zone": row.zone,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def add_event(
    *, session: Session, kind: str, job_id: str | None = None, run_id: str | None = None, data: Any = None
) -> None:
    session.add(Event(kind=kind, job_id=job_id, run_id=run_id, data=data))


# --- plan runs --------------------------------------------------------------------------


def stored_request(
    *, session: Session, date: dt.date, zone: str | None, timezone: str, options: dict[str, Any] | None
) -> dict[str, Any]:
    """The v1 request for the stored jobs of ``date`` (and ``zone``) and the stored resources."""
    jobs_q = (
        select(Job).where(Job.date == date, Job.status.not_in(_JOB_DONE)).order_by(Job.created_at, Job.id)
    )
    techs_q = select(Technician).order_by(Technician.id)
    couriers_q = select(Courier).order_by(Courier.id)
    if zone is not None:
        jobs_q = jobs_q.where(Job.zone == zone)
        techs_q = techs_q.where(Technician.zone == zone)
        couriers_q = couriers_q.where(Courier.zone == zone)
    jobs = []
    for row in session.scalars(jobs_q):
        jobs.append({**row.data, "id": row.id})
    request: dict[str, Any] = {
        "date": date.isoformat(),
        "timezone": timezone,
        "depots": [{**d.data, "id": d.id} for d in session.scalars(select(Depot).order_by(Depot.id))],
        "technicians": [{**t.data, "id": t.id} for t in session.scalars(techs_q)],
        "couriers": [{**c.data, "id": c.id} for c in session.scalars(couriers_q)],
        "jobs": jobs,
    }
    zones = [
        {
            "type": "Feature",
            "id": z.id,
            "properties": {"name": z.data.get("name")},
            "geometry": z.data["geometry"],
        }
        for z in session.scalars(select(ServiceZone).order_by(ServiceZone.id))
    ]
    if zones:
        request["zones"] = {"type": "FeatureCollection", "features": zones}
    if options:
        request["options"] = options
    return request


def cancel_run(*, session: Session, run: PlanRun) -> PlanRun:
    """Queued runs are cancelled at once; a running one is flagged and its worker stops it."""
    if run.status == RUN_QUEUED:
        done = session.execute(
            update(PlanRun)
            .where(PlanRun.id == run.id, PlanRun.status == RUN_QUEUED)
            .values(status=RUN_CANCELLED, finished_at=utcnow(), cancel_requested=True)
        ).rowcount
        if done:
            add_event(session=session, kind="run_cancelled", run_id=run.id)
            session.flush()
            session.refresh(run)
            return run
    if run.status == RUN_RUNNING or run.status == RUN_QUEUED:
        session.execute(update(PlanRun).where(PlanRun.id == run.id).values(cancel_requested=True))
        session.flush()
        session.refresh(run)
        return run
    raise conflict(f"run {run.id} is {run.status}; only queued or running runs can be cancelled")


# --- reading the published plan -----------------------------------------------------------


def _index_of(plan: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    jobs = {j["id"]: j for j in request.get("jobs", [])}
    depots = {d["id"]: d for d in request.get("depots", [])}
    routes: dict[str, dict[str, Any]] = {}
    job_resource: dict[str, str] = {}
    job_stops: dict[str, list[dict[str, Any]]] = {}
    for route in plan.get("routes", []):
        stops = []
        for s in route.get("stops", []):
            stop = dict(s)
            job = jobs.get(s.get("job") or "")
            if job is not None:
                stop["address"] = job.get("address")
                stop["details"] = {
                    k: job[k]
                    for k in (
                        "kind",
                        "customer",
                        "address",
                        "notes",
                        "items",
                        "returned_items",
                        "windows",
                        "priority",
                        "brand",
                        "skills",
                        "duration",
                    )
                    if k in job
                }
                job_stops.setdefault(job["id"], []).append(
                    {**s, "resource": route["resource"], "resource_kind": route.get("resource_kind")}
                )
                current = job_resource.get(job["id"])
                # a split delivery_installation belongs to both; the courier answers for it
                if current is None or route.get("resource_kind") == "courier":
                    job_resource[job["id"]] = route["resource"]
            depot = depots.get(s.get("depot") or "")
            if depot is not None:
                stop["address"] = depot.get("name") or depot["id"]
                stop["depot_kind"] = depot.get("kind")
            stops.append(stop)
        routes[route["resource"]] = {**route, "stops": stops}
    return {"routes": routes, "job_resource": job_resource, "job_stops": job_stops}


def plan_index(run_id: str, *, session: Session) -> dict[str, Any]:
    """Routes by resource, and where each job is, of a succeeded run (cached: runs never change)."""
    run = session.get(PlanRun, run_id)
    if run is None or run.plan is None:
        return {"routes": {}, "job_resource": {}, "job_stops": {}}
    return _index_of(run.plan, run.request)


_INDEX_CACHE: dict[str, dict[str, Any]] = {}


def cached_plan_index(run_id: str, *, session: Session) -> dict[str, Any]:
    """Like ``plan_index`` without re-reading a plan already indexed in this process."""
    hit = _INDEX_CACHE.get(run_id)
    if hit is None:
        hit = plan_index(run_id, session=session)
        if not hit["routes"] and not hit["job_resource"]:
            return hit  # not (yet) a plan: nothing worth keeping
        if len(_INDEX_CACHE) > 256:
            _INDEX_CACHE.clear()
        _INDEX_CACHE[run_id] = hit
    return hit


def route_of(*, session: Session, resource_id: str, date: dt.date) -> dict[str, Any] | None:
    """The resource's route on the published plans of ``date``, or None when none is published."""
    found: dict[str, Any] | None = None
    for pub in published_plans(session=session, date=date):
        index = cached_plan_index(pub.run_id, session=session)
        route = index["routes"].get(resource_id)
        if found is None:
            found = {"run": pub.run_id, "published_at": pub.published_at, "route": None}
        if route is not None:
            return {"run": pub.run_id, "published_at": pub.published_at, "route": route}
    return found


def job_stops(*, session: Session, job: Job) -> list[dict[str, Any]]:
    if job.plan_run_id is None:
        return []
    return cached_plan_index(job.plan_run_id, session=session)["job_stops"].get(job.id, [])


def delete_job(*, session: Session, job: Job) -> None:
    if job.status in JOB_ON_PLAN:
        raise conflict(f"job {job.id!r} is on a published plan ({job.status}); cancel it instead")
    session.execute(delete(Job).where(Job.id == job.id))


def get_or_404(session: Session, table: Any, ident: str, what: str) -> Any:
    row = session.get(table, ident)
    if row is None:
        raise not_found(what, ident)
    return row


def stored_data_problem(exc: RequestError, request: dict[str, Any]) -> Problem:
    """Errors in a request built from stored rows, each naming the stored row at fault."""
    errors = []
    for e in exc.errors:
        message = e.message
        head = e.loc.split(".", 1)[0]
        if "[" in head:
            section, _, index = head.partition("[")
            try:
                row = request.get(section, [])[int(index.rstrip("]"))]
                message = f"stored {section[:-1]} {row.get('id')!r}: {message}"
            except (ValueError, IndexError, AttributeError):
                pass
        errors.append(field_error(e.loc, message, e.code))
    return validation_problem(errors)
