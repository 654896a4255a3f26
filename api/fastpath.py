"""The hot path: a courier or technician app fetching its own route, every few seconds.

``route_body`` is the whole cost of a fetch once warm: one indexed query for the date's
published plans (primary key ``(date, zone)``), then the JSON body from a per-process
cache keyed by everything it depends on (the published runs and their publication times,
the resource, the date), so a republished plan is never served stale. Plans never change
once stored, and a new publication changes the key.

``RouteFastPath`` answers ``GET /v1/resources/{id}/route?date=YYYY-MM-DD`` for a courier or
technician key already verified in this process (``PrincipalCache``) asking for its own
route, before FastAPI's routing, dependency injection and response validation. Anything
else — another role, an unverified or cache-expired key, another resource, a date or query
it does not recognise, no published plan, any error — goes on to the FastAPI route, which
gives the same answer (or the problem) the slow way. The OpenAPI schema documents that
route; both produce the same body.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.to_thread
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from . import crud
from .models import PublishedPlan
from .schemas import RouteOut

log = logging.getLogger(__name__)

_ROUTE_PATH = re.compile(r"^/v1/resources/([^/]+)/route$")
_DATE_QUERY = re.compile(rb"^date=(\d{4}-\d{2}-\d{2})$")
#: The one query of a warm fetch: the date's published runs, in the order ``crud.route_of`` reads them.
_PUBLISHED = (
    select(PublishedPlan.run_id, PublishedPlan.published_at)
    .where(PublishedPlan.date == bindparam("date"))
    .order_by(PublishedPlan.zone)
)


class BodyCache:
    """(published runs, resource, date, fallback kind) → the route's JSON body; LRU, per process."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
        return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


BODIES = BodyCache()


def body_key(
    published: list[tuple[str, dt.datetime]], resource_id: str, date: dt.date, kind: str | None
) -> tuple[Any, ...]:
    """The cache key of a route body: the date's published runs with their publication instants."""
    return (tuple((run_id, at.timestamp()) for run_id, at in published), resource_id, date, kind)


_PG_PUBLISHED = "SELECT run_id, published_at FROM published_plans WHERE date = %s ORDER BY zone"


class PgReader:
    """A few psycopg async connections (autocommit) for the one query of a warm fetch on
    PostgreSQL: one round trip on the event loop, no thread, no pool ping, no ROLLBACK."""

    def __init__(self, engine: Engine, size: int = 4) -> None:
        url = engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.size = size
        self._idle: list[Any] = []
        self._open = 0
        self._loop: Any = None
        self._waiters: Any = None

    async def published(self, date: dt.date) -> list[tuple[str, dt.datetime]]:
        import psycopg  # only PostgreSQL deployments get here

        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._idle, self._open, self._loop = [], 0, loop
            self._waiters = asyncio.Semaphore(self.size)
        async with self._waiters:
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                self._open += 1
            try:
                cur = await conn.execute(_PG_PUBLISHED, (date,))
                rows = await cur.fetchall()
            except BaseException:
                self._open -= 1
                await conn.close()
                raise
            self._idle.append(conn)
        return [(run_id, at) for run_id, at in rows]

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()


def route_out(*, resource_id: str, date: dt.date, kind: str | None, found: dict[str, Any]) -> dict[str, Any]:
    """The answer for a ``crud.route_of`` result (``found``); ``kind`` when the plan has no route."""
    route = found["route"]
    return {
        "resource": resource_id,
        "resource_kind": route.get("resource_kind") if route else kind,
        "date": date,
        "plan_run": found["run"],
        "published_at": found["published_at"],
        "summary": route.get("summary") if route else None,
        "stops": route["stops"] if route else [],
    }


def route_body(engine: Engine, *, resource_id: str, date: dt.date, kind: str | None) -> bytes | None:
    """The JSON body of a resource's route on the published plans of ``date``, or None when
    no plan is published that day. One indexed query when the body is cached."""
    with engine.connect() as conn:
        published = [(run_id, at) for run_id, at in conn.execute(_PUBLISHED, {"date": date})]
        if not published:
            return None
        key = body_key(published, resource_id, date, kind)
        body = BODIES.get(key)
        if body is not None:
            return body
        with Session(bind=conn) as session:
            found: dict[str, Any] | None = None
            for run_id, published_at in published:
                route = crud.cached_plan_index(run_id, session=session)["routes"].get(resource_id)
                if found is None or route is not None:
                    found = {"run": run_id, "published_at": published_at, "route": route}
                if route is not None:
                    break
    assert found is not None
    out = route_out(resource_id=resource_id, date=date, kind=kind, found=found)
    body = RouteOut.model_validate(out).model_dump_json().encode()
    BODIES.put(key, body)
    return body


class RouteFastPath:
    """ASGI middleware answering a verified courier's or technician's own route fetch
    directly; every other request (and every doubt) goes on unchanged."""

    def __init__(self, app: ASGIApp, threads: int = 4) -> None:
        self.app = app
        # A few threads, not the shared pool of 40: fetches queue on the event loop (first in,
        # first out) instead of 40 threads fighting over the GIL, which is what made the tail.
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _ROUTE_PATH.match(scope["path"])
            if match is not None:
                body = await self._answer(scope, unquote(match.group(1)))
                if body is not None:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 200,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, resource_id: str) -> bytes | None:
        query = _DATE_QUERY.match(scope.get("query_string", b""))
        if query is None:
            return None
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if token is not None:
                    return None  # two Authorization headers: let the slow path decide
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return None
        if not token or not token.strip():
            return None
        state = scope["app"].state
        principal = state.principals.get(token.strip())
        if (
            principal is None
            or principal.role not in ("courier", "technician")
            or principal.resource_id != resource_id
        ):
            return None
        try:
            date = dt.date.fromisoformat(query.group(1).decode())
        except ValueError:
            return None
        kind = principal.role
        try:
            if state.engine.dialect.name == "postgresql":
                reader = getattr(state, "pg_reader", None)
                if reader is None:
                    reader = state.pg_reader = PgReader(state.engine)
                published = await reader.published(date)
                if not published:
                    return None
                body = BODIES.get(body_key(published, resource_id, date, kind))
                if body is not None:
                    return body
        except Exception:
            log.debug("route fast path gave way to the full route", exc_info=True)
            return None
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        try:
            return await anyio.to_thread.run_sync(
                lambda: route_body(state.engine, resource_id=resource_id, date=date, kind=kind),
                limiter=self._limiter,
            )
        except Exception:
            log.debug("route fast path gave way to the full route", exc_info=True)
            return None
