"""Solve a routing problem: own construction, then OR-Tools, never "no solution"."""

from __future__ import annotations

import logging
import time

from ._ortools import OnSolution, solve_ortools
from .check import check_result
from .decompose import CLUSTER_VEHICLES, improve_by_clusters
from .errors import SolverError
from .problem import RoutingProblem
from .result import RoutingResult, SolveStats
from .settings import PRESETS, SolverSettings

log = logging.getLogger(__name__)

#: Share of the time after construction given to OR-Tools; the rest goes to the LNS.
LOCAL_SEARCH_SHARE = 0.4


def _objective(problem: RoutingProblem, result: RoutingResult) -> int:
    from .check import objective_of

    return objective_of(problem, result)


def _improve(
    problem: RoutingProblem,
    settings: SolverSettings,
    start: RoutingResult,
    time_limit_s: float,
    seed: int,
    solution_limit: int | None,
    on_solution: OnSolution | None,
) -> RoutingResult | None:
    """OR-Tools from our routes: on the whole problem when it is small, else cluster by cluster."""
    if problem.num_vehicles > CLUSTER_VEHICLES and solution_limit is None:
        return improve_by_clusters(
            problem, start, settings, time_limit_s=time_limit_s, seed=seed, on_solution=on_solution
        )
    return solve_ortools(
        problem,
        settings,
        time_limit_s=time_limit_s,
        solution_limit=solution_limit,
        initial=start,
        on_solution=on_solution,
    )


def solve(
    problem: RoutingProblem,
    settings: SolverSettings | None = None,
    *,
    time_limit_s: float | None = None,
    seed: int = 0,
    solution_limit: int | None = None,
    on_solution: OnSolution | None = None,
) -> RoutingResult:
    """Best routes found within the time limit; always returns a result.

    Parameters
    ----------
    problem
        The problem to solve.
    settings
        Search settings; the ``balanced`` preset when ``None``.
    time_limit_s
        Wall-clock budget in seconds; ``settings.time_limit_s`` when ``None``.
    seed
        Seeds OneStop's own randomised parts (OR-Tools 9.15 has no seed).
    solution_limit
        Stop OR-Tools after this many solutions (repeatable tests).
    on_solution
        Called with (objective, elapsed seconds) on each improvement.

    Returns
    -------
    RoutingResult
        Routes with times; nodes it could not serve are listed as dropped.
    """
    settings = settings or PRESETS["balanced"]
    limit = settings.time_limit_s if time_limit_s is None else time_limit_s
    began = time.monotonic()
    deadline = began + limit

    if settings.backend in ("auto", "pyvrp") and solution_limit is None:
        from . import _pyvrp

        reasons = _pyvrp.why_not(problem) if _pyvrp.available() else ["pyvrp is not installed"]
        if not reasons:
            try:
                return _pyvrp.solve_pyvrp(problem, time_limit_s=limit, seed=seed, on_solution=on_solution)
            except SolverError as exc:
                log.warning("PyVRP backend not used: %s", exc)
        elif settings.backend == "pyvrp":
            raise SolverError(f"the problem does not fit PyVRP: {reasons[0]}")
        else:
            log.info("OR-Tools backend: %s", reasons[0])
        limit = max(0.1, deadline - time.monotonic())

    seed_result: RoutingResult | None = None
    timed_out: tuple[int, ...] = ()
    if settings.construction in ("own", "both"):
        from .construct import construct

        # a budget in seconds: the construction must leave OR-Tools time to improve
        # regret insertion gets a share of the budget; the cheap completion pass may
        # use the rest, so the time limit never drops a job it could place
        seed_result = construct(
            problem, seed=seed, deadline_s=0.4 * limit, hard_deadline_s=max(0.1, deadline - time.monotonic())
        )
        timed_out = seed_result.timed_out
        seed_obj = _objective(problem, seed_result)
        seed_result = RoutingResult(
            seed_result.routes,
            seed_result.dropped,
            seed_obj,
            SolveStats(
                runtime_s=round(time.monotonic() - began, 3),
                status="construction",
                construction="own",
            ),
            timed_out,
        )
        if on_solution is not None:
            on_solution(seed_obj, time.monotonic() - began)

    best = seed_result
    candidates: list[RoutingResult] = []
    remaining = deadline - time.monotonic()
    # "both" skips OR-Tools' own first solution on large problems, where it is
    # slow and, with many vehicles with breaks, fails outright.
    small = problem.num_vehicles <= CLUSTER_VEHICLES
    if remaining > 0.05 and (
        settings.construction == "ortools" or (settings.construction == "both" and small)
    ):
        share = remaining if settings.construction == "ortools" else remaining / 2
        found = solve_ortools(
            problem, settings, time_limit_s=share, solution_limit=solution_limit, on_solution=on_solution
        )
        if found is not None:
            candidates.append(found)
    remaining = deadline - time.monotonic()
    if remaining > 0.05 and seed_result is not None:
        # OR-Tools shortens routes; OneStop's own LNS (below) is what fits more
        # jobs in, since OR-Tools cannot insert jobs spanning two vehicles.
        share = remaining if solution_limit is not None else LOCAL_SEARCH_SHARE * remaining
        found = _improve(problem, settings, seed_result, share, seed, solution_limit, on_solution)
        if found is not None:
            candidates.append(found)
    for cand in candidates:
        obj = _objective(problem, cand)
        if best is None or obj < best.objective:
            best = RoutingResult(cand.routes, cand.dropped, obj, cand.stats)
    remaining = deadline - time.monotonic()
    if best is not None and solution_limit is None and remaining > 0.1:
        from .construct import insert_dropped
        from .lns import lns

        filled = insert_dropped(problem, best, seed=seed, deadline_s=0.2 * remaining)
        filled_obj = _objective(problem, filled)
        if filled_obj < best.objective and not check_result(problem, filled):
            best = RoutingResult(filled.routes, filled.dropped, filled_obj, best.stats)
        remaining = deadline - time.monotonic()
        if remaining > 0.1:
            best = lns(problem, best, seed=seed, time_limit_s=remaining, on_solution=on_solution)
    if best is None:
        # OR-Tools alone found nothing in time: build routes ourselves.
        from .construct import construct

        best = construct(problem, seed=seed, deadline_s=max(0.1, deadline - time.monotonic()))
        timed_out = best.timed_out
        best = RoutingResult(best.routes, best.dropped, _objective(problem, best), best.stats)
    total = round(time.monotonic() - began, 3)
    stats = best.stats
    left = set(best.dropped)
    return RoutingResult(
        best.routes,
        best.dropped,
        best.objective,
        SolveStats(total, stats.solutions, stats.status, stats.construction, stats.objective_trace),
        tuple(i for i in timed_out if i in left),
    )
