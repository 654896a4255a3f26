"""The independent plan validator: every hard rule, re-checked from the plan and the request alone.

Nothing the solver or the routing layer computed is trusted. Times are re-read from
the plan's ISO 8601 text (any UTC offset, compared as instants), legs are recomputed
with the request's own travel provider, loads are recomputed from the stop types and
the jobs' items, and the meaning of a job (who may do it, its windows, what it
carries) comes from :mod:`dispatch.model`, the one source of truth shared with the
expansion. This module deliberately imports neither ``onestop.routing`` nor
``dispatch.expand``.

A plan is checked in two passes. The first checks its shape; a plan that is not the
right shape gets ``format`` violations naming the path (``routes[1].stops[3].arrival``)
and nothing else, because its meaning cannot be read. The second checks the rules.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from onestop.geodata import UNREACHABLE, TravelDataError, travel_model

from .model import (
    COURIER_KINDS,
    TECHNICIAN_KINDS,
    Depot,
    DispatchProblem,
    Job,
    Resource,
    can_deliver_half,
    can_do_alone,
    can_install_half,
    effective_windows,
    exact,
    parse_request,
)
from .reasons import REASONS
from .timebase import Timebase

# --- rules -----------------------------------------------------------------------

#: The plan is not the right shape: a missing or mistyped field, a time that is not ISO 8601.
FORMAT = "format"
#: A route names a resource the request does not have, or a resource has two routes.
UNKNOWN_RESOURCE = "unknown_resource"
#: A route's shape: start first at the resource's start place, end last at its end place,
#: customer stops at their job's location, arrival <= start <= end, time never going back.
STOP_ORDER = "stop_order"
#: Arrival >= previous end + the provider's travel time; reported travel_s / distance_m
#: equal the recomputed leg.
TRAVEL = "travel"
#: A customer stop starts inside one of its job's effective windows (promise included); the
#: work may run past the window's end (DESIGN.md: a window is when the work starts).
WINDOW = "window"
#: Every stop inside the resource's shift.
SHIFT = "shift"
#: Each break of a used resource once, of its duration, inside its window, overlapping no stop.
BREAK = "break"
#: Brand authorised and skills covered (one crew for a courier that installs).
SKILLS = "skills"
#: Courier kinds on couriers, technician kinds on technicians; a route's resource_kind is right.
RESOURCE_KIND = "resource_kind"
#: Load recomputed after each stop: never negative, never above capacity, equal to the plan's.
CAPACITY = "capacity"
#: A job's stops: the right types, depot stops once each, in order, on one route, at the right depot.
PAIRING = "pairing"
#: Both halves or neither; split: install no earlier than the deliver ends; alone: back to back.
DELIVERY_INSTALLATION = "delivery_installation"
#: A job with ``after`` starts no earlier than its predecessor's last customer stop ends.
AFTER = "after"
#: Distinct jobs with a customer stop on a route <= the resource's max_jobs.
MAX_JOBS = "max_jobs"
#: Every job planned once or listed unassigned once, with a known reason; all its stops present.
COMPLETENESS = "completeness"
#: Customer stops last the job's duration (handover_s for a delivery_installation's deliver);
#: depot stops the depot's service_s; start and end stops no time.
DURATIONS = "durations"

RULES = (
    FORMAT,
    UNKNOWN_RESOURCE,
    STOP_ORDER,
    TRAVEL,
    WINDOW,
    SHIFT,
    BREAK,
    SKILLS,
    RESOURCE_KIND,
    CAPACITY,
    PAIRING,
    DELIVERY_INSTALLATION,
    AFTER,
    MAX_JOBS,
    COMPLETENESS,
    DURATIONS,
)

STOP_TYPES = ("start", "load", "deliver", "install", "swap", "collect", "unload", "visit", "break", "end")
CUSTOMER_STOPS = frozenset({"deliver", "install", "swap", "collect", "visit"})
DEPOT_STOPS = frozenset({"load", "unload"})
_NO_JOB_STOPS = frozenset({"start", "end", "break"})

#: The stops each job kind has in a plan, in route order (DESIGN.md).
JOB_STOPS: dict[str, tuple[str, ...]] = {
    "delivery": ("load", "deliver"),
    "installation": ("install",),
    "delivery_installation": ("load", "deliver", "install"),
    "haul_away": ("collect", "unload"),
    "exchange": ("load", "swap", "unload"),
    "pickup": ("collect", "unload"),
    "repair": ("visit",),
    "inspection": ("visit",),
}

#: Horizon handed to ``effective_windows``: a job without windows may be served any time of the plan.
_HORIZON_S = 10**9
#: Degrees within which two places are the same place (plans round-trip floats exactly).
_PLACE_TOL_DEG = 1e-9

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule.

    Parameters
    ----------
    rule
        One of :data:`RULES` (``"window"``, ``"capacity"``, ...).
    message
        What is wrong, in a dispatcher's words, with the values involved.
    route
        The resource id of the route at fault, if any.
    stop
        The 0-based index of the stop in that route's ``stops``, if any.
    job
        The job at fault, if any.
    """

    rule: str
    message: str
    route: str | None = None
    stop: int | None = None
    job: str | None = None

    def __str__(self) -> str:
        where = []
        if self.route is not None:
            where.append(f"route {self.route}")
        if self.stop is not None:
            where.append(f"stop {self.stop}")
        if self.job is not None:
            where.append(f"job {self.job}")
        at = f" [{', '.join(where)}]" if where else ""
        return f"{self.rule}{at}: {self.message}"


def validate_plan(
    request: bytes | str | Mapping[str, Any] | DispatchProblem, plan: Mapping[str, Any] | str | bytes
) -> list[Violation]:
    """Re-check every hard rule of a v1 plan against its v1 request.

    Parameters
    ----------
    request
        The v1 request: JSON text, parsed JSON, or an already parsed ``DispatchProblem``.
    plan
        The v1 plan as ``build_plan`` writes it (a JSON-ready dict), or its JSON text.

    Returns
    -------
    list[Violation]
        Empty when the plan keeps every rule. A plan that is not the right shape gives
        only ``format`` violations, each naming the path at fault; it never raises.

    Raises
    ------
    RequestError
        The request itself is invalid (the plan cannot be judged against it).
    TravelDataError
        The request's ``options.travel`` cannot give a travel model.
    ProviderUnavailable
        The travel provider (an OSRM server) could not be reached.
    """
    problem = request if isinstance(request, DispatchProblem) else parse_request(request)
    shape = _Shape(problem.timebase)
    parsed = shape.plan(plan)
    if shape.violations or parsed is None:
        return shape.violations
    return _Checker(problem, parsed).run()


# --- the plan, read ------------------------------------------------------------------


@dataclass(slots=True)
class _Stop:
    route: int
    index: int
    type: str
    job: str | None
    location: Point
    arrival: int
    start: int
    end: int
    travel_s: int
    distance_m: int
    load: dict[str, float]
    depot: str | None
    break_index: int | None


@dataclass(slots=True)
class _Route:
    index: int
    resource: str
    kind: str
    stops: list[_Stop] = field(default_factory=list)


@dataclass(slots=True)
class _Unassigned:
    index: int
    job: str
    reason: str


@dataclass(slots=True)
class _Plan:
    routes: list[_Route]
    unassigned: list[_Unassigned]


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer too large for a float
        return False


class _Shape:
    """Reads a plan into typed values, or says which path is not the right shape."""

    def __init__(self, tb: Timebase) -> None:
        self.tb = tb
        self.violations: list[Violation] = []

    def bad(self, path: str, message: str, route: str | None = None, stop: int | None = None) -> None:
        text = f"{path}: {message}" if path else message
        self.violations.append(Violation(FORMAT, text, route, stop))

    def plan(self, plan: Any) -> _Plan | None:
        if isinstance(plan, bytes | str):
            try:
                plan = json.loads(plan)
            except (ValueError, RecursionError):
                self.bad("", "plan is not valid JSON")
                return None
        if not isinstance(plan, Mapping):
            self.bad("", f"plan must be a JSON object, not {_type_name(plan)}")
            return None
        version = plan.get("version", "1")
        if version not in ("1", 1):
            self.bad("version", f"this validator reads plan version 1, not {_show(version)}")
        routes_raw = plan.get("routes")
        unassigned_raw = plan.get("unassigned")
        routes: list[_Route] = []
        unassigned: list[_Unassigned] = []
        if not isinstance(routes_raw, list):
            self.bad(
                "routes", "missing" if routes_raw is None else f"must be a list, not {_type_name(routes_raw)}"
            )
        else:
            for ri, raw in enumerate(routes_raw):
                route = self.route(ri, raw)
                if route is not None:
                    routes.append(route)
        if not isinstance(unassigned_raw, list):
            self.bad(
                "unassigned",
                "missing" if unassigned_raw is None else f"must be a list, not {_type_name(unassigned_raw)}",
            )
        else:
            for ui, raw in enumerate(unassigned_raw):
                u = self.unassigned(ui, raw)
                if u is not None:
                    unassigned.append(u)
        return _Plan(routes, unassigned)

    def route(self, ri: int, raw: Any) -> _Route | None:
        path = f"routes[{ri}]"
        if not isinstance(raw, Mapping):
            self.bad(path, f"must be an object, not {_type_name(raw)}")
            return None
        resource = raw.get("resource")
        ok = True
        if not isinstance(resource, str) or not resource:
            self.bad(f"{path}.resource", "must be a resource id (a non-empty string)")
            ok = False
        kind = raw.get("resource_kind")
        if not isinstance(kind, str):
            self.bad(f"{path}.resource_kind", "must be a string (technician or courier)")
            ok = False
        stops_raw = raw.get("stops")
        if not isinstance(stops_raw, list):
            self.bad(f"{path}.stops", "must be a list of stops")
            return None
        rid = resource if isinstance(resource, str) else None
        route = _Route(ri, rid or "", kind if isinstance(kind, str) else "")
        for si, s in enumerate(stops_raw):
            stop = self.stop(ri, si, s, rid)
            if stop is None:
                ok = False
            else:
                route.stops.append(stop)
        return route if ok else None

    def stop(self, ri: int, si: int, raw: Any, rid: str | None) -> _Stop | None:
        path = f"routes[{ri}].stops[{si}]"
        if not isinstance(raw, Mapping):
            self.bad(path, f"must be an object, not {_type_name(raw)}", rid, si)
            return None
        before = len(self.violations)
        type_ = raw.get("type")
        if not isinstance(type_, str) or type_ not in STOP_TYPES:
            self.bad(f"{path}.type", f"must be one of {', '.join(STOP_TYPES)}; got {_show(type_)}", rid, si)
            type_ = None
        job = raw.get("job")
        if type_ in _NO_JOB_STOPS:
            if job is not None:
                self.bad(f"{path}.job", f"must be null for a {type_} stop", rid, si)
        elif type_ in STOP_TYPES and (not isinstance(job, str) or not job):
            self.bad(f"{path}.job", f"must be a job id for a {type_} stop", rid, si)
        loc = raw.get("location")
        if not (
            isinstance(loc, list | tuple)
            and len(loc) == 2
            and all(_is_number(c) for c in loc)
            and abs(loc[0]) <= 180
            and abs(loc[1]) <= 90
        ):
            self.bad(f"{path}.location", "must be [lon, lat] with |lon| <= 180, |lat| <= 90", rid, si)
        times = [self.time(f"{path}.{key}", raw.get(key), rid, si) for key in ("arrival", "start", "end")]
        for key in ("travel_s", "distance_m"):
            v = raw.get(key)
            if not _is_int(v) or v < 0:
                self.bad(f"{path}.{key}", f"must be an integer >= 0; got {_show(v)}", rid, si)
        load = raw.get("load")
        if not isinstance(load, Mapping) or not all(
            isinstance(k, str) and _is_number(v) for k, v in load.items()
        ):
            self.bad(f"{path}.load", "must be an object of dimension: amount (a finite number)", rid, si)
        depot = raw.get("depot")
        if depot is not None and not isinstance(depot, str):
            self.bad(f"{path}.depot", "must be a depot id or null", rid, si)
        bi = raw.get("break_index")
        if bi is not None and not _is_int(bi):
            self.bad(f"{path}.break_index", "must be an integer or null", rid, si)
        if len(self.violations) > before:
            return None
        arrival, start, end = times
        assert arrival is not None and start is not None and end is not None
        return _Stop(
            ri,
            si,
            type_,
            job,
            (float(loc[0]), float(loc[1])),
            arrival,
            start,
            end,
            raw["travel_s"],
            raw["distance_m"],
            dict(load),
            depot,
            bi,
        )

    def time(self, path: str, value: Any, rid: str | None, si: int) -> int | None:
        if not isinstance(value, str):
            self.bad(path, f"must be an ISO 8601 datetime string; got {_type_name(value)}", rid, si)
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.bad(path, f"not an ISO 8601 datetime: {value[:60]!r}", rid, si)
            return None
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.bad(path, f"must carry a UTC offset: {value[:60]!r}", rid, si)
            return None
        try:
            return self.tb.seconds_of(moment)
        except (OverflowError, ValueError):
            self.bad(path, f"out of range: {value[:60]!r}", rid, si)
            return None

    def unassigned(self, ui: int, raw: Any) -> _Unassigned | None:
        path = f"unassigned[{ui}]"
        if not isinstance(raw, Mapping):
            self.bad(path, f"must be an object, not {_type_name(raw)}")
            return None
        job, reason, detail = raw.get("job"), raw.get("reason"), raw.get("detail", "")
        ok = True
        if not isinstance(job, str) or not job:
            self.bad(f"{path}.job", "must be a job id")
            ok = False
        if not isinstance(reason, str):
            self.bad(f"{path}.reason", "must be a string")
            ok = False
        if detail is not None and not isinstance(detail, str):
            self.bad(f"{path}.detail", "must be a string")
            ok = False
        return _Unassigned(ui, job, reason) if ok else None


def _show(x: Any) -> str:
    """A short, safe rendering of a plan value for a message."""
    try:
        text = repr(x)
    except ValueError:  # an integer too long to print
        return _type_name(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int | float):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, list | tuple):
        return "a list"
    if isinstance(x, Mapping):
        return "an object"
    return type(x).__name__


# --- the rules ---------------------------------------------------------------------


def _same_place(a: Sequence[float], b: Sequence[float]) -> bool:
    return abs(a[0] - b[0]) <= _PLACE_TOL_DEG and abs(a[1] - b[1]) <= _PLACE_TOL_DEG


#: A reported load may differ from the exact one by its rounding to 0.001.
_LOAD_TOL = Decimal("0.0005")


def _amount(d: Decimal | int) -> str:
    """An amount as the user would write it: 3, 0.35 (not 0.350000 or Decimal('3'))."""
    text = format(Decimal(d).normalize(), "f")
    return text


def _delta(stop_type: str, job: Job) -> dict[str, Decimal]:
    """How a stop changes what the vehicle carries (DESIGN.md job kinds), in exact decimals."""
    items = {d: exact(a) for d, a in job.items.items()}
    returned = {d: exact(a) for d, a in job.returned_items.items()}
    if stop_type in ("load", "collect"):
        return items
    if stop_type == "deliver":
        return {d: -a for d, a in items.items()}
    if stop_type == "unload":
        gone = returned if job.kind == "exchange" else items
        return {d: -a for d, a in gone.items()}
    if stop_type == "swap":
        out = {d: -a for d, a in items.items()}
        for d, a in returned.items():
            out[d] = out.get(d, Decimal(0)) + a
        return out
    return {}


class _Legs:
    """Travel between plan places, recomputed with the request's own provider."""

    def __init__(self, travel: Mapping[str, Any] | None, points: list[Point]) -> None:
        model = travel_model(dict(travel) if travel is not None else None)
        self.index: dict[Point, int] = {}
        self.unknown: dict[Point, str] = {}
        good = list(dict.fromkeys(points))
        try:
            m = model.matrices(good)
        except TravelDataError:
            # Find the places the provider does not know (a matrix without them); keep the rest.
            keep = []
            for p in good:
                try:
                    model.matrices([p])
                    keep.append(p)
                except TravelDataError as exc:
                    self.unknown[p] = str(exc)
            good = keep
            m = model.matrices(good) if good else None
        self.index = {p: i for i, p in enumerate(good)}
        self.dur = m.durations_s if m is not None else None
        self.dist = m.distances_m if m is not None else None

    def leg(self, a: Point, b: Point) -> tuple[int, int] | str:
        """(travel_s, distance_m) from a to b, or why there is none."""
        for p in (a, b):
            if p in self.unknown:
                return f"the travel provider does not know place [{p[0]}, {p[1]}]"
        i, j = self.index[a], self.index[b]
        assert self.dur is not None and self.dist is not None
        t, d = int(self.dur[i, j]), int(self.dist[i, j])
        if t == UNREACHABLE or d == UNREACHABLE:
            return f"the travel provider has no route from [{a[0]}, {a[1]}] to [{b[0]}, {b[1]}]"
        return t, d


class _Checker:
    def __init__(self, problem: DispatchProblem, plan: _Plan) -> None:
        self.p = problem
        self.plan = plan
        self.tb = problem.timebase
        self.out: list[Violation] = []
        self.jobs = {j.id: j for j in problem.jobs}
        self.resources = {r.id: r for r in problem.resources}
        self.depots = {d.id: d for d in problem.depots}
        # resource of each route (None when unknown)
        self.route_res: dict[int, Resource | None] = {}
        self._once: set[tuple[int, str, str]] = set()
        self.route_of = {r.index: r for r in plan.routes}

    # helpers
    def v(
        self,
        rule: str,
        message: str,
        route: _Route | None = None,
        stop: int | None = None,
        job: str | None = None,
    ) -> None:
        self.out.append(Violation(rule, message, route.resource if route else None, stop, job))

    def once(self, rule: str, route: _Route, job: str, message: str, stop: int) -> None:
        """One violation of ``rule`` per (route, job): a job's several stops share one cause."""
        key = (route.index, job, rule)
        if key not in self._once:
            self._once.add(key)
            self.v(rule, message, route, stop, job)

    def t(self, seconds: int) -> str:
        """Seconds → the local clock (HH:MM:SS), or the full ISO time off the plan's day."""
        iso = self.tb.iso(seconds)
        return iso[11:19] if iso.startswith(self.tb.day.isoformat()) else iso

    def job_of(self, s: _Stop) -> Job | None:
        """The stop's job when known and the stop type is one of that job kind's stops."""
        if s.job is None:
            return None
        job = self.jobs.get(s.job)
        if job is None or s.type not in JOB_STOPS.get(job.kind, ()):
            return None
        return job

    # entry
    def run(self) -> list[Violation]:
        self.legs = _Legs(self.p.options.travel, self.points())
        self.check_resources()
        for route in self.plan.routes:
            res = self.route_res[route.index]
            self.check_stop_order(route, res)
            self.check_travel(route)
            self.check_stops(route)
            if res is not None:
                self.check_shift(route, res)
                self.check_breaks(route, res)
                self.check_kinds(route, res)
                self.check_capacity(route, res)
                self.check_max_jobs(route, res)
        self.check_jobs()
        return self.out

    def points(self) -> list[Point]:
        pts: list[Point] = [s.location for r in self.plan.routes for s in r.stops]
        pts += [r.start for r in self.p.resources] + [r.end for r in self.p.resources]
        pts += [d.location for d in self.p.depots] + [j.location for j in self.p.jobs]
        return [(float(p[0]), float(p[1])) for p in pts]

    def check_resources(self) -> None:
        seen: dict[str, int] = {}
        for route in self.plan.routes:
            res = self.resources.get(route.resource)
            self.route_res[route.index] = res
            if res is None:
                self.v(UNKNOWN_RESOURCE, f"the request has no resource {route.resource!r}", route)
                continue
            if route.resource in seen:
                self.v(
                    UNKNOWN_RESOURCE,
                    f"resource {route.resource!r} has two routes (routes[{seen[route.resource]}] "
                    f"and routes[{route.index}]); one route per used resource",
                    route,
                )
            seen.setdefault(route.resource, route.index)
            if route.kind != res.kind:
                self.v(RESOURCE_KIND, f"resource_kind is {route.kind!r}, but {res.id} is a {res.kind}", route)

    def check_stop_order(self, route: _Route, res: Resource | None) -> None:
        stops = route.stops
        n = len(stops)
        if n == 0:
            self.v(
                STOP_ORDER,
                "route has no stops; it must begin with a start stop and finish with an end",
                route,
            )
            return
        if stops[0].type != "start":
            self.v(STOP_ORDER, f"first stop is a {stops[0].type}, not the start", route, 0)
        if n < 2 or stops[-1].type != "end":
            self.v(STOP_ORDER, f"last stop is a {stops[-1].type}, not the end", route, n - 1)
        for k, s in enumerate(stops):
            if s.type == "start" and k > 0:
                self.v(STOP_ORDER, "a start stop must be the route's first", route, k)
            if s.type == "end" and k < n - 1:
                self.v(STOP_ORDER, "an end stop must be the route's last", route, k)
        if res is not None:
            if stops[0].type == "start" and not _same_place(stops[0].location, res.start):
                self.v(
                    STOP_ORDER,
                    f"starts at {list(stops[0].location)}, not at {res.id}'s start {list(res.start)}",
                    route,
                    0,
                )
            if stops[-1].type == "end" and not _same_place(stops[-1].location, res.end):
                self.v(
                    STOP_ORDER,
                    f"ends at {list(stops[-1].location)}, not at {res.id}'s end {list(res.end)}",
                    route,
                    n - 1,
                )
        for k, s in enumerate(stops):
            if s.type in ("start", "end") and s.depot is not None:
                named = self.depots.get(s.depot)
                if named is None or not _same_place(named.location, s.location):
                    self.v(
                        STOP_ORDER,
                        f"{s.type} stop names depot {s.depot!r}, which is not at its place "
                        f"{list(s.location)}",
                        route,
                        k,
                    )
            job = self.job_of(s)
            if job is not None and s.type in CUSTOMER_STOPS and not _same_place(s.location, job.location):
                self.v(
                    STOP_ORDER,
                    f"{s.type} stop is at {list(s.location)}, not at the job's location {list(job.location)}",
                    route,
                    k,
                    s.job,
                )
            if not s.arrival <= s.start <= s.end:
                self.v(
                    STOP_ORDER,
                    f"times out of order: arrival {self.t(s.arrival)}, start "
                    f"{self.t(s.start)}, end {self.t(s.end)} (need arrival <= start <= end)",
                    route,
                    k,
                    s.job,
                )
            if k > 0 and s.arrival < stops[k - 1].end:
                self.v(
                    STOP_ORDER,
                    f"arrives at {self.t(s.arrival)}, before the previous stop ends at "
                    f"{self.t(stops[k - 1].end)}",
                    route,
                    k,
                    s.job,
                )

    def check_travel(self, route: _Route) -> None:
        stops = route.stops
        for k, s in enumerate(stops):
            if k == 0:
                if s.travel_s or s.distance_m:
                    self.v(
                        TRAVEL,
                        f"the first stop reports travel_s {s.travel_s}, distance_m "
                        f"{s.distance_m}; nothing comes before it",
                        route,
                        0,
                        s.job,
                    )
                continue
            prev = stops[k - 1]
            leg = self.legs.leg(prev.location, s.location)
            if isinstance(leg, str):
                self.v(TRAVEL, leg, route, k, s.job)
                continue
            t, d = leg
            if (s.travel_s, s.distance_m) != (t, d):
                self.v(
                    TRAVEL,
                    f"reports travel_s {s.travel_s}, distance_m {s.distance_m} from the "
                    f"previous stop; the travel provider gives {t} s, {d} m",
                    route,
                    k,
                    s.job,
                )
            if prev.end <= s.arrival < prev.end + t:
                self.v(
                    TRAVEL,
                    f"arrives at {self.t(s.arrival)}, but the previous stop ends at "
                    f"{self.t(prev.end)} and the leg takes {t} s (earliest {self.t(prev.end + t)})",
                    route,
                    k,
                    s.job,
                )

    def check_stops(self, route: _Route) -> None:
        """Windows and durations: what each stop means for its own job or depot."""
        for k, s in enumerate(route.stops):
            if s.type in ("start", "end"):
                if s.end != s.start:
                    self.v(
                        DURATIONS, f"a {s.type} stop takes no time; it lasts {s.end - s.start} s", route, k
                    )
                continue
            job = self.job_of(s)
            if job is None:
                continue
            if s.type in CUSTOMER_STOPS:
                windows = effective_windows(job, _HORIZON_S)
                if not any(a <= s.start <= b for a, b in windows):
                    shown = ", ".join(f"{self.t(a)}–{self.t(b)}" for a, b in windows) or "none (promise "
                    shown += "" if windows else "and windows do not overlap)"
                    self.v(
                        WINDOW,
                        f"{s.type} starts at {self.t(s.start)}, not inside one of the "
                        f"job's windows: {shown}",
                        route,
                        k,
                        s.job,
                    )
                split_deliver = job.kind == "delivery_installation" and s.type == "deliver"
                need = job.handover_s if split_deliver else job.duration_s
                what = "handover_s" if split_deliver else "duration"
                if s.end - s.start != need:
                    self.v(
                        DURATIONS,
                        f"{s.type} lasts {s.end - s.start} s; the job's {what} is {need} s",
                        route,
                        k,
                        s.job,
                    )
            elif s.type in DEPOT_STOPS:
                depot = self.depot_at(s, job)
                if depot is not None and s.end - s.start != depot.service_s:
                    self.v(
                        DURATIONS,
                        f"{s.type} at {depot.id} lasts {s.end - s.start} s; the depot's "
                        f"service_s is {depot.service_s} s",
                        route,
                        k,
                        s.job,
                    )

    def check_shift(self, route: _Route, res: Resource) -> None:
        lo, hi = res.shift
        for k, s in enumerate(route.stops):
            first, last = min(s.arrival, s.start), max(s.start, s.end)
            if first < lo or last > hi:
                self.v(
                    SHIFT,
                    f"{s.type} {self.t(first)}–{self.t(last)} is outside {res.id}'s shift "
                    f"{self.t(lo)}–{self.t(hi)}",
                    route,
                    k,
                    s.job,
                )

    def check_breaks(self, route: _Route, res: Resource) -> None:
        rules = res.breaks
        taken: dict[int, _Stop] = {}
        extra: list[_Stop] = []
        breaks = [s for s in route.stops if s.type == "break"]
        rest = []
        for s in breaks:
            bi = s.break_index
            if bi is not None and 0 <= bi < len(rules) and bi not in taken:
                taken[bi] = s
            else:
                rest.append(s)
        for s in rest:
            free = [i for i in range(len(rules)) if i not in taken]
            fitting = [
                i
                for i in free
                if s.end - s.start == rules[i].duration_s
                and rules[i].window[0] <= s.start
                and s.end <= rules[i].window[1]
            ]
            pick = (fitting or free or [None])[0]
            if pick is None:
                extra.append(s)
            else:
                taken[pick] = s
        for s in extra:
            self.v(
                BREAK,
                f"break {self.t(s.start)}–{self.t(s.end)} is not one of {res.id}'s "
                f"{len(rules)} break(s), or repeats one",
                route,
                s.index,
            )
        for i, rule in enumerate(rules):
            a, b = rule.window
            s = taken.get(i)
            if s is None:
                if rule.duration_s > 0:
                    self.v(
                        BREAK,
                        f"break {i} ({rule.duration_s} s within {self.t(a)}–{self.t(b)}) is missing",
                        route,
                    )
                continue
            if s.end - s.start != rule.duration_s:
                self.v(
                    BREAK,
                    f"break {i} lasts {s.end - s.start} s; it must last {rule.duration_s} s",
                    route,
                    s.index,
                )
            elif s.start < a or s.end > b:
                self.v(
                    BREAK,
                    f"break {i} {self.t(s.start)}–{self.t(s.end)} is not within its window "
                    f"{self.t(a)}–{self.t(b)}",
                    route,
                    s.index,
                )
        for s in breaks:
            for o in route.stops:
                if o is s or o.start >= o.end or s.start >= s.end:
                    continue
                if s.start < o.end and o.start < s.end:
                    self.v(
                        BREAK,
                        f"break {self.t(s.start)}–{self.t(s.end)} overlaps stop {o.index} "
                        f"({o.type} {self.t(o.start)}–{self.t(o.end)})",
                        route,
                        s.index,
                    )
                    break

    def check_kinds(self, route: _Route, res: Resource) -> None:
        """Who may do what: resource kind first, then brand and skills."""
        for k, s in enumerate(route.stops):
            job = self.job_of(s)
            if job is None:
                continue
            if job.kind in COURIER_KINDS:
                need: str | None = "courier"
            elif job.kind in TECHNICIAN_KINDS:
                need = "technician"
            else:  # delivery_installation: the install half may be a technician or the crew
                need = None if s.type == "install" else "courier"
            if need is not None and res.kind != need:
                self.once(
                    RESOURCE_KIND,
                    route,
                    job.id,
                    f"a {job.kind} job's {s.type} stop is on {res.kind} {res.id}; it needs a {need}",
                    k,
                )
                continue
            if job.kind != "delivery_installation":
                ok = can_do_alone(res, job)
            elif s.type == "install":
                ok = can_install_half(res, job) if res.kind == "technician" else can_do_alone(res, job)
            else:
                ok = can_deliver_half(res, job)
            if not ok:
                needs = ([f"brand {job.brand}"] if job.brand else []) + (
                    ["skills " + ", ".join(sorted(job.skills))] if job.skills else []
                )
                has = f"brands {sorted(res.brands)}, skills {sorted(res.skills)}"
                crew = " as one crew" if res.kind == "courier" and s.type == "install" else ""
                self.once(
                    SKILLS,
                    route,
                    job.id,
                    f"{res.kind} {res.id} ({has}) is not authorised for "
                    f"{' and '.join(needs) or 'this job'}{crew}",
                    k,
                )

    def check_capacity(self, route: _Route, res: Resource) -> None:
        if res.kind != "courier":
            for s in route.stops:
                if any(s.load.values()):
                    self.v(
                        CAPACITY, f"a technician carries nothing, but load is {s.load}", route, s.index, s.job
                    )
            return
        cap = {d: exact(a) for d, a in res.capacity.items()}
        load: dict[str, Decimal] = {}
        for s in route.stops:
            job = self.job_of(s)
            if job is not None:
                for d, a in _delta(s.type, job).items():
                    load[d] = load.get(d, Decimal(0)) + a
            neg = sorted(d for d, a in load.items() if a < 0)
            over = sorted(d for d, a in load.items() if a > cap.get(d, 0))
            if neg or over:
                parts = [f"{d} {_amount(load[d])} below zero" for d in neg]
                parts += [f"{d} {_amount(load[d])} above capacity {_amount(cap.get(d, 0))}" for d in over]
                self.v(CAPACITY, f"after this {s.type} the load is {'; '.join(parts)}", route, s.index, s.job)
            # a plan reports loads in the user's units to 0.001 (DESIGN.md)
            dims = set(load) | set(s.load)
            wrong = sorted(d for d in dims if abs(exact(s.load.get(d, 0)) - load.get(d, 0)) > _LOAD_TOL)
            if wrong:
                want = {d: _amount(load.get(d, 0)) for d in wrong}
                got = {d: s.load.get(d, 0) for d in wrong}
                self.v(
                    CAPACITY, f"reports load {got}; the stops before it give {want}", route, s.index, s.job
                )

    def check_max_jobs(self, route: _Route, res: Resource) -> None:
        if res.max_jobs is None:
            return
        jobs = {s.job for s in route.stops if s.type in CUSTOMER_STOPS and s.job}
        if len(jobs) > res.max_jobs:
            self.v(MAX_JOBS, f"{len(jobs)} jobs on the route; {res.id} takes at most {res.max_jobs}", route)

    def depot_at(self, s: _Stop, job: Job) -> Depot | None:
        """The depot a load/unload stop is at: the one it names, else an allowed one at its place."""
        if s.depot is not None:
            named = self.depots.get(s.depot)
            if named is not None and _same_place(named.location, s.location):
                return named
        here = [d for d in self.p.depots if _same_place(d.location, s.location)]
        allowed = self.allowed_depots(s.type, job)
        return next((d for d in here if d in allowed), here[0] if here else None)

    def allowed_depots(self, stop_type: str, job: Job) -> list[Depot]:
        """Where a job may load (``from`` or any warehouse) or unload (``to`` or the right centres)."""
        given = job.from_depot if stop_type == "load" else job.to_depot
        if given is not None:
            d = self.depots.get(given)
            return [d] if d is not None else []
        if stop_type == "load":
            kinds: tuple[str, ...] = ("warehouse",)
        elif job.kind == "haul_away":
            kinds = ("recycling", "service_center")
        else:
            kinds = ("service_center",)
        return [d for d in self.p.depots if d.kind in kinds]

    # job-level rules
    def check_jobs(self) -> None:
        routes = self.plan.routes
        by_job: dict[str, list[_Stop]] = {}
        for route in routes:
            for s in route.stops:
                if s.job is None:
                    continue
                if s.job not in self.jobs:
                    self.v(COMPLETENESS, f"{s.type} stop names unknown job {s.job!r}", route, s.index, s.job)
                    continue
                by_job.setdefault(s.job, []).append(s)
        listed: dict[str, int] = {}
        for u in self.plan.unassigned:
            if u.job not in self.jobs:
                self.v(COMPLETENESS, f"unassigned[{u.index}] names unknown job {u.job!r}", job=u.job)
            elif u.job in listed:
                self.v(
                    COMPLETENESS,
                    f"listed unassigned twice (unassigned[{listed[u.job]}] and unassigned[{u.index}])",
                    job=u.job,
                )
            listed.setdefault(u.job, u.index)
            if u.reason not in REASONS:
                self.v(
                    COMPLETENESS,
                    f"unassigned[{u.index}] reason {u.reason!r} is not one of {', '.join(sorted(REASONS))}",
                    job=u.job,
                )
        for job in self.p.jobs:
            stops = by_job.get(job.id, [])
            if not stops:
                if job.id not in listed:
                    self.v(COMPLETENESS, "neither planned nor listed unassigned", job=job.id)
                continue
            if job.id in listed:
                self.v(
                    COMPLETENESS,
                    f"planned, and also listed unassigned (unassigned[{listed[job.id]}])",
                    job=job.id,
                )
            self.check_job_stops(job, stops)
        self.check_after(by_job)

    def check_job_stops(self, job: Job, stops: list[_Stop]) -> None:
        route_of = self.route_of
        expected = JOB_STOPS[job.kind]
        di = job.kind == "delivery_installation"
        for s in stops:
            if s.type not in expected:
                self.v(
                    PAIRING,
                    f"a {job.kind} job has no {s.type} stop (its stops: {', '.join(expected)})",
                    route_of[s.route],
                    s.index,
                    job.id,
                )
        counts = Counter(s.type for s in stops)
        complete = True
        for t in expected:
            n = counts[t]
            if n == 1:
                continue
            complete = False
            if n == 0 and di and t in ("deliver", "install"):
                other = "install" if t == "deliver" else "deliver"
                if counts[other]:
                    self.v(
                        DELIVERY_INSTALLATION,
                        f"has its {other} but no {t}: both halves are planned or neither",
                        job=job.id,
                    )
                else:
                    self.v(COMPLETENESS, "has stops in the plan but neither deliver nor install", job=job.id)
            elif n == 0:
                self.v(COMPLETENESS, f"is planned but has no {t} stop", job=job.id)
            else:
                rule = COMPLETENESS if t in CUSTOMER_STOPS else PAIRING
                self.v(rule, f"has {n} {t} stops; each appears exactly once", job=job.id)
        if not complete:
            return
        one = {s.type: s for s in stops if s.type in expected}
        courier_half = [t for t in expected if not (di and t == "install")]
        on = {one[t].route for t in courier_half}
        if len(on) > 1:
            names = ", ".join(f"{t} on {route_of[one[t].route].resource}" for t in courier_half)
            self.v(PAIRING, f"stops on different routes ({names}); one vehicle does them all", job=job.id)
        else:
            for a, b in zip(courier_half, courier_half[1:], strict=False):
                if one[a].index > one[b].index:
                    self.v(
                        PAIRING,
                        f"{b} (stop {one[b].index}) comes before its {a} (stop {one[a].index})",
                        route_of[one[b].route],
                        one[b].index,
                        job.id,
                    )
        for t in courier_half:
            s = one[t]
            if s.type not in DEPOT_STOPS:
                continue
            allowed = self.allowed_depots(t, job)
            ok = [d for d in allowed if _same_place(d.location, s.location)]
            if s.depot is not None:
                ok = [d for d in ok if d.id == s.depot]
            if not ok:
                names = ", ".join(d.id for d in allowed) or "none in the request"
                at = f"depot {s.depot} " if s.depot else ""
                self.v(
                    PAIRING,
                    f"{t} at {at}{list(s.location)}; the job may {t} only at: {names}",
                    route_of[s.route],
                    s.index,
                    job.id,
                )
        if di:
            self.check_halves(job, one["deliver"], one["install"], route_of)

    def check_halves(self, job: Job, d: _Stop, i: _Stop, route_of: dict[int, _Route]) -> None:
        ir = route_of[i.route]
        if d.route == i.route:  # alone: one crew, install right after the handover
            if i.index < d.index or i.start != d.end:
                self.v(
                    DELIVERY_INSTALLATION,
                    f"done by one crew, the install must start when the deliver "
                    f"ends ({self.t(d.end)}); it starts at {self.t(i.start)}",
                    ir,
                    i.index,
                    job.id,
                )
            return
        res = self.route_res.get(i.route)
        if res is not None and res.kind == "courier":
            self.v(
                DELIVERY_INSTALLATION,
                f"install is on courier {res.id}, which did not deliver it; a split "
                "job is installed by a technician",
                ir,
                i.index,
                job.id,
            )
        elif i.start < d.end:
            self.v(
                DELIVERY_INSTALLATION,
                f"install starts at {self.t(i.start)}, before the delivery ends at "
                f"{self.t(d.end)} on {route_of[d.route].resource}",
                ir,
                i.index,
                job.id,
            )

    def check_after(self, by_job: dict[str, list[_Stop]]) -> None:
        route_of = self.route_of
        for job in self.p.jobs:
            if job.after is None:
                continue
            mine = [s for s in by_job.get(job.id, []) if s.type in CUSTOMER_STOPS]
            if not mine:
                continue
            theirs = [s for s in by_job.get(job.after, []) if s.type in CUSTOMER_STOPS]
            if not theirs:
                self.v(AFTER, f"planned, but the job it comes after ({job.after!r}) is not", job=job.id)
                continue
            first = min(mine, key=lambda s: s.start)
            last = max(theirs, key=lambda s: s.end)
            if first.start < last.end:
                self.v(
                    AFTER,
                    f"starts at {self.t(first.start)}, before job {job.after} ends at {self.t(last.end)}",
                    route_of[first.route],
                    first.index,
                    job.id,
                )
