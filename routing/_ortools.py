"""The one module that imports OR-Tools: RoutingProblem → model → RoutingResult.

OR-Tools 9.15's wheel keeps routing under ``ortools.constraint_solver``; the
newer ``ortools.routing`` layout is a one-file change here when it arrives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .errors import SolverError
from .problem import Node, RoutingProblem
from .result import BreakTaken, RoutingResult, SolveStats, VehicleRoute, Visit
from .settings import SolverSettings

log = logging.getLogger(__name__)

#: Called with (objective, seconds since the search began) on each improvement.
OnSolution = Callable[[int, float], None]

_STATUS = {
    0: "not_solved",
    1: "success",
    2: "partial_success_timeout",
    3: "fail",
    4: "fail_timeout",
    5: "invalid",
    6: "infeasible",
    7: "optimal",
}


@dataclass
class _Model:
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension
    break_vars: dict[int, list[pywrapcp.IntervalVar]]
    #: node → its twin: OR-Tools crashes when one node sits in two pickup–
    #: delivery pairs, so a swap node gets a zero-time twin that must follow it
    #: at once and takes over its role as the pickup of the second pair.
    twins: dict[int, int]


def _node_matrix(nodes: list[Node], locmat: np.ndarray, big: int) -> np.ndarray:
    """Location matrix expanded to nodes, with no-route pairs made prohibitive."""
    loc = np.fromiter((n.location for n in nodes), dtype=np.int64, count=len(nodes))
    m = locmat[np.ix_(loc, loc)].astype(np.int64)
    m[m < 0] = big
    return m


def _with_twins(problem: RoutingProblem) -> tuple[list[Node], list[tuple[int, int]], dict[int, int]]:
    deliveries = {q for _, q in problem.pairs}
    nodes = list(problem.nodes)
    twins: dict[int, int] = {}
    pairs = []
    for p, q in problem.pairs:
        if p in deliveries:
            if p not in twins:
                src = problem.nodes[p]
                twins[p] = len(nodes)
                zero = tuple(0 for _ in src.demand)
                nodes.append(Node(src.location, (), 0, zero, src.allowed_vehicles, None, False))
            pairs.append((twins[p], q))
        else:
            pairs.append((p, q))
    return nodes, pairs, twins


def build_model(problem: RoutingProblem) -> _Model:
    """Translate every rule of the problem into OR-Tools' model."""
    vehicles = problem.vehicles
    nodes, pairs, twins = _with_twins(problem)
    n, k = len(nodes), problem.num_vehicles
    horizon = problem.horizon_s
    big = horizon + 1
    manager = pywrapcp.RoutingIndexManager(n, k, [v.start for v in vehicles], [v.end for v in vehicles])
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    travel = _node_matrix(nodes, problem.durations, big)
    dist = _node_matrix(nodes, problem.distances, big)
    service = np.fromiter((nd.service_s for nd in nodes), dtype=np.int64, count=n)

    # Time: transit = service at the origin + travel.
    time_transit = travel + service[:, None]
    np.fill_diagonal(time_transit, 0)
    time_cb = routing.RegisterTransitMatrix(time_transit.tolist())
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")

    # Arc costs, one evaluator per distinct (per-second, per-metre) pair.
    evaluators: dict[tuple[int, int], int] = {}
    no_route = (travel >= big) | (dist >= big)
    for vi, v in enumerate(vehicles):
        key = (v.cost_per_travel_s, v.cost_per_m)
        if key not in evaluators:
            cost = travel * v.cost_per_travel_s + dist * v.cost_per_m
            cost[no_route] = big * max(1, v.cost_per_travel_s + v.cost_per_m)
            evaluators[key] = routing.RegisterTransitMatrix(cost.tolist())
        routing.SetArcCostEvaluatorOfVehicle(evaluators[key], vi)
        if v.fixed_cost:
            routing.SetFixedCostOfVehicle(v.fixed_cost, vi)
        if v.cost_per_span_s:
            time_dim.SetSpanCostCoefficientForVehicle(v.cost_per_span_s, vi)

    # Shifts. No finalizer pushes departures late: with break intervals tied to
    # the route's span it makes OR-Tools reject valid starting routes; the plan
    # builder moves departures as late as the first stop allows instead.
    for vi, v in enumerate(vehicles):
        start, end = routing.Start(vi), routing.End(vi)
        time_dim.CumulVar(start).SetRange(v.shift[0], v.shift[1])
        time_dim.CumulVar(end).SetRange(v.shift[0], v.shift[1])

    # Windows on the start of service.
    terminals = {v.start for v in vehicles} | {v.end for v in vehicles}
    for i, nd in enumerate(nodes):
        if i in terminals or not nd.windows:
            continue
        var = time_dim.CumulVar(manager.NodeToIndex(i))
        lo, hi = nd.windows[0][0], nd.windows[-1][1]
        var.SetRange(max(0, lo), min(horizon, hi))
        for (_, a_late), (b_early, _) in zip(nd.windows, nd.windows[1:], strict=False):
            if b_early - a_late > 1:
                var.RemoveInterval(a_late + 1, b_early - 1)

    # Capacity dimensions: load starts empty and stays within [0, capacity].
    for d, name in enumerate(problem.dimensions):
        demand = [nd.demand[d] if nd.demand else 0 for nd in nodes]
        cb = routing.RegisterUnaryTransitVector(demand)
        caps = [v.capacity[d] for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, f"cap:{name}")

    # Stop counts for max_stops.
    if any(v.max_stops is not None for v in vehicles):
        counts = [1 if (nd.counts_as_stop and i not in terminals) else 0 for i, nd in enumerate(nodes)]
        cb = routing.RegisterUnaryTransitVector(counts)
        caps = [v.max_stops if v.max_stops is not None else n for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "stops")

    # Allowed vehicles.
    for i, nd in enumerate(nodes):
        if nd.allowed_vehicles is not None and i not in terminals:
            routing.VehicleVar(manager.NodeToIndex(i)).SetValues([-1, *sorted(nd.allowed_vehicles)])

    # Pickup and delivery.
    for p, q in pairs:
        pi, qi = manager.NodeToIndex(p), manager.NodeToIndex(q)
        routing.AddPickupAndDelivery(pi, qi)
        solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(qi))
        solver.Add(time_dim.CumulVar(pi) <= time_dim.CumulVar(qi))
    for x, tw in twins.items():
        xi, ti = manager.NodeToIndex(x), manager.NodeToIndex(tw)
        routing.NextVar(xi).SetValues([xi, ti])
        routing.AddDisjunction([ti], 0)
        solver.Add(routing.ActiveVar(ti) == routing.ActiveVar(xi))

    # Groups: one disjunction over the options' first nodes; the rest follow.
    grouped: set[int] = set()
    for g in problem.groups:
        heads = [manager.NodeToIndex(opt[0]) for opt in g.options]
        if g.penalty is None:
            routing.AddDisjunction(heads)  # no penalty: exactly one option
        else:
            routing.AddDisjunction(heads, g.penalty, 1)
        for opt in g.options:
            head = manager.NodeToIndex(opt[0])
            for other in opt[1:]:
                oi = manager.NodeToIndex(other)
                routing.AddDisjunction([oi], 0)
                solver.Add(routing.ActiveVar(oi) == routing.ActiveVar(head))
            grouped.update(opt)
    for i in problem.visits:
        if i in grouped:
            continue
        pen = nodes[i].penalty
        if pen is not None:
            routing.AddDisjunction([manager.NodeToIndex(i)], pen)

    # Cross-route precedence: `after` needs `before`, and starts once it ends.
    for pr in problem.precedences:
        bi, ai = manager.NodeToIndex(pr.before), manager.NodeToIndex(pr.after)
        solver.Add(routing.ActiveVar(ai) <= routing.ActiveVar(bi))
        m = 2 * horizon + int(service[pr.before])
        solver.Add(
            time_dim.CumulVar(ai) + m * (1 - routing.ActiveVar(ai))
            >= time_dim.CumulVar(bi) + int(service[pr.before])
        )

    # Breaks: inside their window. Not tied to the route's span: OR-Tools' cumul
    # scheduler ignores such side constraints and then rejects valid routes; a
    # break before the start or after the end is laid out by the plan builder.
    break_vars: dict[int, list[pywrapcp.IntervalVar]] = {}
    # indexed by OR-Tools index, not node: starts and ends come last
    visit_transit = [int(service[manager.IndexToNode(i)]) for i in range(manager.GetNumberOfIndices())]
    for vi, v in enumerate(vehicles):
        if not v.breaks:
            continue
        ivs = []
        for bi, b in enumerate(v.breaks):
            # optional, and taken exactly when the vehicle is used: OR-Tools fails
            # on mandatory breaks of unused vehicles (google/or-tools#1243)
            iv = solver.FixedDurationIntervalVar(
                b.earliest_s, b.latest_s - b.duration_s, b.duration_s, True, f"break:{vi}:{bi}"
            )
            solver.Add(iv.PerformedExpr() == routing.ActiveVehicleVar(vi))
            ivs.append(iv)
        time_dim.SetBreakIntervalsOfVehicle(ivs, vi, visit_transit)
        break_vars[vi] = ivs

    return _Model(manager, routing, time_dim, break_vars, twins)


def search_parameters(
    settings: SolverSettings,
    time_limit_s: float,
    solution_limit: int | None,
) -> pywrapcp.RoutingSearchParameters:
    """The only place settings become OR-Tools search parameters."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, settings.first_solution)
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, settings.metaheuristic
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    params.lns_time_limit.FromMilliseconds(max(1, int(settings.lns_time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    # Without full propagation OR-Tools rejects valid routes of vehicles with
    # breaks (measured: 58 of 98 routes of a 600-job day refused).
    params.use_full_propagation = True
    params.log_search = settings.log_search
    return params


def _extract(problem: RoutingProblem, model: _Model, assignment: pywrapcp.Assignment) -> RoutingResult:
    manager, routing, time_dim = model.manager, model.routing, model.time_dim
    routes = []
    served: set[int] = set()
    for vi in range(problem.num_vehicles):
        idx = routing.Start(vi)
        start_s = assignment.Value(time_dim.CumulVar(idx))
        visits = []
        idx = assignment.Value(routing.NextVar(idx))
        twin_nodes = set(model.twins.values())
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            if node in twin_nodes:
                idx = assignment.Value(routing.NextVar(idx))
                continue
            visits.append(Visit(node, assignment.Value(time_dim.CumulVar(idx))))
            served.add(node)
            idx = assignment.Value(routing.NextVar(idx))
        end_s = assignment.Value(time_dim.CumulVar(idx))
        if not visits:
            continue
        breaks = tuple(
            BreakTaken(bi, assignment.StartValue(iv))
            for bi, iv in enumerate(model.break_vars.get(vi, []))
            if assignment.PerformedValue(iv)
        )
        # a break OR-Tools puts before departure or after return is taken at home
        # or at the depot: the route's span grows to hold it
        durations = [problem.vehicles[vi].breaks[b.index].duration_s for b in breaks]
        start_s = min([start_s] + [b.start_s for b in breaks])
        end_s = max([end_s] + [b.start_s + d for b, d in zip(breaks, durations, strict=True)])
        routes.append(VehicleRoute(vi, start_s, tuple(visits), end_s, breaks))
    dropped = tuple(i for i in problem.visits if i not in served)
    return RoutingResult(tuple(routes), dropped, int(assignment.ObjectiveValue()))


def solve_ortools(
    problem: RoutingProblem,
    settings: SolverSettings,
    *,
    time_limit_s: float,
    solution_limit: int | None = None,
    initial: RoutingResult | None = None,
    on_solution: OnSolution | None = None,
) -> RoutingResult | None:
    """Search with OR-Tools; ``None`` when it finds nothing in time.

    With ``initial`` the search starts from those routes (OneStop's own
    construction); without it OR-Tools builds its own first solution.
    """
    began = time.monotonic()
    model = build_model(problem)
    routing = model.routing
    trace: list[tuple[float, int]] = []
    count = 0

    def _on_solution() -> None:
        nonlocal count
        count += 1
        value = int(routing.CostVar().Max())
        elapsed = time.monotonic() - began
        if not trace or value < trace[-1][1]:
            trace.append((round(elapsed, 3), value))
            if on_solution is not None:
                on_solution(value, elapsed)

    routing.AddAtSolutionCallback(_on_solution)
    build_s = time.monotonic() - began
    remaining = max(0.05, time_limit_s - build_s)
    params = search_parameters(settings, remaining, solution_limit)
    try:
        if initial is not None:
            routing.CloseModelWithParameters(params)
            seq = [[] for _ in range(problem.num_vehicles)]
            for r in initial.routes:
                for v in r.visits:
                    seq[r.vehicle].append(model.manager.NodeToIndex(v.node))
                    if v.node in model.twins:
                        seq[r.vehicle].append(model.manager.NodeToIndex(model.twins[v.node]))
            start = routing.ReadAssignmentFromRoutes(seq, True)
            if start is None:
                # Seen with many vehicles with breaks: OR-Tools cannot place the
                # break intervals of valid routes. A search from scratch is then
                # slow and usually fails too, so the construction stands.
                log.warning("OR-Tools refused the constructed routes; keeping them")
                return None
            else:
                assignment = routing.SolveFromAssignmentWithParameters(start, params)
        else:
            assignment = routing.SolveWithParameters(params)
    except Exception as exc:  # OR-Tools raises plain Exceptions from SWIG
        raise SolverError(f"OR-Tools failed: {exc}") from exc
    status = _STATUS.get(routing.status(), str(routing.status()))
    if assignment is None:
        log.info("OR-Tools found no solution (%s)", status)
        return None
    result = _extract(problem, model, assignment)
    stats = SolveStats(
        runtime_s=round(time.monotonic() - began, 3),
        solutions=count,
        status=status,
        construction="own" if initial is not None else settings.first_solution,
        objective_trace=tuple(trace),
    )
    return RoutingResult(result.routes, result.dropped, result.objective, stats)
