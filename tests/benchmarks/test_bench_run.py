"""The benchmark runner: parsing, rows, validity, outputs; with a stand-in solver."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from onestop.routing import RoutingProblem, RoutingResult, SolverSettings, VehicleRoute, Visit
from onestop.routing.check import check_result
from onestop.routing.instances import Bks, read_sol, read_solomon

from benchmarks import run as bench
from benchmarks.report import markdown_table, plot_gaps, read_rows
from benchmarks.validate import schedule

# Depot (0,0); 1 at (1,1), 2 at (4,5), 3 at (0,2); wide windows, capacity 10.
TINY = """TINY

VEHICLE
NUMBER     CAPACITY
  3          10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0       0          0          0          0        100          0
    1       1          1          4          0         50          1
    2       4          5          5          0         60          2
    3       0          2          3          0         70          0
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "C901.txt"  # a C1-family name, outside the shared set
    path.write_text(TINY)
    return path


def good_solve(
    problem: RoutingProblem, _settings: SolverSettings | None, _limit: float, _seed: int
) -> RoutingResult:
    """Stand-in solver: routes [1, 2] and [3], scheduled at earliest times."""
    return schedule(problem, [(0, [1, 2]), (1, [3])])


def late_solve(
    problem: RoutingProblem, _settings: SolverSettings | None, _limit: float, _seed: int
) -> RoutingResult:
    """Stand-in solver claiming service at node 3 after its window closes."""
    good = schedule(problem, [(0, [1, 2]), (1, [3])])
    r = good.routes[1]
    late = VehicleRoute(r.vehicle, r.start_s, (Visit(3, 900),), 920)
    return RoutingResult((good.routes[0], late), (), good.objective)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bench.SOLVERS, "onestop", good_solve)
    monkeypatch.setitem(bench.SOLVERS, "late", late_solve)


def test_parse_seeds() -> None:
    """Seed ranges and lists expand to integers."""
    assert bench.parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert bench.parse_seeds("1,3") == [1, 3]
    assert bench.parse_seeds("0-1,5") == [0, 1, 5]


def test_parse_settings_labels_and_construction() -> None:
    """A first-solution spec switches to OR-Tools construction and gets a short label."""
    [cfg] = bench.parse_settings("first_solution=PATH_CHEAPEST_ARC,metaheuristic=TABU_SEARCH")
    assert cfg.label == "PCA+TS"
    assert cfg.settings is not None
    assert cfg.settings.construction == "ortools"
    assert cfg.settings.first_solution == "PATH_CHEAPEST_ARC"
    assert cfg.settings.metaheuristic == "TABU_SEARCH"
    two = bench.parse_settings("preset=fast,metaheuristic=GUIDED_LOCAL_SEARCH;lns_time_limit_s=0.5")
    assert [c.label for c in two] == ["fast:GLS", "0.5"]
    assert two[1].settings is not None and two[1].settings.lns_time_limit_s == 0.5


def test_resolve_instances_by_path_and_name(tiny: Path, tmp_path: Path) -> None:
    """Paths are taken as given; names are found case-insensitively in the suite folder."""
    root = tmp_path / "root"
    (root / "solomon").mkdir(parents=True)
    (root / "solomon" / "C101.txt").write_text(TINY)
    assert bench.resolve_instances(None, [str(tiny)], root) == [tiny]
    assert bench.resolve_instances("solomon", ["c101"], root) == [root / "solomon/C101.txt"]
    assert bench.resolve_instances("solomon", [], root) == [root / "solomon/C101.txt"]
    with pytest.raises(ValueError):
        bench.resolve_instances("solomon", ["R999"], root)


def test_run_task_row_for_a_valid_solution(tiny: Path, stand_in: None) -> None:
    """A valid solution's row has the recomputed distance, gap and vehicles vs BKS."""
    bks = {
        "distance": Bks("C901", "solomon", "distance", None, 16.0),
        "hierarchical": Bks("C901", "solomon", "hierarchical", 1, 17.0),
    }
    task = bench.Task(str(tiny), bench.Config("onestop", "balanced"), 1.0, 0, bks=bks)
    out = bench.run_task(task)
    row = out.row
    assert (row["instance"], row["suite"], row["family"]) == ("C901", "solomon", "C9")
    assert row["distance"] == "16.8" and row["vehicles"] == 2
    assert row["gap_pct"] == 5.0 and row["vehicles_vs_bks"] == 1
    assert row["feasible"] is True and row["validator_ok"] is True and bench.counts(row)
    assert out.routes == ((1, 2), (3,))


def test_run_task_flags_an_invalid_solution(tiny: Path, stand_in: None) -> None:
    """A solution that breaks a window is flagged and kept out of the averages."""
    task = bench.Task(str(tiny), bench.Config("late", "late"), 1.0, 0)
    row = bench.run_task(task).row
    assert row["validator_ok"] is False and not bench.counts(row)
    assert "3" in row["note"]


def test_run_task_reports_a_solver_crash(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver exception becomes a row with a note, not a crash of the suite."""

    def boom(*_args: object) -> RoutingResult:
        raise RuntimeError("no luck")

    monkeypatch.setitem(bench.SOLVERS, "onestop", boom)
    row = bench.run_task(bench.Task(str(tiny), bench.Config("onestop", "x"), 1.0, 0)).row
    assert "no luck" in row["note"] and not bench.counts(row)


def test_dropped_customers_are_infeasible(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A result that drops a customer is never counted as feasible."""

    def drop(p: RoutingProblem, *_args: object) -> RoutingResult:
        return schedule(p, [(0, [1, 2])], dropped=[3])

    monkeypatch.setitem(bench.SOLVERS, "onestop", drop)
    row = bench.run_task(bench.Task(str(tiny), bench.Config("onestop", "x"), 1.0, 0)).row
    assert row["feasible"] is False and row["dropped"] == 1 and not bench.counts(row)


def test_checker_finds_exactly_the_broken_window(tiny: Path) -> None:
    """The independent check reports one violation for one late service start."""
    p = read_solomon(tiny)
    assert check_result(p, good_solve(p, None, 1, 0)) == []
    found = check_result(p, late_solve(p, None, 1, 0))
    assert len(found) == 1 and "node 3" in found[0]


def test_cli_writes_csv_table_plot_and_solutions(
    tiny: Path, tmp_path: Path, stand_in: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` writes one CSV row per seed, the markdown table, the PNG and DIR/<instance>.sol."""
    out = tmp_path / "res.csv"
    sols = tmp_path / "sols"
    code = bench.main(
        ["--instances", str(tiny), "--seeds", "0-1", "--time-limit", "1", "--out", str(out),
         "--solutions", str(sols), "--bks", str(tmp_path / "none.csv")]
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["seed"] for r in sorted(rows, key=lambda r: r["seed"])] == ["0", "1"]
    assert all(r["validator_ok"] == "True" and r["distance"] == "16.8" for r in rows)
    assert out.with_suffix(".md").read_text().startswith("### solomon, 1 s per instance")
    assert out.with_suffix(".png").stat().st_size > 0
    sol = read_sol(sols / "C901.sol")
    assert sol.routes == ((1, 2), (3,)) and sol.cost == 16.8
    err = capsys.readouterr().err
    assert "[1/2] C901 onestop/balanced" in err and "[2/2]" in err


def test_table_means_only_valid_rows(tmp_path: Path) -> None:
    """The family table averages valid rows, reports the worst gap and the counts."""

    def row(inst: str, gap: float, ok: bool) -> dict[str, object]:
        return {
            "instance": inst, "suite": "solomon", "family": inst[:2], "solver": "onestop",
            "settings": "balanced", "time_limit_s": 10.0, "seed": 0, "runtime_s": 10.0,
            "gap_pct": gap, "vehicles_vs_bks": 1, "feasible": True, "validator_ok": ok,
        }  # fmt: skip

    rows = [row("C101", 1.0, True), row("C102", 3.0, True), row("C103", 50.0, False)]
    rows.append(row("R101", 2.0, True))
    table = markdown_table(rows)
    assert "| C1 | 2.00 / 3.00 (2/3) |" in table
    assert "| R1 | 2.00 / 2.00 (1/1) |" in table
    assert "| **all** | 2.00 / 3.00 (3/4) |" in table
    assert "| valid / runs | 3/4 |" in table
    path = tmp_path / "r.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert markdown_table(read_rows([path])) == table
    plot_gaps(rows, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0


def test_compare_runs_presets_and_settings_side_by_side(tiny: Path, tmp_path: Path, stand_in: None) -> None:
    """`compare` runs every preset and the default strategy grid on the same instance."""
    out = tmp_path / "cmp.csv"
    code = bench.main(
        ["--instances", str(tiny), "--time-limit", "1", "--out", str(out), "--plot", "none",
         "--quiet"],
        compare=True,
    )  # fmt: skip
    assert code == 0
    labels = {r["settings"] for r in csv.DictReader(out.open())}
    assert {"fast", "balanced", "quality", "PCA+GLS", "SAV+GLS", "PCA+TS", "own+ortools"} <= labels
    assert len(labels) == 9
