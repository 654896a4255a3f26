"""An independent check of a :class:`RoutingResult` against its problem.

It recomputes everything from the problem and the routes (never trusting
``result.objective``), so every solver path (OR-Tools, the construction
heuristic, a hand-written plan) can be validated by the same code.

The contract of a :class:`RoutingProblem`, as checked here:

- A route departs its vehicle's start node at ``start_s`` (>= shift start) and
  arrives at its end node at ``end_s`` (<= shift end, <= ``horizon_s``). Visits
  are served in order; ``Visit.start_s`` is when service begins. The arrival at
  a visit is the previous departure plus the travel time between their
  locations; the previous departure is the previous visit's ``start_s`` plus
  its ``service_s`` (the route's ``start_s`` for the first visit). Service
  starts at or after arrival (waiting is allowed), and ``end_s`` is at or after
  the last departure plus the travel to the end node.
- ``Node.windows`` bound the *start* of service: it lies inside one window
  (inclusive). No windows means no bound. A negative entry in either matrix
  means there is no route: that leg may not be used.
- Capacity: the load starts at 0 in every dimension; after each visit it grows
  by the node's ``demand`` and must stay within [0, capacity] in every
  dimension.
- ``pairs`` (p, d): both served or neither, on the same vehicle, p before d. A
  node may sit in two pairs (a swap is the delivery of one and the pickup of the
  next).
- ``groups``: exactly one option (``nodes`` or one alternative) is served
  completely, or no node of the group is served.
- ``Precedence(before, after)``: if ``after`` is served, ``before`` is served
  and ``after`` starts no earlier than ``before`` ends (start + service), on any
  vehicles.
- ``allowed_vehicles``; ``max_stops`` counts visits whose node has
  ``counts_as_stop``.
- Breaks: each break of a *used* vehicle (one with at least one visit) is taken
  exactly once, wholly inside its [earliest_s, latest_s] and inside the route's
  [start_s, end_s], overlapping no service interval [start_s, start_s +
  service_s) of its route nor another break; and on every leg the travel plus
  the breaks taken in that leg fit between the departure and the next start (a
  break is a pause at a place, before driving or after arriving).
- Mandatory nodes (penalty ``None`` and in no group, or in a group whose
  penalty is ``None``) are served.
- Every visit node is served at most once, and ``dropped`` lists exactly the
  visit nodes that are not served.
- Objective: for each used vehicle ``fixed_cost + cost_per_travel_s * travel +
  cost_per_m * distance + cost_per_span_s * (end_s - start_s)``, plus the
  penalty of each unserved node in no group and of each group none of whose
  nodes is served.
"""

from __future__ import annotations

from .problem import RoutingProblem
from .result import RoutingResult, VehicleRoute

__all__ = ["check_result", "objective_of"]


def _in_windows(windows: tuple[tuple[int, int], ...], t: int) -> bool:
    return not windows or any(lo <= t <= hi for lo, hi in windows)


def objective_of(problem: RoutingProblem, result: RoutingResult) -> int:
    """The objective of ``result`` recomputed from the problem (see module doc)."""
    total = 0
    for route in result.routes:
        if not route.visits or not 0 <= route.vehicle < problem.num_vehicles:
            continue
        veh = problem.vehicles[route.vehicle]
        path = [veh.start, *(v.node for v in route.visits), veh.end]
        travel = sum(problem.travel_s(a, b) for a, b in zip(path, path[1:], strict=False))
        dist = sum(problem.distance_m(a, b) for a, b in zip(path, path[1:], strict=False))
        total += (
            veh.fixed_cost
            + veh.cost_per_travel_s * travel
            + veh.cost_per_m * dist
            + veh.cost_per_span_s * (route.end_s - route.start_s)
        )
    served = result.served
    group_of = problem.group_of()
    for i in problem.visits:
        pen = problem.nodes[i].penalty
        if i not in served and i not in group_of and pen is not None:
            total += pen
    for g in problem.groups:
        if g.penalty is not None and not any(i in served for opt in g.options for i in opt):
            total += g.penalty
    return total


def check_result(problem: RoutingProblem, result: RoutingResult, *, objective: bool = False) -> list[str]:
    """Every rule ``result`` breaks, one human-readable line each; [] if valid.

    Parameters
    ----------
    problem
        The problem the result claims to solve.
    result
        Routes and dropped nodes to check.
    objective
        Also report a ``result.objective`` that differs from the recomputed one.
    """
    out: list[str] = []
    n = problem.num_nodes
    visits = set(problem.visits)
    where: dict[int, tuple[int, int]] = {}  # node -> (vehicle, position)
    start_of: dict[int, int] = {}
    seen_vehicles: set[int] = set()
    for route in result.routes:
        k = route.vehicle
        if not 0 <= k < problem.num_vehicles:
            out.append(f"route of unknown vehicle {k}.")
            continue
        if k in seen_vehicles:
            out.append(f"vehicle {k} has more than one route.")
            continue
        seen_vehicles.add(k)
        ok = True
        for pos, v in enumerate(route.visits):
            if not 0 <= v.node < n or v.node not in visits:
                out.append(f"vehicle {k} visits node {v.node}, which is not a visit node.")
                ok = False
            elif v.node in where:
                out.append(f"node {v.node} is served more than once.")
                ok = False
            else:
                where[v.node] = (k, pos)
                start_of[v.node] = v.start_s
        if ok and route.visits:
            _check_route(problem, route, out)

    dropped = list(result.dropped)
    if len(set(dropped)) != len(dropped):
        out.append("dropped lists a node more than once.")
    for i in set(dropped):
        if i in where:
            out.append(f"node {i} is both served and dropped.")
        elif i not in visits:
            out.append(f"dropped node {i} is not a visit node.")
    missing = visits - set(where) - set(dropped)
    if missing:
        out.append(f"nodes {sorted(missing)} are neither served nor dropped.")

    group_of = problem.group_of()
    for i in sorted(visits - set(where)):
        if problem.nodes[i].penalty is None and i not in group_of:
            out.append(f"mandatory node {i} is not served.")

    for p, d in problem.pairs:
        if (p in where) != (d in where):
            out.append(f"pair ({p}, {d}) is served only in part.")
        elif p in where:
            (kp, ip), (kd, i_d) = where[p], where[d]
            if kp != kd:
                out.append(f"pair ({p}, {d}) is split over vehicles {kp} and {kd}.")
            elif ip > i_d:
                out.append(f"pair ({p}, {d}): delivery {d} comes before pickup {p}.")

    for gi, g in enumerate(problem.groups):
        served_opts = [oi for oi, opt in enumerate(g.options) if any(i in where for i in opt)]
        if not served_opts:
            if g.penalty is None:
                out.append(f"mandatory group {gi} is not served.")
        elif len(served_opts) > 1:
            out.append(f"group {gi} serves nodes of several options {served_opts}.")
        else:
            opt = g.options[served_opts[0]]
            if not all(i in where for i in opt):
                out.append(f"group {gi} serves option {served_opts[0]} only in part.")

    for pr in problem.precedences:
        if pr.after not in where:
            continue
        if pr.before not in where:
            out.append(f"precedence {pr.before} -> {pr.after}: {pr.after} served without it.")
            continue
        ready = start_of[pr.before] + problem.nodes[pr.before].service_s
        if start_of[pr.after] < ready:
            out.append(
                f"precedence {pr.before} -> {pr.after}: {pr.after} starts at "
                f"{start_of[pr.after]} before {pr.before} ends at {ready}."
            )

    if objective:
        expected = objective_of(problem, result)
        if result.objective != expected:
            out.append(f"objective is {result.objective}, recomputed {expected}.")
    return out


def _check_route(problem: RoutingProblem, route: VehicleRoute, out: list[str]) -> None:
    """Shift, windows, legs, capacity, stops and breaks of one used route."""
    k = route.vehicle
    veh = problem.vehicles[k]
    nodes = problem.nodes
    if route.start_s < veh.shift[0]:
        out.append(f"vehicle {k} starts at {route.start_s} before its shift {veh.shift}.")
    if route.end_s > veh.shift[1]:
        out.append(f"vehicle {k} ends at {route.end_s} after its shift {veh.shift}.")
    if route.end_s > problem.horizon_s:
        out.append(f"vehicle {k} ends at {route.end_s} after the horizon {problem.horizon_s}.")

    stops = sum(1 for v in route.visits if nodes[v.node].counts_as_stop)
    if veh.max_stops is not None and stops > veh.max_stops:
        out.append(f"vehicle {k} makes {stops} stops, more than max_stops {veh.max_stops}.")

    dims = len(veh.capacity)
    load = [0] * dims
    for v in route.visits:
        node = nodes[v.node]
        if node.allowed_vehicles is not None and k not in node.allowed_vehicles:
            out.append(f"node {v.node} is served by vehicle {k}, which it does not allow.")
        if not _in_windows(node.windows, v.start_s):
            out.append(f"node {v.node} starts at {v.start_s}, outside its windows.")
        if node.demand:
            load = [a + b for a, b in zip(load, node.demand, strict=True)]
            bad = [
                problem.dimensions[d] if d < len(problem.dimensions) else str(d)
                for d in range(dims)
                if not 0 <= load[d] <= veh.capacity[d]
            ]
            if bad:
                out.append(
                    f"vehicle {k} load {load} after node {v.node} is outside [0, capacity] "
                    f"in {', '.join(bad)}."
                )

    # Legs: (from node, departure, to node, next start). Service intervals between.
    path = [veh.start, *(v.node for v in route.visits), veh.end]
    deps = [route.start_s] + [v.start_s + nodes[v.node].service_s for v in route.visits]
    nexts = [v.start_s for v in route.visits] + [route.end_s]
    legs = list(zip(path, deps, path[1:], nexts, strict=False))

    leg_breaks: list[int] = [0] * len(legs)
    taken: dict[int, int] = {}
    intervals: list[tuple[int, int, int]] = []
    for b in route.breaks:
        if not 0 <= b.index < len(veh.breaks):
            out.append(f"vehicle {k} takes unknown break {b.index}.")
            continue
        taken[b.index] = taken.get(b.index, 0) + 1
        spec = veh.breaks[b.index]
        b_end = b.start_s + spec.duration_s
        if b.start_s < spec.earliest_s or b_end > spec.latest_s:
            out.append(
                f"vehicle {k} break {b.index} [{b.start_s}, {b_end}] is outside its window "
                f"[{spec.earliest_s}, {spec.latest_s}]."
            )
        if b.start_s < route.start_s or b_end > route.end_s:
            out.append(f"vehicle {k} break {b.index} lies outside the route's span.")
        else:
            for li, (_, dep, _, nxt) in enumerate(legs):
                if dep <= b.start_s and b_end <= nxt:
                    leg_breaks[li] += spec.duration_s
                    break
            else:
                out.append(f"vehicle {k} break {b.index} overlaps a service.")
        intervals.append((b.start_s, b_end, b.index))
    for idx in range(len(veh.breaks)):
        if taken.get(idx, 0) == 0:
            out.append(f"vehicle {k} does not take break {idx}.")
        elif taken[idx] > 1:
            out.append(f"vehicle {k} takes break {idx} more than once.")
    intervals.sort()
    for (_, e1, i1), (s2, _, i2) in zip(intervals, intervals[1:], strict=False):
        if s2 < e1:
            out.append(f"vehicle {k} breaks {i1} and {i2} overlap.")

    for li, (a, dep, b, nxt) in enumerate(legs):
        travel = problem.travel_s(a, b)
        if travel < 0 or problem.distance_m(a, b) < 0:
            out.append(f"vehicle {k} uses leg {a} -> {b}, which has no route.")
            continue
        if dep + travel + leg_breaks[li] > nxt:
            what = f"node {b}" if li < len(legs) - 1 else f"end node {b}"
            if leg_breaks[li]:
                out.append(
                    f"vehicle {k} leg {a} -> {b}: travel {travel} plus breaks "
                    f"{leg_breaks[li]} do not fit between {dep} and {nxt}."
                )
            else:
                out.append(f"vehicle {k} reaches {what} at {dep + travel}, after it starts at {nxt}.")
