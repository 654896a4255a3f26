"""Who may call what, as data: one row per route (method and path) naming, for each role, what
the key must be bound to; ``authorize`` (a dependency of every ``/v1`` route) looks the route up
and enforces it before the route runs.

Bindings:

- ``zone``: a dispatcher; when the route names an object in its path, the object must be in
  the key's zone (keys for all zones see everything). Routes without a path object scope what
  they list or accept by ``who.zone`` themselves (a body naming another zone is 403).
- ``all_zones``: a dispatcher key that is not limited to a zone.
- ``own``: a courier or technician key; the path's resource must be its own, the path's job one
  with a stop on its route. Without a path object the route filters to its own rows.
- ``job``: a customer tracking key; the path's job must be the key's job.

A role the row does not list gets 403 (whatever the path names, so it says nothing about which
ids exist); an object a key may not see gets the same 404 as an object that does not exist.
A route missing from the table is refused (and ``tests/api/test_api_authz.py`` fails).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from .deps import get_principal
from .errors import Problem, forbidden, not_found
from .models import Courier, Depot, Job, PlanRun, ServiceZone, Technician
from .security import Principal

ZONE, ALL_ZONES, OWN, JOB = "zone", "all_zones", "own", "job"
D = {"dispatcher": ZONE}


@dataclass(frozen=True, slots=True)
class Rule:
    """Roles allowed on a route with their binding, and the kind of object its path names."""

    roles: dict[str, str] = field(default_factory=dict)
    #: "job" | "resource" | "technician" | "courier" | "depot" | "run" | "zone" | None
    target: str | None = None
    public: bool = False


PUBLIC = Rule(public=True)


def _crud(section: str, target: str, *, own_read: bool = False) -> dict[tuple[str, str], Rule]:
    base = f"/v1/{section}"
    read = Rule({**D, "courier": OWN, "technician": OWN} if own_read else D, target)
    return {
        ("POST", base): Rule(D),
        ("GET", base): Rule(D),
        ("GET", base + "/{ident}"): read,
        ("PUT", base + "/{ident}"): Rule(D, target),
        ("DELETE", base + "/{ident}"): Rule(D, target),
    }


#: (method, path) → Rule: the whole authorization of the service.
TABLE: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    **_crud("depots", "depot"),
    **_crud("technicians", "technician", own_read=True),
    **_crud("couriers", "courier", own_read=True),
    ("POST", "/v1/zones"): Rule(D),
    ("GET", "/v1/zones"): Rule(D),
    ("GET", "/v1/zones/{zone_id}"): Rule(D, "zone"),
    ("PUT", "/v1/zones/{zone_id}"): Rule(D, "zone"),
    ("DELETE", "/v1/zones/{zone_id}"): Rule(D, "zone"),
    ("POST", "/v1/jobs"): Rule(D),
    ("GET", "/v1/jobs"): Rule({**D, "courier": OWN, "technician": OWN}),
    ("GET", "/v1/jobs/{job_id}"): Rule({**D, "courier": OWN, "technician": OWN}, "job"),
    ("PUT", "/v1/jobs/{job_id}"): Rule(D, "job"),
    ("DELETE", "/v1/jobs/{job_id}"): Rule(D, "job"),
    ("GET", "/v1/jobs/{job_id}/status"): Rule(
        {**D, "courier": OWN, "technician": OWN, "customer": JOB}, "job"
    ),
    ("POST", "/v1/jobs/{job_id}/status"): Rule({**D, "courier": OWN, "technician": OWN}, "job"),
    ("POST", "/v1/jobs/{job_id}/tracking-token"): Rule(D, "job"),
    ("GET", "/v1/jobs/{job_id}/timeline"): Rule({**D, "customer": JOB}, "job"),
    ("GET", "/v1/jobs/{job_id}/stream"): Rule({**D, "customer": JOB}, "job"),
    ("POST", "/v1/plans"): Rule(D),
    ("GET", "/v1/plans"): Rule(D),
    ("GET", "/v1/plans/{run_id}"): Rule(D, "run"),
    ("DELETE", "/v1/plans/{run_id}"): Rule(D, "run"),
    ("POST", "/v1/plans/{run_id}/publish"): Rule(D, "run"),
    ("POST", "/v1/plans/{run_id}/replan"): Rule(D, "run"),
    ("GET", "/v1/plans/{run_id}/request"): Rule(D, "run"),
    ("GET", "/v1/resources/{resource_id}/route"): Rule({**D, "courier": OWN, "technician": OWN}, "resource"),
    ("POST", "/v1/keys"): Rule({"dispatcher": ALL_ZONES}),
    # a zone dispatcher lists and revokes its zone's keys (the route scopes by ``who.zone``;
    # another zone's key is as unknown as a missing one)
    ("GET", "/v1/keys"): Rule(D),
    ("DELETE", "/v1/keys/{key_id}"): Rule(D),
    ("POST", "/v1/events"): Rule({**D, "courier": OWN, "technician": OWN}),
    ("GET", "/v1/late-stops"): Rule(D),
    ("GET", "/v1/stream"): Rule(D),
    ("POST", "/v1/appointments/quote"): Rule(D),
    ("POST", "/v1/appointments"): Rule(D),
}

_PARAMS = ("ident", "job_id", "run_id", "zone_id", "resource_id")


@dataclass(frozen=True, slots=True)
class Target:
    """What the path names, reduced to what bindings are checked against."""

    exists: bool
    zone: str | None = None
    resources: frozenset[str] = frozenset()
    ident: str = ""


def _job_target(session: Session, ident: str) -> Target:
    from .living import job_resources  # the job's crews on its published plan (both halves of a split)

    row = session.get(Job, ident)
    if row is None:
        return Target(False, ident=ident)
    return Target(True, row.zone, frozenset(job_resources(session, row)), ident)


def _row_target(table: Any) -> Callable[[Session, str], Target]:
    def find(session: Session, ident: str) -> Target:
        row = session.get(table, ident)
        return Target(row is not None, getattr(row, "zone", None), frozenset({ident}), ident)

    return find


def _resource_target(session: Session, ident: str) -> Target:
    row = session.get(Courier, ident) or session.get(Technician, ident)
    return Target(row is not None, getattr(row, "zone", None), frozenset({ident}), ident)


def _zone_target(session: Session, ident: str) -> Target:
    return Target(session.get(ServiceZone, ident) is not None, ident, frozenset(), ident)


FINDERS: dict[str, Callable[[Session, str], Target]] = {
    "job": _job_target,
    "resource": _resource_target,
    "technician": _row_target(Technician),
    "courier": _row_target(Courier),
    "depot": _row_target(Depot),
    "run": _row_target(PlanRun),
    "zone": _zone_target,
}
_WHAT = {"resource": "resource", "run": "plan run"}


def may_see(who: Principal, binding: str, target: Target) -> bool:
    """Whether a key with ``binding`` on this route may see the path's object."""
    if not target.exists and binding != JOB:
        return False
    if binding in (ZONE, ALL_ZONES):
        return who.zone is None or target.zone == who.zone
    if binding == OWN:
        return who.resource_id is not None and who.resource_id in target.resources
    if binding == JOB:
        return who.job_id is not None and who.job_id == target.ident
    return False


def rule_for(method: str, path: str) -> Rule | None:
    return TABLE.get((method.upper(), path))


def check(who: Principal, rule: Rule, method: str, path: str) -> str:
    """The binding ``who`` acts under on this route; 403 for a role or key the row refuses."""
    binding = rule.roles.get(who.role)
    if binding is None:
        raise forbidden(f"a {who.role} key may not use {method} {path}")
    if binding == ALL_ZONES and who.zone is not None:
        raise forbidden(f"this key is limited to zone {who.zone!r}; this needs a key for all zones")
    return binding


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, walking included routers (whose routes FastAPI may
    keep under the router rather than copy into ``app.routes``)."""
    out: list[tuple[str, str]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                context = getattr(r, "include_context", None)
                walk(list(inner.routes), prefix + getattr(context, "prefix", ""))
                continue
            for method in sorted(getattr(r, "methods", None) or ()):
                if method != "HEAD":
                    out.append((method, _full(prefix, r.path)))

    walk(list(app.routes), "")
    return out


def _full(prefix: str, path: str) -> str:
    return path if not prefix or path.startswith(prefix + "/") or path == prefix else prefix + path


def authorize_under(prefix: str) -> Callable[[Request], Any]:
    """``authorize`` for the routes of a router included under ``prefix`` (``/v1``)."""

    async def dependency(request: Request) -> None:
        route = request.scope.get("route")
        path = _full(prefix, route.path) if route is not None else request.url.path
        await authorize(request, path)

    return dependency


async def authorize(request: Request, path: str) -> None:
    """The table's row for this route, enforced: 401/403 by role and key, 404 for what is unseen."""
    rule = rule_for(request.method, path)
    if rule is None:
        detail = f"{request.method} {path} has no authorization entry"
        raise Problem(403, "Forbidden", detail, kind="forbidden")
    if rule.public:
        return
    who = await get_principal(request)
    binding = check(who, rule, request.method, path)
    if rule.target is None:
        return
    params = request.path_params
    ident = next((params[p] for p in _PARAMS if p in params), None)
    if ident is None:
        return

    def _find() -> Target:
        with request.app.state.sessions() as session:
            return FINDERS[rule.target](session, ident)  # type: ignore[index]

    target = await run_in_threadpool(_find)
    if not may_see(who, binding, target):
        raise not_found(_WHAT.get(rule.target, rule.target), ident)
