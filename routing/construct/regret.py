"""The regret loop and the cheap completion pass."""

from __future__ import annotations

import bisect
import heapq
import logging
import time

from ._const import _NEG, _POS, GREEDY_NEAREST

log = logging.getLogger(__name__)


class _Regret:
    """The insertion loop: regret-2 while the soft deadline holds, cheapest
    insertion after it, commits and what they invalidate.
    """

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
