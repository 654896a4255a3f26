"""A regret insertion heuristic that always returns a valid :class:`RoutingResult`.

It seeds OR-Tools and is the fallback when OR-Tools finds nothing, so it must
respect every rule of the contract in :mod:`routing.check` and stay fast on a
field day (thousands of visits, hundreds of vehicles) in pure Python.

How it works
------------
- *Units* are what gets inserted or dropped as a whole: a standalone node; a
  chain of pickup–delivery pairs (one vehicle, e.g. load → swap → unload); a
  group, whose options may each span several vehicles as *parts* (one part =
  nodes on one vehicle, in order).
- Every route holds its breaks as pseudo-visits (zero travel, at the current
  place, start window [earliest, latest - duration]); an empty vehicle whose
  breaks do not fit its shift takes no work.
- Feasibility of a position is O(1)-ish: each route keeps the forward earliest
  start and the backward latest start of every item (windows, breaks and the
  end deadline folded in), plus prefix loads and suffix max/min loads.
  Multi-node parts are placed by a depth-first scan that prunes as soon as an
  existing stop would be pushed past its latest start or load.
- Cross-route precedence: forward earliest-start scheduling only ever delays
  later stops, so an ``after`` node gets a release (``before`` end at its
  insertion) and its ``before`` gets a deadline (``after`` start minus
  service); both stay as extra window bounds, so later insertions keep the
  precedence. On one route, ``after`` simply goes behind ``before``.
- Insertion costs are cached per (part, vehicle); only the route that changed
  is re-evaluated. Each part considers only its ``k`` nearest vehicles (by
  start location), widened to all allowed vehicles before giving up, and only
  one empty vehicle per class of identical vehicles.
- The next unit is the one with the highest (mandatory, penalty class,
  regret-2, -best cost, seeded tie-break). A unit whose best insertion costs
  more than its penalty is dropped.
- Anytime: a cheap pass (cheapest insertion over a few nearest vehicles, linear
  in the units) places everything first and is reported; regret insertion runs
  after it while the budget holds, and the better plan is kept.
- Trips: while an identical vehicle sits idle, a route takes customers only on
  its first trip (a later trip is never cheaper than that idle vehicle doing it,
  by the triangle inequality), its depot stops may not split that trip, and a
  part forming a trip of its own loses ties to the idle vehicle. Loads and
  unloads at a run of bare depot stops are tried at one gap of the run (the
  latest for a load, the earliest for an unload: the others cost the same).

Layout
------
``units`` (units, options, parts, candidate vehicles), ``route`` (the route state:
earliest and latest starts and loads of one route, windows read by
:func:`routing.timing.start_in`), ``evaluate`` (insertion positions and costs),
``regret`` (the insertion loop and the cheap completion), ``repair`` (given plans in,
checked results out), ``builder`` (the class joining them); this module holds the
entry points.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from ..check import check_result, objective_of
from ..problem import RoutingProblem
from ..result import RoutingResult, VehicleRoute
from ._const import GREEDY_NEAREST as GREEDY_NEAREST
from ._const import MIN_NEAREST as MIN_NEAREST
from ._const import NEAREST_VEHICLES as NEAREST_VEHICLES
from ._const import REGRET_FULL_UNITS as REGRET_FULL_UNITS
from .builder import _Builder as _Builder
from .route import _Memo as _Memo

__all__ = ["construct", "insert_dropped"]

log = logging.getLogger(__name__)


def construct(
    problem: RoutingProblem,
    *,
    seed: int = 0,
    deadline_s: float | None = None,
    hard_deadline_s: float | None = None,
    on_first: Callable[[int, float], None] | None = None,
) -> RoutingResult:
    """Build a valid solution by regret-2 parallel insertion.

    Parameters
    ----------
    problem
        The problem; every rule of :mod:`routing.check` is respected.
    seed
        Breaks ties between equally ranked units; the same seed gives the same
        result.
    deadline_s
        Wall-clock budget in seconds from the call for the regret loop; when it
        runs out the units not yet inserted are placed by a cheap cheapest
        insertion over their nearest vehicles (linear in the units left).
    hard_deadline_s
        Budget after which even that pass stops; the units it leaves untried are
        dropped and listed in ``timed_out``. ``None``: no hard limit.
    on_first
        Called with (objective, seconds since the call) as soon as the cheap complete
        plan is ready, before regret insertion starts: a caller's first solution.

    Returns
    -------
    RoutingResult
        Routes of the used vehicles, every other visit node in ``dropped``
        (mandatory ones included: the caller decides what that means), and the
        objective recomputed by :func:`routing.check.objective_of`.
    """
    t_start = time.perf_counter()
    hard = float("inf") if hard_deadline_s is None else t_start + max(hard_deadline_s, deadline_s or 0.0)
    # anytime: a cheap complete plan first (cheapest insertion, linear in the units) ...
    best = _build_checked(problem, seed, t_start, hard, t_start)
    spent = time.perf_counter() - t_start
    if on_first is not None:
        on_first(best.objective, spent)
    left = None if deadline_s is None else t_start + deadline_s - time.perf_counter()
    # ... then regret insertion while the budget holds several times that (it costs more)
    if left is None or left > 2 * spent:
        soft = None if deadline_s is None else t_start + deadline_s
        res = _build_checked(problem, seed, soft, hard, t_start)
        if res.objective <= best.objective:
            best = res
    log.info(
        "construct: %d of %d visits placed in %.2f s (%d left out by the time limit)",
        len(best.served), len(problem.visits), time.perf_counter() - t_start, len(best.timed_out),
    )
    return best


def _build_checked(
    problem: RoutingProblem, seed: int, soft: float | None, hard: float, t_start: float
) -> RoutingResult:
    """One construction run (regret until ``soft``, cheapest insertion until ``hard``), checked."""
    b = _Builder(problem, seed)
    b.run(soft, hard)
    res = b.result(t_start)
    bad = [v for v in check_result(problem, res) if "mandatory" not in v]
    if bad:  # a bug, never expected: repair by dropping the units involved
        log.warning("construct produced an invalid plan, repairing: %s", bad[:3])
        res = b.repair(t_start)
        if [v for v in check_result(problem, res) if "mandatory" not in v]:
            res = RoutingResult(
                routes=(), dropped=problem.visits, objective=objective_of(problem, RoutingResult((), (), 0))
            )
    return res


def _adopt(
    problem: RoutingProblem, result: RoutingResult
) -> tuple[dict[int, list[int]], dict[int, VehicleRoute]]:
    """Routes of a plan as items for the builder; routes that do not fit its model stay verbatim."""
    b = _Builder(problem, 0)
    routes: dict[int, list[int]] = {}
    frozen: dict[int, VehicleRoute] = {}
    for vr in result.routes:
        if not vr.visits:
            continue
        items = b.items_of(vr) if 0 <= vr.vehicle < problem.num_vehicles else None
        if items is None:
            frozen[vr.vehicle] = vr
        else:
            routes[vr.vehicle] = items
    return routes, frozen


def _reinsert(
    problem: RoutingProblem,
    routes: dict[int, list[int]],
    frozen: dict[int, VehicleRoute],
    seed: int,
    deadline: float | None,
    memo: _Memo | None = None,
) -> tuple[_Builder | None, list[int]]:
    """A builder holding ``routes`` and ``frozen`` with every unit not served inserted or dropped.

    Returns (None, vehicles) when some given routes do not fit together.
    """
    b = _Builder(problem, seed, memo)
    bad = b.load(routes, frozen)
    if bad:
        return None, bad
    b.build_units()
    b.settle_units()
    b.pick_candidates()
    b.insert_loop(deadline)
    return b, []


def insert_dropped(
    problem: RoutingProblem, result: RoutingResult, *, seed: int = 0, deadline_s: float | None = None
) -> RoutingResult:
    """Insert the units ``result`` leaves out into its routes, by the same regret-2 insertion.

    Why: an improvement search (OR-Tools) moves single nodes and pairs but
    cannot add a job that spans vehicles; this puts such jobs into a finished
    plan without moving anything already planned. The routes keep their order;
    times are re-derived (breaks as pauses at a place). A route that this model
    cannot express is kept verbatim and receives nothing.

    Returns a valid result serving everything ``result`` served (the input
    itself, with its objective recomputed, if anything goes wrong).
    """
    t_start = time.perf_counter()
    deadline = None if deadline_s is None else t_start + deadline_s
    fallback = RoutingResult(result.routes, result.dropped, objective_of(problem, result), result.stats)
    try:
        routes, frozen = _adopt(problem, result)
        b, bad = _reinsert(problem, routes, frozen, seed, deadline)
        for _ in range(len(routes)):
            if not bad:
                break
            by_k = {vr.vehicle: vr for vr in result.routes}
            for k in bad:  # these do not fit together with the bounds: keep them as they are
                frozen[k] = by_k[k]
                del routes[k]
            b, bad = _reinsert(problem, routes, frozen, seed, deadline)
        if b is None:
            return fallback
        res = b.result(t_start)
    except Exception:  # never expected; the input is still a valid answer
        log.exception("insert_dropped failed; keeping the input plan")
        return fallback
    problems = [v for v in check_result(problem, res) if "mandatory" not in v]
    if problems or not result.served <= res.served:
        before = set(check_result(problem, result))
        if problems and set(problems) <= before:
            # a re-plan's pinned stops can break the generic rules already (a started stop
            # fixed before the resource's new start): nothing new is wrong, nothing to add
            log.debug("insert_dropped: the input already breaks %d rule(s); kept", len(before))
        else:
            log.warning("insert_dropped produced an invalid plan, keeping the input: %s", problems[:3])
        return fallback
    stats = replace(result.stats, runtime_s=time.perf_counter() - t_start)
    return RoutingResult(res.routes, res.dropped, res.objective, stats)
