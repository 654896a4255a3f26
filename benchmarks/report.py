"""Tables and plots from benchmark rows (fresh or read back from CSV files).

Only rows that are feasible (nothing dropped) and pass the validator enter a
mean or a worst gap; the ``valid/n`` count next to each cell shows what was
left out.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .run import counts

FAMILY_ORDER = {
    "solomon": ("C1", "C2", "R1", "R2", "RC1", "RC2"),
    "homberger": ("C1", "C2", "R1", "R2", "RC1", "RC2"),
    "lilim": ("LC1", "LC2", "LR1", "LR2", "LRC1", "LRC2"),
}


def read_rows(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Rows of one or more result CSVs."""
    rows: list[dict[str, Any]] = []
    for p in paths:
        with open(p, newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def _config(row: dict[str, Any]) -> str:
    """Column label: the solver, with its settings when they differ from it."""
    solver, label = str(row["solver"]), str(row["settings"])
    return solver if label == solver else f"{solver}/{label}"


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def summarise(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, float, str, str], dict[str, Any]]:
    """(suite, limit, config, family or 'all') → n, valid, mean/worst gap, Δvehicles."""
    groups: dict[tuple[str, float, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        key = (str(r["suite"]), float(r["time_limit_s"]), _config(r))
        groups[(*key, str(r["family"]))].append(r)
        groups[(*key, "all")].append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if counts(r)]
        gaps = [float(r["gap_pct"]) for r in ok]
        dveh = [float(r["vehicles_vs_bks"]) for r in ok if str(r["vehicles_vs_bks"]) != ""]
        out[key] = {
            "n": len(rs),
            "valid": sum(1 for r in rs if str(r["validator_ok"]).lower() == "true"),
            "counted": len(ok),
            "mean_gap": sum(gaps) / len(gaps) if gaps else math.nan,
            "worst_gap": max(gaps) if gaps else math.nan,
            "mean_dveh": sum(dveh) / len(dveh) if dveh else math.nan,
            "mean_runtime": sum(float(r["runtime_s"] or 0) for r in rs) / len(rs),
        }
    return out


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Per suite and time limit: families down, configs across.

    A cell reads ``mean / worst gap % (counted/n)``; a second table gives the
    mean vehicles above the hierarchical BKS fleet and the validity counts.
    """
    if not rows:
        return "(no rows)"
    stats = summarise(rows)
    parts = []
    for suite, limit in sorted({(k[0], k[1]) for k in stats}):
        configs = sorted({k[2] for k in stats if k[:2] == (suite, limit)}, key=_config_order)
        fams = [f for f in FAMILY_ORDER.get(suite, ()) if (suite, limit, configs[0], f) in stats]
        fams += sorted({k[3] for k in stats if k[:2] == (suite, limit)} - set(fams) - {"all"})
        fams.append("all")
        head = f"### {suite}, {limit:g} s per instance\n\n"
        lines = [
            "| family | " + " | ".join(configs) + " |",
            "|---|" + "---:|" * len(configs),
        ]
        for f in fams:
            cells = []
            for c in configs:
                s = stats.get((suite, limit, c, f))
                cells.append(
                    ""
                    if s is None
                    else f"{_fmt(s['mean_gap'])} / {_fmt(s['worst_gap'])} ({s['counted']}/{s['n']})"
                )
            name = f"**{f}**" if f == "all" else f
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("| overall | " + " | ".join(configs) + " |")
        lines.append("|---|" + "---:|" * len(configs))
        alls = [stats[(suite, limit, c, "all")] for c in configs]
        lines.append("| valid / runs | " + " | ".join(f"{s['valid']}/{s['n']}" for s in alls) + " |")
        lines.append("| feasible and valid | " + " | ".join(str(s["counted"]) for s in alls) + " |")
        lines.append(
            "| mean vehicles − hierarchical BKS | " + " | ".join(_fmt(s["mean_dveh"]) for s in alls) + " |"
        )
        lines.append("| mean runtime s | " + " | ".join(_fmt(s["mean_runtime"], 1) for s in alls) + " |")
        parts.append(head + "\n".join(lines))
    note = (
        "Cells: mean / worst gap % to the distance BKS (counted/runs); only feasible, "
        "validator-passed rows are counted."
    )
    return "\n\n".join(parts) + "\n\n" + note


def _config_order(c: str) -> tuple[int, str]:
    """OneStop configs first, then peers."""
    return (0 if c.startswith("onestop") else 1, c)


def plot_gaps(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Mean gap (valid rows) against time limit, one line per suite and config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = summarise(rows)
    series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for (suite, limit, config, fam), s in stats.items():
        if fam == "all" and not math.isnan(s["mean_gap"]):
            series[(suite, config)].append((limit, s["mean_gap"]))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (suite, config), pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{suite}: {config}")
    ax.set_xlabel("time limit per instance (s)")
    ax.set_ylabel("mean gap to distance BKS (%)")
    ax.set_title("Gap vs time limit (valid rows only)")
    if any(len(p) > 1 for p in series.values()):
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    if series:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks report results.csv [more.csv ...]``."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks report", description=__doc__)
    ap.add_argument("csv", nargs="+", help="result CSV files")
    ap.add_argument("--plot", default=None, help="PNG path")
    ap.add_argument("--table", default=None, help="markdown path")
    args = ap.parse_args(argv)
    rows = read_rows(args.csv)
    table = markdown_table(rows)
    print(table)
    if args.table:
        Path(args.table).write_text(table + "\n")
    if args.plot:
        plot_gaps(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
