"""The FastAPI application: ``create_app(settings)``; migrations and the worker start with it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from onestop import __version__
from onestop.dispatch.schema import PlanRequestIn
from pydantic.json_schema import models_json_schema

from .authgate import AuthGate
from .db import make_engine, migrate, session_factory, session_scope
from .deps import PrincipalCache
from .errors import BodyGuard, document_problems, install_handlers, plain_tuples, v1_operations
from .fastpath import RouteFastPath
from .routes import v1_router
from .schemas import StoredPlanIn
from .security import disable_bootstrap, ensure_bootstrap
from .settings import Settings, get_settings
from .worker import EmbeddedExecutor, Executor, ExternalExecutor

log = logging.getLogger(__name__)

#: Function names shared by the generic resource routes; their path says what they act on.
_GENERIC = {"create", "list", "read", "replace", "remove"}
#: The security scheme every /v1 operation takes: an API key as a bearer token.
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "an API key (`onestop keys create`, or a job's customer tracking token)",
}


def operation_id(route: APIRoute) -> str:
    """A readable, stable operation id in camelCase: ``postEvent``, ``listDepots``, ``readDepot``
    (FastAPI's default, ``post_event_v1_events_post``, repeats the path and method)."""
    name = route.name.strip("_")
    if name in _GENERIC:
        noun = route.path.split("/")[2] if route.path.startswith("/v1/") else route.path.strip("/")
        noun = noun if name == "list" or not noun.endswith("s") else noun[:-1]
        name = f"{name}_{noun}"
    first, *rest = name.replace("-", "_").split("_")
    return first + "".join(w[:1].upper() + w[1:] for w in rest)


#: Operations under a per-key limit (``api/limits.py``): they may answer 429.
LIMITED = {"postEvent", "quoteJob", "dispatcherStream", "jobStream"}


def secure_operations(schema: dict) -> dict:
    """Declares the bearer scheme and puts it on every /v1 operation (Swagger's Authorize button);
    documents the 429 of the operations under a per-key limit."""
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = BEARER
    for _method, op in v1_operations(schema):
        op["security"] = [{"bearerAuth": []}]
        if op.get("operationId") in LIMITED:
            op.setdefault("responses", {})["429"] = {
                "description": "Past this key's limit; retry after `Retry-After` seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
    return schema


def create_app(settings: Settings | None = None, *, executor: Executor | None = None) -> FastAPI:
    """The service for ``settings`` (read from the environment when omitted).

    Parameters
    ----------
    settings
        Database URL, worker and limits; see ``Settings``.
    executor
        Where plan runs go; by default a Dask cluster when ``settings.dask_scheduler`` is
        set, else worker threads beside the server when ``settings.embedded_worker``, else
        external ``onestop worker`` processes.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        migrate(engine)
        sessions = session_factory(engine)
        with session_scope(sessions) as s:
            if settings.bootstrap_key:
                ensure_bootstrap(s, settings.bootstrap_key)
            elif disable_bootstrap(s):
                log.warning("ONESTOP_BOOTSTRAP_KEY is unset: the bootstrap key is revoked")
        app.state.engine = engine
        app.state.sessions = sessions
        runner = executor
        if runner is None and settings.dask_scheduler:
            from .cluster import DaskExecutor

            runner = DaskExecutor(sessions, settings, settings.dask_scheduler)
        if runner is None:
            runner = (
                EmbeddedExecutor(sessions, settings, settings.embedded_threads)
                if settings.embedded_worker
                else ExternalExecutor()
            )
        app.state.executor = runner
        runner.start()
        try:
            yield
        finally:
            runner.stop()
            hub = getattr(app.state, "change_hub", None)
            if hub is not None:
                await hub.aclose()
            reader = getattr(app.state, "pg_reader", None)
            if reader is not None:
                await reader.aclose()
            engine.dispose()

    app = FastAPI(
        title="OneStop dispatch service",
        version=__version__,
        summary="Plans and serves a day of after-sales field work.",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.principals = PrincipalCache()
    install_handlers(app)
    app.include_router(v1_router())

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        _, defs = models_json_schema(
            [(PlanRequestIn, "validation"), (StoredPlanIn, "validation")],
            ref_template="#/components/schemas/{model}",
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
        app.openapi_schema = plain_tuples(document_problems(secure_operations(schema)))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_json_depth,
        max_string=settings.max_string_chars,
    )
    # before the body is read: an unauthenticated request is answered 401 unread (authgate)
    app.add_middleware(AuthGate)
    # outermost: a verified app's own route fetch skips everything below (see fastpath)
    app.add_middleware(RouteFastPath)
    return app
