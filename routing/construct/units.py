"""Units and parts: what the construction inserts or drops as a whole."""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ._const import _BIG_REGRET, _POS, MIN_NEAREST, NEAREST_VEHICLES, REGRET_FULL_UNITS

log = logging.getLogger(__name__)


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


class _Units:
    """What gets inserted: units (all-or-nothing jobs), their options and parts, and
    each part's candidate vehicles.
    """

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
