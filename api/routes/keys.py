"""API keys: all-zones dispatchers make any key; a zone dispatcher lists and revokes the keys of
its zone's jobs and resources (``security.keys_in_zone``). The CLI does the same offline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from .. import crud
from ..deps import DispatcherDep, SessionDep, SettingsDep, require_dispatcher
from ..errors import field_error, not_found, validation_problem
from ..models import ROLES, ApiKey, utcnow
from ..schemas import KeyCreate, KeyCreated, KeyPage
from ..security import issue_key, keys_in_zone, revoke

router = APIRouter(prefix="/keys", tags=["keys"])


def key_out(row: ApiKey) -> dict[str, Any]:
    now = utcnow()
    active = row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
    return {
        "id": row.id,
        "role": row.role,
        "zone": row.zone,
        "resource": row.resource_id,
        "job": row.job_id,
        "label": row.label,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "active": active,
    }


@router.post("", status_code=201, response_model=KeyCreated, summary="Create an API key (shown once)")
def create_key(body: KeyCreate, session: SessionDep, settings: SettingsDep, who: DispatcherDep) -> Any:
    require_dispatcher(who, None, any_zone=True)
    try:
        token = issue_key(
            session,
            role=body.role,
            zone=body.zone,
            resource_id=body.resource if body.role in ("courier", "technician") else None,
            job_id=body.resource if body.role == "customer" else None,
            label=body.label,
            expires_at=body.expires_at,
            tracking_days=settings.tracking_token_days,
        )
    except ValueError as exc:
        field = "expires_at" if "expiry" in str(exc) else "resource"
        raise validation_problem([field_error(field, str(exc))]) from None
    key_id = token.split("_", 2)[1]
    row = session.get(ApiKey, key_id)
    return {
        "id": key_id,
        "role": body.role,
        "zone": body.zone,
        "resource": body.resource,
        "key": token,
        "expires_at": row.expires_at if row is not None else None,
    }


@router.get("", response_model=KeyPage, summary="List API keys (a zone dispatcher: its zone's)")
def list_keys(
    session: SessionDep,
    who: DispatcherDep,
    role: Annotated[str | None, Query(pattern="^(" + "|".join(ROLES) + ")$")] = None,
    job: Annotated[str | None, Query(max_length=128)] = None,
    resource: Annotated[str | None, Query(max_length=128)] = None,
    active: Annotated[bool | None, Query(description="only working keys (false: only dead ones)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Any:
    filters: list[Any] = list(keys_in_zone(who.zone))
    if role is not None:
        filters.append(ApiKey.role == role)
    if job is not None:
        filters.append(ApiKey.job_id == job)
    if resource is not None:
        filters.append(ApiKey.resource_id == resource)
    if active is not None:
        now = utcnow()
        works = ApiKey.revoked_at.is_(None) & (ApiKey.expires_at.is_(None) | (ApiKey.expires_at > now))
        filters.append(works if active else ~works)
    rows, total = crud.list_rows(
        session=session,
        table=ApiKey,
        filters=filters,
        limit=limit,
        offset=offset,
        order=ApiKey.created_at,
        extra_order=ApiKey.id,
    )
    return {"items": [key_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key (a zone dispatcher: its zone's)")
def revoke_key(key_id: str, request: Request, session: SessionDep, who: DispatcherDep) -> Response:
    visible = session.scalar(select(ApiKey.id).where(ApiKey.id == key_id, *keys_in_zone(who.zone)))
    if visible is None or not revoke(session, key_id):
        raise not_found("key", key_id)  # another zone's key is as unknown as a missing one
    request.app.state.principals.forget_key(key_id)
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    return [router]
