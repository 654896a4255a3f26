"""API keys, made by a dispatcher who may act everywhere (the CLI does the same offline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ..deps import DispatcherDep, SessionDep, require_dispatcher
from ..errors import field_error, not_found, validation_problem
from ..schemas import KeyCreate, KeyCreated
from ..security import issue_key, revoke

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyCreated, summary="Create an API key (shown once)")
def create_key(body: KeyCreate, session: SessionDep, who: DispatcherDep) -> Any:
    require_dispatcher(who, None, any_zone=True)
    try:
        token = issue_key(
            session,
            role=body.role,
            zone=body.zone,
            resource_id=body.resource if body.role in ("courier", "technician") else None,
            job_id=body.resource if body.role == "customer" else None,
            label=body.label,
        )
    except ValueError as exc:
        raise validation_problem([field_error("resource", str(exc))]) from None
    key_id = token.split("_", 2)[1]
    return {"id": key_id, "role": body.role, "zone": body.zone, "resource": body.resource, "key": token}


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: str, request: Request, session: SessionDep, who: DispatcherDep) -> Response:
    require_dispatcher(who, None, any_zone=True)
    if not revoke(session, key_id):
        raise not_found("key", key_id)
    request.app.state.principals.forget_key(key_id)
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    return [router]
