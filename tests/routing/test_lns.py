"""insert_dropped puts left-out jobs into a finished plan; lns never makes a plan worse or invalid."""

from __future__ import annotations

import random

from conftest import field_day
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onestop.routing import Break, Group, Node, Precedence, RoutingProblem, Vehicle
from onestop.routing.check import check_result, objective_of
from onestop.routing.construct import construct, insert_dropped
from onestop.routing.lns import lns
from onestop.routing.result import RoutingResult, VehicleRoute
from test_construct import build_random


def without(pb: RoutingProblem, res: RoutingResult, nodes: set[int]) -> RoutingResult:
    """``res`` with ``nodes`` taken off their routes (times kept), still valid."""
    routes = []
    for r in res.routes:
        visits = tuple(v for v in r.visits if v.node not in nodes)
        if visits:
            routes.append(VehicleRoute(r.vehicle, r.start_s, visits, r.end_s, r.breaks))
    served = {v.node for r in routes for v in r.visits}
    out = RoutingResult(tuple(routes), tuple(i for i in pb.visits if i not in served), 0)
    return RoutingResult(out.routes, out.dropped, objective_of(pb, out))


def valid(pb: RoutingProblem, res: RoutingResult) -> bool:
    """Every rule holds apart from mandatory nodes left out, and the objective is right."""
    return [v for v in check_result(pb, res, objective=True) if "mandatory" not in v] == []


def test_insert_dropped_puts_removed_jobs_back() -> None:
    """Standalone jobs taken off a plan are inserted again and the plan stays valid."""
    nodes = [Node(i % 5, windows=((0, 5000),), service_s=60, penalty=10_000) for i in range(1, 9)]
    nodes.append(Node(0))
    line = [[abs(a - b) * 100 for b in range(5)] for a in range(5)]
    pb = RoutingProblem(
        durations=line, distances=line, nodes=tuple(nodes), vehicles=(Vehicle(8, 8, (0, 10_000)),) * 2
    )
    full = construct(pb)
    assert full.dropped == ()
    removed = without(pb, full, {1, 4, 6})
    assert valid(pb, removed) and set(removed.dropped) == {1, 4, 6}
    back = insert_dropped(pb, removed)
    assert valid(pb, back)
    assert back.dropped == () and back.objective < removed.objective


def test_insert_dropped_field_day_keeps_served_and_adds() -> None:
    """On a field day with whole jobs (pairs, groups, precedences) removed, everything served stays served."""
    pb = field_day(60, 12, seed=3)
    full = construct(pb)
    rng = random.Random(1)
    served = sorted(full.served)
    gone: set[int] = set()
    for x in rng.sample(served, 6):
        gone |= _job_of(pb, x, full.served)
    removed = without(pb, full, gone)
    assert valid(pb, removed)
    back = insert_dropped(pb, removed)
    assert valid(pb, back)
    assert removed.served <= back.served
    assert back.objective <= removed.objective
    assert len(back.served) > len(removed.served)


def _job_of(pb: RoutingProblem, x: int, served: set[int]) -> set[int]:
    """The served nodes that must leave with ``x``: its pair chain, group and precedence afters."""
    out = {x}
    grew = True
    while grew:
        grew = False
        for a, b in pb.pairs:
            if (a in out) != (b in out):
                out |= {a, b}
                grew = True
        for g in pb.groups:
            members = {i for opt in g.options for i in opt}
            if members & out and not members <= out:
                out |= members
                grew = True
        for pr in pb.precedences:
            if pr.before in out and pr.after not in out:
                out.add(pr.after)
                grew = True
    return out & served


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(0, 3))
def test_lns_never_worse_on_random_problems(problem_seed: int, seed: int) -> None:
    """On random small problems lns returns a valid plan no worse than its start."""
    pb = build_random(random.Random(problem_seed))
    start = construct(pb, seed=seed)
    res = lns(pb, start, seed=seed, time_limit_s=5.0, max_iterations=15)
    assert valid(pb, res)
    assert res.objective <= objective_of(pb, start)
    assert set(res.dropped) | res.served == set(pb.visits)


def test_lns_field_day_valid_and_deterministic() -> None:
    """On a small field day lns is valid, no worse than its start, and repeatable for a seed."""
    pb = field_day(50, 10, seed=5)
    start = construct(pb)
    a = lns(pb, start, seed=3, time_limit_s=30.0, max_iterations=25)
    b = lns(pb, start, seed=3, time_limit_s=30.0, max_iterations=25)
    assert valid(pb, a)
    assert a.objective <= start.objective
    assert a.routes == b.routes and a.dropped == b.dropped


def test_lns_plans_everything_on_easy_instance() -> None:
    """With room for all, lns from an empty plan serves every job, the two-vehicle group included."""
    d = [[abs(a - b) * 60 for b in range(6)] for a in range(6)]
    courier, tech = frozenset({0}), frozenset({1})
    nodes = (
        Node(0, service_s=60, demand=(1,), allowed_vehicles=courier, penalty=0),  # 0 load
        Node(2, windows=((0, 9000),), service_s=300, demand=(-1,), allowed_vehicles=courier, penalty=10**6),
        Node(0, service_s=60, demand=(1,), allowed_vehicles=courier),  # 2 group: load
        Node(3, windows=((0, 9000),), service_s=300, demand=(-1,), allowed_vehicles=courier),  # 3 deliver
        Node(3, service_s=1800, allowed_vehicles=tech),  # 4 install after 3
        Node(4, windows=((3600, 9000),), service_s=1200, allowed_vehicles=tech, penalty=10**6),  # 5 repair
        Node(5, service_s=600, penalty=10**6),  # 6 anyone
        Node(0),  # 7 courier depot
        Node(1),  # 8 technician home
    )
    pb = RoutingProblem(
        durations=d,
        distances=d,
        nodes=nodes,
        vehicles=(
            Vehicle(7, 7, (0, 20_000), capacity=(4,), breaks=(Break(3000, 9000, 900),)),
            Vehicle(8, 8, (0, 20_000), capacity=(0,), breaks=(Break(3000, 9000, 900),)),
        ),
        pairs=((0, 1), (2, 3)),
        groups=(Group(nodes=(2, 3, 4), penalty=10**6),),
        precedences=(Precedence(3, 4),),
        dimensions=("units",),
    )
    empty = RoutingResult((), pb.visits, objective_of(pb, RoutingResult((), pb.visits, 0)))
    res = lns(pb, empty, time_limit_s=5.0, max_iterations=20)
    assert valid(pb, res)
    assert res.dropped == ()


def test_lns_under_a_time_limit_stays_valid_and_no_worse() -> None:
    """Stopped by a short time limit on a 120-job day, LNS returns a valid result no worse than its start."""
    pb = field_day(120, 20, seed=7)
    start = construct(pb)
    res = lns(pb, start, time_limit_s=1.0)
    assert valid(pb, res)
    assert objective_of(pb, res) <= objective_of(pb, start)
