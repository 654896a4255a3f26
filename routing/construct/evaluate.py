"""Evaluation: where a part fits in a route and what it costs."""

from __future__ import annotations

import bisect
import logging

from ._const import _NEG, _POS
from .route import _Route
from .units import _Part

log = logging.getLogger(__name__)


class _Evaluate:
    """Cheapest feasible insertion of a part into a route, O(1)-ish per position
    from the route state.
    """

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
            if any(side):
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
