"""Solve a routing problem: own construction, then OR-Tools, never "no solution"."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

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
#: Before PyVRP runs, the cheap complete plan may take at most this share of the limit.
FIRST_PLAN_SHARE = 0.3
#: PyVRP without a feasible solution after this share of its time gives up, so the
#: fallback still has the rest.
PYVRP_GIVE_UP_SHARE = 0.5


def _first_plan(
    problem: RoutingProblem, seed: int, began: float, budget_s: float, on_solution: OnSolution | None
) -> RoutingResult:
    """The cheap complete plan (cheapest insertion only), reported as the first solution.

    Why: it is what the user gets if the engine after it fails, so it comes first and
    is linear in the jobs; nodes it had no time for are its ``timed_out``.
    """
    from .construct import construct

    res = construct(problem, seed=seed, deadline_s=0.0, hard_deadline_s=max(0.1, budget_s))
    obj = _objective(problem, res)
    took = round(time.monotonic() - began, 3)
    stats = SolveStats(runtime_s=took, status="construction", construction="own")
    if on_solution is not None:
        on_solution(obj, time.monotonic() - began)
    return RoutingResult(res.routes, res.dropped, obj, stats, res.timed_out)


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

    first: RoutingResult | None = None
    if settings.backend in ("auto", "pyvrp") and solution_limit is None:
        from . import _pyvrp

        reasons = _pyvrp.why_not(problem) if _pyvrp.available() else ["pyvrp is not installed"]
        if not reasons:
            if settings.construction in ("own", "both"):
                first = _first_plan(problem, seed, began, FIRST_PLAN_SHARE * limit, on_solution)
            left = max(0.1, deadline - time.monotonic())
            offset = time.monotonic() - began

            def _report(obj: int, elapsed: float) -> None:
                if on_solution is not None:
                    on_solution(obj, offset + elapsed)

            try:
                found = _pyvrp.solve_pyvrp(
                    problem, time_limit_s=left, seed=seed, on_solution=_report,
                    give_up_s=PYVRP_GIVE_UP_SHARE * left,
                    # the cheap plan serves everything: then so must the optimum, and
                    # PyVRP searches best on required clients
                    all_required=first is not None and not first.dropped,
                )
                if first is None or found.objective <= first.objective:
                    stats = replace(found.stats, runtime_s=round(time.monotonic() - began, 3))
                    return RoutingResult(found.routes, found.dropped, found.objective, stats)
                log.warning(
                    "PyVRP's plan (%d) is worse than the cheap one (%d)",
                    found.objective, first.objective
                )
            except SolverError as exc:
                log.warning("PyVRP backend not used: %s", exc)
        elif settings.backend == "pyvrp":
            raise SolverError(f"the problem does not fit PyVRP: {reasons[0]}")
        else:
            log.info("OR-Tools backend: %s", reasons[0])
        limit = max(0.1, deadline - time.monotonic())

    seed_result: RoutingResult | None = None
    timed_out: tuple[int, ...] = ()
    if first is not None:
        # the engine failed or did worse: improve the complete plan in the time left
        seed_result, timed_out = first, first.timed_out
    elif settings.construction in ("own", "both"):
        from .construct import construct

        # a budget in seconds: the construction must leave OR-Tools time to improve
        # regret insertion gets a share of the budget; the cheap completion pass may
        # use the rest, so the time limit never drops a job it could place
        at = time.monotonic() - began

        def _first(obj: int, elapsed: float) -> None:
            if on_solution is not None:
                on_solution(obj, at + elapsed)

        seed_result = construct(
            problem,
            seed=seed,
            deadline_s=0.4 * limit,
            hard_deadline_s=max(0.1, deadline - time.monotonic()),
            on_first=_first,
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
