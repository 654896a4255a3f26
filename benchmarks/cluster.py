"""Many zones at once (not a test): the same plan runs through the embedded worker and a Dask cluster.

    python -m benchmarks.cluster [--days 6] [--jobs 60] [--time-limit 10] [--workers 2]

Each run is a generated city day (one per zone, seeds 0..days-1) posted as a whole v1
request to the real app (FastAPI TestClient, a fresh SQLite file). Measured: wall time from
the first POST until every run is finished, with (a) the embedded worker (one run at a time,
the service's default) and (b) ``ONESTOP_DASK_SCHEDULER=local:N`` (a LocalCluster of N
single-threaded worker processes). Every plan goes through the validator. On this 2-core
machine, N = 2 is the most that can help: a solve holds a core for its time limit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from onestop.api import Settings, create_app
from onestop.dispatch.generate import generate_day
from onestop.dispatch.validator import validate_plan

KEY = "bench-bootstrap-key-with-32-characters-or-more"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _ok(r: Any, status: int = 200) -> Any:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")
    return r.json()


def run_all(days: list[dict[str, Any]], **settings: Any) -> tuple[float, list[dict[str, Any]]]:
    """Post every day, wait for all; (seconds, finished runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app(Settings(database_url=url, bootstrap_key=KEY, poll_s=0.2, **settings))
        with TestClient(app) as client:
            began = time.monotonic()
            ids = [_ok(client.post("/v1/plans", json=d, headers=AUTH), 202)["id"] for d in days]
            done: dict[str, dict[str, Any]] = {}
            while len(done) < len(ids):
                for i in ids:
                    if i not in done:
                        run = _ok(client.get(f"/v1/plans/{i}", headers=AUTH))
                        if run["status"] in ("succeeded", "failed", "cancelled"):
                            done[i] = run
                time.sleep(0.2)
            seconds = time.monotonic() - began
    return seconds, [done[i] for i in ids]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cluster", description=__doc__)
    ap.add_argument("--days", type=int, default=6, help="runs (one per zone)")
    ap.add_argument("--jobs", type=int, default=60, help="jobs per day")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per run")
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    a = ap.parse_args(argv)
    days = [generate_day(a.jobs, seed, time_limit_s=a.time_limit) for seed in range(a.days)]
    rows = []
    for name, settings in (
        ("embedded worker (1 run at a time)", {}),
        (f"Dask LocalCluster, {a.workers} worker processes", {"dask_scheduler": f"local:{a.workers}"}),
    ):
        seconds, runs = run_all(days, **settings)
        ok = sum(1 for r in runs if r["status"] == "succeeded")
        bad = sum(len(validate_plan(d, r["plan"])) for d, r in zip(days, runs, strict=True) if r["plan"])
        planned = sum(r["plan"]["kpis"]["jobs_planned"] for r in runs if r["plan"])
        rows.append((name, seconds, ok, bad, planned))
        print(f"{name}: {seconds:.1f} s, {ok}/{len(runs)} succeeded, {bad} violations", file=sys.stderr)
    print(f"\n{a.days} days of {a.jobs} jobs, {a.time_limit:g} s each\n")
    print("| executor | wall s | runs succeeded | jobs planned | violations |")
    print("|---|---|---|---|---|")
    for name, seconds, ok, bad, planned in rows:
        print(f"| {name} | {seconds:.1f} | {ok}/{a.days} | {planned} | {bad} |")
    return 0 if all(r[2] == a.days and r[3] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
