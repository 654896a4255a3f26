"""The PyVRP backend: which problems it accepts, and that what it returns is valid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyvrp")

from onestop.routing import Break, Group, Node, Precedence, RoutingProblem, SolverError, Vehicle  # noqa: E402
from onestop.routing._pyvrp import fits, solve_pyvrp, why_not  # noqa: E402
from onestop.routing.check import check_result  # noqa: E402
from onestop.routing.instances import read_instance  # noqa: E402

SHARED = Path(os.environ.get("ONESTOP_INSTANCES", Path(__file__).resolve().parents[3] / "shared/instances"))
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/instances not present")


def line_problem(**vehicle: object) -> RoutingProblem:
    """Depot (node 0) and six customers at 10, 20, … 60 on a line, two vehicles."""
    pos = np.array([0, 10, 20, 30, 40, 50, 60])
    mat = np.abs(pos[:, None] - pos[None, :])
    nodes = (Node(location=0),) + tuple(
        Node(location=i, windows=((0, 1000),), service_s=5, demand=(1,)) for i in range(1, 7)
    )
    veh = Vehicle(start=0, end=0, shift=(0, 1000), capacity=(10,), **vehicle)  # type: ignore[arg-type]
    return RoutingProblem(durations=mat, distances=mat, nodes=nodes, vehicles=(veh, veh), dimensions=("q",))


@needs_shared
def test_fits_solomon_and_li_lim() -> None:
    """Plain VRPTW and Li & Lim pickup-delivery both fit PyVRP's model."""
    assert fits(read_instance(SHARED / "solomon/C101.txt").problem)
    assert fits(read_instance(SHARED / "lilim/lc101.txt").problem)


def test_fits_refuses_rules_pyvrp_cannot_express() -> None:
    """Breaks, several windows, multi-node groups, precedences, vehicle restrictions,
    span costs and no-route entries each make the problem not fit."""
    base = line_problem()
    assert fits(base)
    nodes = list(base.nodes)
    with_breaks = line_problem(breaks=(Break(100, 300, 30),))
    two_windows = base.replace(nodes=(*nodes[:1], Node(location=1, windows=((0, 10), (50, 90))), *nodes[2:]))
    group = base.replace(groups=(Group(nodes=(1, 2), penalty=10),))
    precedence = base.replace(precedences=(Precedence(1, 2),))
    restricted = base.replace(
        nodes=(*nodes[:1], Node(location=1, allowed_vehicles=frozenset({0})), *nodes[2:])
    )
    span = line_problem(cost_per_span_s=1)
    no_route = base.replace(distances=np.where(base.distances == 30, -1, base.distances))
    for bad in (with_breaks, two_windows, group, precedence, restricted, span, no_route):
        assert not fits(bad), bad
        assert why_not(bad)
    with pytest.raises(SolverError):
        solve_pyvrp(with_breaks, time_limit_s=0.1)


@needs_shared
def test_c101_reaches_the_optimum() -> None:
    """C101 (DIMACS ×10) in 2 s: a valid result within 1 % of the optimum 827.3."""
    problem = read_instance(SHARED / "solomon/C101.txt").problem
    seen: list[int] = []
    result = solve_pyvrp(problem, time_limit_s=2.0, seed=1, on_solution=lambda obj, _t: seen.append(obj))
    assert check_result(problem, result, objective=True) == []
    assert not result.dropped
    assert result.objective <= 8273 * 1.01
    assert seen and seen[-1] == result.objective


@needs_shared
def test_li_lim_pairs_are_honoured() -> None:
    """A Li & Lim instance comes back valid: every pair on one vehicle, pickup first."""
    problem = read_instance(SHARED / "lilim/lc101.txt").problem
    result = solve_pyvrp(problem, time_limit_s=1.0)
    assert result.stats.status == "pyvrp"
    assert check_result(problem, result, objective=True) == []
    assert not result.dropped


def test_optional_nodes_max_stops_and_cost_mix() -> None:
    """Drop penalties, max_stops and a travel-time plus distance cost carry over exactly."""
    problem = line_problem(max_stops=3, cost_per_travel_s=1, cost_per_m=2, fixed_cost=7)
    nodes = list(problem.nodes)
    nodes[6] = Node(location=6, windows=((0, 1000),), service_s=5, demand=(1,), penalty=50)
    problem = problem.replace(nodes=tuple(nodes))
    assert fits(problem)
    result = solve_pyvrp(problem, time_limit_s=0.3)
    assert check_result(problem, result, objective=True) == []
    # max_stops forces a second vehicle; serving node 6 costs 70 more than its penalty
    assert result.dropped == (6,)
    assert len(result.routes) == 2 and all(len(r.visits) <= 3 for r in result.routes)
    assert result.objective == 3 * (40 + 100) + 2 * 7 + 50  # routes {1, 2} and {3, 4, 5}


def test_single_node_alternatives_become_an_exclusive_group() -> None:
    """A group whose options are single nodes is served through exactly one of them."""
    problem = line_problem().replace(groups=(Group(nodes=(5,), alternatives=((1,), (6,))),))
    assert fits(problem)
    result = solve_pyvrp(problem, time_limit_s=0.3)
    assert check_result(problem, result, objective=True) == []
    assert set(result.dropped) == {5, 6}


def test_max_iterations_makes_runs_repeatable() -> None:
    """With a seed and an iteration cap, two runs return the same routes."""
    problem = line_problem(cost_per_travel_s=0, cost_per_m=1)
    a = solve_pyvrp(problem, time_limit_s=5.0, seed=3, max_iterations=50)
    b = solve_pyvrp(problem, time_limit_s=5.0, seed=3, max_iterations=50)
    assert a.routes == b.routes and a.objective == b.objective
    assert a.stats.runtime_s < 5.0


TINY_SOLOMON = """TINY

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0        200          0
    1      3          4          4          0        100         5
    2      6          8          3          0        150         5
"""


def test_works_without_pyvrp_installed(tmp_path: Path) -> None:
    """With pyvrp unimportable, fits still answers and solve_pyvrp raises SolverError."""
    code = (
        "import sys; sys.modules['pyvrp'] = None\n"
        "from onestop.routing import SolverError\n"
        "from onestop.routing import _pyvrp\n"
        "from onestop.routing.instances import read_instance\n"
        "assert not _pyvrp.available()\n"
        "p = read_instance(sys.argv[1]).problem\n"
        "assert _pyvrp.fits(p)\n"
        "try:\n"
        "    _pyvrp.solve_pyvrp(p, time_limit_s=0.1)\n"
        "except SolverError as exc:\n"
        "    assert 'not installed' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no SolverError')\n"
    )
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_SOLOMON)
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
