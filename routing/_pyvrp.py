"""PyVRP as a second backend, for problems whose every rule PyVRP models exactly.

PyVRP (0.14.1: iterated local search) is far stronger than OR-Tools on plain
VRPTW and pickup-delivery, but it knows fewer rules. :func:`fits` says whether
a :class:`RoutingProblem` can be translated without losing or loosening any
rule; :func:`solve_pyvrp` translates, solves and translates back, then checks
the result with :func:`routing.check.check_result` and refuses to hand back
anything that fails. This is the only module that imports ``pyvrp``, and only
inside functions, so the package works without it.

The translation:

- One PyVRP location per problem location (the matrices are used as they are);
  one depot per distinct terminal location; one client per single visit; one
  ``Shipment`` per (pickup, delivery) pair (PyVRP keeps both on one route,
  pickup first).
- Arc costs: each distinct (``cost_per_m``, ``cost_per_travel_s``) gets a
  routing profile whose "distance" matrix is ``cost_per_m·distances +
  cost_per_travel_s·durations`` with unit distance cost 1, so any mix of the
  two is exact. Durations are the problem's for time.
- Vehicles with identical terms form one vehicle type; ``shift`` is the type's
  [tw_early, tw_late] (capped by ``horizon_s``); ``fixed_cost`` carries over.
- Demands: load starts at zero and only grows at single visits, which is
  PyVRP's ``pickup``; a pair's +q/-q is the shipment's ``amount``.
- ``max_stops`` becomes one more load dimension in which every counted single
  visit picks up 1 and the capacity is ``max_stops``.
- Depot chains: a group of one option (load → visit, visit → unload, or load →
  visit → unload, chained by pairs) whose load sits at every vehicle's start and
  whose unload sits at every vehicle's end, both without windows, service or stop
  count, is one client with ``delivery`` (the load's amount) and ``pickup`` (the
  unload's): PyVRP's simultaneous pickup and delivery. When every vehicle starts
  and ends at that one place, that place is also a reload depot, so PyVRP may
  plan several trips as OneStop's couriers may; each trip comes back as its loads,
  its visits in order, then its unloads.
- Optional visits: ``required=False`` with a prize. OneStop's drop penalties
  are far above any route's cost (a dispatch day's: ~10¹² against arcs of ~10⁸),
  and PyVRP's load and time-warp penalties stop at ``max_penalty`` per unit: a
  prize that outweighs a whole route's excess load keeps PyVRP serving every
  client on an overloaded route, infeasible to the end. So prizes are the
  penalties scaled down, in one ratio (priority order and ratios kept), until the
  smallest is ``4·(largest arc) + (largest fixed cost) + 1``, still more than
  serving any one client (a chain or a shipment) could add; never scaled up. The
  penalty bound is raised so one unit of excess outweighs the largest prize
  (within overflow-safe sums). The result is judged by OneStop's own objective.
  Groups whose options are all single nodes become mutually exclusive
  ``ClientGroup`` s, each member carrying the group's prize: PyVRP then counts
  ``(m - 1)·prize`` more whatever it serves (a constant).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .check import check_result, objective_of
from .errors import SolverError
from .problem import RoutingProblem
from .result import RoutingResult, SolveStats, VehicleRoute, Visit

__all__ = ["available", "fits", "why_not", "solve_pyvrp"]

log = logging.getLogger(__name__)

#: Called with (objective, elapsed seconds) on each improvement.
OnSolution = Callable[[int, float], None]

_INT_MAX = int(np.iinfo(np.int64).max)
#: Matrix entries and times above this risk overflow inside PyVRP's sums.
_SAFE_MAX = 2**40


def available() -> bool:
    """Whether pyvrp is installed (an optional dependency), without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec("pyvrp") is not None
    except ValueError:  # sys.modules["pyvrp"] is None: import blocked
        return False


def why_not(problem: RoutingProblem) -> list[str]:
    """Every reason PyVRP 0.14.1 cannot model ``problem`` exactly; [] if it can.

    Kept separate from :func:`fits` so a caller (or a log line) can say why the
    OR-Tools backend was chosen.
    """
    out: list[str] = []
    if not problem.vehicles:
        out.append("no vehicles")
    if not problem.visits:
        out.append("no visits")
    nodes = problem.nodes
    used = sorted({n.location for n in nodes})
    if used:
        sub_d = problem.distances[np.ix_(used, used)]
        sub_t = problem.durations[np.ix_(used, used)]
        if (sub_d < 0).any() or (sub_t < 0).any():
            out.append("a matrix entry marks a pair with no route")
        top_d, top_t = int(sub_d.max()), int(sub_t.max())
        top_cost = max(
            (v.cost_per_m * top_d + v.cost_per_travel_s * top_t for v in problem.vehicles), default=0
        )
        if max(top_d, top_t, top_cost) > _SAFE_MAX:
            out.append("matrix entries (or entries times unit costs) too large for safe sums")
    if problem.precedences:
        out.append("precedences")
    for k, v in enumerate(problem.vehicles):
        if v.breaks:
            out.append(f"vehicle {k} has breaks")
        if v.cost_per_span_s:
            out.append(f"vehicle {k} has a span cost")
        if v.shift[0] < 0:
            out.append(f"vehicle {k} shift starts before time 0")
    all_vehicles = frozenset(range(problem.num_vehicles))
    for i in problem.visits:
        node = nodes[i]
        if len(node.windows) > 1:
            out.append(f"node {i} has several windows")
        if node.windows and node.windows[0][0] < 0:
            out.append(f"node {i} window opens before time 0")
        if node.allowed_vehicles is not None and not node.allowed_vehicles >= all_vehicles:
            out.append(f"node {i} allows only some vehicles")

    chains = _chains(problem)
    chained = {n for c in chains for n in (*c.pre, c.visit, *c.post)}
    chain_groups = {c.group for c in chains}
    paired = [n for pd in problem.pairs for n in pd if n not in chained]
    if len(set(paired)) != len(paired):
        out.append("a node sits in several pairs")
    paired_set = set(paired)
    for p, d in problem.pairs:
        if p in chained:
            continue
        q = _demand(problem, p)
        if any(x < 0 for x in q) or _demand(problem, d) != tuple(-x for x in q):
            out.append(f"pair ({p}, {d}) demands are not +q and -q")
    limits = any(v.max_stops is not None for v in problem.vehicles)
    if limits and any(nodes[n].counts_as_stop for n in paired_set):
        out.append("max_stops with paired nodes that count as stops")
    grouped: set[int] = set()
    for gi, g in enumerate(problem.groups):
        if gi in chain_groups:
            continue
        if any(len(opt) != 1 for opt in g.options):
            out.append(f"group {gi} has an option of several nodes")
        grouped.update(i for opt in g.options for i in opt)
    if grouped & paired_set:
        out.append("a paired node sits in a group")
    for i in problem.visits:
        if i not in paired_set and i not in chained and any(x < 0 for x in _demand(problem, i)):
            out.append(f"node {i} drops off load it never picked up (negative demand)")
    return out


@dataclass(frozen=True, slots=True)
class _Chain:
    """A group that PyVRP serves as one client: depot-side nodes around one visit."""

    group: int
    pre: tuple[int, ...]  # the load at the start depot, or ()
    visit: int
    post: tuple[int, ...]  # the unload at the end depot, or ()


def _chains(problem: RoutingProblem) -> list[_Chain]:
    """Groups shaped as depot chains (see the module docstring); others are not listed."""
    if not problem.vehicles:
        return []
    nodes = problem.nodes
    starts = {nodes[v.start].location for v in problem.vehicles}
    ends = {nodes[v.end].location for v in problem.vehicles}
    if len(starts) != 1 or len(ends) != 1:
        return []
    start, end = next(iter(starts)), next(iter(ends))
    pair_count: dict[int, int] = {}
    for p, d in problem.pairs:
        pair_count[p] = pair_count.get(p, 0) + 1
        pair_count[d] = pair_count.get(d, 0) + 1
    pairs = set(problem.pairs)
    in_prec = {n for pr in problem.precedences for n in (pr.before, pr.after)}
    zero = (0,) * len(problem.dimensions)

    def depot_side(i: int, loc: int) -> bool:
        nd = nodes[i]
        anyone = nd.allowed_vehicles is None or len(nd.allowed_vehicles) == problem.num_vehicles
        bare = not nd.windows and nd.service_s == 0 and not nd.counts_as_stop
        return anyone and bare and nd.location == loc

    out = []
    for gi, g in enumerate(problem.groups):
        if g.alternatives or not 2 <= len(g.nodes) <= 3 or in_prec.intersection(g.nodes):
            continue
        ids = g.nodes
        if any((a, b) not in pairs for a, b in zip(ids, ids[1:], strict=False)):
            continue
        # the chain's own pairs only: the middle node in two, the ends in one
        if any(pair_count.get(i, 0) != (2 if 0 < k < len(ids) - 1 else 1) for k, i in enumerate(ids)):
            continue
        if len(ids) == 3:
            pre, visit, post = (ids[0],), ids[1], (ids[2],)
        elif depot_side(ids[0], start):
            pre, visit, post = (ids[0],), ids[1], ()
        else:
            pre, visit, post = (), ids[0], (ids[1],)
        if not all(depot_side(i, start) for i in pre) or not all(depot_side(i, end) for i in post):
            continue
        q_in = _demand(problem, pre[0]) if pre else zero
        q_out = _demand(problem, post[0]) if post else zero
        if any(x < 0 for x in q_in) or any(x > 0 for x in q_out):
            continue
        if _demand(problem, visit) != tuple(-a - b for a, b in zip(q_in, q_out, strict=True)):
            continue
        out.append(_Chain(gi, pre, visit, post))
    return out


def fits(problem: RoutingProblem) -> bool:
    """Whether PyVRP 0.14.1 models every rule of ``problem`` exactly."""
    return not why_not(problem)


def _demand(problem: RoutingProblem, i: int) -> tuple[int, ...]:
    """Demand of node ``i`` with empty read as zero in every dimension."""
    return problem.nodes[i].demand or (0,) * len(problem.dimensions)


@dataclass
class _Model:
    """PyVRP data plus the maps back to problem indices."""

    data: Any
    client_node: list[tuple[tuple[int, ...], int, tuple[int, ...]]]  # client -> (loads, visit, unloads)
    shipment_nodes: list[tuple[int, int]]  # PyVRP shipment index -> (pickup, delivery)
    type_vehicles: list[list[int]]  # vehicle type -> problem vehicles
    prize_offset: int = 0  # PyVRP cost minus OneStop objective, whatever is served
    profiles: dict[tuple[int, int], int] = field(default_factory=dict)
    scaled: bool = False  # prizes are not the penalties: PyVRP's cost is not OneStop's
    max_penalty: float = 100_000.0  # PyVRP's per-unit bound for load and time warp
    #: per load dimension, a starting penalty at which overloading by an average client
    #: costs about an average arc (PyVRP's own start ignores the data's scale)
    load_start: tuple[float, ...] = ()


def _prize_scale(problem: RoutingProblem) -> tuple[int, int]:
    """(numerator, denominator) turning penalties into prizes (see the module docstring)."""
    pens = [g.penalty for g in problem.groups if g.penalty] + [
        problem.nodes[i].penalty for i in problem.visits if problem.nodes[i].penalty
    ]
    if not pens:
        return 1, 1
    used = sorted({n.location for n in problem.nodes})
    top_d = int(problem.distances[np.ix_(used, used)].max())
    top_t = int(problem.durations[np.ix_(used, used)].max())
    arc = max(v.cost_per_m * top_d + v.cost_per_travel_s * top_t for v in problem.vehicles)
    floor = 4 * max(arc, 1) + max(v.fixed_cost for v in problem.vehicles) + 1
    low = min(pens)
    return (floor, low) if low > floor else (1, 1)


def _build(problem: RoutingProblem, all_required: bool = False) -> _Model:
    """Translate ``problem`` (which :func:`fits`) into ``pyvrp.ProblemData``.

    ``all_required``: every visit is required (the caller knows a plan serving all
    exists, so serving all is optimal whatever the penalties): PyVRP then searches as on
    a plain VRPTW, without prizes or optional-client moves.
    """
    import pyvrp

    nodes = problem.nodes
    stops_dim = any(v.max_stops is not None for v in problem.vehicles)
    n_visits = len(problem.visits)
    num, den = _prize_scale(problem)

    def prize_of(penalty: int | None) -> int:
        return 0 if all_required else -(-(penalty or 0) * num // den)

    def load(q: tuple[int, ...], stop: int) -> list[int]:
        return [*q, stop] if stops_dim else list(q)

    n_loc = problem.durations.shape[0]
    locations = [pyvrp.Location(x=0, y=0) for _ in range(n_loc)]

    depot_locs = sorted(
        {nodes[v.start].location for v in problem.vehicles}
        | {nodes[v.end].location for v in problem.vehicles}
    )
    depot_of = {loc: i for i, loc in enumerate(depot_locs)}
    depots = [pyvrp.Depot(location=loc) for loc in depot_locs]

    group_of = problem.group_of()
    chains = _chains(problem)
    chained = {n for c in chains for n in (*c.pre, c.visit, *c.post)}
    pairs = [(p, d) for p, d in problem.pairs if p not in chained]
    paired = {n for pd in pairs for n in pd}
    singles = [i for i in problem.visits if i not in paired and i not in chained]
    client_of: dict[int, int] = {}
    clients = []
    client_node: list[tuple[tuple[int, ...], int, tuple[int, ...]]] = []
    zero = (0,) * len(problem.dimensions)
    offset = 0
    ex_groups: list[tuple[int, int]] = []  # (group index, PyVRP group index)
    for gi, g in enumerate(problem.groups):
        if len(g.options) > 1:
            ex_groups.append((gi, len(ex_groups)))
    ex_of = dict(ex_groups)
    for i in singles:
        node = nodes[i]
        early, late = node.windows[0] if node.windows else (0, _INT_MAX)
        group: int | None = None
        if i in group_of:
            g = problem.groups[group_of[i]]
            required, prize = g.penalty is None or all_required, prize_of(g.penalty)
            if group_of[i] in ex_of:
                group = ex_of[group_of[i]]
                required = False  # the group carries "required"
        else:
            required, prize = node.penalty is None or all_required, prize_of(node.penalty)
        client_of[i] = len(clients)
        client_node.append(((), i, ()))
        clients.append(
            pyvrp.Client(
                location=node.location,
                pickup=load(_demand(problem, i), int(node.counts_as_stop)),
                service_duration=node.service_s,
                tw_early=early,
                tw_late=late,
                prize=prize,
                required=required,
                group=group,
            )
        )
    for c in chains:
        node = nodes[c.visit]
        early, late = node.windows[0] if node.windows else (0, _INT_MAX)
        g = problem.groups[c.group]
        q_in = _demand(problem, c.pre[0]) if c.pre else zero
        q_out = _demand(problem, c.post[0]) if c.post else zero
        client_node.append((c.pre, c.visit, c.post))
        clients.append(
            pyvrp.Client(
                location=node.location,
                delivery=load(q_in, 0),
                pickup=load(tuple(-x for x in q_out), int(node.counts_as_stop)),
                service_duration=node.service_s,
                tw_early=early,
                tw_late=late,
                prize=prize_of(g.penalty),
                required=g.penalty is None or all_required,
            )
        )
    # a reload at the one depot is what OneStop's own load/unload stops allow
    # mid-route; only where nothing else carries load PyVRP would reset there, and
    # only when the fleet cannot carry the day in one trip each (else single trips
    # spread the work over the fleet at the same distance)
    fleet = [sum(v.capacity[d] for v in problem.vehicles) for d in range(len(problem.dimensions))]
    out_total = [sum(_demand(problem, c.pre[0])[d] for c in chains if c.pre) for d in range(len(fleet))]
    in_total = [-sum(_demand(problem, c.post[0])[d] for c in chains if c.post) for d in range(len(fleet))]
    reload = (
        any(max(a, b) > f for a, b, f in zip(out_total, in_total, fleet, strict=True))
        and not pairs
        and not stops_dim
        and len(depot_locs) == 1
        and not any(any(_demand(problem, i)) for i in singles)
    )
    groups = []
    for gi, _ in ex_groups:
        g = problem.groups[gi]
        members = [client_of[opt[0]] for opt in g.options]
        groups.append(pyvrp.ClientGroup(members, required=g.penalty is None or all_required))
        if g.penalty is not None and not all_required:
            offset += (len(members) - 1) * prize_of(g.penalty)

    shipments = []
    for p, d in pairs:
        pn, dn = nodes[p], nodes[d]
        pe, pl = pn.windows[0] if pn.windows else (0, _INT_MAX)
        de, dl = dn.windows[0] if dn.windows else (0, _INT_MAX)
        required = pn.penalty is None or dn.penalty is None or all_required
        shipments.append(
            pyvrp.Shipment(
                pickup_location=pn.location,
                delivery_location=dn.location,
                pickup_tw_early=pe,
                pickup_tw_late=pl,
                pickup_service_duration=pn.service_s,
                delivery_tw_early=de,
                delivery_tw_late=dl,
                delivery_service_duration=dn.service_s,
                amount=load(_demand(problem, p), 0),
                prize=0 if required else prize_of(pn.penalty) + prize_of(dn.penalty),
                required=required,
            )
        )

    profiles: dict[tuple[int, int], int] = {}
    dist_mats: list[np.ndarray] = []
    dur = np.asarray(problem.durations, dtype=np.int64)
    types: dict[tuple[object, ...], list[int]] = {}
    for k, v in enumerate(problem.vehicles):
        key = (
            v.start,
            v.end,
            v.shift,
            v.capacity,
            v.max_stops,
            v.fixed_cost,
            v.cost_per_m,
            v.cost_per_travel_s,
        )
        types.setdefault(key, []).append(k)
        coef = (v.cost_per_m, v.cost_per_travel_s)
        if coef not in profiles:
            profiles[coef] = len(dist_mats)
            cost = coef[0] * np.asarray(problem.distances, dtype=np.int64) + coef[1] * dur
            dist_mats.append(np.maximum(cost, 0))  # unused locations may hold negatives
    vehicle_types = []
    type_vehicles = list(types.values())
    for ks in type_vehicles:
        v = problem.vehicles[ks[0]]
        cap = list(v.capacity) + ([v.max_stops if v.max_stops is not None else n_visits] if stops_dim else [])
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(ks),
                capacity=cap,
                start_depot=depot_of[nodes[v.start].location],
                end_depot=depot_of[nodes[v.end].location],
                fixed_cost=v.fixed_cost,
                tw_early=v.shift[0],
                tw_late=min(v.shift[1], problem.horizon_s),
                unit_distance_cost=1,
                unit_duration_cost=0,
                profile=profiles[(v.cost_per_m, v.cost_per_travel_s)],
                reload_depots=[0] if reload else [],
            )
        )
    dur_mats = [np.maximum(dur, 0)] * len(dist_mats)
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=dist_mats,
        duration_matrices=dur_mats,
        groups=groups,
        shipments=shipments,
    )
    scaled = (num, den) != (1, 1) and not all_required
    used = sorted({n.location for n in nodes})
    mean_arc = float(dist_mats[0][np.ix_(used, used)].mean()) if used else 0.0
    dims = len(clients[0].delivery) if clients else 0
    start = []
    for d in range(dims):
        amounts = [c.delivery[d] + c.pickup[d] for c in clients if c.delivery[d] + c.pickup[d] > 0]
        start.append(mean_arc / (sum(amounts) / len(amounts)) if amounts else 0.0)
    # one unit of excess load (or one second of time warp) must outweigh the largest
    # prize, or PyVRP may keep an infeasible route for the prizes on it, and the bound must
    # leave the penalties room to grow from their start; it stays below what could
    # overflow PyVRP's sums over a whole solution
    top_prize = max([c.prize for c in clients] + [sh.prize for sh in shipments] + [0])
    total = sum(sum(c.delivery) + sum(c.pickup) for c in clients) + problem.horizon_s + 1
    want = max(100_000, top_prize + 1, 1000 * max(start, default=0.0))
    max_penalty = float(min(want, max(100_000, (1 << 60) // max(total, 1))))
    return _Model(
        data, client_node, pairs, type_vehicles, offset, profiles, scaled, max_penalty, tuple(start)
    )


def _schedule(problem: RoutingProblem, vehicle: int, nodes: list[int]) -> VehicleRoute:
    """Earliest-start times from the shift start (no span cost, so earliest is best)."""
    veh = problem.vehicles[vehicle]
    prev, t = veh.start, veh.shift[0]
    visits = []
    for n in nodes:
        arrive = t + problem.travel_s(prev, n)
        windows = problem.nodes[n].windows
        start = max(arrive, windows[0][0]) if windows else arrive
        visits.append(Visit(node=n, start_s=start))
        prev, t = n, start + problem.nodes[n].service_s
    end = t + problem.travel_s(prev, veh.end)
    return VehicleRoute(vehicle=vehicle, start_s=veh.shift[0], visits=tuple(visits), end_s=end)


def _convert(problem: RoutingProblem, model: _Model, solution: Any) -> tuple[RoutingResult, int]:
    """A PyVRP solution as a :class:`RoutingResult` (objective recomputed)."""
    import pyvrp

    free = [list(ks) for ks in model.type_vehicles]
    routes = []
    for route in solution.routes():
        seq: list[int] = []
        pre: list[int] = []
        mid: list[int] = []
        post: list[int] = []
        for act in route.schedule():
            if act.type == pyvrp.ActivityType.DEPOT:
                # a trip ends (reload or end): its loads, its visits, its unloads
                seq += pre + mid + post
                pre, mid, post = [], [], []
            elif act.type == pyvrp.ActivityType.CLIENT:
                before, visit, after = model.client_node[act.idx]
                pre += before
                mid.append(visit)
                post += after
            elif act.type == pyvrp.ActivityType.PICKUP:
                mid.append(model.shipment_nodes[act.idx][0])
            elif act.type == pyvrp.ActivityType.DELIVERY:
                mid.append(model.shipment_nodes[act.idx][1])
        seq += pre + mid + post
        if not seq:
            continue
        t = route.vehicle_type()
        if not free[t]:
            raise SolverError(f"PyVRP used more vehicles of type {t} than exist.")
        routes.append(_schedule(problem, free[t].pop(0), seq))
    routes.sort(key=lambda r: r.vehicle)
    served = {v.node for r in routes for v in r.visits}
    dropped = tuple(i for i in problem.visits if i not in served)
    result = RoutingResult(tuple(routes), dropped, 0)
    obj = objective_of(problem, result)
    return RoutingResult(result.routes, dropped, obj), obj


def _penalty_params(max_penalty: float, load_start: tuple[float, ...] = ()) -> Any:
    """PyVRP's penalty parameters with a higher bound, starting where the data's scale says.

    Why: PyVRP starts every penalty at the midpoint of [min, max], whatever the units: a
    raised bound alone would start the search far stricter than usual (costing quality),
    and demands of a few thousandths would start it far too loose (no feasible solution in
    seconds). Each load penalty starts at PyVRP's usual value or, if higher, at
    ``load_start`` (overloading by an average client costs about an average arc).
    """
    import pyvrp

    class _Params(pyvrp.PenaltyParams):
        def midpoint_penalties(self, data: Any) -> Any:
            loads, tw, dist = pyvrp.PenaltyParams().midpoint_penalties(data)
            loads = [
                min(max(a, load_start[d] if d < len(load_start) else 0.0), max_penalty)
                for d, a in enumerate(loads)
            ]
            return loads, tw, dist

    return _Params(max_penalty=max_penalty)


class _Stop:
    """MaxRuntime that also reports each new best feasible cost (PyVRP calls the
    stopping criterion with it every iteration, so this costs nothing)."""

    def __init__(
        self,
        limit_s: float,
        began: float,
        offset: int,
        on_solution: OnSolution | None,
        max_iterations: int | None = None,
        give_up_s: float | None = None,
    ) -> None:
        self.deadline = began + limit_s
        #: no feasible solution by then: stop, so the caller keeps time for its fallback
        self.give_up = None if give_up_s is None else began + give_up_s
        self.max_iterations = max_iterations
        self.iterations = 0
        self.began = began
        self.offset = offset
        self.on_solution = on_solution
        self.best: int | None = None
        self.trace: list[tuple[float, int]] = []

    def __call__(self, best_cost: float) -> bool:
        now = time.monotonic()
        # infeasible bests come in as a huge sentinel; report only real costs
        if best_cost < _INT_MAX // 2 and (self.best is None or best_cost < self.best):
            self.best = int(best_cost)
            value = self.best - self.offset
            self.trace.append((round(now - self.began, 3), value))
            if self.on_solution is not None:
                self.on_solution(value, now - self.began)
        if self.best is None and self.give_up is not None and now >= self.give_up:
            log.warning("PyVRP: no feasible solution after %.1f s, giving up", now - self.began)
            return True
        self.iterations += 1
        if self.max_iterations is not None and self.iterations > self.max_iterations:
            return True
        return now >= self.deadline


def solve_pyvrp(
    problem: RoutingProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    on_solution: OnSolution | None = None,
    max_iterations: int | None = None,
    give_up_s: float | None = None,
    all_required: bool = False,
) -> RoutingResult:
    """Solve ``problem`` (which must :func:`fit <fits>`) with PyVRP.

    Parameters
    ----------
    problem
        A problem for which :func:`fits` is True.
    time_limit_s
        Wall-clock budget, model building included (PyVRP's initial local
        search may overrun it slightly on large instances).
    seed
        PyVRP's random seed.
    on_solution
        Called with (objective, elapsed seconds) on each new best feasible
        solution PyVRP finds; the objective is OneStop's.
    max_iterations
        Also stop after this many PyVRP iterations: with a fixed seed the
        result is then repeatable whatever the machine's speed (tests).
    give_up_s
        Stop (and raise) when no feasible solution is known this many seconds in,
        leaving the rest of the budget to the caller's fallback.
    all_required
        Ask PyVRP to serve every visit: only when a plan serving all of them is
        known (then it is optimal to serve all, whatever the penalties).

    Returns
    -------
    RoutingResult
        A result that passed :func:`check_result`, with earliest-start times.

    Raises
    ------
    SolverError
        When the problem does not fit, pyvrp is missing, PyVRP's best solution
        is infeasible, or the converted result fails the independent check:
        the caller should fall back to OR-Tools.
    """
    began = time.monotonic()
    reasons = why_not(problem)
    if reasons:
        raise SolverError(f"PyVRP cannot model this problem: {'; '.join(reasons)}.")
    try:
        import pyvrp
    except ImportError as exc:
        raise SolverError("pyvrp is not installed.") from exc

    model = _build(problem, all_required)
    # with scaled prizes PyVRP's cost is not OneStop's objective: report only the end
    report = None if model.scaled else on_solution
    stop = _Stop(time_limit_s, began, model.prize_offset, report, max_iterations, give_up_s)
    params = pyvrp.SolveParams(penalty=_penalty_params(model.max_penalty, model.load_start))
    try:
        res = pyvrp.solve(model.data, stop, seed=seed, collect_stats=False, display=False, params=params)
    except Exception as exc:  # the C++ core raises plain RuntimeErrors
        raise SolverError(f"PyVRP failed: {exc}") from exc
    best = res.best
    if not best.is_feasible():
        raise SolverError("PyVRP found no feasible solution within the time limit.")
    result, obj = _convert(problem, model, best)
    expected = (
        int(best.distance_cost() + best.fixed_vehicle_cost() + best.uncollected_prizes()) - model.prize_offset
    )
    if obj != expected and not model.scaled:
        # not an error by itself (check_result is the judge), but a translation smell
        log.warning("PyVRP cost %d differs from the recomputed objective %d", expected, obj)
    violations = check_result(problem, result)
    if violations:
        raise SolverError(
            f"PyVRP's solution fails the check ({len(violations)} violations): {'; '.join(violations[:3])}"
        )
    runtime = round(time.monotonic() - began, 3)
    if model.scaled:
        stop.trace = [(runtime, obj)]
        if on_solution is not None:
            on_solution(obj, time.monotonic() - began)
    elif not stop.trace or stop.trace[-1][1] != obj:
        stop.trace.append((runtime, obj))
        if on_solution is not None:
            on_solution(obj, time.monotonic() - began)
    log.debug("PyVRP: objective %d in %.2f s, %d iterations", obj, runtime, res.num_iterations)
    stats = SolveStats(
        runtime_s=runtime,
        solutions=len(stop.trace),
        status="pyvrp",
        construction="pyvrp",
        objective_trace=tuple(stop.trace),
    )
    return RoutingResult(result.routes, result.dropped, obj, stats)
