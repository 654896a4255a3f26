"""Jobs: create (idempotent with ``Idempotency-Key``), read, replace, list, delete, status."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import crud, living
from ..deps import DispatcherDep, PrincipalDep, SessionDep, SettingsDep, require_dispatcher
from ..errors import Problem, conflict, field_error, forbidden, not_found, validation_problem
from ..models import (
    JOB_NEW,
    JOB_STATUSES,
    JOB_UNASSIGNED,
    ApiKey,
    Event,
    IdempotencyRecord,
    Job,
    ProgressEvent,
    utcnow,
)
from ..schemas import JobCreate, JobOut, JobPage, JobStatusUpdate, JobTracking, KeyCreated, Zone
from ..security import Principal, issue_key, revoke_subject

router = APIRouter(prefix="/jobs", tags=["jobs"])

#: When this process last cleared expired idempotency records.
_last_purge = dt.datetime.min.replace(tzinfo=dt.UTC)

#: ``POST /v1/jobs/{id}/status`` words for the progress events they stand for.
EVENT_OF_STATUS = {
    "on_the_way": "en_route",
    "arrived": "arrived",
    "completed": "completed",
    "failed": "failed",
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retries with the same key and body get the first answer again; no second job.",
    ),
]


def _may_read(who: Principal, row: Job) -> bool:
    if who.is_dispatcher:
        return who.sees_zone(row.zone)
    if who.role in ("courier", "technician"):
        return row.resource_id is not None and row.resource_id == who.resource_id
    return False


def _validated(session: Any, settings: Any, body: JobCreate, ident: str) -> dict[str, Any]:
    data = crud.wire_data(body)
    data["id"] = ident
    crud.check_in_request(
        session=session, section="jobs", item=data, timezone=settings.timezone, date=body.date.isoformat()
    )
    crud.check_job_references(session=session, data=data, job_id=ident)
    del data["id"]
    return data


@router.post("", status_code=201, response_model=JobOut, response_model_by_alias=True, summary="Create a job")
def create_job(
    body: JobCreate,
    session: SessionDep,
    settings: SettingsDep,
    who: DispatcherDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    zone = body.zone if body.zone is not None or who.zone is None else who.zone
    require_dispatcher(who, zone)
    record_key = f"{who.key_id}:jobs:{idempotency_key}" if idempotency_key else None
    fingerprint = crud.request_hash(body.model_dump(mode="json", by_alias=True)) if record_key else ""
    if record_key:
        replay = _replay(session, record_key, fingerprint, settings.idempotency_ttl_s)
        if replay is not None:
            return replay
    ident = body.id or crud.new_job_id()
    if session.get(Job, ident) is not None:
        raise conflict(f"job {ident!r} exists; use PUT to replace it")
    data = _validated(session, settings, body, ident)
    row = Job(id=ident, date=body.date, zone=zone, kind=body.kind, status="new", data=data)
    session.add(row)
    crud.add_event(session=session, kind="created", job_id=ident)
    session.flush()
    out = jsonable_encoder(JobOut.model_validate(crud.job_out(row)), by_alias=True)
    if record_key:
        session.add(
            IdempotencyRecord(key=record_key, request_hash=fingerprint, status_code=201, response=out)
        )
        try:
            session.commit()
        except IntegrityError:
            # the same key raced us: the other request's job stands, ours is rolled back
            session.rollback()
            replay = _replay(session, record_key, fingerprint, settings.idempotency_ttl_s)
            if replay is not None:
                return replay
            raise conflict(f"job {ident!r} exists") from None
    return JSONResponse(out, status_code=201)


def _replay(session: Any, key: str, fingerprint: str, ttl_s: float) -> JSONResponse | None:
    """The first answer for ``key`` while it is fresh; expired records are cleared on the way."""
    now = utcnow()
    cutoff = now - dt.timedelta(seconds=ttl_s)
    global _last_purge
    if (now - _last_purge).total_seconds() >= min(60.0, ttl_s):
        _last_purge = now
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    record = session.get(IdempotencyRecord, key)
    if record is None:
        return None
    if record.created_at < cutoff:  # a retry after the key expired is a new request
        session.delete(record)
        session.flush()
        return None
    if record.request_hash != fingerprint:
        raise Problem(
            422,
            "Idempotency key reused",
            "this Idempotency-Key was used with a different body",
            kind="idempotency-key-reused",
        )
    return JSONResponse(
        record.response, status_code=record.status_code, headers={"Idempotent-Replayed": "true"}
    )


@router.get("", response_model=JobPage, response_model_by_alias=True, summary="List jobs")
def list_jobs(
    session: SessionDep,
    who: PrincipalDep,
    date: Annotated[dt.date | None, Query()] = None,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(JOB_STATUSES) + ")$")] = None,
    zone: Annotated[Zone | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    filters: list[Any] = []
    if who.is_dispatcher:
        if who.zone is not None:
            if zone is not None and zone != who.zone:
                raise forbidden(f"this key is limited to zone {who.zone!r}")
            zone = who.zone
    elif who.role in ("courier", "technician"):
        filters.append(Job.resource_id == who.resource_id)
    else:
        raise forbidden(f"a {who.role} key may not list jobs")
    if date is not None:
        filters.append(Job.date == date)
    if status is not None:
        filters.append(Job.status == status)
    if zone is not None:
        filters.append(Job.zone == zone)
    if kind is not None:
        filters.append(Job.kind == kind)
    rows, total = crud.list_rows(
        session=session,
        table=Job,
        filters=filters,
        limit=limit,
        offset=offset,
        order=Job.date.asc(),
        extra_order=Job.id,
    )
    return {"items": [crud.job_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/{job_id}", response_model=JobOut, response_model_by_alias=True, summary="Read a job")
def read_job(job_id: str, session: SessionDep, who: PrincipalDep) -> Any:
    row = crud.get_or_404(session, Job, job_id, "job")
    if not _may_read(who, row):
        raise forbidden("this key may not read this job")
    return crud.job_out(row)


@router.put("/{job_id}", response_model=JobOut, response_model_by_alias=True, summary="Replace a job")
def replace_job(
    job_id: str, body: JobCreate, session: SessionDep, settings: SettingsDep, who: DispatcherDep
) -> Any:
    row = crud.get_or_404(session, Job, job_id, "job")
    require_dispatcher(who, row.zone)
    zone = body.zone if body.zone is not None or who.zone is None else who.zone
    require_dispatcher(who, zone)
    if body.id is not None and body.id != job_id:
        raise validation_problem([field_error("id", f"the body's id must be the path's id {job_id!r}")])
    if row.status not in ("new", "unassigned"):
        raise conflict(f"job {job_id!r} is {row.status}; only new or unassigned jobs can be replaced")
    row.data = _validated(session, settings, body, job_id)
    row.date, row.zone, row.kind = body.date, zone, body.kind
    crud.add_event(session=session, kind="updated", job_id=job_id)
    session.flush()
    return crud.job_out(row)


@router.delete("/{job_id}", status_code=204, summary="Delete a job that is not on a published plan")
def delete_job(job_id: str, request: Request, session: SessionDep, who: DispatcherDep) -> Response:
    """Its customer tokens go with it (and could not read a later job under the same id anyway)."""
    row = crud.get_or_404(session, Job, job_id, "job")
    require_dispatcher(who, row.zone)
    crud.delete_job(session=session, job=row)
    for key_id in revoke_subject(session, job_id=job_id, roles=("customer",)):
        request.app.state.principals.forget_key(key_id)
    return Response(status_code=204)


@router.post(
    "/{job_id}/status", response_model=JobOut, response_model_by_alias=True, summary="Report progress"
)
def report_status(job_id: str, body: JobStatusUpdate, session: SessionDep, who: PrincipalDep) -> Any:
    """The assigned courier or technician (or a dispatcher) reports on the way / arrived / done."""
    row = crud.get_or_404(session, Job, job_id, "job")
    if who.role == "customer" or not _may_read(who, row):
        raise forbidden("this key may not report on this job")
    if body.status == "cancelled" and not who.is_dispatcher:
        raise forbidden("only a dispatcher may cancel a job")
    if row.status in ("completed", "cancelled"):
        raise conflict(f"job {job_id!r} is already {row.status}")
    if body.status != "cancelled":
        # the same state machine as POST /v1/events: no "completed" before "on the way",
        # nothing after "failed", one machine per crew half of a split delivery_installation
        if row.status in (JOB_NEW, JOB_UNASSIGNED) or row.plan_run_id is None:
            raise conflict(f"job {job_id!r} is {row.status}, not on a published plan")
        allowed = living.job_resources(session, row)
        if who.role in ("courier", "technician"):
            if who.resource_id not in allowed:
                raise forbidden(f"job {job_id!r} is not assigned to {who.resource_id!r}")
            resource = who.resource_id
        else:
            resource = sorted(allowed)[0] if allowed else None
        session.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        event = ProgressEvent(
            id=f"status-{uuid.uuid4().hex}",
            kind=EVENT_OF_STATUS[body.status],
            job_id=job_id,
            resource_id=resource,
            at=dt.datetime.now(dt.UTC),
            reason="other" if body.status == "failed" else None,
            note=body.note,
            key_id=who.key_id,
        )
        living.apply_state_event(session, row, event)
    else:
        row.status = body.status
    crud.add_event(session=session, kind=body.status, job_id=job_id, data={"by": who.role, "note": body.note})
    session.flush()
    return crud.job_out(row)


@router.get("/{job_id}/status", response_model=JobTracking, summary="Track a job (customer view)")
def track_job(job_id: str, session: SessionDep, who: PrincipalDep) -> Any:
    row = session.get(Job, job_id)
    allowed = (who.role == "customer" and who.job_id == job_id) or (row is not None and _may_read(who, row))
    if not allowed:
        raise forbidden("this key may not see this job")
    if row is None:
        raise not_found("job", job_id)
    stops = crud.job_stops(session=session, job=row) if row.status != "new" else []
    customer = [s for s in stops if s.get("type") in ("deliver", "install", "swap", "collect", "visit")]
    first, last = (customer[0], customer[-1]) if customer else (None, None)
    history = [
        {"at": e.at, "status": e.kind}
        for e in session.scalars(select(Event).where(Event.job_id == job_id).order_by(Event.id))
    ]
    return {
        "id": row.id,
        "status": row.status,
        "date": row.date,
        "kind": row.kind,
        "resource_kind": first.get("resource_kind") if first else None,
        "planned_arrival": first["arrival"] if first else None,
        "planned_start": first["start"] if first else None,
        "planned_end": last["end"] if last else None,
        "windows": row.data.get("windows", []),
        "history": history,
    }


@router.post("/{job_id}/tracking-token", status_code=201, response_model=KeyCreated, summary="Customer token")
def tracking_token(job_id: str, session: SessionDep, settings: SettingsDep, who: DispatcherDep) -> Any:
    """A new customer key that sees only this job's status (shown once); it expires
    ``ONESTOP_TRACKING_TOKEN_DAYS`` after the job's date and dies with the job."""
    row = crud.get_or_404(session, Job, job_id, "job")
    require_dispatcher(who, row.zone)
    token = issue_key(
        session,
        role="customer",
        job_id=job_id,
        label=f"tracking {job_id}",
        tracking_days=settings.tracking_token_days,
    )
    key_id = token.split("_", 2)[1]
    key = session.get(ApiKey, key_id)
    return {
        "id": key_id,
        "role": "customer",
        "zone": None,
        "resource": job_id,
        "key": token,
        "expires_at": key.expires_at if key is not None else None,
    }


def routers() -> list[APIRouter]:
    return [router]
