"""Dependencies: the settings, a database session per request, and the principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .errors import Problem, forbidden
from .security import Principal, authenticate
from .settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def get_principal(request: Request, session: SessionDep) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("send an API key as 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be 'Bearer <key>'")
    principal = authenticate(session, token)
    if principal is None:
        raise _unauthorized("the API key is not valid")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_dispatcher(principal: Principal, zone: str | None = None, *, any_zone: bool = False) -> None:
    """403 unless a dispatcher allowed in ``zone`` (or allowed everywhere when ``any_zone``)."""
    if not principal.is_dispatcher:
        raise forbidden(f"a {principal.role} key may not do this")
    if principal.zone is None:
        return
    if any_zone or zone != principal.zone:
        where = f"zone {zone!r}" if zone is not None and not any_zone else "all zones"
        raise forbidden(f"this key is limited to zone {principal.zone!r}, not {where}")


def get_dispatcher(principal: PrincipalDep) -> Principal:
    if not principal.is_dispatcher:
        raise forbidden(f"a {principal.role} key may not do this")
    return principal


DispatcherDep = Annotated[Principal, Depends(get_dispatcher)]
