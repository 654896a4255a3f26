"""Validity of a benchmark solution, never trusting the solver that made it.

Every row goes through ``onestop.routing.check.check_result``, which recomputes
every rule from the problem alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from onestop.routing import RoutingProblem, RoutingResult, VehicleRoute, Visit
from onestop.routing.check import check_result


def check(problem: RoutingProblem, result: RoutingResult) -> tuple[list[str], str]:
    """Violations found by the project's independent checker, and its name."""
    return list(check_result(problem, result)), "check_result"


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
