"""Loading given plans, writing results, and repair."""

from __future__ import annotations

import bisect
import logging
import time

from ..check import objective_of
from ..result import BreakTaken, RoutingResult, SolveStats, VehicleRoute, Visit
from .route import _Route

log = logging.getLogger(__name__)


class _Repair:
    """From a given plan in, to a checked result out: adopting routes, timing
    them with breaks, and dropping what a (never expected) bug broke.
    """

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
