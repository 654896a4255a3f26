"""Authentication before the body: who is asking is settled from the headers alone.

``BodyGuard`` reads and checks up to ``ONESTOP_MAX_BODY_BYTES`` of JSON and FastAPI then
validates it; without this gate an anonymous client could make the server do that work (a
5 MB string answered 422 before the missing key was noticed). ``AuthGate`` sits outside
``BodyGuard``: every ``/v1`` request without a valid key is answered 401 before a byte of its
body is received. The verified principal travels in the ASGI scope, so the route's
``get_principal`` dependency does not look the key up again.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from .deps import SCOPE_KEY, principal_for
from .errors import PROBLEM_JSON, Problem

log = logging.getLogger(__name__)

#: The answer while the database is away (the same the routes give).
DATABASE_AWAY = Problem(
    503,
    "Database unavailable",
    "the database did not answer; retry shortly",
    kind="database-unavailable",
    headers={"Retry-After": "2"},
)

#: Paths that need a key; /healthz, /docs and /openapi.json stay open.
PROTECTED_PREFIX = "/v1"


class AuthGate:
    """Pure ASGI middleware: 401 for an unauthenticated ``/v1`` request, body unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        protected = path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")
        if scope["type"] != "http" or not protected:
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        try:
            principal = await principal_for(scope["app"], header)
        except Problem as problem:
            await _answer(scope, send, problem)
            return
        except DBAPIError as exc:
            # the key could not be looked up: the database is away, as the routes say it (503)
            if not isinstance(exc, OperationalError | InterfaceError) and not exc.connection_invalidated:
                raise
            log.warning("database unavailable while checking a key on %s: %s", path, exc.orig)
            await _answer(scope, send, DATABASE_AWAY)
            return
        scope[SCOPE_KEY] = principal
        await self.app(scope, receive, send)


async def _answer(scope: Scope, send: Send, problem: Problem) -> None:
    """The problem as the app's handlers would answer it, with ``Connection: close``: the
    unread body is not worth keeping the connection for."""
    payload = json.dumps(problem.body(scope.get("path"))).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    for name, value in (problem.headers or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
