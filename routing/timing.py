"""Earliest times for routes whose order is decided: each stop starts as soon as it may.

Why: a search engine returns *a* feasible time for every stop, often the latest one its
windows allow (a customer booked 08:00–10:00 is then visited at 10:00, with no margin for
a late van). A dispatcher, an ETA and a customer expect the work to start as soon as the
order of stops allows. :func:`earliest_schedule` keeps every route's order and each break
in the gap it was taken in, and moves every stop to its earliest start: the van leaves its
start, drives, takes a break on arrival (or before leaving, when the break's window would
close during the drive) and starts each stop at the later of its arrival, its window's
opening and the end of any stop it must follow on another route.

Times only move earlier, so every rule that held still holds; the result is re-checked
anyway and the original returned if anything broke. Routes of vehicles paid by the hour
keep the solver's times: the search may have delayed a stop on purpose to shorten the day.
"""

from __future__ import annotations

from dataclasses import replace

from .check import check_result, objective_of
from .problem import RoutingProblem, Window
from .result import BreakTaken, RoutingResult, VehicleRoute, Visit

__all__ = ["earliest_schedule", "start_in"]

#: Rounds of re-timing across routes joined by precedences (each round only moves stops earlier).
_MAX_ROUNDS = 8


def start_in(windows: tuple[Window, ...], ready: int) -> int | None:
    """The earliest start at or after ``ready`` inside one of the windows (None: too late).

    The one reading of a window as the bound of a start (DESIGN.md), shared by this
    module's schedules and the construction's route state.
    """
    if not windows:
        return ready
    for early, late in windows:
        if ready <= late:
            return max(ready, early)
    return None


def _gap_of(route: VehicleRoute, problem: RoutingProblem) -> dict[int, list[BreakTaken]]:
    """Which gap each break was taken in: gap g lies before visit g (g == len: before the end)."""
    veh = problem.vehicles[route.vehicle]
    nodes = problem.nodes
    deps = [route.start_s] + [v.start_s + nodes[v.node].service_s for v in route.visits]
    nexts = [v.start_s for v in route.visits] + [route.end_s]
    out: dict[int, list[BreakTaken]] = {}
    for b in sorted(route.breaks, key=lambda x: x.start_s):
        end = b.start_s + veh.breaks[b.index].duration_s
        g = next((g for g in range(len(nexts)) if deps[g] <= b.start_s and end <= nexts[g]), None)
        if g is None:
            g = next((g for g in range(len(nexts)) if b.start_s <= nexts[g]), len(nexts) - 1)
        out.setdefault(g, []).append(b)
    return out


def _retime(
    problem: RoutingProblem, route: VehicleRoute, release: dict[int, int], awaited: set[int]
) -> VehicleRoute | None:
    """One route at its earliest, given the earliest start of stops that follow other routes."""
    veh = problem.vehicles[route.vehicle]
    nodes = problem.nodes
    gaps = _gap_of(route, problem)
    path = [veh.start, *(v.node for v in route.visits), veh.end]
    cur = veh.shift[0]
    visits: list[Visit] = []
    breaks: list[BreakTaken] = []
    first_leave = None
    for g in range(len(path) - 1):
        a, b = path[g], path[g + 1]
        travel = problem.travel_s(a, b)
        if travel < 0:
            return None
        traveled = False
        for bt in gaps.get(g, []):
            spec = veh.breaks[bt.index]
            lo, hi, dur = spec.earliest_s, spec.latest_s, spec.duration_s
            if not traveled and max(cur + travel, lo) + dur <= hi:
                cur, traveled = max(cur + travel, lo), True
            elif max(cur, lo) + dur <= hi:
                cur = max(cur, lo)  # before leaving (or after arriving, once traveled)
            else:
                return None
            if g == 0 and first_leave is None:
                first_leave = veh.shift[0]
            breaks.append(BreakTaken(bt.index, cur))
            cur += dur
        ready = cur if traveled else cur + travel
        if g == len(path) - 2:  # the end node
            end_s = ready
            break
        node = nodes[b]
        ready = max(ready, release.get(b, ready))
        start = start_in(node.windows, ready)
        if start is None:
            return None
        if g == 0 and first_leave is None:
            # leave as late as the first stop allows: no waiting on the doorstep
            first_leave = max(veh.shift[0], start - travel)
        visits.append(Visit(b, start))
        cur = start + node.service_s
    if not route.visits:
        return route
    # wait at the depot rather than on the doorstep: a stop without windows (a load at the
    # warehouse) that nobody on another route waits for moves as late as the next stop allows
    for i in range(len(visits) - 2, -1, -1):
        node = visits[i].node
        if nodes[node].windows or node in awaited or node in release or gaps.get(i + 1):
            continue
        nxt = visits[i + 1]
        latest = nxt.start_s - problem.travel_s(node, nxt.node) - nodes[node].service_s
        if latest > visits[i].start_s:
            visits[i] = Visit(node, latest)
    if not gaps.get(0):
        first_leave = max(veh.shift[0], visits[0].start_s - problem.travel_s(veh.start, visits[0].node))
    start_s = first_leave if first_leave is not None else veh.shift[0]
    return VehicleRoute(route.vehicle, start_s, tuple(visits), end_s, tuple(breaks))


def earliest_schedule(problem: RoutingProblem, result: RoutingResult) -> RoutingResult:
    """The same routes with every stop at its earliest start; ``result`` itself if that fails."""
    if not result.routes:
        return result
    before_of: dict[int, list[int]] = {}
    for pr in problem.precedences:
        before_of.setdefault(pr.after, []).append(pr.before)
    awaited = {pr.before for pr in problem.precedences}
    routes = {r.vehicle: r for r in result.routes}
    fixed = {k for k, r in routes.items() if problem.vehicles[k].cost_per_span_s > 0}
    for _ in range(_MAX_ROUNDS):
        ends = {
            v.node: v.start_s + problem.nodes[v.node].service_s for r in routes.values() for v in r.visits
        }
        release = {
            after: max(ends[b] for b in befores if b in ends)
            for after, befores in before_of.items()
            if any(b in ends for b in befores)
        }
        changed = False
        for k, r in list(routes.items()):
            if k in fixed:
                continue
            new = _retime(problem, r, release, awaited)
            if new is None:
                return result
            if new != r:
                routes[k] = new
                changed = True
        if not changed:
            break
    retimed = replace(result, routes=tuple(routes[r.vehicle] for r in result.routes))
    retimed = replace(retimed, objective=objective_of(problem, retimed))
    if retimed.objective > result.objective or check_result(problem, retimed):
        return result
    return retimed
