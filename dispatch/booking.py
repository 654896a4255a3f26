"""Appointment booking: which 2-hour windows a new job fits into, at what cost, and booking one.

Why a direct insertion check and not a solve: a customer on the phone needs an
answer in well under a second, and a quote must not move anyone else's work. So
``quote`` reads the live plan's routes as they are and tries the new job's stops
in every gap of every capable resource's route (its depot stops next to the
customer stop, or at the start / end of the day), pushing later stops only as far
as their own windows, breaks and the shift allow. The first stop whose start does
not move ends the check: everything after it is as valid as it was.

``book`` adds the job with the chosen window to the request, places it where
``quote`` found the cheapest insertion, rebuilds the plan with
:func:`dispatch.plan.build_plan` (times, loads, summaries, KPIs recomputed the usual
way) and re-checks it with the independent validator. Other assignments are not
touched: only the receiving route's later stops may start later.

Days after the plan's date are quoted on empty routes (each resource's shift and
breaks as on the plan's day), since no plan exists for them yet.

Not covered (yet): a ``delivery_installation`` that needs a courier and a
technician (only one-crew couriers are quoted), and service zones.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date as _date
from datetime import datetime, timedelta
from datetime import time as _time
from typing import Any

from onestop.routing import BreakTaken, RoutingResult, VehicleRoute, Visit

from .expand import expand
from .model import (
    TECHNICIAN_KINDS,
    Depot,
    DispatchProblem,
    Job,
    Resource,
    can_do_alone,
    effective_windows,
    fits,
    parse_request,
    solver_units,
)
from .plan import build_plan
from .planner import travel_model_for, zones_of
from .timebase import Timebase
from .validator import validate_plan

log = logging.getLogger(__name__)

_INF = 1 << 60
#: A quote key used when the job dict has no id yet.
_QUOTE_ID = "__quote__"

__all__ = ["BookingError", "Earliest", "Slot", "book", "earliest", "quote"]


class BookingError(ValueError):
    """The job cannot be booked in the asked window (or the job itself is not valid)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One bookable window: ``feasible`` with ``extra_cost_s`` added travel on ``resource``."""

    date: str
    window: tuple[str, str]
    feasible: bool
    extra_cost_s: int
    resource: str | None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "window": list(self.window),
            "feasible": self.feasible,
            "extra_cost_s": self.extra_cost_s,
            "resource": self.resource,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Earliest:
    """The answer to an urgent request: a slot, or a sentence saying when the first one is."""

    slot: Slot | None
    today: bool
    message: str


# --- the live plan, read as elements -------------------------------------------------------

# Element kinds
_START, _END, _STOP, _BREAK = 0, 1, 2, 3


@dataclass(slots=True)
class _El:
    """A stop of a route as the insertion check sees it.

    ``loc`` is an index into the quote's matrix (-1 for a break: a break has no place
    of its own, it is taken on arrival at the next place). ``start`` is the planned
    start (None for breaks of an empty route), ``lo``/``hi`` the earliest/latest start.
    """

    kind: int
    loc: int
    start: int | None
    svc: int
    lo: int
    hi: int
    load: tuple[int, ...]
    stops: tuple[dict[str, Any], ...] = ()
    break_index: int | None = None
    jobs: tuple[str, ...] = ()


@dataclass(slots=True)
class _Route:
    resource: Resource
    els: list[_El]
    jobs: int
    dims: tuple[str, ...]
    cap: tuple[int, ...]
    used: bool


@dataclass(frozen=True, slots=True)
class _New:
    """A stop of the job to insert: place, service, load change, customer or depot."""

    loc: int
    svc: int
    delta: tuple[int, ...]
    customer: bool
    type: str
    depot: str | None
    #: Seconds after its start at which the work must still start inside the window: a
    #: one-crew delivery_installation installs ``handover_s`` after arriving (DESIGN.md).
    late: int = 0


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where the job goes: after which element each new stop comes, and the times."""

    resource: str
    after: tuple[int, ...]  # element index each new stop follows, non-decreasing
    starts: tuple[int, ...]  # start of each new stop
    changed: dict[int, int]  # existing element index → new start
    extra_s: int


def _secs(tb: Timebase, text: str) -> int:
    return tb.seconds_of(datetime.fromisoformat(text))


class _Live:
    """The plan's routes and one travel matrix over every place they and the job use."""

    def __init__(
        self, dp: DispatchProblem, plan: Mapping[str, Any], job: Job, extra_points: Sequence
    ) -> None:
        self.dp = dp
        self.tb = dp.timebase
        self.job = job
        self.plan = plan
        points: list[tuple[float, float]] = []
        self.index: dict[tuple[float, float], int] = {}

        def loc(p: Sequence[float]) -> int:
            key = (float(p[0]), float(p[1]))
            if key not in self.index:
                self.index[key] = len(points)
                points.append(key)
            return self.index[key]

        self.loc = loc
        self.capable = [r for r in dp.resources if _capable(r, job)]
        capable_ids = {r.id for r in self.capable}
        self.plan_routes = {r["resource"]: r for r in plan.get("routes", []) if r["resource"] in capable_ids}
        for r in self.capable:
            loc(r.start)
            loc(r.end)
        for route in self.plan_routes.values():
            for s in route["stops"]:
                if s["type"] != "break":
                    loc(s["location"])
        for p in extra_points:
            loc(p)
        self.deadline = _deadlines(dp, plan)
        model = travel_model_for(dp.options.travel)
        m = model.matrices(points)
        self.dur = m.durations_s.tolist()
        self.points = points

    def t(self, a: int, b: int) -> int:
        if a < 0 or b < 0:
            return 0
        v = self.dur[a][b]
        return _INF if v < 0 else v

    def route(self, r: Resource, day_offset: int) -> _Route:
        """The resource's elements: its planned route today, an empty day otherwise."""
        dims = tuple(sorted(r.capacity))
        cap = tuple(solver_units(r.capacity[d], capacity=True) for d in dims)
        zero = tuple(0 for _ in dims)
        planned = self.plan_routes.get(r.id) if day_offset == 0 else None
        if planned is None:
            els = [_El(_START, self.loc(r.start), r.shift[0], 0, r.shift[0], r.shift[1], zero)]
            for bi, b in enumerate(r.breaks):
                els.append(
                    _El(_BREAK, -1, None, b.duration_s, b.window[0], b.window[1] - b.duration_s, zero, (), bi)
                )
            els.append(_El(_END, self.loc(r.end), None, 0, r.shift[0], r.shift[1], zero))
            return _Route(r, els, 0, dims, cap, False)
        jobs = {j.id: j for j in self.dp.jobs}
        els = []
        stops = planned["stops"]
        k = 0
        while k < len(stops):
            s = stops[k]
            load = tuple(solver_units(s.get("load", {}).get(d, 0)) for d in dims)
            start, end = _secs(self.tb, s["start"]), _secs(self.tb, s["end"])
            if s["type"] == "start":
                els.append(_El(_START, self.loc(s["location"]), start, 0, r.shift[0], r.shift[1], load, (s,)))
            elif s["type"] == "end":
                arr = _secs(self.tb, s["arrival"])
                els.append(_El(_END, self.loc(s["location"]), arr, 0, r.shift[0], r.shift[1], load, (s,)))
            elif s["type"] == "break":
                bi = s.get("break_index")
                rule = r.breaks[bi] if bi is not None and 0 <= bi < len(r.breaks) else None
                lo, hi = (rule.window[0], rule.window[1] - rule.duration_s) if rule else (start, start)
                els.append(_El(_BREAK, -1, start, end - start, lo, hi, load, (s,), bi))
            else:
                group = [s]
                # a one-crew delivery_installation: deliver and install back to back, one element
                if (
                    s["type"] == "deliver"
                    and k + 1 < len(stops)
                    and stops[k + 1]["type"] == "install"
                    and stops[k + 1]["job"] == s["job"]
                ):
                    group.append(stops[k + 1])
                    end = _secs(self.tb, stops[k + 1]["end"])
                    load = tuple(solver_units(stops[k + 1].get("load", {}).get(d, 0)) for d in dims)
                    k += 1
                hi = _INF
                job = jobs.get(s["job"])
                if s["type"] in ("deliver", "install", "swap", "collect", "visit") and job is not None:
                    # every stop of the group starts inside the window it started in
                    late = _secs(self.tb, group[-1]["start"]) - start
                    hi = start
                    for a, b in effective_windows(job, 10**9):
                        if a <= start <= b - late:
                            hi = b - late
                            break
                for g in group:
                    cap_end = self.deadline.get((g["job"], g["type"]))
                    if cap_end is not None:
                        hi = min(hi, cap_end - (end - start))
                els.append(
                    _El(
                        _STOP,
                        self.loc(s["location"]),
                        start,
                        end - start,
                        start,
                        hi,
                        load,
                        tuple(group),
                        None,
                        (s["job"],),
                    )
                )
            k += 1
        return _Route(r, els, int(planned["summary"].get("jobs", 0)), dims, cap, True)


def _deadlines(dp: DispatchProblem, plan: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """Latest end of stops other routes wait for: a split delivery before its install, `after` links.

    Why: pushing such a stop later would make a stop on another route start too early.
    """
    tb = dp.timebase
    first: dict[str, int] = {}
    where: dict[tuple[str, str], tuple[str, int]] = {}
    for r in plan.get("routes", []):
        for s in r["stops"]:
            if s.get("job") and s["type"] in ("deliver", "install", "swap", "collect", "visit"):
                st = _secs(tb, s["start"])
                first[s["job"]] = min(first.get(s["job"], st), st)
                where[(s["job"], s["type"])] = (r["resource"], st)
    out: dict[tuple[str, str], int] = {}

    def cap(key: tuple[str, str], t: int) -> None:
        out[key] = min(out.get(key, t), t)

    for (job, t), (res, _st) in where.items():
        inst = where.get((job, "install"))
        if t == "deliver" and inst is not None and inst[0] != res:
            cap((job, "deliver"), inst[1])
    for j in dp.jobs:
        if j.after is not None and j.id in first:
            for job, t in where:
                if job == j.after:
                    cap((job, t), first[j.id])
    return out


def _capable(r: Resource, job: Job) -> bool:
    """May this resource do the whole job by itself (brand, skills, kind, vehicle size)?"""
    if not can_do_alone(r, job):
        return False
    if r.kind == "courier":
        return fits(r.capacity, job.items) and fits(r.capacity, job.returned_items)
    return True


def _job_stops(live: _Live | _Places, r: _Route, job: Job, dp: DispatchProblem) -> list[_New] | None:
    """The job's stops for this resource in route order; None when it has no depot to use."""

    def vec(items: Mapping[str, float], sign: int) -> tuple[int, ...]:
        return tuple(sign * solver_units(items.get(d, 0)) for d in r.dims)

    here = live.loc(job.location)
    if job.kind in TECHNICIAN_KINDS:
        return [
            _New(here, job.duration_s, (), True, "install" if job.kind == "installation" else "visit", None)
        ]
    src = _depot(dp, job, "from") if job.kind in ("delivery", "delivery_installation", "exchange") else None
    dst = _depot(dp, job, "to") if job.kind in ("haul_away", "pickup", "exchange") else None
    if (src is None) != (job.kind not in ("delivery", "delivery_installation", "exchange")):
        return None
    if (dst is None) != (job.kind not in ("haul_away", "pickup", "exchange")):
        return None
    if job.kind == "delivery":
        return [
            _New(live.loc(src.location), src.service_s, vec(job.items, 1), False, "load", src.id),
            _New(here, job.duration_s, vec(job.items, -1), True, "deliver", None),
        ]
    if job.kind == "delivery_installation":
        return [
            _New(live.loc(src.location), src.service_s, vec(job.items, 1), False, "load", src.id),
            _New(
                here,
                job.handover_s + job.duration_s,
                vec(job.items, -1),
                True,
                "deliver+install",
                None,
                job.handover_s,
            ),
        ]
    if job.kind in ("haul_away", "pickup"):
        return [
            _New(here, job.duration_s, vec(job.items, 1), True, "collect", None),
            _New(live.loc(dst.location), dst.service_s, vec(job.items, -1), False, "unload", dst.id),
        ]
    if job.kind == "exchange":
        swap = tuple(a - b for a, b in zip(vec(job.returned_items, 1), vec(job.items, 1), strict=True))
        return [
            _New(live.loc(src.location), src.service_s, vec(job.items, 1), False, "load", src.id),
            _New(here, job.duration_s, swap, True, "swap", None),
            _New(live.loc(dst.location), dst.service_s, vec(job.returned_items, -1), False, "unload", dst.id),
        ]
    return None


def _depot(dp: DispatchProblem, job: Job, role: str) -> Depot | None:
    """The depot a job loads at / unloads at: the named one, else the nearest of the right kind."""
    given = job.from_depot if role == "from" else job.to_depot
    if given is not None:
        return dp.depot(given)
    if role == "from":
        choices = [d for d in dp.depots if d.kind == "warehouse"]
    elif job.kind == "haul_away":
        choices = [d for d in dp.depots if d.kind == "recycling"] or [
            d for d in dp.depots if d.kind == "service_center"
        ]
    else:
        choices = [d for d in dp.depots if d.kind == "service_center"]
    if not choices:
        return None
    x, y = job.location
    return min(choices, key=lambda d: (d.location[0] - x) ** 2 + (d.location[1] - y) ** 2)


def _patterns(n_new: int, cust: int, p: int, m: int) -> list[tuple[int, ...]]:
    """Positions (after which element) of each new stop, the customer stop after element ``p``.

    Depot stops go right next to the customer stop, or at the start / end of the day.
    """
    pre = [p] + ([0] if p > 0 else [])
    post = [p] + ([m - 2] if p < m - 2 else [])
    if n_new == 1:
        return [(p,)]
    if cust == 1 and n_new == 2:
        return [(a, p) for a in pre]
    if cust == 0 and n_new == 2:
        return [(p, b) for b in post]
    return [(a, p, b) for a in pre for b in post]


def _simulate(
    live: _Live, r: _Route, new: list[_New], after: tuple[int, ...], window: tuple[int, int], now: int
) -> _Placement | None:
    """Times with the new stops placed after the given elements, or None if a rule breaks.

    Existing stops keep their planned start unless pushed; a break is taken on
    arrival at the next place (travel first), which is never later than taking it
    before the drive. The walk stops at the first existing stop that does not move.
    """
    els = r.els
    first = after[0]
    nxt = els[first + 1]
    if nxt.kind != _END and nxt.start is not None and nxt.start < now:
        return None  # the resource has already left for the next stop
    seq: list[tuple[int, int]] = []  # (0, element index) or (1, new stop index)
    ni = 0
    for ei in range(first, len(els)):
        if ei > first:
            seq.append((0, ei))
        while ni < len(new) and after[ni] == ei:
            seq.append((1, ni))
            ni += 1
    locs = [new[i].loc if kind else els[i].loc for kind, i in seq]
    e0 = els[first]
    cur = max(e0.lo if e0.kind == _START else (e0.start if e0.start is not None else e0.lo) + e0.svc, now)
    j = first
    while j > 0 and els[j].loc < 0:
        j -= 1
    here = els[j].loc
    ndim = len(r.dims)
    base = e0.load
    carry = [0] * ndim
    starts = [0] * len(new)
    changed: dict[int, int] = {}
    placed = 0
    for k, (kind, idx) in enumerate(seq):
        if kind == 0 and els[idx].kind == _BREAK:
            el = els[idx]
            to = next((x for x in locs[k + 1 :] if x >= 0), here)
            leg = live.t(here, to)
            if leg >= _INF:
                return None
            bs = max(cur + leg, el.lo if el.start is None else el.start)
            if bs > el.hi:
                return None
            if bs != el.start:
                changed[idx] = bs
            cur, here = bs + el.svc, to
            continue
        loc = locs[k]
        leg = live.t(here, loc)
        if leg >= _INF:
            return None
        arrival, here = cur + leg, loc
        if kind == 1:
            ns = new[idx]
            lo, hi = (window[0], window[1] - ns.late) if ns.customer else (arrival, _INF)
            st = max(arrival, lo)
            if st > hi:
                return None
            starts[idx] = st
            cur = st + ns.svc
            for d in range(ndim):
                carry[d] += ns.delta[d]
                if not 0 <= base[d] + carry[d] <= r.cap[d]:
                    return None
            placed += 1
            continue
        el = els[idx]
        if el.kind == _END:
            if arrival > el.hi:
                return None
            if arrival != el.start:
                changed[idx] = arrival
            break
        st = max(arrival, el.start if el.start is not None else el.lo)
        if st > el.hi:
            return None
        base = el.load
        for d in range(ndim):
            if base[d] + carry[d] > r.cap[d]:
                return None
        if st == el.start and placed == len(new):
            break  # from here on nothing moves
        if st != el.start:
            changed[idx] = st
        cur = st + el.svc
    return _Placement(r.resource.id, after, tuple(starts), changed, _extra_travel(live, r, new, after))


def _extra_travel(live: _Live, r: _Route, new: list[_New], after: tuple[int, ...]) -> int:
    """Added travel seconds: each gap's new legs minus the leg it replaces."""
    els = r.els
    total = 0
    gaps: dict[int, list[int]] = {}
    for i, p in enumerate(after):
        gaps.setdefault(p, []).append(i)
    for p, idxs in gaps.items():
        j = p
        while j > 0 and els[j].loc < 0:
            j -= 1
        q = p + 1
        while q < len(els) - 1 and els[q].loc < 0:
            q += 1
        a, b = els[j].loc, els[q].loc
        path = [a] + [new[i].loc for i in idxs] + [b]
        total += sum(live.t(x, y) for x, y in zip(path, path[1:], strict=False)) - live.t(a, b)
    return total


def _best(
    live: _Live, routes: list[_Route], job: Job, window: tuple[int, int], now: int, dp: DispatchProblem
) -> _Placement | None:
    """The cheapest feasible insertion of the job, with its customer stop inside ``window``."""
    best: _Placement | None = None
    for r in routes:
        res = r.resource
        if res.max_jobs is not None and r.jobs + 1 > res.max_jobs:
            continue
        new = _job_stops(live, r, job, dp)
        if not new:
            continue
        cust = next(i for i, s in enumerate(new) if s.customer)
        late = new[cust].late
        els = r.els
        m = len(els)
        for p in range(m - 1):
            e = els[p]
            free_at = e.lo if e.kind == _START else (e.start or e.lo) + e.svc
            if max(free_at, window[0], now) > window[1] - late:
                if free_at > window[1]:
                    break  # later gaps only start later
                continue
            nxt = els[p + 1]
            svc = new[cust].svc
            if nxt.kind == _STOP and nxt.start is not None and nxt.hi < window[0] + svc and nxt.hi < _INF:
                continue  # the next stop would be pushed past its own window
            for after in _patterns(len(new), cust, p, m):
                pl = _simulate(live, r, new, after, window, now)
                if pl is not None and (best is None or pl.extra_s < best.extra_s):
                    best = pl
    return best


# --- public API ------------------------------------------------------------------------------


def _job_of(job: Mapping[str, Any], dp: DispatchProblem) -> Job:
    """The quoted job as a domain Job, checked by the request parser (its windows ignored)."""
    raw = dict(job)
    raw.setdefault("id", _QUOTE_ID)
    raw["windows"] = []
    raw.pop("promise", None)
    probe = {
        "date": dp.timebase.day.isoformat(),
        "timezone": dp.timebase.zone.key,
        "depots": [
            {"id": d.id, "kind": d.kind, "location": list(d.location), "service_s": d.service_s}
            for d in dp.depots
        ],
        "jobs": [raw],
    }
    return parse_request(probe).jobs[0]


def _windows(dp: DispatchProblem, window_s: int, step_s: int) -> list[tuple[int, int]]:
    """Windows on the plan's clock: from the first shift's start (on the hour) to the last shift's end."""
    if not dp.resources:
        return []
    lo = min(r.shift[0] for r in dp.resources)
    hi = max(r.shift[1] for r in dp.resources)
    t = math.ceil(lo / 3600) * 3600
    out = []
    while t + window_s <= hi:
        out.append((t, t + window_s))
        t += step_s
    return out


def _iso_on(tb: Timebase, offset_days: int, seconds: int) -> str:
    """Seconds of the plan's clock moved ``offset_days`` days on, as local wall-clock ISO."""
    day: _date = tb.day + timedelta(days=offset_days)
    wall = datetime.combine(day, _time(0), tzinfo=tb.zone) + timedelta(seconds=seconds)
    wall = datetime.combine(wall.date(), wall.time(), tzinfo=tb.zone)
    return wall.isoformat()


def quote(
    request: Mapping[str, Any],
    plan: Mapping[str, Any],
    job: Mapping[str, Any],
    *,
    days: int = 3,
    window_s: int = 7200,
    at: str | None = None,
    step_s: int | None = None,
) -> list[Slot]:
    """Every window of ``window_s`` today (after ``at``) and on the next ``days - 1`` days, with its cost.

    A slot is feasible when the job fits some capable resource's route (today: the
    live plan; later days: an empty day) with its customer stop inside the window,
    every other stop inside its own window, breaks and shift kept. ``extra_cost_s`` is
    the travel the cheapest such insertion adds; ``resource`` who would do it.
    """
    began = time.perf_counter()
    dp = parse_request(request)
    the_job = _job_of(job, dp)
    now = dp.timebase.seconds(at) if at else -_INF
    live = _Live(dp, plan, the_job, _job_points(dp, the_job))
    step = step_s or window_s
    grid = _windows(dp, window_s, step)
    out: list[Slot] = []
    why = "" if live.capable else "no resource may do this job (kind, brand, skills, vehicle size)"
    for day in range(max(1, days)):
        routes = [live.route(r, day) for r in live.capable]
        for a, b in grid:
            if day == 0 and a < now:
                continue
            pl = _best(live, routes, the_job, (a, b), now if day == 0 else -_INF, dp) if routes else None
            out.append(
                Slot(
                    (dp.timebase.day + timedelta(days=day)).isoformat(),
                    (_iso_on(dp.timebase, day, a), _iso_on(dp.timebase, day, b)),
                    pl is not None,
                    pl.extra_s if pl else 0,
                    pl.resource if pl else None,
                    "" if pl else (why or "no capable resource has room in this window"),
                )
            )
    log.debug("quote: %d windows in %.1f ms", len(out), 1000 * (time.perf_counter() - began))
    return out


def _job_points(dp: DispatchProblem, job: Job) -> list[tuple[float, float]]:
    pts = [job.location]
    for role in ("from", "to"):
        d = _depot(dp, job, role)
        if d is not None:
            pts.append(d.location)
    return pts


def earliest(
    request: Mapping[str, Any],
    plan: Mapping[str, Any],
    job: Mapping[str, Any],
    *,
    days: int = 3,
    window_s: int = 7200,
    at: str | None = None,
) -> Earliest:
    """The first feasible slot for an urgent job, and a sentence for the customer."""
    slots = quote(request, plan, job, days=days, window_s=window_s, at=at)
    today = slots[0].date if slots else None
    first = next((s for s in slots if s.feasible), None)
    if first is None:
        return Earliest(None, False, f"none in the next {days} day(s)")
    if first.date == today and first.date == request["date"]:
        return Earliest(first, True, f"today {first.window[0][11:16]}–{first.window[1][11:16]}")
    return Earliest(
        first,
        False,
        f"none today, earliest is {first.date} {first.window[0][11:16]}–{first.window[1][11:16]}",
    )


def book(
    request: Mapping[str, Any],
    plan: Mapping[str, Any],
    job: Mapping[str, Any],
    window: Sequence[str],
    *,
    at: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Insert ``job`` with ``window`` (on the plan's day) into the live plan; (new request, new plan).

    Only the job is added: every other job keeps its resource and its place in the
    route; the receiving route's later stops may start later, inside their windows.

    Raises
    ------
    BookingError
        The window is not on the plan's day, or the job does not fit it.
    """
    dp0 = parse_request(request)
    tb = dp0.timebase
    if "id" not in job:
        raise BookingError("the job needs an id to be booked")
    a, b = tb.seconds(window[0]), tb.seconds(window[1])
    if not (0 <= a < 86_400 * 2):
        raise BookingError("book() places jobs on the plan's day only; plan later days in their own request")
    the_job = _job_of(job, dp0)
    now = tb.seconds(at) if at else -_INF
    live = _Live(dp0, plan, the_job, _job_points(dp0, the_job))
    routes = [live.route(r, 0) for r in live.capable]
    pl = _best(live, routes, the_job, (a, b), now, dp0)
    if pl is None:
        raise BookingError(f"job {job['id']!r} does not fit the window {window[0]}–{window[1]}")
    new_request = copy.deepcopy(dict(request))
    booked = copy.deepcopy(dict(job))
    booked["windows"] = [[window[0], window[1]]]
    new_request["jobs"] = [*new_request.get("jobs", []), booked]
    dp = parse_request(new_request)
    model = travel_model_for(dp.options.travel)
    exp = expand(dp, model.matrices, zones_of(dp))
    route = next(r for r in routes if r.resource.id == pl.resource)
    result = _result_with(dp, exp, plan, route, pl, the_job.id)
    new_plan = build_plan(dp, exp, result, settings=dict(plan.get("settings", {})))
    violations = validate_plan(dp, new_plan)
    if violations:
        raise BookingError(f"booking would break a rule: {violations[0]}")
    return new_request, new_plan


def _result_with(
    dp: DispatchProblem, exp: Any, plan: Mapping[str, Any], route: _Route, pl: _Placement, job_id: str
) -> RoutingResult:
    """The plan's routes as a routing result, with the booked job's stops spliced into one route."""
    tb = dp.timebase
    vindex = {r.id: i for i, r in enumerate(exp.resources)}
    nodes: dict[tuple[str, str, str], int] = {}
    for i, task in enumerate(exp.tasks):
        if task.job is not None:
            nodes[(task.job, task.option, task.stop)] = i
    option = _options_in_plan(plan)
    routes = [
        _vehicle_route(tb, vindex[pr["resource"]], pr["stops"], nodes, option)
        for pr in plan.get("routes", [])
        if pr["resource"] != pl.resource
    ]
    job = dp.job(job_id)
    assert job is not None
    new_stops = _job_stops(_Places(), route, job, dp) or []
    visits: list[Visit] = []
    breaks: list[BreakTaken] = []
    end_s = route.resource.shift[1]
    for ei, el in enumerate(route.els):
        start = pl.changed.get(ei, el.start)
        if el.kind == _STOP:
            assert start is not None and el.start is not None
            shift = start - el.start
            for s in el.stops:
                if s["type"] == "install" and s.get("crew") == "alone":
                    continue  # one node with its deliver
                node = _node(nodes, s["job"], option.get(s["job"], "alone"), s["type"])
                visits.append(Visit(node, _secs(tb, s["start"]) + shift))
        elif el.kind == _BREAK:
            breaks.append(BreakTaken(el.break_index or 0, start if start is not None else el.lo))
        elif el.kind == _END and start is not None:
            end_s = start
        for ni, after in enumerate(pl.after):
            if after == ei:
                visits.append(Visit(nodes[(job_id, "alone", new_stops[ni].type)], pl.starts[ni]))
    routes.append(
        VehicleRoute(vindex[pl.resource], route.resource.shift[0], tuple(visits), end_s, tuple(breaks))
    )
    served = {v.node for r in routes for v in r.visits}
    dropped = tuple(n for n in exp.problem.visits if n not in served)
    return RoutingResult(tuple(routes), dropped, 0)


class _Places:
    """Stand-in for :class:`_Live` when only the shape of a job's stops is needed, not places."""

    def loc(self, p: Sequence[float]) -> int:
        return 0


def _node(nodes: dict[tuple[str, str, str], int], job: str, option: str, stop_type: str) -> int:
    node = nodes.get((job, option, stop_type))
    if node is None and stop_type == "deliver":
        node = nodes.get((job, option, "deliver+install"))
    if node is None:
        raise BookingError(f"plan stop {stop_type} of job {job!r} has no routing node")
    return node


def _options_in_plan(plan: Mapping[str, Any]) -> dict[str, str]:
    """Which option each job was planned as: one crew (``alone``) or ``split``."""
    where: dict[str, dict[str, str]] = {}
    crew: set[str] = set()
    for r in plan.get("routes", []):
        for s in r["stops"]:
            if s.get("job"):
                where.setdefault(s["job"], {})[s["type"]] = r["resource"]
                if s.get("crew") == "alone":
                    crew.add(s["job"])
    out = {}
    for job, types in where.items():
        if (
            "install" in types
            and "deliver" in types
            and types["install"] != types["deliver"]
            and job not in crew
        ):
            out[job] = "split"
        else:
            out[job] = "alone"
    return out


def _vehicle_route(
    tb: Timebase,
    vehicle: int,
    stops: Sequence[Mapping[str, Any]],
    nodes: dict[tuple[str, str, str], int],
    option: dict[str, str],
) -> VehicleRoute:
    """A plan route (its stops) as the routing result it was built from."""
    visits: list[Visit] = []
    breaks: list[BreakTaken] = []
    start_s = end_s = 0
    for s in stops:
        t = s["type"]
        if t == "start":
            start_s = _secs(tb, s["start"])
        elif t == "end":
            end_s = _secs(tb, s["arrival"])
        elif t == "break":
            breaks.append(BreakTaken(int(s.get("break_index") or 0), _secs(tb, s["start"])))
        elif not (t == "install" and s.get("crew") == "alone"):
            visits.append(
                Visit(_node(nodes, s["job"], option.get(s["job"], "alone"), t), _secs(tb, s["start"]))
            )
    return VehicleRoute(vehicle, start_s, tuple(visits), end_s, tuple(breaks))
