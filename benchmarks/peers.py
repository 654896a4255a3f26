"""Peer solvers (PyVRP, VROOM) on the same integer data as OneStop.

Both get the problem's own scaled matrices, so they solve in the same
rounding convention; their routes come back as node lists and are scheduled
by :func:`benchmarks.validate.schedule`, then checked like any other row.
Only benchmark-shaped problems are supported: one window per node, vehicles
that start and end at one node each, pairs as shipments.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from onestop.routing import RoutingProblem, RoutingResult

from .validate import schedule

PeerSolve = Callable[[RoutingProblem, float, int], RoutingResult]

#: Peer name → the module it needs (the ``peers`` extra).
PEER_MODULES = {"pyvrp": "pyvrp", "vroom": "vroom"}


def available(name: str) -> bool:
    """Whether the peer's package is installed."""
    mod = PEER_MODULES.get(name)
    return mod is not None and importlib.util.find_spec(mod) is not None


def _window(problem: RoutingProblem, n: int) -> tuple[int, int]:
    """The single window of node ``n`` (the horizon when it has none)."""
    windows = problem.nodes[n].windows
    if len(windows) > 1:
        raise ValueError(f"peers support one window per node; node {n} has {len(windows)}.")
    return windows[0] if windows else (0, problem.horizon_s)


def _split_visits(problem: RoutingProblem) -> tuple[list[int], list[tuple[int, int]]]:
    """Single visits and (pickup, delivery) pairs."""
    paired = {n for pd in problem.pairs for n in pd}
    if len(paired) != 2 * len(problem.pairs):
        raise ValueError("peers support each node in at most one pair.")
    singles = [n for n in problem.visits if n not in paired]
    return singles, list(problem.pairs)


def _vehicle_groups(problem: RoutingProblem) -> list[list[int]]:
    """Vehicles grouped by identical (start, end, shift, capacity)."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for k, v in enumerate(problem.vehicles):
        groups.setdefault((v.start, v.end, v.shift, v.capacity), []).append(k)
    return list(groups.values())


def _assign(
    problem: RoutingProblem, typed_routes: list[tuple[int, list[int]]], groups: list[list[int]]
) -> list[tuple[int, list[int]]]:
    """Give each (vehicle type, nodes) route a concrete vehicle of that type."""
    free = [list(g) for g in groups]
    out = []
    for t, nodes in typed_routes:
        if not free[t]:
            raise ValueError(f"peer used more vehicles of type {t} than exist.")
        out.append((free[t].pop(0), nodes))
    return out


def solve_pyvrp(problem: RoutingProblem, time_limit_s: float, seed: int) -> RoutingResult:
    """Solve with PyVRP's iterated local search for ``time_limit_s`` seconds."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    singles, pairs = _split_visits(problem)
    groups = _vehicle_groups(problem)
    terminals = sorted(
        {problem.vehicles[g[0]].start for g in groups} | {problem.vehicles[g[0]].end for g in groups}
    )
    depot_of = {n: i for i, n in enumerate(terminals)}
    n_loc = problem.durations.shape[0]
    locations = [pyvrp.Location(x=0, y=0) for _ in range(n_loc)]
    depots = [pyvrp.Depot(problem.nodes[n].location, 0, problem.horizon_s) for n in terminals]
    clients = []
    for n in singles:
        node = problem.nodes[n]
        q = node.demand[0] if node.demand else 0
        early, late = _window(problem, n)
        clients.append(
            pyvrp.Client(
                location=node.location,
                delivery=[max(-q, 0)] if problem.dimensions else [],
                pickup=[max(q, 0)] if problem.dimensions else [],
                service_duration=node.service_s,
                tw_early=early,
                tw_late=late,
                required=node.penalty is None,
                prize=node.penalty or 0,
            )
        )
    shipments = []
    for p, d in pairs:
        pn, dn = problem.nodes[p], problem.nodes[d]
        (pe, pl), (de, dl) = _window(problem, p), _window(problem, d)
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
                amount=[pn.demand[0]] if pn.demand else [],
                required=pn.penalty is None,
                prize=pn.penalty or 0,
            )
        )
    vehicle_types = []
    for g in groups:
        v = problem.vehicles[g[0]]
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(g),
                capacity=list(v.capacity),
                start_depot=depot_of[v.start],
                end_depot=depot_of[v.end],
                tw_early=v.shift[0],
                tw_late=min(v.shift[1], problem.horizon_s),
                unit_distance_cost=v.cost_per_m,
                unit_duration_cost=v.cost_per_travel_s,
                fixed_cost=v.fixed_cost,
            )
        )
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[np.asarray(problem.distances)],
        duration_matrices=[np.asarray(problem.durations)],
        shipments=shipments,
    )
    res = pyvrp.solve(data, MaxRuntime(time_limit_s), seed=seed, display=False)
    typed = []
    for route in res.best.routes():
        nodes = []
        for act in route.schedule():
            if act.type == pyvrp.ActivityType.CLIENT:
                nodes.append(singles[act.idx])
            elif act.type == pyvrp.ActivityType.PICKUP:
                nodes.append(pairs[act.idx][0])
            elif act.type == pyvrp.ActivityType.DELIVERY:
                nodes.append(pairs[act.idx][1])
        if nodes:
            typed.append((route.vehicle_type(), nodes))
    served = {n for _, r in typed for n in r}
    dropped = [n for n in problem.visits if n not in served]
    # An infeasible best solution keeps its routes: the checker reports them.
    return schedule(problem, _assign(problem, typed, groups), dropped)


def solve_vroom(problem: RoutingProblem, time_limit_s: float, seed: int) -> RoutingResult:
    """Solve with VROOM (exploration level 5, one thread), stopped at the limit.

    VROOM minimises its cost (travel duration here, which equals the scaled
    distance) after assigning as many tasks as it can; ``seed`` is unused
    because VROOM is deterministic.
    """
    import vroom

    del seed
    singles, pairs = _split_visits(problem)
    inp = vroom.Input()
    inp.set_durations_matrix(profile="car", matrix_input=np.asarray(problem.durations))
    inp.set_distances_matrix(profile="car", matrix_input=np.asarray(problem.distances))
    for k, v in enumerate(problem.vehicles):
        inp.add_vehicle(
            vroom.Vehicle(
                k,
                start=problem.nodes[v.start].location,
                end=problem.nodes[v.end].location,
                capacity=vroom.Amount(list(v.capacity)),
                time_window=vroom.TimeWindow(v.shift[0], min(v.shift[1], problem.horizon_s)),
            )
        )

    def tws(n: int) -> list[vroom.TimeWindow]:
        return [vroom.TimeWindow(*_window(problem, n))]

    dims = len(problem.dimensions)
    for n in singles:
        node = problem.nodes[n]
        q = node.demand[0] if node.demand else 0
        inp.add_job(
            vroom.Job(
                n,
                location=node.location,
                default_service=node.service_s,
                pickup=vroom.Amount([max(q, 0)] * min(dims, 1)),
                delivery=vroom.Amount([max(-q, 0)] * min(dims, 1)),
                time_windows=tws(n),
            )
        )
    for p, d in pairs:
        pn, dn = problem.nodes[p], problem.nodes[d]
        inp.add_shipment(
            vroom.ShipmentStep(p, location=pn.location, default_service=pn.service_s, time_windows=tws(p)),
            vroom.ShipmentStep(d, location=dn.location, default_service=dn.service_s, time_windows=tws(d)),
            amount=vroom.Amount(list(pn.demand)),
        )
    sol = inp.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit_s))
    routes: dict[int, list[int]] = {}
    df = sol.routes
    for vid, typ, jid in zip(df["vehicle_id"], df["type"], df["id"], strict=True):
        if typ in ("job", "pickup", "delivery"):
            routes.setdefault(int(vid), []).append(int(jid))
    served = {n for r in routes.values() for n in r}
    dropped = [n for n in problem.visits if n not in served]
    return schedule(problem, sorted(routes.items()), dropped)


PEERS: dict[str, PeerSolve] = {"pyvrp": solve_pyvrp, "vroom": solve_vroom}


def versions() -> dict[str, str]:
    """Installed versions of the peer packages (for the report)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("pyvrp", "pyvroom"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out
