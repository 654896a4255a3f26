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
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .check import check_result, objective_of
from .problem import RoutingProblem
from .result import BreakTaken, RoutingResult, SolveStats, VehicleRoute, Visit

__all__ = ["construct", "insert_dropped"]

log = logging.getLogger(__name__)

_NEG = -(1 << 62)
_POS = 1 << 62
#: Vehicles each part considers before widening to every allowed vehicle.
NEAREST_VEHICLES = 40
#: Above this many units the regret loop considers fewer vehicles per part (its cost per
#: insertion grows with parts x candidates / vehicles), down to ``MIN_NEAREST``.
REGRET_FULL_UNITS = 300
MIN_NEAREST = 12
#: Vehicles the cheap completion pass evaluates per part before looking further.
GREEDY_NEAREST = 6
_BIG_REGRET = 1 << 60


@dataclass(slots=True)
class _Part:
    """Nodes one vehicle serves in this order (a node, or a pair chain)."""

    nodes: tuple[int, ...]
    unit: int
    allowed: list[int]  # usable vehicles allowed for every node, sorted
    allowed_all: list[int] = field(default_factory=list)  # the same, usable or not
    cand: list[int] = field(default_factory=list)  # vehicles considered now
    near: list[int] = field(default_factory=list)  # the same, nearest first
    widened: bool = False
    stops: int = 0
    svc: int = 0
    # vehicle -> (cost, gaps); vehicles absent are infeasible or not evaluated
    costs: dict[int, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    reps: dict[int, int] = field(default_factory=dict)  # empty class -> vehicle evaluated
    top: tuple[int, int, int, int] | None = None  # (best, its vehicle, second, its vehicle)

    def set_cost(self, k: int, res: tuple[int, tuple[int, ...]] | None) -> None:
        """Update one vehicle's cost, keeping the two best known when cheap to do."""
        if res is None:
            self.costs.pop(k, None)
        else:
            self.costs[k] = res
        top = self.top
        if top is None:
            return
        c1, k1, c2, k2 = top
        if k in (k1, k2):
            self.top = None
        elif res is not None and res[0] < c2:
            c = res[0]
            self.top = (c, k, c1, k1) if c < c1 else (c1, k1, c, k)

    def best_two(self) -> tuple[int, int, int, int]:
        if self.top is None:
            c1 = c2 = _POS
            k1 = k2 = -1
            for k, (c, _) in self.costs.items():
                if c < c1:
                    c1, k1, c2, k2 = c, k, c1, k1
                elif c < c2:
                    c2, k2 = c, k
            self.top = (c1, k1, c2, k2)
        return self.top


@dataclass(slots=True)
class _Unit:
    """All-or-nothing set of options; each option is a list of part ids."""

    options: list[list[int]]
    penalty: int | None
    nodes: frozenset[int]
    deps: set[int] = field(default_factory=set)  # units holding external befores
    dependents: list[int] = field(default_factory=list)
    dead: set[int] = field(default_factory=set)  # options that failed to commit
    waiting: int = 0
    done: bool = False
    version: int = 0
    tie: float = 0.0
    key: tuple[object, ...] | None = None  # last key pushed


class _Memo:
    """What stays true across builders of one problem (LNS), so each rebuild is cheap.

    Insertion results and route schedules are keyed by everything they depend
    on (vehicle, items, bounds), so a hit is exact; sizes are capped.
    """

    ROUTE_LIMIT = 30_000
    EVAL_LIMIT = 300_000

    def __init__(self) -> None:
        self.evals: dict[tuple[object, ...], tuple[int, tuple[int, ...]] | None] = {}
        self.routes: dict[int, tuple[object, ...]] = {}
        self.units: tuple[object, ...] | None = None
        self.matrices: tuple[object, ...] | None = None

    def trim(self) -> None:
        if len(self.evals) > self.EVAL_LIMIT:
            self.evals.clear()
        if len(self.routes) > self.ROUTE_LIMIT:
            self.routes.clear()


_ROUTE_FIELDS = (
    "E",
    "Dp",
    "Pp",
    "L",
    "Lr",
    "nr",
    "loads",
    "smax",
    "smin",
    "stops",
    "nreal",
    "end_arr",
    "lstart",
    "ok",
    "trip2",
)


class _Route:
    """One vehicle's items (node ids >= 0, breaks as ~index) and their schedule."""

    __slots__ = ("k", "items", *_ROUTE_FIELDS, "sig")

    def __init__(self, k: int, items: list[int]) -> None:
        self.k = k
        self.items = items
        self.E: list[int] = []
        self.Dp: list[int] = []
        self.Pp: list[int] = []
        self.L: list[int] = []
        self.Lr: list[int] = []
        self.nr: list[int] = []
        self.loads: list[tuple[int, ...]] = []
        self.smax: list[list[int]] = []
        self.smin: list[list[int]] = []
        self.stops = 0
        self.nreal = 0
        self.end_arr = 0
        self.lstart = 0
        self.ok = True
        self.trip2 = 1  # first gap where a customer would ride a second trip
        self.sig = 0


class _Builder:
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

    # ------------------------------------------------------------------ time
    def earliest(self, u: int, a: int) -> int | None:
        """Earliest start of ``u`` arriving at ``a`` (windows and precedence bounds)."""
        lo = self.lo[u]
        if a < lo:
            a = lo
        ws = self.win[u]
        if not ws:
            return a if a <= self.hi[u] else None
        for w0, w1 in ws:
            if a <= w1:
                s = a if a > w0 else w0
                return s if s <= self.hi[u] else None
        return None

    def latest(self, u: int, x: int) -> int | None:
        """Latest start of ``u`` no later than ``x``."""
        hi = self.hi[u]
        if x > hi:
            x = hi
        ws = self.win[u]
        if ws:
            for w0, w1 in reversed(ws):
                if w0 <= x:
                    r = w1 if w1 < x else x
                    return r if r >= self.lo[u] else None
            return None
        return x if x >= self.lo[u] else None

    def refresh(self, r: _Route) -> None:
        """Recompute the schedule, latest starts and loads of a route."""
        k, items = r.k, r.items
        if k in self.frozen:
            return
        memo = self.memo
        if memo is not None:  # what the schedule and every insertion depend on
            lo, hi = self.lo, self.hi
            r.sig = hash((k, tuple(items), tuple([(lo[x], hi[x]) for x in items if x >= 0])))
            got = memo.routes.get(r.sig)
            if got is not None:
                for name, value in zip(_ROUTE_FIELDS, got, strict=True):
                    setattr(r, name, value)
                return
            self._refresh(r)
            memo.routes[r.sig] = tuple(getattr(r, name) for name in _ROUTE_FIELDS)
            return
        self._refresh(r)

    def _refresh(self, r: _Route) -> None:
        k, items = r.k, r.items
        N, DUR = self.N, self.DUR
        loc, svc = self.loc, self.svc
        brk = self.brkd[k]
        n = len(items)
        E = [0] * n
        Dp = [0] * (n + 1)
        Pp = [0] * (n + 1)
        t = self.t0[k]
        P = self.vstart[k]
        ok = True
        stops = 0
        nreal = 0
        for i, x in enumerate(items):
            Dp[i] = t
            Pp[i] = P
            if x >= 0:
                tt = DUR[P * N + loc[x]]
                if tt < 0:
                    ok = False
                    tt = 0
                s = self.earliest(x, t + tt)
                if s is None:
                    ok = False
                    s = t + tt
                P = loc[x]
                t = s + svc[x]
                stops += self.stop[x]
                nreal += 1
            else:
                e, lat, d, _ = brk[~x]
                s = t if t > e else e
                if s > lat:
                    ok = False
                t = s + d
            E[i] = s
        Dp[n] = t
        Pp[n] = P
        tt = DUR[P * N + self.vend[k]]
        if tt < 0:
            if nreal:
                ok = False
            tt = 0
        r.end_arr = t + tt
        if r.end_arr > self.tend[k]:
            ok = False
        # backward latest starts
        L = [0] * n
        Lr = [0] * (n + 1)
        nr = [n] * (n + 1)
        Lnext = self.tend[k]
        nloc = self.vend[k]
        nx_real = n
        Lr[n] = Lnext
        next_is_break = False
        for i in range(n - 1, -1, -1):
            x = items[i]
            P = Pp[i + 1]  # place of item i (its own location, or where a break is)
            if next_is_break:
                tt = 0
            else:
                tt = DUR[P * N + nloc]
                if tt < 0:
                    tt = 0
            if x >= 0:
                lt = self.latest(x, Lnext - tt - svc[x])
                if lt is None:
                    ok = False
                    lt = _NEG
                nloc = loc[x]
                nx_real = i
                next_is_break = False
            else:
                _, lat, d, _ = brk[~x]
                lt = min(lat, Lnext - tt - d)
                if lt < E[i]:
                    ok = False
                next_is_break = True
            L[i] = lt
            Lnext = lt
            nr[i] = nx_real
            Lr[i] = L[nx_real] if nx_real < n else self.tend[k]
        tt = 0 if next_is_break or n == 0 else max(DUR[self.vstart[k] * N + nloc], 0)
        r.lstart = Lnext - tt if n else self.tend[k]
        # loads
        dims = self.dims
        if dims:
            cur = [0] * dims
            loads: list[tuple[int, ...]] = []
            for x in items:
                if x >= 0 and self.dem[x] is not None:
                    cur = [a + b for a, b in zip(cur, self.dem[x], strict=True)]  # type: ignore[arg-type]
                loads.append(tuple(cur))
            cap = self.cap[k]
            smax = []
            smin = []
            for d in range(dims):
                mx = [_NEG] * (n + 1)
                mn = [_POS] * (n + 1)
                for i in range(n - 1, -1, -1):
                    v = loads[i][d]
                    mx[i] = v if v > mx[i + 1] else mx[i + 1]
                    mn[i] = v if v < mn[i + 1] else mn[i + 1]
                    if not 0 <= v <= cap[d]:
                        ok = False
                smax.append(mx)
                smin.append(mn)
            r.loads, r.smax, r.smin = loads, smax, smin
        r.E, r.Dp, r.Pp, r.L, r.Lr, r.nr = E, Dp, Pp, L, Lr, nr
        r.stops, r.nreal, r.ok = stops, nreal, ok
        # a customer placed at gap g >= trip2 rides a later trip: the route came back to
        # its base (start or end place) after serving someone before g
        base = (self.vstart[k], self.vend[k])
        trip2 = n + 1
        served = False
        for i, x in enumerate(items):
            if x < 0:
                continue
            if loc[x] not in base:
                served = True
            elif served:
                trip2 = i + 1
                break
        r.trip2 = trip2

    # ------------------------------------------------------------ insertion
    def has_idle(self, c: int) -> bool:
        """Whether class ``c`` still has an empty usable vehicle."""
        k = self._idle_hint.get(c)
        if k is not None and self.routes[k].nreal == 0:
            return True
        for w in self.members[c]:
            if self.usable[w] and self.routes[w].nreal == 0 and w not in self.frozen:
                self._idle_hint[c] = w
                return True
        self._idle_hint.pop(c, None)
        return False

    def first_trip_cap(self, r: _Route) -> int:
        """Last gap a customer may take on ``r``: the first trip's, while an identical idle
        vehicle could run any later trip for no more (triangle inequality), else no cap.

        Why: later trips make routes long (every evaluation scans them) and crowd the day's
        work onto few vehicles, the ones a break or a late window then cannot absorb.
        """
        if r.nreal == 0 or r.trip2 > len(r.items) or not self.has_idle(self.cls[r.k]):
            return _POS
        return r.trip2 - 1

    def arc(self, k: int, a: int, b: int) -> int:
        i = a * self.N + b
        return self.cpt[k] * self.DUR[i] + self.cpm[k] * self.DIST[i]

    def _min_gap(self, r: _Route, u: int) -> int:
        """First gap ``u`` may take on ``r``: behind any of its befores there."""
        g = 0
        for b in self.befores.get(u, ()):
            if self.where.get(b) == r.k:
                g = max(g, r.items.index(b) + 1)
        return g

    def eval_part(self, p: _Part, r: _Route) -> tuple[int, tuple[int, ...]] | None:
        """Cheapest feasible insertion of a part into a route, or None (memoised for LNS)."""
        memo = self.memo
        if memo is None:
            return self._eval_part(p, r)
        lo = self.lo
        key = (p.nodes, r.sig, tuple([lo[u] for u in p.nodes]), self.first_trip_cap(r))
        try:
            return memo.evals[key]
        except KeyError:
            pass
        res = self._eval_part(p, r)
        memo.evals[key] = res
        return res

    def _eval_part(self, p: _Part, r: _Route) -> tuple[int, tuple[int, ...]] | None:
        """Cheapest feasible insertion of a part into a route, or None."""
        if r.stops + p.stops > self.maxstops[r.k]:
            return None
        res = self._eval_one(p.nodes[0], r) if len(p.nodes) == 1 else self._eval_many(p, r)
        if res is None:
            return None
        k = r.k
        c, gaps = res
        if self.cps[k]:  # span grows by about the added travel and service
            cpt = self.cpt[k]
            c += self.cps[k] * (p.svc + (c // cpt if cpt else 0))
        if r.nreal == 0:
            c += self.fixed[k]
        return (c, gaps)

    def _eval_one(self, u: int, r: _Route) -> tuple[int, tuple[int, ...]] | None:
        """Cheapest added arc cost of one node over the gaps its window allows."""
        k = r.k
        N, DUR, DIST = self.N, self.DUR, self.DIST
        items, Dp, Pp, Lr, nr = r.items, r.Dp, r.Pp, r.Lr, r.nr
        n = len(items)
        lu = self.loc[u]
        su = self.svc[u]
        ws = self.win[u]
        early = max(ws[0][0] if ws else _NEG, self.lo[u])
        late = min(ws[-1][1] if ws else _POS, self.hi[u])
        g_lo = bisect.bisect_left(Lr, early + su)
        g_hi = min(bisect.bisect_right(Dp, late) - 1, n)
        if lu != self.vstart[k] and lu != self.vend[k]:
            g_hi = min(g_hi, self.first_trip_cap(r))
        if u in self.befores:
            g_lo = max(g_lo, self._min_gap(r, u))
        du = self.dem[u]
        cap = self.cap[k]
        cpt, cpm = self.cpt[k], self.cpm[k]
        empty = r.nreal == 0
        brk = self.brkd[k] if n > r.nreal else None
        best: tuple[int, tuple[int, ...]] | None = None
        bestc = _POS
        vend = self.vend[k]
        for g in range(g_lo, g_hi + 1):
            P = Pp[g]
            tt = DUR[P * N + lu]
            if tt < 0:
                continue
            s = self.earliest(u, Dp[g] + tt)
            if s is None:
                continue
            t = s + su
            y = nr[g]
            if y > g and brk is not None:
                bad = False
                for j in range(g, y):
                    e, lat, d, _ = brk[~items[j]]
                    if t < e:
                        t = e
                    if t > lat:
                        bad = True
                        break
                    t += d
                if bad:
                    continue
            ly = self.loc[items[y]] if y < n else vend
            iy = lu * N + ly
            tt2 = DUR[iy]
            if tt2 < 0 or t + tt2 > Lr[g]:
                continue
            if du is not None:
                bad = False
                loads, smax, smin = r.loads, r.smax, r.smin
                for d_, q in enumerate(du):
                    if q == 0:
                        continue
                    lb = loads[g - 1][d_] if g else 0
                    if lb + q < 0 or lb + q > cap[d_] or smax[d_][g] + q > cap[d_] or smin[d_][g] + q < 0:
                        bad = True
                        break
                if bad:
                    continue
            ip = P * N + lu
            c = cpt * (tt + tt2) + cpm * (DIST[ip] + DIST[iy])
            if not empty:
                c -= cpt * DUR[P * N + ly] + cpm * DIST[P * N + ly]
            if c < bestc:
                bestc = c
                best = (c, (g,))
        return best

    def _eval_many(self, p: _Part, r: _Route) -> tuple[int, tuple[int, ...]] | None:
        """Depth-first placement of an ordered multi-node part, pruned by time,
        load and (assuming the triangle inequality, for speed only) cost."""
        k = r.k
        N, DUR, DIST = self.N, self.DUR, self.DIST
        cpt, cpm = self.cpt[k], self.cpm[k]
        items, L, Lr, Dp, Pp = r.items, r.L, r.Lr, r.Dp, r.Pp
        n = len(items)
        nodes = p.nodes
        m = len(nodes)
        loc, svc, dem, lo_b, hi_b, win = self.loc, self.svc, self.dem, self.lo, self.hi, self.win
        brk = self.brkd[k]
        cap = self.cap[k]
        dims = self.dims
        loads = r.loads
        empty = r.nreal == 0
        vend = self.vend[k]
        earliest = self.earliest
        gmin = []
        for u in nodes:
            ws = win[u]
            early = max(ws[0][0] if ws else _NEG, lo_b[u])
            g = bisect.bisect_left(Lr, early + svc[u])
            if u in self.befores:
                g = max(g, self._min_gap(r, u))
            gmin.append(g)
        late = [min(win[u][-1][1] if win[u] else _POS, hi_b[u]) for u in nodes]
        for j in range(m - 2, -1, -1):  # a node must leave time for the ones after it
            late[j] = min(late[j], late[j + 1] - svc[nodes[j]])
        ulocs = [loc[u] for u in nodes]
        udem = [dem[u] for u in nodes]
        cap1 = self.first_trip_cap(r)
        home = (self.vstart[k], vend)
        away = [j for j, lu in enumerate(ulocs) if lu not in home]
        # A bare depot node (no window, no service, no precedence) placed anywhere in a run
        # of bare stops at its own place costs the same; the latest gap of the run is best
        # for a load (carried least), the earliest for an unload: try only those.
        side = [0] * m
        bare_at: list[int] = []
        if any(lu in home for lu in ulocs):
            for j, u in enumerate(nodes):
                if ulocs[j] in home and not svc[u] and not win[u] and u not in self.befores:
                    q = udem[j]
                    side[j] = -1 if q is not None and any(x < 0 for x in q) else 1
            bare_at = [loc[x] if x >= 0 and not svc[x] and not win[x] else -1 for x in items]
        jc = away[0] if len(away) == 1 else -1  # the part's one customer, if it has one
        gcap = [n if lu in home else min(n, cap1) for lu in ulocs]
        # one trip while capped: a base node (a load or unload) may not split the trip,
        # so it goes where the route is at its base already, before or after it
        back_ok: list[bool] | None = None
        front_ok: list[bool] | None = None
        if cap1 < _POS:
            nr_ = r.nr
            back_ok = [(loc[items[nr_[g]]] if nr_[g] < n else vend) in home for g in range(n + 1)]
            front_ok = [Pp[g] in home for g in range(n + 1)]
        zero = (0,) * dims
        best_c = _POS
        best_g: tuple[int, ...] = ()

        def arc(a: int, b: int) -> int:
            i = a * N + b
            return cpt * DUR[i] + cpm * DIST[i]

        def place(
            j: int,
            g: int,
            t: int,
            P: int,
            open_p: int,
            dl: tuple[int, ...],
            cost: int,
            gaps: tuple[int, ...],
        ) -> None:
            """Put node j at gap g, then place the rest."""
            nonlocal best_c, best_g
            u = nodes[j]
            lu = ulocs[j]
            tt = DUR[P * N + lu]
            s = earliest(u, t + tt) if tt >= 0 else None
            if s is None:
                return
            du = udem[j]
            if du is None:
                dl2 = dl
            else:
                dl2 = tuple([a + b for a, b in zip(dl, du, strict=True)])
                base = loads[g - 1] if g else zero
                for d_ in range(dims):
                    v = base[d_] + dl2[d_]
                    if v < 0 or v > cap[d_]:
                        return
            if back_ok is not None and lu in home and not back_ok[g]:
                glued = j > 0 and gaps[-1] == g
                if not (front_ok[g] if not glued else ulocs[j - 1] in home):  # type: ignore[index]
                    return
            op = P if open_p < 0 else open_p
            c2 = cost + arc(P, lu)
            if j == m - 1:
                c3 = self._finish(r, g, s + svc[u], lu, op, dl2, c2, brk, vend, empty)
                if c3 is not None and not empty and jc >= 0:
                    c3 += self._trip_tax(r, (*gaps, g), ulocs, jc, home)
                if c3 is not None and c3 < best_c:
                    best_c, best_g = c3, (*gaps, g)
            else:
                rec(j + 1, g, s + svc[u], lu, op, dl2, c2, (*gaps, g))

        def rec(
            j: int,
            g: int,
            t: int,
            P: int,
            open_p: int,
            dl: tuple[int, ...],
            cost: int,
            gaps: tuple[int, ...],
        ) -> None:
            """Scan gaps from g on for node j, carrying the pushed schedule along."""
            lt = late[j]
            gc = gcap[j]
            sd = side[j]
            lj = ulocs[j]
            while t <= lt and g <= gc:
                if open_p < 0 and cost >= best_c:
                    return
                if g >= gmin[j] and not (
                    (sd > 0 and g < n and bare_at[g] == lj)
                    or (sd < 0 and g > 0 and bare_at[g - 1] == lj and not (gaps and gaps[-1] == g))
                ):
                    place(j, g, t, P, open_p, dl, cost, gaps)
                # pass item g
                if g >= n:
                    return
                x = items[g]
                if x < 0:
                    e, lat, d, _ = brk[~x]
                    s = t if t > e else e
                    if s > lat or (open_p < 0 and s > L[g]):
                        return
                    t = s + d
                else:
                    lx = loc[x]
                    tt = DUR[P * N + lx]
                    if tt < 0:
                        return
                    s = earliest(x, t + tt)
                    if s is None or s > L[g]:
                        return
                    if dl is not zero and any(dl):
                        lg = loads[g]
                        for d_ in range(dims):
                            v = lg[d_] + dl[d_]
                            if v < 0 or v > cap[d_]:
                                return
                    if open_p >= 0:
                        cost += arc(P, lx) - arc(open_p, lx)
                        open_p = -1
                    P = lx
                    t = s + svc[x]
                g += 1

        # Node 0 is tried cheapest detour first: with the triangle inequality a
        # detour bounds the whole part's cost from below, so the scan stops early.
        # Removing nodes never lengthens a route, so the cost of node 0 with any
        # one later node j (same gap: the larger detour; else the sum) is a bound.
        # Node j >= 1 alone must fit a gap in time (node 0 only delays it): that
        # bounds the gaps, and det[j][g] (its detour alone, or _POS) the cost.
        g_hi = min(bisect.bisect_right(Dp, late[0]) - 1, gcap[0])
        det = []
        for j, lu in enumerate(ulocs):
            row = [_POS] * (n + 1)
            g_top = min(bisect.bisect_right(Dp, late[j]) - 1, gcap[j])
            for g in range(gmin[j], g_top + 1):
                P = Pp[g]
                y = r.nr[g]
                ly = loc[items[y]] if y < n else vend
                if j and not self._fits_alone(r, nodes[j], g, ly):
                    continue
                row[g] = arc(P, lu) + arc(lu, ly) - (0 if empty else arc(P, ly))
            if j:
                top = max((g for g in range(n + 1) if row[g] < _POS), default=-1)
                if top < 0:
                    return None
                g_hi = min(g_hi, top)
            det.append(row)
        sufmins = []
        for j in range(1, m):
            suf = [_POS] * (n + 2)
            for g in range(n, -1, -1):
                suf[g] = min(det[j][g], suf[g + 1])
            sufmins.append(suf)
        order = []
        s0, l0 = side[0], ulocs[0]
        for g in range(gmin[0], g_hi + 1):
            d0 = det[0][g]
            if d0 >= _POS:
                continue
            if (s0 > 0 and g < n and bare_at[g] == l0) or (s0 < 0 and g > 0 and bare_at[g - 1] == l0):
                continue
            lb = d0
            for j in range(1, m):
                dj = det[j][g]
                lb = max(lb, min(max(d0, dj), d0 + sufmins[j - 1][g + 1]))
            order.append((lb, g))
        order.sort()
        for c, g in order:
            if c >= best_c:
                break
            place(0, g, Dp[g], Pp[g], -1, zero, 0, ())
        if best_c == _POS:
            return None
        return (best_c, best_g)

    def _trip_tax(
        self, r: _Route, gaps: tuple[int, ...], ulocs: list[int], jc: int, home: tuple[int, int]
    ) -> int:
        """1 when the part's one customer (node ``jc``) lands between two stops at the
        route's base: a trip of its own, else 0.

        Why: such a trip costs exactly what an idle vehicle would pay for the part (and
        never less, by the triangle inequality); the tie must go to the idle vehicle, or a
        whole day piles onto one multi-trip route that every later insertion must scan.
        """
        g = gaps[jc]
        prev = ulocs[jc - 1] if jc > 0 and gaps[jc - 1] == g else r.Pp[g]
        if prev not in home:
            return 0
        if jc + 1 < len(gaps) and gaps[jc + 1] == g:
            nxt = ulocs[jc + 1]
        else:
            y = r.nr[g]
            nxt = self.loc[r.items[y]] if y < len(r.items) else self.vend[r.k]
        return 1 if nxt in home else 0

    def _fits_alone(self, r: _Route, u: int, g: int, ly: int) -> bool:
        """Whether ``u`` alone at gap ``g`` keeps the route's times feasible."""
        N, DUR = self.N, self.DUR
        lu = self.loc[u]
        tt = DUR[r.Pp[g] * N + lu]
        if tt < 0:
            return False
        s = self.earliest(u, r.Dp[g] + tt)
        if s is None:
            return False
        t = s + self.svc[u]
        y = r.nr[g]
        if y > g:
            brk = self.brkd[r.k]
            for j in range(g, y):
                e, lat, d, _ = brk[~r.items[j]]
                if t < e:
                    t = e
                if t > lat:
                    return False
                t += d
        tt = DUR[lu * N + ly]
        return tt >= 0 and t + tt <= r.Lr[g]

    def _finish(
        self,
        r: _Route,
        g: int,
        t: int,
        P: int,
        open_p: int,
        dl: tuple[int, ...],
        cost: int,
        brk: dict[int, tuple[int, int, int, int]],
        vend: int,
        empty: bool,
    ) -> int | None:
        """Close a multi-node placement: breaks up to the next real item, then fit."""
        items, N, DUR = r.items, self.N, self.DUR
        y = r.nr[g]
        for j in range(g, y):
            e, lat, d, _ = brk[~items[j]]
            if t < e:
                t = e
            if t > lat:
                return None
            t += d
        ly = self.loc[items[y]] if y < len(items) else vend
        tt = DUR[P * N + ly]
        if tt < 0 or t + tt > r.Lr[g]:
            return None
        if self.dims and any(dl):
            cap = self.cap[r.k]
            smax, smin = r.smax, r.smin
            for d_, q in enumerate(dl):
                if q and (smax[d_][g] + q > cap[d_] or smin[d_][g] + q < 0):
                    return None
        k = r.k
        cost += self.arc(k, P, ly)
        if not empty:
            cost -= self.arc(k, open_p, ly)
        return cost

    # --------------------------------------------------------------- setup
    def build_units(self) -> None:
        """Split visits into units (node, pair chain, group) and their parts (once per memo)."""
        memo = self.memo
        if memo is None or memo.units is None:
            self._build_units()
            if memo is not None:
                memo.units = (
                    [
                        (u.options, u.penalty, u.nodes, frozenset(u.deps), tuple(u.dependents))
                        for u in self.units
                    ],
                    [(p.nodes, p.unit, p.allowed_all, p.stops, p.svc) for p in self.parts],
                    dict(self.unit_of),
                )
            return
        units, parts, unit_of = memo.units  # type: ignore[misc]
        rng, usable = self.rng, self.usable
        some_unusable = not all(usable)
        for options, penalty, nodes, deps, dependents in units:
            unit = _Unit(options=options, penalty=penalty, nodes=nodes, deps=set(deps))
            unit.dependents = list(dependents)
            unit.waiting = len(deps)
            unit.tie = rng.random()
            self.units.append(unit)
        for nodes, uid, allowed_all, stops, svc in parts:
            allowed = [k for k in allowed_all if usable[k]] if some_unusable else allowed_all
            self.parts.append(_Part(nodes, uid, allowed, allowed_all=allowed_all, stops=stops, svc=svc))
        self.unit_of = unit_of

    def _build_units(self) -> None:
        pb = self.pb
        visits = pb.visits
        parent = {i: i for i in visits}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def union(a: int, b: int) -> None:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        for a, b in pb.pairs:
            union(a, b)
        for g in pb.groups:
            members = [i for opt in g.options for i in opt]
            for i in members[1:]:
                union(members[0], i)
        comps: dict[int, list[int]] = {}
        for i in visits:
            comps.setdefault(find(i), []).append(i)
        group_of = pb.group_of()
        pair_list: dict[int, list[tuple[int, int]]] = {}
        for a, b in pb.pairs:
            pair_list.setdefault(find(a), []).append((a, b))

        for root, members in sorted(comps.items()):
            gset = {group_of[i] for i in members if i in group_of}
            pairs = pair_list.get(root, [])
            uid = len(self.units)
            options: list[tuple[int, ...]]
            if not gset:
                pens = [pb.nodes[i].penalty for i in members]
                penalty = None if any(q is None for q in pens) else sum(pens)  # type: ignore[arg-type]
                options = [tuple(members)]
            elif len(gset) == 1 and all(i in group_of for i in members):
                grp = pb.groups[gset.pop()]
                penalty = grp.penalty
                options = list(grp.options)
                opt_of = {i: oi for oi, opt in enumerate(options) for i in opt}
                if any(opt_of[a] != opt_of[b] for a, b in pairs):
                    options = []
            else:
                penalty = None
                options = []
            unit = _Unit(options=[], penalty=penalty, nodes=frozenset(members))
            unit.tie = self.rng.random()
            self.units.append(unit)
            for i in members:
                self.unit_of[i] = uid
            for opt in options:
                parts = self._split_option(opt, pairs, unit.nodes, uid)
                if parts is not None:
                    unit.options.append(parts)
        for uid, unit in enumerate(self.units):
            for a in unit.nodes:
                for b in self.befores.get(a, ()):
                    if b not in unit.nodes:
                        unit.deps.add(self.unit_of[b])
            unit.waiting = len(unit.deps)
            for d in unit.deps:
                self.units[d].dependents.append(uid)

    def _split_option(
        self,
        opt: tuple[int, ...],
        pairs: list[tuple[int, int]],
        unit_nodes: frozenset[int],
        uid: int,
    ) -> list[int] | None:
        """Parts of one option, ordered; None when the option cannot be served."""
        oset = set(opt)
        for a in opt:  # a before inside the unit but in another option
            for b in self.befores.get(a, ()):
                if b in unit_nodes and b not in oset:
                    return None
        parent = {i: i for i in opt}

        def find(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        edges = [(a, b) for a, b in pairs if a in oset]
        for a, b in edges:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        groups: dict[int, list[int]] = {}
        for i in opt:
            groups.setdefault(find(i), []).append(i)
        prec = [(b, a) for a in opt for b in self.befores.get(a, ()) if b in oset]
        part_ids: list[int] = []
        part_of: dict[int, int] = {}
        for members in groups.values():
            mset = set(members)
            order = _topo(members, [e for e in edges + prec if e[0] in mset and e[1] in mset])
            if order is None:
                return None
            allowed = list(range(self.pb.num_vehicles))
            for i in order:
                av = self.pb.nodes[i].allowed_vehicles
                if av is not None:
                    allowed = [k for k in allowed if k in av]
            part = _Part(
                nodes=tuple(order),
                unit=uid,
                allowed=[k for k in allowed if self.usable[k]],
                allowed_all=allowed,
                stops=sum(self.stop[i] for i in order),
                svc=sum(self.svc[i] for i in order),
            )
            pid = len(self.parts)
            self.parts.append(part)
            for i in order:
                part_of[i] = pid
            part_ids.append(pid)
        # order parts so that befores come first
        part_edges = {(part_of[b], part_of[a]) for b, a in prec if part_of[b] != part_of[a]}
        ordered = _topo(part_ids, list(part_edges))
        return ordered

    def pick_candidates(self) -> None:
        """Each part's nearest allowed vehicles (by start location); only parts still to place."""
        nveh = self.pb.num_vehicles
        if not self.parts:
            return
        starts = np.array(self.vstart, dtype=np.int64)
        dur = self._dur_arr
        todo = sum(1 for u in self.units if not u.done)
        tie_rng = np.random.default_rng(self.rng.randrange(1 << 30))
        # why: each insertion re-evaluates every part listing the changed route, about
        # parts x k / vehicles of them; a smaller k on big days keeps that gentle
        k_near = NEAREST_VEHICLES
        if todo > REGRET_FULL_UNITS:
            k_near = max(MIN_NEAREST, NEAREST_VEHICLES * REGRET_FULL_UNITS // todo)
        for p in self.parts:
            if self.units[p.unit].done or not p.allowed:
                continue
            locs = [self.loc[i] for i in p.nodes]
            al = np.array(p.allowed, dtype=np.int64)
            d = dur[np.ix_(starts[al], locs)].astype(np.float64)
            d[d < 0] = np.inf
            score = d.mean(axis=1)
            # ties (a fleet at one depot) in a seeded random order: parts then spread their
            # later trips over the fleet instead of all queueing behind the lowest index
            order = np.lexsort((tie_rng.random(len(al)), score))
            if len(p.allowed) <= k_near or nveh <= k_near:
                p.cand = list(p.allowed)
                p.widened = True
                p.near = [int(al[i]) for i in order]
                continue
            p.near = [int(al[i]) for i in order[:k_near]]
            p.cand = sorted(p.near)
        for pid, p in enumerate(self.parts):
            if self.units[p.unit].done:
                continue
            for k in p.cand:
                self.veh_parts[k].add(pid)

    # ---------------------------------------------------------- evaluation
    def eval_vehicle(self, pid: int, k: int) -> None:
        """Refresh the cached insertion of part ``pid`` on vehicle ``k``."""
        p = self.parts[pid]
        r = self.routes[k]
        p.set_cost(k, None)
        if r.nreal == 0:
            c = self.cls[k]
            rep = p.reps.get(c)
            if rep is not None and rep != k and self.routes[rep].nreal == 0:
                return
            p.reps[c] = k
        else:
            c = self.cls[k]
            if p.reps.get(c) == k:
                del p.reps[c]
                for w in p.cand:  # next empty vehicle of the class stands in
                    if self.cls[w] == c and w != k and self.routes[w].nreal == 0:
                        p.reps[c] = w
                        p.set_cost(w, self.eval_part(p, self.routes[w]))
                        break
        p.set_cost(k, self.eval_part(p, r))

    def eval_full(self, pid: int) -> None:
        p = self.parts[pid]
        p.costs.clear()
        p.reps.clear()
        p.top = None
        for k in p.cand:
            self.eval_vehicle(pid, k)

    def unit_key(self, uid: int) -> tuple[object, ...] | None:
        """Heap priority of a unit, or None if it has no feasible insertion."""
        unit = self.units[uid]
        c1 = c2 = _POS
        for oi, opt in enumerate(unit.options):
            if oi in unit.dead or not self._option_possible(opt):
                continue
            if len(opt) == 1:
                b1, _, b2, _ = self.parts[opt[0]].best_two()
                if b1 < c1:
                    c1, c2 = b1, min(c1, b2)
                elif b1 < c2:
                    c2 = b1
            else:
                tot = 0
                extra = _POS
                for pid in opt:
                    b1, _, b2, _ = self.parts[pid].best_two()
                    if b1 >= _POS:
                        tot = _POS
                        break
                    tot += b1
                    if b2 < _POS:
                        extra = min(extra, b2 - b1)
                if tot >= _POS:
                    continue
                second = tot + extra if extra < _POS else _POS
                if tot < c1:
                    c1, c2 = tot, min(c1, second)
                else:
                    c2 = min(c2, tot)
        if c1 >= _POS:
            return None
        regret = _BIG_REGRET if c2 >= _POS else c2 - c1
        pen = unit.penalty
        mandatory = pen is None
        pclass = 0 if pen is None else int(math.log2(pen + 1))
        return (mandatory, pclass, regret, -c1, unit.tie)

    def _option_possible(self, opt: list[int]) -> bool:
        """False once a before outside the unit is known to be dropped."""
        for pid in opt:
            for u in self.parts[pid].nodes:
                for b in self.befores.get(u, ()):
                    if b not in self.units[self.parts[pid].unit].nodes and b not in self.where:
                        return False
        return True

    # --------------------------------------------------------------- main
    def run(self, deadline: float | None, hard: float | None = None) -> None:
        self.build_units()
        self.pick_candidates()
        self.insert_loop(deadline, hard)

    def insert_loop(self, deadline: float | None, hard: float | None = None) -> None:
        """Insert every unit not yet done, best regret first, or drop it.

        When ``deadline`` passes, the units left are placed by cheap cheapest
        insertion (:meth:`_complete`) until ``hard``; ``hard`` None means the old
        behaviour (drop the rest at ``deadline``). Units the hard deadline cuts
        are listed in ``timed_out_units``.
        """
        if hard is None:
            hard = deadline
        heap: list[tuple[object, ...]] = []
        for uid, unit in enumerate(self.units):
            if not unit.options and not unit.done:
                self._drop(uid, heap)
        for uid, unit in enumerate(self.units):
            if not unit.done and unit.waiting == 0:
                self._activate(uid, heap)
        cut = False
        while heap:
            if deadline is not None and time.perf_counter() > deadline:
                if hard is not None and hard <= deadline:
                    log.info("insertion: deadline reached, the units left stay out of this pass")
                    cut = True
                    break
                cut = not self._complete(heap, hard)
                break
            item = heapq.heappop(heap)
            uid, ver = item[-2], item[-1]
            unit = self.units[uid]
            if unit.done or ver != unit.version:
                continue
            unit.key = None  # its entry is off the heap now
            self._try_insert(uid, heap)
        for uid, unit in enumerate(self.units):
            if not unit.done:
                unit.done = True
                self.dropped_units.append(uid)
                if cut:
                    self.timed_out_units.append(uid)

    def _complete(self, heap: list[tuple[object, ...]], hard: float | None) -> bool:
        """Place the units still queued by cheapest insertion over their nearest vehicles.

        Why: the regret loop re-evaluates every part near a changed route after each
        insertion, which on a big day outlasts the budget; this pass evaluates only
        the unit being placed (a few nearest vehicles, more if none fits), so its
        cost grows linearly with the units left and the plan is always complete.
        False when ``hard`` passed first.
        """
        left = sum(1 for u in self.units if not u.done)
        log.info("construct: regret budget spent, placing the %d units left by cheapest insertion", left)
        self.lazy = True
        try:
            while heap:
                if hard is not None and time.perf_counter() > hard:
                    log.warning("construct: hard deadline reached, %d units left untried",
                                sum(1 for u in self.units if not u.done))
                    return False
                item = heapq.heappop(heap)
                uid, ver = item[-2], item[-1]
                unit = self.units[uid]
                if unit.done or ver != unit.version:
                    continue
                unit.key = None
                for opt in unit.options:
                    for pid in opt:
                        self._eval_near(pid)
                if self.unit_key(uid) is None and self._widen(uid):
                    pass  # _widen evaluated the new vehicles
                self._try_insert(uid, heap)
        finally:
            self.lazy = False
        return True

    def _eval_near(self, pid: int) -> None:
        """Fresh costs of part ``pid`` on its nearest vehicles: stop after
        ``GREEDY_NEAREST`` evaluations once two feasible ones are known."""
        p = self.parts[pid]
        p.costs.clear()
        p.reps.clear()
        p.top = None
        classes: set[int] = set()
        for seen, k in enumerate(p.near or p.cand):
            if seen >= GREEDY_NEAREST and len(p.costs) >= 2:
                break
            self.eval_vehicle(pid, k)
            classes.add(self.cls[k])
        # the nearest vehicles may all be busy: an idle one of their class costs no more
        # than a later trip on them (their later trips are capped while it is idle)
        for c in classes:
            rep = p.reps.get(c)
            if rep is not None and self.routes[rep].nreal == 0:
                continue  # an idle vehicle of the class was evaluated already
            w = self._idle_hint.get(c) if self.has_idle(c) else None
            if w is not None:
                i = bisect.bisect_left(p.allowed, w)
                if i < len(p.allowed) and p.allowed[i] == w:
                    p.reps.pop(c, None)
                    self.eval_vehicle(pid, w)

    def _push(self, uid: int, heap: list[tuple[object, ...]]) -> None:
        unit = self.units[uid]
        unit.version += 1
        key = self.unit_key(uid)
        if key is None:
            if not self._widen(uid):
                self._drop(uid, heap)
                return
            key = self.unit_key(uid)
            if key is None:
                self._drop(uid, heap)
                return
        if key == unit.key:  # its heap entry is still right
            unit.version -= 1
            return
        unit.key = key
        mand, pclass, regret, negc, tie = key  # type: ignore[misc]
        heapq.heappush(
            heap,
            (not mand, -pclass, -regret, -negc, tie, uid, unit.version),  # type: ignore[operator]
        )

    def _widen(self, uid: int) -> bool:
        """Give a stuck unit's parts every allowed vehicle; True if anything changed."""
        changed = False
        for opt in self.units[uid].options:
            for pid in opt:
                p = self.parts[pid]
                if not p.widened:
                    p.widened = True
                    have = set(p.cand)
                    extra = [k for k in p.allowed if k not in have]
                    p.cand = list(p.allowed)
                    p.near = [*p.near, *extra]
                    for k in extra:
                        self.veh_parts[k].add(pid)
                    self.eval_full(pid)
                    changed = True
        return changed

    def _activate(self, uid: int, heap: list[tuple[object, ...]]) -> None:
        """Evaluate a unit whose external befores are all decided and queue it."""
        self._set_release(tuple(self.units[uid].nodes), [])
        for opt in self.units[uid].options:
            for pid in opt:
                self.eval_full(pid)
        self._push(uid, heap)

    def _drop(self, uid: int, heap: list[tuple[object, ...]]) -> None:
        unit = self.units[uid]
        if unit.done:
            return
        unit.done = True
        self.dropped_units.append(uid)
        self._decided(uid, heap)

    def _decided(self, uid: int, heap: list[tuple[object, ...]]) -> None:
        """Wake the units waiting for this one."""
        for vid in self.units[uid].dependents:
            other = self.units[vid]
            if not other.done and uid in other.deps:
                other.deps.discard(uid)
                other.waiting -= 1
                if other.waiting == 0:
                    self._activate(vid, heap)

    def _try_insert(self, uid: int, heap: list[tuple[object, ...]]) -> None:
        """Insert the unit's best option, or drop it."""
        unit = self.units[uid]
        cands: list[tuple[int, int]] = []
        for oi, opt in enumerate(unit.options):
            if oi in unit.dead or not self._option_possible(opt):
                continue
            tot = 0
            for pid in opt:
                b1 = self.parts[pid].best_two()[0]
                if b1 >= _POS:
                    tot = _POS
                    break
                tot += b1
            if tot < _POS:
                cands.append((tot, oi))
        cands.sort()
        for tot, oi in cands:
            if unit.penalty is not None and tot > unit.penalty:
                break
            changed = self._commit(unit.options[oi])
            if changed is not None:
                unit.done = True
                self._after_change(changed, heap)
                self._decided(uid, heap)
                return
            if len(unit.options[oi]) > 1:
                unit.dead.add(oi)  # its parts do not fit together: never again
            elif unit.version < 1000:  # stale cache (should not happen): retry later
                self.eval_full(unit.options[oi][0])
                self._push(uid, heap)
                return
        self._drop(uid, heap)

    def _commit(self, opt: list[int]) -> set[int] | None:
        """Insert every part of an option; undo all of it if one part fails."""
        saved_items: dict[int, list[int]] = {}
        saved_bounds: list[tuple[list[int], int, int]] = []
        placed: list[int] = []
        changed: set[int] = set()
        for pid in opt:
            p = self.parts[pid]
            self._set_release(p.nodes, saved_bounds)
            best: tuple[int, int, tuple[int, ...]] | None = None
            for k in p.cand:
                if len(opt) == 1 and k not in p.costs:
                    continue
                res = self.eval_part(p, self.routes[k])
                if res is not None and (best is None or res[0] < best[0]):
                    best = (res[0], k, res[1])
            if best is None:
                for k, items in saved_items.items():
                    self.routes[k].items = items
                for arr, i, v in reversed(saved_bounds):
                    arr[i] = v
                for i in placed:
                    del self.where[i]
                for k in changed:
                    self.refresh(self.routes[k])
                return None
            _, k, gaps = best
            r = self.routes[k]
            saved_items.setdefault(k, list(r.items))
            new = list(r.items)
            for u, g in reversed(list(zip(p.nodes, gaps, strict=True))):
                new.insert(g, u)
            r.items = new
            for u in p.nodes:
                self.where[u] = k
                placed.append(u)
            self.refresh(r)
            changed.add(k)
            changed |= self._set_deadlines(p.nodes, saved_bounds)
        return changed

    def _set_release(self, nodes: tuple[int, ...], saved: list[tuple[list[int], int, int]]) -> None:
        for a in nodes:
            for b in self.befores.get(a, ()):
                if b in self.where:
                    rb = self.routes[self.where[b]]
                    rel = rb.E[rb.items.index(b)] + self.svc[b]
                    if rel > self.lo[a]:
                        saved.append((self.lo, a, self.lo[a]))
                        self.lo[a] = rel

    def _set_deadlines(self, nodes: tuple[int, ...], saved: list[tuple[list[int], int, int]]) -> set[int]:
        """Cap each served before on another route by this after's start."""
        changed: set[int] = set()
        for a in nodes:
            ka = self.where[a]
            ra = self.routes[ka]
            sa = ra.E[ra.items.index(a)]
            for b in self.befores.get(a, ()):
                kb = self.where.get(b)
                if kb is None or kb == ka:
                    continue
                dl = sa - self.svc[b]
                if dl < self.hi[b]:
                    saved.append((self.hi, b, self.hi[b]))
                    self.hi[b] = dl
                    self.refresh(self.routes[kb])
                    changed.add(kb)
        return changed

    def _after_change(self, changed: set[int], heap: list[tuple[object, ...]]) -> None:
        """Re-evaluate what the changed routes affect and re-key those units."""
        dirty: set[int] = set()
        for c in {self.cls[k] for k in changed}:
            had, now = self._had_idle.get(c, True), self.has_idle(c)
            self._had_idle[c] = now
            if had and not now and not self.lazy:
                # the class's last idle vehicle is taken: later trips are open again
                for w in self.members[c]:
                    if w not in changed:
                        for pid in list(self.veh_parts[w]):
                            unit = self.units[self.parts[pid].unit]
                            if not unit.done and not unit.waiting:
                                self.eval_vehicle(pid, w)
                                dirty.add(self.parts[pid].unit)
        for k in changed:
            r = self.routes[k]
            for pid in [] if self.lazy else list(self.veh_parts[k]):
                p = self.parts[pid]
                if self.units[p.unit].done:
                    self.veh_parts[k].discard(pid)
                    continue
                if self.units[p.unit].waiting:
                    continue
                self.eval_vehicle(pid, k)
                dirty.add(p.unit)
            for x in r.items:  # afters waiting on a before of this route
                if x >= 0 and x in self.afters:
                    for a in self.afters[x]:
                        ua = self.unit_of[a]
                        if not self.units[ua].done and self.units[ua].waiting == 0:
                            old = self.lo[a]
                            self.lo[a] = _NEG
                            self._set_release((a,), [])
                            if self.lo[a] != old:
                                for opt in self.units[ua].options:
                                    for pid in opt:
                                        self.eval_full(pid)
                                dirty.add(ua)
        for uid in sorted(dirty):
            if not self.units[uid].done:
                self._push(uid, heap)

    # ---------------------------------------------------- from a given plan
    def items_of(self, vr: VehicleRoute) -> list[int] | None:
        """A given route as items, each break a pause where this model takes it; None if none fits.

        A break the input takes after driving (waiting at the next place) is put
        before the drive; when that no longer fits, every other position is tried.
        """
        pb, k = self.pb, vr.vehicle
        veh = pb.vehicles[k]
        n = len(vr.visits)
        deps = [vr.start_s] + [v.start_s + self.svc[v.node] for v in vr.visits]
        nexts = [v.start_s for v in vr.visits] + [vr.end_s]
        leg_of: dict[int, int] = {}
        for bt in sorted(vr.breaks, key=lambda b: (b.start_s, b.index)):
            if not 0 <= bt.index < len(veh.breaks) or bt.index in leg_of:
                return None
            end = bt.start_s + veh.breaks[bt.index].duration_s
            li = next((i for i in range(n + 1) if deps[i] <= bt.start_s and end <= nexts[i]), None)
            leg_of[bt.index] = li if li is not None else bisect.bisect_right(deps, bt.start_s) - 1
        for idx in range(len(veh.breaks)):
            leg_of.setdefault(idx, 0)
        items: list[int] = []
        order = sorted(leg_of.items(), key=lambda kv: kv[1])
        bi = 0
        for li in range(n + 1):
            while bi < len(order) and order[bi][1] <= li:
                items.append(~order[bi][0])
                bi += 1
            if li < n:
                items.append(vr.visits[li].node)
        r = self.routes[k]
        saved = r.items
        try:
            r.items = items
            self.refresh(r)
            if r.ok:
                return items
            for x in [x for x in items if x < 0]:
                rest = [y for y in r.items if y != x]
                for g in range(len(rest) + 1):
                    r.items = rest[:g] + [x] + rest[g:]
                    self.refresh(r)
                    if r.ok:
                        break
                else:
                    r.items = rest[:0] + [x] + rest  # keep trying the other breaks
            return list(r.items) if r.ok else None
        finally:
            r.items = saved
            self.refresh(r)

    def load(self, routes: dict[int, list[int]], frozen: dict[int, VehicleRoute]) -> list[int]:
        """Start from given routes (items, breaks included) and routes kept verbatim.

        Cross-route precedences become the bounds construction leaves: the least
        schedule in which each after waits for its before's end, then each
        before capped by its after's start. Returns the vehicles whose routes do
        not fit (empty when all is well); the builder is then unusable.
        """
        where, lo, hi, svc = self.where, self.lo, self.hi, self.svc
        for k, vr in frozen.items():
            r = self.routes[k]
            self.frozen[k] = vr
            r.items = [v.node for v in vr.visits]
            r.E = [v.start_s for v in vr.visits]
            r.nreal = len(r.items)
            r.stops = sum(self.stop[x] for x in r.items)
            self.usable[k] = False
            for x in r.items:
                where[x] = k
        for k, items in routes.items():
            self.routes[k].items = list(items)
            for x in items:
                if x >= 0:
                    where[x] = k
        cross = [
            (pr.before, pr.after)
            for pr in self.pb.precedences
            if pr.before in where and pr.after in where and where[pr.before] != where[pr.after]
        ]
        touched = set(routes)
        for _ in range(len(cross) + 2):
            for k in sorted(touched):
                self.refresh(self.routes[k])
            touched = set()
            for b, a in cross:
                ka = where[a]
                rel = self._start(b) + svc[b]
                if ka not in frozen and rel > lo[a]:
                    lo[a] = rel
                    touched.add(ka)
            if not touched:
                break
        else:
            return sorted(routes)
        for b, a in cross:
            kb = where[b]
            dl = self._start(a) - svc[b]
            if kb not in frozen and dl < hi[b]:
                hi[b] = dl
                touched.add(kb)
        for k in sorted(touched):
            self.refresh(self.routes[k])
        bad = []
        for k in routes:
            r = self.routes[k]
            if not r.ok:
                bad.append(k)
            elif r.nreal:
                self.usable[k] = True
        return sorted(bad)

    def _start(self, x: int) -> int:
        r = self.routes[self.where[x]]
        return r.E[r.items.index(x)]

    def settle_units(self) -> None:
        """Units with a node served are done; the rest wait only for units not done."""
        units = self.units
        for unit in units:
            if any(i in self.where for i in unit.nodes):
                unit.done = True
        for unit in units:
            if not unit.done:
                unit.deps = {d for d in unit.deps if not units[d].done}
                unit.waiting = len(unit.deps)

    def objective(self) -> int:
        """:func:`routing.check.objective_of` of the current routes, without building them."""
        total = 0
        DUR, DIST, N, loc = self.DUR, self.DIST, self.N, self.loc
        for r in self.routes:
            if not r.nreal:
                continue
            k = r.k
            path = [self.vstart[k], *(loc[x] for x in r.items if x >= 0), self.vend[k]]
            travel = dist = 0
            for a, b in zip(path, path[1:], strict=False):
                travel += DUR[a * N + b]
                dist += DIST[a * N + b]
            total += self.fixed[k] + self.cpt[k] * travel + self.cpm[k] * dist
            if self.cps[k]:
                vr = self.frozen.get(k) or self._route_out(r)
                total += self.cps[k] * (vr.end_s - vr.start_s)
        nodes, where = self.pb.nodes, self.where
        group_of = self.pb.group_of()
        for i in self.pb.visits:
            pen = nodes[i].penalty
            if pen is not None and i not in where and i not in group_of:
                total += pen
        for g in self.pb.groups:
            if g.penalty is not None and not any(i in where for opt in g.options for i in opt):
                total += g.penalty
        return total

    # -------------------------------------------------------------- output
    def repair(self, t_start: float) -> RoutingResult:
        """Take out every unit whose precedence is broken in the built plan."""
        starts = {}
        for r in self.routes:
            for x, s in zip(r.items, r.E, strict=True):
                if x >= 0:
                    starts[x] = s
        out = set()
        for pr in self.pb.precedences:
            if pr.after in starts and (
                pr.before not in starts or starts[pr.after] < starts[pr.before] + self.svc[pr.before]
            ):
                out |= self.units[self.unit_of[pr.after]].nodes
        for r in self.routes:
            r.items = [x for x in r.items if x not in out]
            self.refresh(r)
        return self.result(t_start)

    def result(self, t_start: float) -> RoutingResult:
        routes: list[VehicleRoute] = []
        for r in self.routes:
            if r.k in self.frozen:
                routes.append(self.frozen[r.k])
            elif r.nreal:
                routes.append(self._route_out(r))
        served = {v.node for vr in routes for v in vr.visits}
        dropped = tuple(i for i in self.pb.visits if i not in served)
        res = RoutingResult(routes=tuple(routes), dropped=dropped, objective=0)
        obj = objective_of(self.pb, res)
        stats = SolveStats(
            runtime_s=time.perf_counter() - t_start,
            solutions=1,
            status="feasible",
            construction="regret",
        )
        cut = {i for uid in self.timed_out_units for i in self.units[uid].nodes}
        timed_out = tuple(i for i in dropped if i in cut)
        return RoutingResult(res.routes, dropped, obj, stats, timed_out)

    def _schedule(self, r: _Route, dep: int) -> tuple[list[int], int] | None:
        """Forward earliest starts departing at ``dep``; None if infeasible."""
        k = r.k
        N, DUR, loc = self.N, self.DUR, self.loc
        brk = self.brkd[k]
        t, P = dep, self.vstart[k]
        starts = []
        for x in r.items:
            if x >= 0:
                s = self.earliest(x, t + DUR[P * N + loc[x]])
                if s is None:
                    return None
                P = loc[x]
                t = s + self.svc[x]
            else:
                e, lat, d, _ = brk[~x]
                s = max(t, e)
                if s > lat:
                    return None
                t = s + d
            starts.append(s)
        end = t + DUR[P * N + self.vend[k]]
        if end > self.tend[k]:
            return None
        return starts, end

    def _route_out(self, r: _Route) -> VehicleRoute:
        """The route with its start delayed as far as it keeps the same end."""
        t0 = self.t0[r.k]
        base = self._schedule(r, t0)
        assert base is not None, "construct kept an infeasible route"
        lo, hi = t0, max(t0, r.lstart)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            s = self._schedule(r, mid)
            if s is not None and s[1] == base[1]:
                lo = mid
            else:
                hi = mid - 1
        starts, end = self._schedule(r, lo) or base
        visits = tuple(Visit(x, s) for x, s in zip(r.items, starts, strict=True) if x >= 0)
        breaks = tuple(BreakTaken(~x, s) for x, s in zip(r.items, starts, strict=True) if x < 0)
        return VehicleRoute(r.k, lo, visits, end, tuple(sorted(breaks, key=lambda b: b.index)))


def _topo(nodes: list[int], edges: list[tuple[int, int]]) -> list[int] | None:
    """Stable topological order of ``nodes`` under ``edges``; None on a cycle."""
    indeg = {i: 0 for i in nodes}
    succ: dict[int, list[int]] = {i: [] for i in nodes}
    for a, b in set(edges):
        succ[a].append(b)
        indeg[b] += 1
    ready = sorted(i for i in nodes if indeg[i] == 0)
    out: list[int] = []
    while ready:
        i = ready.pop(0)
        out.append(i)
        for j in sorted(succ[i]):
            indeg[j] -= 1
            if indeg[j] == 0:
                bisect.insort(ready, j)
    return out if len(out) == len(nodes) else None


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
