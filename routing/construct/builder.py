"""The construction's state: one class joining units, route state, evaluation, loop and repair."""

from __future__ import annotations

import random

import numpy as np

from ..problem import RoutingProblem
from ..result import VehicleRoute
from ._const import _NEG, _POS
from .evaluate import _Evaluate
from .regret import _Regret
from .repair import _Repair
from .route import _Memo, _Route, _Timing
from .units import _Part, _Unit, _Units


class _Builder(_Units, _Timing, _Evaluate, _Regret, _Repair):
    """State of one construction run."""

    def __init__(self, problem: RoutingProblem, seed: int, memo: _Memo | None = None) -> None:
        self.pb = problem
        #: What LNS keeps across builders of the same problem.
        self.memo = memo
        #: Vehicles whose given routes are kept verbatim (they do not fit this model).
        self.frozen: dict[int, VehicleRoute] = {}
        self.rng = random.Random(seed)
        n_loc = problem.durations.shape[0]
        self.N = n_loc
        if memo is not None and memo.matrices is not None:
            self._dur_arr, self._dist_arr, self.DUR, self.DIST = memo.matrices  # type: ignore[assignment]
        else:
            dur = np.where(problem.distances < 0, -1, problem.durations).astype(np.int64)
            dist = problem.distances.astype(np.int64)
            self._dur_arr, self._dist_arr = dur, dist
            self.DUR = memoryview(np.ascontiguousarray(dur).ravel()).cast("B").cast("q")
            self.DIST = memoryview(np.ascontiguousarray(dist).ravel()).cast("B").cast("q")
            if memo is not None:
                memo.matrices = (self._dur_arr, self._dist_arr, self.DUR, self.DIST)
        nodes = problem.nodes
        self.loc = [nd.location for nd in nodes]
        self.svc = [nd.service_s for nd in nodes]
        self.win = [nd.windows for nd in nodes]
        self.lo = [_NEG] * len(nodes)
        self.hi = [_POS] * len(nodes)
        self.dims = len(problem.dimensions)
        self.dem: list[tuple[int, ...] | None] = [
            nd.demand if nd.demand and any(nd.demand) else None for nd in nodes
        ]
        self.stop = [1 if nd.counts_as_stop else 0 for nd in nodes]
        vs = problem.vehicles
        self.vstart = [nodes[v.start].location for v in vs]
        self.vend = [nodes[v.end].location for v in vs]
        self.t0 = [v.shift[0] for v in vs]
        self.tend = [min(v.shift[1], problem.horizon_s) for v in vs]
        self.cap = [v.capacity for v in vs]
        self.brk = [
            sorted(
                ((b.earliest_s, b.latest_s - b.duration_s, b.duration_s, i) for i, b in enumerate(v.breaks)),
            )
            for v in vs
        ]
        self.brkd = [{b[3]: b for b in bs} for bs in self.brk]
        self.maxstops = [_POS if v.max_stops is None else v.max_stops for v in vs]
        self.fixed = [v.fixed_cost for v in vs]
        self.cpt = [v.cost_per_travel_s for v in vs]
        self.cpm = [v.cost_per_m for v in vs]
        self.cps = [v.cost_per_span_s for v in vs]
        sig: dict[tuple[object, ...], int] = {}
        self.cls = [
            sig.setdefault(
                (
                    self.vstart[k],
                    self.vend[k],
                    v.shift,
                    v.capacity,
                    v.breaks,
                    v.max_stops,
                    v.fixed_cost,
                    v.cost_per_travel_s,
                    v.cost_per_m,
                    v.cost_per_span_s,
                ),
                len(sig),
            )
            for k, v in enumerate(vs)
        ]
        self.routes = [_Route(k, [~b[3] for b in self.brk[k]]) for k in range(len(vs))]
        for r in self.routes:
            self.refresh(r)
        self.usable = [r.ok for r in self.routes]
        self.members: dict[int, list[int]] = {}
        for k, c in enumerate(self.cls):
            self.members.setdefault(c, []).append(k)
        self._idle_hint: dict[int, int] = {}
        self._had_idle: dict[int, bool] = {}
        self.where: dict[int, int] = {}  # served node -> vehicle
        self.parts: list[_Part] = []
        self.units: list[_Unit] = []
        self.unit_of: dict[int, int] = {}
        self.veh_parts: list[set[int]] = [set() for _ in vs]
        self.befores: dict[int, list[int]] = {}
        self.afters: dict[int, list[int]] = {}
        for pr in problem.precedences:
            self.befores.setdefault(pr.after, []).append(pr.before)
            self.afters.setdefault(pr.before, []).append(pr.after)
        self.dropped_units: list[int] = []
        #: Units the hard deadline left untried (not "no room": no time).
        self.timed_out_units: list[int] = []
        #: Cheap completion mode: a commit does not re-evaluate the other parts.
        self.lazy = False
