"""The result checker finds exactly the rule a hand-made result breaks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from onestop.routing import (
    Break,
    BreakTaken,
    Group,
    Node,
    Precedence,
    RoutingProblem,
    RoutingResult,
    Vehicle,
    VehicleRoute,
    Visit,
)
from onestop.routing.check import check_result, objective_of

DUR = np.array([[0, 10, 20, 30], [10, 0, 10, 20], [20, 10, 0, 10], [30, 20, 10, 0]])


def problem(**changes: object) -> RoutingProblem:
    """Depot 0; pair 1→2; node 3 (window, load); group {4} | {5, 6}; mandatory 7."""
    nodes = (
        Node(0),
        Node(1, windows=((0, 100),), service_s=5, penalty=100),
        Node(2, service_s=5, penalty=100),
        Node(3, windows=((40, 60),), service_s=10, demand=(2,), penalty=50),
        Node(1, service_s=5, demand=(1,)),
        Node(2),
        Node(3),
        Node(2),
    )
    vehicles = (
        Vehicle(0, 0, (0, 1000), capacity=(3,), breaks=(Break(30, 200, 10),), max_stops=5),
        Vehicle(0, 0, (0, 1000), capacity=(3,)),
    )
    base = RoutingProblem(
        durations=DUR, distances=DUR * 10, nodes=nodes, vehicles=vehicles, pairs=((1, 2),),
        groups=(Group(nodes=(4,), penalty=70, alternatives=((5, 6),)),),
        precedences=(Precedence(4, 3),), dimensions=("units",),
    )
    return base.replace(**changes) if changes else base


def with_node(pb: RoutingProblem, i: int, **changes: object) -> RoutingProblem:
    nodes = list(pb.nodes)
    nodes[i] = replace(nodes[i], **changes)  # type: ignore[arg-type]
    return pb.replace(nodes=tuple(nodes))


def with_vehicle(pb: RoutingProblem, k: int, **changes: object) -> RoutingProblem:
    vs = list(pb.vehicles)
    vs[k] = replace(vs[k], **changes)  # type: ignore[arg-type]
    return pb.replace(vehicles=tuple(vs))


def r0(visits: tuple[tuple[int, int], ...] = ((1, 10), (2, 25), (3, 40)), end: int = 110,
       breaks: tuple[tuple[int, int], ...] = ((0, 100),), start: int = 0) -> VehicleRoute:
    return VehicleRoute(
        0, start, tuple(Visit(n, s) for n, s in visits), end,
        tuple(BreakTaken(i, s) for i, s in breaks),
    )


def r1(visits: tuple[tuple[int, int], ...] = ((4, 10), (7, 25)), end: int = 45,
       start: int = 0) -> VehicleRoute:
    return VehicleRoute(1, start, tuple(Visit(n, s) for n, s in visits), end)


def result(routes: tuple[VehicleRoute, ...] | None = None,
           dropped: tuple[int, ...] = (5, 6), objective: int = 100) -> RoutingResult:
    return RoutingResult(routes=routes if routes is not None else (r0(), r1()),
                         dropped=dropped, objective=objective)


def test_valid_result_has_no_violation() -> None:
    """The hand-made reference result breaks no rule and its objective is recomputed."""
    assert check_result(problem(), result(), objective=True) == []
    assert objective_of(problem(), result()) == 100


def test_objective_counts_penalties_and_costs() -> None:
    """Dropped standalone nodes and dropped groups add their penalties; fixed costs count."""
    pb = with_vehicle(problem(), 1, fixed_cost=7, cost_per_span_s=2)
    res = result((r0(((1, 10), (2, 25)), end=110),), dropped=(3, 4, 5, 6, 7))
    # travel 10+10+20 = 40; penalties: node 3 (50) + group (70); 7 is mandatory (0)
    assert objective_of(pb, res) == 40 + 50 + 70
    res1 = result((r0(), r1()))
    assert objective_of(pb, res1) == 100 + 7 + 2 * 45


CASES = {
    # name: (problem, result, word expected in the one violation)
    "starts before shift": (problem(), result((r0(), r1(start=-5))), "before its shift"),
    "ends after shift": (with_vehicle(problem(), 1, shift=(0, 40)), result(), "after its shift"),
    "after horizon": (problem(horizon_s=100), result(), "horizon"),
    "outside window": (
        problem(), result((r0(((1, 10), (2, 25), (3, 61)), end=111), r1())),
        "outside its windows"),
    "before arrival": (
        problem(), result((r0(((1, 10), (2, 24), (3, 40))), r1())), "after it starts"),
    "end before arrival": (problem(), result((r0(), r1(end=44))), "end node"),
    "no route": (
        problem(durations=np.where((np.arange(4)[:, None] == 2) & (np.arange(4) == 3), -1, DUR)),
        result(), "no route"),
    "capacity": (with_vehicle(problem(), 0, capacity=(1,)), result(), "capacity"),
    "allowed": (with_node(problem(), 3, allowed_vehicles=frozenset({1})), result(), "allow"),
    "max stops": (with_vehicle(problem(), 0, max_stops=2), result(), "max_stops"),
    "pair part": (
        problem(), result((r0(((1, 10), (3, 40))), r1()), dropped=(2, 5, 6)), "only in part"),
    "pair split": (
        problem(),
        result((r0(((1, 10), (3, 40))), r1(((4, 10), (7, 25), (2, 35)), end=60))),
        "split"),
    "pair order": (
        problem(), result((r0(((2, 20), (1, 35), (3, 60))), r1())), "before pickup"),
    "group part": (
        problem(precedences=()), result((r0(), r1(((5, 20), (7, 20)), end=40)), dropped=(4, 6)),
        "in part"),
    "group two options": (
        problem(), result((r0(), r1(((4, 10), (5, 25), (7, 25)), end=45)), dropped=(6,)),
        "several options"),
    "mandatory group": (
        problem(groups=(Group(nodes=(4,), penalty=None, alternatives=((5, 6),)),),
                precedences=()),
        result((r0(), r1(((7, 20),), end=40)), dropped=(4, 5, 6)), "mandatory group"),
    "precedence missing": (
        problem(), result((r0(), r1(((5, 20), (6, 30), (7, 40)), end=60)), dropped=(4,)),
        "served without"),
    "precedence timing": (
        with_node(problem(), 4, service_s=35), result((r0(), r1(((4, 10), (7, 55)), end=75))),
        "before 4 ends"),
    "mandatory node": (
        problem(), result((r0(), r1(((4, 10),), end=25)), dropped=(5, 6, 7)), "mandatory node"),
    "served twice": (
        problem(), result((r0(((1, 10), (2, 25), (3, 40), (7, 60))), r1())), "more than once"),
    "not a visit": (
        problem(), result((r0(), r1(((4, 10), (7, 25), (0, 45)), end=65))), "not a visit"),
    "neither served nor dropped": (problem(), result(dropped=(5,)), "neither"),
    "served and dropped": (problem(), result(dropped=(5, 6, 7)), "both served and dropped"),
    "dropped twice": (problem(), result(dropped=(5, 6, 6)), "more than once"),
    "unknown vehicle": (
        problem(), result((r0(), r1(), VehicleRoute(9, 0, (), 0))), "unknown vehicle"),
    "vehicle twice": (
        problem(), result((r0(), r1(), VehicleRoute(1, 0, (), 0))), "more than one route"),
    "break missing": (problem(), result((r0(breaks=()), r1())), "does not take break"),
    "break twice": (
        problem(), result((r0(breaks=((0, 60), (0, 100))), r1())), "more than once"),
    "break unknown": (
        problem(), result((r0(breaks=((0, 100), (3, 90))), r1())), "unknown break"),
    "break window": (
        with_vehicle(problem(), 0, breaks=(Break(100, 200, 10),)),
        result((r0(breaks=((0, 95),)), r1())), "outside its window"),
    "break outside route": (problem(), result((r0(breaks=((0, 112),)), r1())), "span"),
    "break over service": (problem(), result((r0(breaks=((0, 45),)), r1())), "overlaps a serv"),
    "break leg too short": (
        problem(), result((r0(breaks=((0, 60),), end=85), r1())), "do not fit"),
    "breaks overlap": (
        with_vehicle(problem(), 0, breaks=(Break(30, 200, 10), Break(30, 200, 10))),
        result((r0(breaks=((0, 60), (1, 65))), r1())), "overlap"),
    "objective": (problem(), result(objective=99), "objective"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_rule_reported_once(name: str) -> None:
    """A result breaking one rule once yields exactly one violation naming that rule."""
    pb, res, word = CASES[name]
    found = check_result(pb, res, objective=name == "objective")
    assert len(found) == 1, found
    assert word in found[0], found


def test_unused_vehicle_needs_no_break() -> None:
    """A vehicle without visits is not used: its breaks are not required."""
    pb = problem()
    res = result((VehicleRoute(0, 0, (), 0), r1(((5, 20), (6, 30), (7, 40)), end=60)),
                 dropped=(1, 2, 3, 4), objective=60 + 100 + 100 + 50)
    assert check_result(pb, res, objective=True) == []
