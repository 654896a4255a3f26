"""Benchmark readers, solution files, BKS table and gap arithmetic."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from onestop.routing import InvalidProblem, RoutingResult, VehicleRoute, Visit
from onestop.routing.instances import (
    cost_in_convention,
    detect_suite,
    family,
    format_cost,
    gap_pct,
    read_bks,
    read_instance,
    read_li_lim,
    read_sol,
    read_solomon,
    write_sol,
)

SHARED = Path(os.environ.get("ONESTOP_INSTANCES", Path(__file__).resolve().parents[3] / "shared/instances"))
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/instances not present")

# Depot (0,0); 1 at (1,1): d=√2; 2 at (4,5): d(1,2)=5, d(2,0)=√41; 3 at (0,2): d=2.
TINY_SOLOMON = """TINY

VEHICLE
NUMBER     CAPACITY
  2          10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0       0          0          0          0        100          0
    1       1          1          4          0         50          1
    2       4          5          5          0         60          2
    3       0          2          3          0         70          0
"""

# Two pairs: 1 → 2 (q=3) and 3 → 4 (q=5), tab separated like the public files.
TINY_LI_LIM = "\n".join(
    "\t".join(str(v) for v in row)
    for row in (
        (2, 10, 1),
        (0, 0, 0, 0, 0, 100, 0, 0, 0),
        (1, 1, 1, 3, 0, 50, 1, 0, 2),
        (2, 4, 5, -3, 0, 60, 2, 1, 0),
        (3, 0, 2, 5, 0, 70, 0, 0, 4),
        (4, 3, 2, -5, 0, 90, 0, 3, 0),
    )
)

# The CVRPLIB optimum of C101 (DIMACS cost 827.3), ten routes.
C101_OPT = (
    (5, 3, 7, 8, 10, 11, 9, 6, 4, 2, 1, 75),
    (13, 17, 18, 19, 15, 16, 14, 12),
    (20, 24, 25, 27, 29, 30, 28, 26, 23, 22, 21),
    (32, 33, 31, 35, 37, 38, 39, 36, 34),
    (43, 42, 41, 40, 44, 46, 45, 48, 51, 50, 52, 49, 47),
    (57, 55, 54, 53, 56, 58, 60, 59),
    (67, 65, 63, 62, 74, 72, 61, 64, 68, 66, 69),
    (81, 78, 76, 71, 70, 73, 77, 79, 80),
    (90, 87, 86, 83, 82, 84, 85, 88, 89, 91),
    (98, 96, 95, 94, 92, 93, 97, 100, 99),
)


@pytest.fixture
def tiny_solomon(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_SOLOMON)
    return path


@pytest.fixture
def tiny_li_lim(tmp_path: Path) -> Path:
    path = tmp_path / "lc_tiny.txt"
    path.write_text(TINY_LI_LIM + "\n")
    return path


def test_tiny_solomon_scales_times_and_truncates_distances(tiny_solomon: Path) -> None:
    """DIMACS reading multiplies times by 10 and truncates 10·d (√2 → 14)."""
    p = read_solomon(tiny_solomon)
    assert p.visits == (1, 2, 3)
    assert p.num_vehicles == 2 and all(v.start == v.end == 0 for v in p.vehicles)
    assert p.vehicles[0].shift == (0, 1000) and p.horizon_s == 1000
    assert p.vehicles[0].capacity == (10,) and p.dimensions == ("demand",)
    assert (p.vehicles[0].cost_per_m, p.vehicles[0].cost_per_travel_s) == (1, 0)
    assert p.nodes[2].windows == ((0, 600),) and p.nodes[2].service_s == 20
    assert p.nodes[2].demand == (5,) and p.nodes[2].penalty is None
    assert p.distance_m(0, 1) == 14 and p.distance_m(1, 2) == 50 and p.distance_m(2, 0) == 64
    assert (p.durations == p.distances).all()


def test_tiny_solomon_exact_rounds_to_thousandths(tiny_solomon: Path) -> None:
    """The exact convention multiplies by 1000 and rounds (√41 → 6403)."""
    p = read_solomon(tiny_solomon, "exact")
    assert p.distance_m(0, 1) == 1414 and p.distance_m(2, 0) == 6403
    assert p.nodes[1].windows == ((0, 50_000),) and p.nodes[1].service_s == 1000


def test_tiny_cost_recomputed_in_each_convention(tiny_solomon: Path) -> None:
    """A hand-summed solution costs 1.4+5.0+6.4+4.0 in DIMACS and 16.817 exact."""
    routes = [(1, 2), (3,)]
    assert cost_in_convention(read_solomon(tiny_solomon), routes, "dimacs") == pytest.approx(16.8)
    exact = cost_in_convention(read_solomon(tiny_solomon, "exact"), routes, "exact")
    assert exact == pytest.approx(16.817)
    double = math.sqrt(2) + 5 + math.sqrt(41) + 4
    assert exact == pytest.approx(double, abs=1e-3)


def test_hand_written_sol_cost_matches(tiny_solomon: Path, tmp_path: Path) -> None:
    """A hand-written .sol parses, and its stated cost equals the recomputed one."""
    sol = tmp_path / "tiny.sol"
    sol.write_text("Route #1: 1 2\nRoute #2: 3\nCost 16.8\n")
    parsed = read_sol(sol)
    assert parsed.routes == ((1, 2), (3,))
    assert parsed.cost == cost_in_convention(read_solomon(tiny_solomon), parsed.routes)


def test_write_sol_round_trips(tiny_solomon: Path, tmp_path: Path) -> None:
    """write_sol of a RoutingResult reads back as the same routes and cost."""
    p = read_solomon(tiny_solomon, "exact")
    result = RoutingResult(
        routes=(
            VehicleRoute(0, 0, (Visit(1, 14), Visit(2, 64)), 200),
            VehicleRoute(1, 0, (), 0),
            VehicleRoute(1, 0, (Visit(3, 20),), 40),
        ),
        dropped=(),
        objective=0,
    )
    path = tmp_path / "out.sol"
    write_sol(result, p, path, "exact")
    assert path.read_text() == "Route #1: 1 2\nRoute #2: 3\nCost 16.817\n"
    back = read_sol(path)
    assert back.routes == ((1, 2), (3,))
    assert back.cost == cost_in_convention(p, back.routes, "exact") == 16.817


def test_format_cost_uses_convention_decimals() -> None:
    """Costs print with one decimal in DIMACS and three in exact."""
    assert format_cost(827.3, "dimacs") == "827.3"
    assert format_cost(828.937, "exact") == "828.937"
    assert format_cost(12.0, "round") == "12"


def test_tiny_li_lim_pairs_and_demands(tiny_li_lim: Path) -> None:
    """Li & Lim pickups carry +q, deliveries -q, and pairs are (pickup, delivery)."""
    p = read_li_lim(tiny_li_lim)
    assert p.pairs == ((1, 2), (3, 4))
    assert [p.nodes[i].demand for i in (1, 2, 3, 4)] == [(3,), (-3,), (5,), (-5,)]
    assert p.distance_m(0, 1) == 1414 and p.vehicles[0].shift == (0, 100_000)
    assert detect_suite(tiny_li_lim) == "lilim"


@pytest.mark.parametrize(
    ("row", "value"),
    [
        (2, "1\t1\t1\t3\t0\t50\t1\t0\t4"),  # pickup names a delivery that names another pickup
        (3, "2\t4\t5\t-4\t0\t60\t2\t1\t0"),  # delivery amount is not -q
        (4, "3\t0\t2\t5\t0\t70\t0\t0\t0"),  # a task with no sibling
    ],
)
def test_li_lim_inconsistent_siblings_rejected(tmp_path: Path, row: int, value: str) -> None:
    """Sibling references or amounts that disagree raise InvalidProblem."""
    lines = TINY_LI_LIM.splitlines()
    lines[row] = value
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines))
    with pytest.raises(InvalidProblem):
        read_li_lim(path)


def test_penalty_makes_customers_optional(tiny_solomon: Path) -> None:
    """The penalty argument gives every customer that drop cost."""
    p = read_solomon(tiny_solomon, penalty=10**9)
    assert {p.nodes[i].penalty for i in p.visits} == {10**9}


@pytest.mark.parametrize(
    ("name", "fam"),
    [("C101", "C1"), ("RC208", "RC2"), ("lrc105", "LRC1"), ("lc201", "LC2"), ("rc1_2_1", "RC1")],
)
def test_family(name: str, fam: str) -> None:
    """Instance names map to the literature's families."""
    assert family(name) == fam


def test_gap_arithmetic() -> None:
    """gap_pct is 100·(cost − bks)/bks, negative below the BKS."""
    assert gap_pct(827.3, 827.3) == 0.0
    assert gap_pct(909.9, 827.2) == pytest.approx(100 * 82.7 / 827.2)
    assert gap_pct(800.0, 1000.0) == pytest.approx(-20.0)
    with pytest.raises(ValueError):
        gap_pct(1.0, 0.0)


@needs_shared
def test_c101_counts() -> None:
    """C101 has 100 customers, 25 vehicles of capacity 200 and horizon 1236."""
    inst = read_instance(SHARED / "solomon/C101.txt")
    p = inst.problem
    assert (inst.name, inst.suite, inst.round_func, inst.scale) == ("C101", "solomon", "dimacs", 10)
    assert len(p.visits) == 100 and p.num_vehicles == 25
    assert p.vehicles[0].capacity == (200,) and p.vehicles[0].shift == (0, 12_360)
    assert p.nodes[1].windows == ((9120, 9670),) and p.nodes[1].service_s == 900


@needs_shared
def test_c101_round_trip_by_hand() -> None:
    """Depot (40,50) to customer 1 (45,68) is √349 = 18.6815: 37.2 DIMACS, 37.364 exact."""
    path = SHARED / "solomon/C101.txt"
    assert cost_in_convention(read_solomon(path), [(1,)], "dimacs") == pytest.approx(37.2)
    exact = cost_in_convention(read_solomon(path, "exact"), [(1,)], "exact")
    assert exact == pytest.approx(37.364)


@needs_shared
def test_c101_optimum_costs_bks_in_both_conventions() -> None:
    """The C101 optimum costs exactly 827.3 (DIMACS BKS) and 828.937 exact (≈ 828.94)."""
    path = SHARED / "solomon/C101.txt"
    assert sorted(n for r in C101_OPT for n in r) == list(range(1, 101))
    assert cost_in_convention(read_solomon(path), C101_OPT) == pytest.approx(827.3, abs=1e-9)
    exact = cost_in_convention(read_solomon(path, "exact"), C101_OPT, "exact")
    assert exact == pytest.approx(828.937, abs=1e-9)
    bks = read_bks(SHARED / "bks.csv")["c101"]
    assert bks["distance"].distance == 827.3
    assert exact == pytest.approx(bks["hierarchical"].distance, abs=0.01)


@needs_shared
def test_lc101_counts() -> None:
    """lc101 has 53 pickup–delivery pairs (106 tasks), 25 vehicles of capacity 200."""
    inst = read_instance(SHARED / "lilim/lc101.txt")
    p = inst.problem
    assert (inst.suite, inst.round_func) == ("lilim", "exact")
    assert len(p.pairs) == 53 and len(p.visits) == 106
    assert p.num_vehicles == 25 and p.vehicles[0].capacity == (200,)
    assert all(p.nodes[a].demand[0] == -p.nodes[b].demand[0] > 0 for a, b in p.pairs)


@needs_shared
def test_homberger_detected_by_size() -> None:
    """A 200-customer Solomon-layout file is read as Homberger with its own fleet."""
    inst = read_instance(SHARED / "homberger/c1_2_1.txt")
    assert inst.suite == "homberger" and len(inst.problem.visits) == 200
    assert inst.problem.num_vehicles == 50


@needs_shared
def test_read_bks_rows() -> None:
    """bks.csv has a distance and a hierarchical row for each of 121 instances."""
    bks = read_bks(SHARED / "bks.csv")
    assert len(bks) == 121 and all(set(v) == {"distance", "hierarchical"} for v in bks.values())
    assert bks["lc101"]["distance"].distance == 828.937
    assert bks["lc101"]["distance"].vehicles == 10
    assert bks["c101"]["distance"].vehicles is None
