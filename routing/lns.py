"""Ruin-and-recreate large-neighbourhood search over a whole plan, in pure Python.

Why: OR-Tools' local search moves one node or one pickup–delivery pair, so it
cannot put in a job that spans vehicles (a courier delivery plus a technician
installation after it), and on large days it is run cluster by cluster. This
search takes out a handful of related jobs at a time (random ones, ones near a
place, ones close in place and time, all jobs of short routes) and puts them
back together with the jobs left out by the regret-2 insertion of
:mod:`routing.construct`, keeping the change when the objective does not get
worse (simulated annealing on the routing cost; penalties dominate, so planning
more jobs always wins).

A removed unit is a whole job: a pair chain or a group option with every part,
together with the jobs whose precedence depends on it. Each iteration rebuilds
a builder from the kept routes; insertion costs on routes an iteration did not
touch are memoised across iterations, so only touched routes are re-evaluated.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable

import numpy as np

from .check import check_result, objective_of
from .construct import _adopt, _Builder, _Memo, _reinsert
from .problem import RoutingProblem
from .result import RoutingResult, SolveStats, VehicleRoute

__all__ = ["lns"]

log = logging.getLogger(__name__)

#: Called with (objective, elapsed seconds) on each new best.
OnSolution = Callable[[int, float], None]
#: Start temperature as a share of the routing cost (not penalties) per route.
TEMPERATURE = 0.02

#: Removal operators and how often each is drawn ("room" only while jobs are left out).
OPERATORS = {"random": 1, "near": 3, "related": 3, "route": 1, "room": 1}

Routes = dict[int, list[int]]


class _Units:
    """What moves together: construction units, with the units whose precedence hangs on them."""

    def __init__(self, problem: RoutingProblem, b: _Builder) -> None:
        self.nodes = [u.nodes for u in b.units]
        self.unit_of = b.unit_of
        self.mandatory = [u.penalty is None for u in b.units]
        self.dependents = [list(u.dependents) for u in b.units]
        nodes = problem.nodes
        locs, mids = [], []
        for members in self.nodes:
            ordered = sorted(members)
            rep = next((i for i in ordered if nodes[i].windows and nodes[i].counts_as_stop), ordered[0])
            locs.append(nodes[rep].location)
            ws = nodes[rep].windows
            mids.append((ws[0][0] + ws[-1][1]) // 2 if ws else -1)
        self.loc = np.asarray(locs, dtype=np.int64)
        self.mid = np.asarray(mids, dtype=np.int64)

    def closure(self, picked: list[int], served: set[int]) -> set[int]:
        """``picked`` with every served unit that has a precedence on them, transitively."""
        out: set[int] = set()
        stack = list(picked)
        while stack:
            u = stack.pop()
            if u in out:
                continue
            out.add(u)
            stack.extend(d for d in self.dependents[u] if d in served and d not in out)
        return out


class _Search:
    """State of one search: current and best routes, operators, acceptance."""

    def __init__(
        self, problem: RoutingProblem, b: _Builder, frozen: dict[int, VehicleRoute], seed: int
    ) -> None:
        self.pb = problem
        self.rng = random.Random(seed)
        self.frozen = frozen
        self.units = _Units(problem, b)
        #: Units with a node on a route kept verbatim, and the units they hang on: never removed.
        self.pinned: set[int] = set()
        stack = sorted({self.units.unit_of[x] for vr in frozen.values() for x in (v.node for v in vr.visits)})
        befores_of: dict[int, list[int]] = {}
        for u, deps in enumerate(self.units.dependents):
            for d in deps:
                befores_of.setdefault(d, []).append(u)
        while stack:
            u = stack.pop()
            if u not in self.pinned:
                self.pinned.add(u)
                stack.extend(befores_of.get(u, ()))
        self.memo = _Memo()
        self.dur = np.where(problem.durations < 0, 10**7, problem.durations)
        self.cur_b = b
        self.cur = self._score(b)
        self.best_b, self.best = b, self.cur

    def _score(self, b: _Builder) -> tuple[int, int]:
        """(mandatory units left out, objective): the order candidates are compared in."""
        missing = sum(
            1
            for u, mand in enumerate(self.units.mandatory)
            if mand and not any(i in b.where for i in self.units.nodes[u])
        )
        return missing, b.objective()

    @staticmethod
    def routes_of(b: _Builder) -> Routes:
        return {r.k: list(r.items) for r in b.routes if r.nreal and r.k not in b.frozen}

    # ------------------------------------------------------------ removal
    def _served_units(self, b: _Builder) -> list[int]:
        """Units served on routes the search may change (none of their nodes on a kept route)."""
        unit_of = self.units.unit_of
        out = {unit_of[x] for x, k in b.where.items() if k not in self.frozen}
        out -= self.pinned
        return sorted(out)

    def _pick_related(self, cands: list[int], score: np.ndarray, q: int) -> list[int]:
        """``q`` of ``cands``, mostly the best scored (lowest), with some noise."""
        order = [cands[i] for i in np.argsort(score, kind="stable")]
        picked: list[int] = []
        while order and len(picked) < q:
            picked.append(order.pop(int(len(order) * self.rng.random() ** 4)))
        return picked

    def ruin(self, b: _Builder, q: int) -> tuple[set[int], str]:
        """Units to take out of the current plan and the operator's name."""
        served = self._served_units(b)
        if not served:
            return set(), "none"
        sset = set(served)
        dropped = [u for u in range(len(self.units.nodes)) if u not in sset and self._placeable(b, u)]
        weights = [w if op != "room" or dropped else 0 for op, w in OPERATORS.items()]
        op = self.rng.choices(list(OPERATORS), weights)[0]
        units = self.units
        picked: list[int]
        if op == "room":
            picked = self._make_room(b, self.rng.choice(dropped), q)
        elif op == "random":
            picked = self.rng.sample(served, min(q, len(served)))
        elif op in ("near", "related"):
            if dropped and self.rng.random() < 0.6:
                seed_u = self.rng.choice(dropped)
            else:
                seed_u = self.rng.choice(served)
            cand = np.asarray(served, dtype=np.int64)
            sl = units.loc[seed_u]
            score = (self.dur[sl, units.loc[cand]] + self.dur[units.loc[cand], sl]).astype(np.float64)
            if op == "related" and units.mid[seed_u] >= 0:
                mids = units.mid[cand]
                gap = np.where(mids >= 0, np.abs(mids - units.mid[seed_u]), 4 * 3600)
                score = score + gap
            picked = self._pick_related(served, score, q)
        else:
            counts: dict[int, int] = {}
            for r in b.routes:
                if r.nreal and r.k not in self.frozen:
                    counts[r.k] = r.nreal
            order = sorted(counts, key=lambda k: (counts[k], k))
            k = order[int(len(order) * self.rng.random() ** 3)]
            picked = sorted({units.unit_of[x] for x in b.routes[k].items if x >= 0})
        return units.closure([u for u in picked if u in sset], sset), op

    def _make_room(self, b: _Builder, d: int, q: int) -> list[int]:
        """Units on one to three vehicles that could serve left-out unit ``d``, closest to it in
        time and place: where a job with few possible vehicles (a late window, a skill) has to go."""
        units, rng = self.units, self.rng
        opt = rng.choice(b.units[d].options)
        part = b.parts[rng.choice(opt)]
        vehicles = [k for k in part.allowed_all if k not in self.frozen and b.routes[k].nreal]
        if not vehicles:
            return []
        chosen = rng.sample(vehicles, min(len(vehicles), rng.randint(1, 3)))
        mid = units.mid[d]
        cands: list[int] = []
        scores: list[float] = []
        seen: set[int] = set()
        for k in chosen:
            r = b.routes[k]
            for x, s in zip(r.items, r.E, strict=True):
                if x < 0:
                    continue
                u = units.unit_of[x]
                if u in seen:
                    continue
                seen.add(u)
                loc = self.pb.nodes[x].location
                gap = abs(s - mid) if mid >= 0 else 0
                cands.append(u)
                scores.append(float(gap + self.dur[units.loc[d], loc]))
        return self._pick_related(cands, np.asarray(scores), q)

    def _placeable(self, b: _Builder, u: int) -> bool:
        return bool(b.units[u].options)

    # ------------------------------------------------------------ iterate
    def step(self, deadline: float | None, temperature: float) -> bool:
        """One ruin-and-recreate; True when it gives a new best."""
        b = self.cur_b
        n_served = len(self._served_units(b))
        q = self.rng.randint(2, max(3, min(30, n_served // 8 + 2)))
        out_units, op = self.ruin(b, q)
        if not out_units:
            return False
        out_nodes = set().union(*(self.units.nodes[u] for u in out_units))
        routes = {}
        for k, items in self.routes_of(b).items():
            kept = [x for x in items if x not in out_nodes]
            if any(x >= 0 for x in kept):
                routes[k] = kept
        self.memo.trim()
        nb, bad = _reinsert(self.pb, routes, self.frozen, self.rng.randrange(1 << 30), deadline, self.memo)
        if nb is None:
            log.debug("lns: routes without %s do not fit (%s)", op, bad[:3])
            return False
        score = self._score(nb)
        accept = score <= self.cur
        if not accept and score[0] == self.cur[0] and temperature > 0:
            accept = self.rng.random() < math.exp(-(score[1] - self.cur[1]) / temperature)
        if accept:
            self.cur_b, self.cur = nb, score
        if score < self.best:
            self.best_b, self.best = nb, score
            log.debug("lns: %s took out %d units, objective %d", op, len(out_units), score[1])
            return True
        return False

    def route_cost(self) -> int:
        """Routing part of the current objective (penalties left out), for the temperature."""
        b = self.cur_b
        total = b.objective()
        nodes, where = self.pb.nodes, b.where
        group_of = self.pb.group_of()
        for i in self.pb.visits:
            pen = nodes[i].penalty
            if pen is not None and i not in where and i not in group_of:
                total -= pen
        for g in self.pb.groups:
            if g.penalty is not None and not any(i in where for opt in g.options for i in opt):
                total -= g.penalty
        return max(0, total)


def lns(
    problem: RoutingProblem,
    result: RoutingResult,
    *,
    seed: int = 0,
    time_limit_s: float,
    on_solution: OnSolution | None = None,
    max_iterations: int | None = None,
) -> RoutingResult:
    """Improve a valid plan by ruin and recreate until the time limit.

    Parameters
    ----------
    problem
        The problem ``result`` solves.
    result
        A valid plan (it passes :func:`routing.check.check_result`); routes that
        the insertion model cannot express are kept as they are.
    seed
        The same seed and number of iterations give the same result.
    time_limit_s
        Wall-clock budget in seconds from the call.
    on_solution
        Called with (objective, elapsed seconds) on each new best.
    max_iterations
        Stop after this many iterations (repeatable runs).

    Returns
    -------
    RoutingResult
        The best plan found, checked; never worse than ``result`` (which comes
        back, with its objective recomputed, if anything is off).
    """
    began = time.perf_counter()
    deadline = began + time_limit_s
    start_obj = objective_of(problem, result)
    fallback = RoutingResult(result.routes, result.dropped, start_obj, result.stats)
    start_missing = sum(1 for v in check_result(problem, result) if "mandatory" in v)
    try:
        routes, frozen = _adopt(problem, result)
        b, bad = _reinsert(problem, routes, frozen, seed, deadline)
        by_k = {vr.vehicle: vr for vr in result.routes}
        while b is None and bad:
            for k in bad:
                frozen[k] = by_k[k]
                del routes[k]
            b, bad = _reinsert(problem, routes, frozen, seed, deadline)
        if b is None:
            return fallback
        search = _Search(problem, b, frozen, seed)
        if on_solution is not None and search.best[1] < start_obj:
            on_solution(search.best[1], time.perf_counter() - began)
        t0 = TEMPERATURE * search.route_cost() / max(1, len(search.routes_of(b)) + len(frozen))
        it = 0
        trace = [(round(time.perf_counter() - began, 3), search.best[1])]
        while time.perf_counter() < deadline and (max_iterations is None or it < max_iterations):
            frac = (
                it / max_iterations
                if max_iterations is not None
                else (time.perf_counter() - began) / max(time_limit_s, 1e-9)
            )
            it += 1
            if search.step(deadline, t0 * max(0.0, 1.0 - frac)):
                trace.append((round(time.perf_counter() - began, 3), search.best[1]))
                if on_solution is not None:
                    on_solution(search.best[1], time.perf_counter() - began)
        res = search.best_b.result(began)
    except Exception:  # never expected; the input is still a valid answer
        log.exception("lns failed; keeping the input plan")
        return fallback
    problems = check_result(problem, res)
    missing = sum(1 for v in problems if "mandatory" in v)
    problems = [v for v in problems if "mandatory" not in v]
    if problems or missing > start_missing or res.objective > start_obj:
        if problems:
            log.warning("lns produced an invalid plan, keeping the input: %s", problems[:3])
        return fallback
    log.info(
        "lns: %d iterations in %.1f s, objective %d -> %d, %d -> %d left out",
        it,
        time.perf_counter() - began,
        start_obj,
        res.objective,
        len(result.dropped),
        len(res.dropped),
    )
    stats = SolveStats(
        runtime_s=round(time.perf_counter() - began, 3),
        solutions=it,
        status="lns",
        construction=result.stats.construction,
        objective_trace=tuple(trace),
    )
    return RoutingResult(res.routes, res.dropped, res.objective, stats)
