"""Validity of a benchmark solution, never trusting the solver that made it.

The project's checker (``onestop.routing.check.check_result``) is used when it
is installed; :func:`own_check` is a small independent stand-in covering what
the benchmark suites need (each customer once, windows, travel times,
capacity, pickup before delivery on one route, shift and horizon).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from onestop.routing import RoutingProblem, RoutingResult, VehicleRoute, Visit

Checker = Callable[[RoutingProblem, RoutingResult], list[str]]


def project_checker() -> Checker | None:
    """The project's ``check_result`` if that module exists yet."""
    try:
        from onestop.routing.check import check_result
    except ImportError:
        return None
    return check_result  # type: ignore[no-any-return]


def own_check(problem: RoutingProblem, result: RoutingResult) -> list[str]:
    """Hard-rule violations of ``result``; an empty list means valid."""
    out: list[str] = []
    seen: Counter[int] = Counter()
    route_of: dict[int, tuple[int, int]] = {}
    used: Counter[int] = Counter()
    visits = set(problem.visits)
    dims = len(problem.dimensions)
    for r in result.routes:
        if not 0 <= r.vehicle < problem.num_vehicles:
            out.append(f"route uses unknown vehicle {r.vehicle}")
            continue
        used[r.vehicle] += 1
        veh = problem.vehicles[r.vehicle]
        if r.start_s < veh.shift[0]:
            out.append(f"vehicle {r.vehicle} starts at {r.start_s} before its shift")
        prev, ready = veh.start, r.start_s
        load = [0] * dims
        for pos, v in enumerate(r.visits):
            n = v.node
            if n not in visits:
                out.append(f"vehicle {r.vehicle} visits non-visit node {n}")
                continue
            node = problem.nodes[n]
            seen[n] += 1
            route_of[n] = (r.vehicle, pos)
            earliest = ready + problem.travel_s(prev, n)
            if v.start_s < earliest:
                out.append(f"node {n} starts at {v.start_s}, cannot arrive before {earliest}")
            if node.windows and not any(a <= v.start_s <= b for a, b in node.windows):
                out.append(f"node {n} starts at {v.start_s} outside its windows {node.windows}")
            if node.allowed_vehicles is not None and r.vehicle not in node.allowed_vehicles:
                out.append(f"node {n} served by vehicle {r.vehicle}, not allowed")
            for d, q in enumerate(node.demand):
                load[d] += q
                if not 0 <= load[d] <= veh.capacity[d]:
                    name = problem.dimensions[d]
                    out.append(f"vehicle {r.vehicle} load {load[d]} of {name} after node {n}")
            prev, ready = n, max(v.start_s, earliest) + node.service_s
        back = ready + problem.travel_s(prev, veh.end)
        if r.end_s < back:
            out.append(f"vehicle {r.vehicle} ends at {r.end_s}, cannot be back before {back}")
        if max(r.end_s, back) > min(veh.shift[1], problem.horizon_s):
            out.append(f"vehicle {r.vehicle} returns at {max(r.end_s, back)} after its shift")
    out += [f"vehicle {k} has {c} routes" for k, c in used.items() if c > 1]
    out += [f"node {n} served {c} times" for n, c in sorted(seen.items()) if c > 1]
    dropped = set(result.dropped)
    for n in problem.visits:
        if n not in seen and n not in dropped:
            out.append(f"node {n} neither served nor dropped")
        if n in dropped and problem.nodes[n].penalty is None and n not in problem.group_of():
            out.append(f"mandatory node {n} dropped")
    for p, d in problem.pairs:
        if (p in route_of) != (d in route_of):
            out.append(f"pair ({p}, {d}) only half served")
        elif p in route_of:
            (vp, ip), (vd, idd) = route_of[p], route_of[d]
            if vp != vd:
                out.append(f"pair ({p}, {d}) on different vehicles")
            elif ip > idd:
                out.append(f"pair ({p}, {d}) delivered before picked up")
    return out


def check(problem: RoutingProblem, result: RoutingResult) -> tuple[list[str], str]:
    """Violations and the name of the checker that found them."""
    checker = project_checker()
    if checker is not None:
        return list(checker(problem, result)), "check_result"
    return own_check(problem, result), "own_check"


def schedule(
    problem: RoutingProblem,
    routes: Sequence[tuple[int, Sequence[int]]],
    dropped: Sequence[int] = (),
) -> RoutingResult:
    """Earliest-start times for routes given as (vehicle, nodes), for peers.

    Each visit starts at arrival or at the opening of its first window that
    is still open, whichever is later; a visit that arrives after every
    window starts on arrival, so the checker flags it.
    """
    out = []
    total = 0
    for k, nodes in routes:
        veh = problem.vehicles[k]
        prev, t = veh.start, veh.shift[0]
        visits = []
        for n in nodes:
            arrive = t + problem.travel_s(prev, n)
            start = arrive
            for a, b in problem.nodes[n].windows:
                if arrive <= b:
                    start = max(arrive, a)
                    break
            visits.append(Visit(node=n, start_s=start))
            total += problem.distance_m(prev, n)
            prev, t = n, start + problem.nodes[n].service_s
        total += problem.distance_m(prev, veh.end)
        end = t + problem.travel_s(prev, veh.end)
        out.append(VehicleRoute(vehicle=k, start_s=veh.shift[0], visits=tuple(visits), end_s=end))
    return RoutingResult(routes=tuple(out), dropped=tuple(dropped), objective=total)
