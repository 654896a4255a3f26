"""Dependencies: the settings, a database session per request, and the principal.

Hot paths matter (route fetches by every app, every few seconds): the session is made on
the event loop (no I/O until its first query) and the principal behind a token is kept
for ``AUTH_CACHE_S`` seconds, so a request costs one hop to the thread pool for its
queries plus one for the commit.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from .errors import Problem, forbidden
from .security import BOOTSTRAP_ID, Principal, authenticate
from .settings import Settings

#: Seconds a verified key stays trusted in this process (revocations here apply at once).
AUTH_CACHE_S = 5.0


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    session: Session = request.app.state.sessions()
    try:
        yield session
        await run_in_threadpool(session.commit)
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        await run_in_threadpool(session.close)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the commit happens before the answer is sent, so a failed commit is
# never answered with a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class PrincipalCache:
    """Token digest → (principal, expiry); small, per process, cleared on revocation."""

    def __init__(self, ttl_s: float = AUTH_CACHE_S, size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._items: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()

    def get(self, token: str) -> Principal | None:
        hit = self._items.get(self.digest(token))
        if hit is None or hit[1] < time.monotonic() or hit[0].expired(time.time()):
            return None
        return hit[0]

    def put(self, token: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[self.digest(token)] = (principal, time.monotonic() + self.ttl_s)

    def forget_key(self, key_id: str) -> None:
        with self._lock:
            for k in [k for k, (p, _) in self._items.items() if p.key_id == key_id]:
                del self._items[k]


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def _lookup(app: Any, token: str) -> Principal | None:
    with app.state.sessions() as session:
        return authenticate(session, token)


#: Where ``AuthGate`` leaves the principal it verified, for ``get_principal``.
SCOPE_KEY = "onestop.principal"


async def principal_for(app: Any, header: str | None) -> Principal:
    """The principal behind an ``Authorization`` header, or a 401 ``Problem``.

    Used by ``AuthGate`` before the body is read and by ``get_principal`` otherwise. The
    bootstrap key works only while ``ONESTOP_BOOTSTRAP_KEY`` is set in this process.
    """
    if not header:
        raise _unauthorized("send an API key as 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be 'Bearer <key>'")
    cache: PrincipalCache = app.state.principals
    principal = cache.get(token)
    if principal is None:
        principal = await run_in_threadpool(_lookup, app, token)
        if principal is None:
            raise _unauthorized("the API key is not valid")
        cache.put(token, principal)
    if principal.key_id == BOOTSTRAP_ID and not app.state.settings.bootstrap_key:
        raise _unauthorized("the API key is not valid")
    return principal


async def get_principal(request: Request) -> Principal:
    verified = request.scope.get(SCOPE_KEY)
    if isinstance(verified, Principal):
        return verified
    return await principal_for(request.app, request.headers.get("authorization"))


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


async def get_dispatcher(principal: PrincipalDep) -> Principal:
    if not principal.is_dispatcher:
        raise forbidden(f"a {principal.role} key may not do this")
    return principal


DispatcherDep = Annotated[Principal, Depends(get_dispatcher)]
