"""Route state: one vehicle's items and their schedule, the primitive every evaluation reads."""

from __future__ import annotations

import logging

from ..timing import start_in
from ._const import _NEG, _POS

log = logging.getLogger(__name__)


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


class _Timing:
    """The one route-state primitive: a route's forward earliest starts, backward
    latest starts and loads (:class:`_Route`), kept by :meth:`refresh`; windows are read
    by :func:`routing.timing.start_in`, the rule every schedule in OneStop uses.
    """

    # ------------------------------------------------------------------ time
    def earliest(self, u: int, a: int) -> int | None:
        """Earliest start of ``u`` arriving at ``a`` (windows and precedence bounds)."""
        lo = self.lo[u]
        if a < lo:
            a = lo
        ws = self.win[u]
        s = start_in(ws, a) if ws else a  # no window: now (the call costs on this hot path)
        return None if s is None or s > self.hi[u] else s

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
