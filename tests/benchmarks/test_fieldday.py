"""The field-day suite end to end on a small day: solved, validated, bounded, beside the baseline."""

from __future__ import annotations

import csv

from benchmarks import fieldday


def test_small_day_row_and_table(tmp_path):
    """One 40-job day: a valid plan, a bound no lower than it, a valid baseline; CSV and table."""
    row = fieldday.run_size(40, seed=1, time_limit_s=3, bound_s=10)
    assert row["error"] == ""
    assert row["valid"] == "yes" and row["baseline_valid"] == "yes"
    assert row["booking"] == "slots"
    assert int(row["planned"]) <= int(row["bound"]) <= int(row["feasible"])
    assert int(row["baseline_planned"]) <= int(row["bound"])
    out = fieldday.write_csv([row, {**row, "seed": 2}], tmp_path / "f.csv")
    with out.open() as f:
        assert len(list(csv.DictReader(f))) == 2
    table = fieldday.markdown([row, {**row, "seed": 2}])
    assert "upper bound" in table and "pooled" in table
