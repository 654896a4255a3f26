"""The `onestop` command line: demo, solve, validate and matrix end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from onestop.dispatch.cli import main
from onestop.dispatch.validator import validate_plan


@pytest.mark.parametrize("travel", ["haversine", "osm"])
def test_demo_writes_a_valid_plan_and_pictures(tmp_path: Path, travel: str, capsys):
    """`onestop demo` plans a generated day, validates it and writes the plan, a PNG and an HTML map."""
    out = tmp_path / "demo"
    code = main(["demo", "--jobs", "20", "--seed", "1", "--time-limit", "2", "--travel", travel, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    request = json.loads((out / "request.json").read_text())
    plan = json.loads((out / "plan.json").read_text())
    assert validate_plan(request, plan) == []
    assert plan["travel"]["provider"] == travel
    assert (out / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "plan.html").read_text()
    assert "plan is valid" in err


def test_solve_then_validate_round_trip(tmp_path: Path, capsys):
    """A plan written by `onestop solve` passes `onestop validate`; a tampered one fails with exit 1."""
    req = Path(__file__).resolve().parents[2] / "examples" / "exchange.json"
    plan_path = tmp_path / "plan.json"
    assert main(["solve", str(req), "-o", str(plan_path), "--time-limit", "1"]) == 0
    capsys.readouterr()
    assert main(["validate", str(req), str(plan_path)]) == 0
    assert "plan is valid" in capsys.readouterr().out
    plan = json.loads(plan_path.read_text())
    swap = next(s for r in plan["routes"] for s in r["stops"] if s["type"] == "swap")
    swap["start"] = swap["arrival"] = "2026-11-24T05:00:00+02:00"
    plan_path.write_text(json.dumps(plan))
    assert main(["validate", str(req), str(plan_path)]) == 1
    assert "window" in capsys.readouterr().out


def test_matrix_command_haversine(tmp_path: Path):
    """`onestop matrix` writes integer duration and distance rows with a zero diagonal."""
    pts = tmp_path / "points.json"
    pts.write_text(json.dumps([[24.94, 60.17], [24.95, 60.18], [24.96, 60.17]]))
    out = tmp_path / "m.json"
    assert main(["matrix", str(pts), "-o", str(out)]) == 0
    m = json.loads(out.read_text())
    assert m["travel"]["provider"] == "haversine"
    assert [m["durations_s"][i][i] for i in range(3)] == [0, 0, 0]
    off_diagonal = [m["distances_m"][i][j] for i in range(3) for j in range(3) if i != j]
    assert all(isinstance(x, int) and x > 0 for x in off_diagonal)


@pytest.mark.parametrize(
    ("points", "travel", "needle"),
    [
        ("[[1, 2], [3]]", None, "points"),  # a point with one coordinate
        ("not json", None, "points"),  # not JSON
        ("[[24.9, 60.1]]", '{"provider": "warp"}', "travel.provider"),  # unknown provider
        ("[[24.9, 60.1]]", "{", "--travel"),  # bad travel JSON
        ("[[24.9, 95.0]]", None, "points"),  # latitude out of range
    ],
)
def test_matrix_command_bad_input(tmp_path: Path, capsys, points, travel, needle):
    """Bad points or travel options give exit 2 and one line naming what is wrong."""
    pts = tmp_path / "points.json"
    pts.write_text(points)
    args = ["matrix", str(pts)] + (["--travel", travel] if travel else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and needle in err and "Traceback" not in err


SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "instances"


@pytest.mark.skipif(not (SHARED / "solomon" / "C101.txt").exists(), reason="shared instances are beside the repository")
def test_bench_command_runs_a_benchmark(tmp_path: Path, monkeypatch):
    """`onestop bench run` solves an instance and writes its CSV row, from any working directory."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.csv"
    args = ["bench", "run", "--suite", "solomon", "--instances", "C101", "--time-limit", "0.5", "--out", str(out)]
    assert main(args) == 0
    rows = out.read_text().splitlines()
    assert len(rows) == 2 and "C101" in rows[1]
