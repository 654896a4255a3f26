"""API load benchmark: requests/s and p50/p99 latency for route fetches and job creation.

    python -m benchmarks.api_load [--backend sqlite|postgresql|both] [--clients 50]
                                  [--requests 4000] [--couriers 20] [--jobs 200]

Starts ``onestop serve`` (uvicorn, one process, embedded worker) on 127.0.0.1 against a
fresh database (a SQLite file in a temporary directory, or a new PostgreSQL database made
on the server DATABASE_URL or 127.0.0.1:5432 names, dropped afterwards), seeds a day with
depots, couriers and jobs, solves and publishes it, then drives it with ``--clients``
concurrent httpx AsyncClient tasks over loopback. The load generator runs on the same
machine as the server, so the figures include its CPU share. Not a test: no asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

DATE = "2026-03-02"
KEY = "bench-bootstrap-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_admin() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        base = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
        return base + "/postgres"
    return "postgresql://postgres@127.0.0.1:5432/postgres"


class Database:
    """A fresh database for one run, removed afterwards."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.name = f"onestop_bench_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            self.url = f"sqlite:///{root / 'bench.db'}"
        else:
            import psycopg

            admin = _pg_admin()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = (
                admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + self.name
            )

    def drop(self) -> None:
        if self.backend == "postgresql":
            import psycopg

            with psycopg.connect(_pg_admin(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _start_server(db_url: str, port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "ONESTOP_BOOTSTRAP_KEY": KEY, "ONESTOP_POLL_S": "0.2"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onestop.api.serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _seed(base: str, couriers: int, jobs: int, seed: int = 7) -> list[str]:
    """A day of ``jobs`` deliveries and pickups for ``couriers`` couriers; published. Returns courier ids."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as c:
        for d in (
            {"id": "W1", "kind": "warehouse", "location": [24.94, 60.17], "name": "Warehouse"},
            {"id": "S1", "kind": "service_center", "location": [24.96, 60.19], "name": "Service centre"},
        ):
            c.post("/v1/depots", json=d).raise_for_status()
        ids = [f"C{i:03d}" for i in range(couriers)]
        for cid in ids:
            body = {"id": cid, "depot": "W1", "capacity": {"volume": 40}, "shift": ["08:00", "18:00"]}
            c.post("/v1/couriers", json=body).raise_for_status()
        for i in range(jobs):
            start = rng.choice(["09:00", "11:00", "13:00", "15:00"])
            end = {"09:00": "11:00", "11:00": "13:00", "13:00": "15:00", "15:00": "17:00"}[start]
            body = {
                "id": f"J{i:04d}",
                "kind": "delivery" if i % 3 else "pickup",
                "location": [24.85 + rng.random() * 0.2, 60.15 + rng.random() * 0.08],
                "windows": [[start, end]],
                "items": {"volume": rng.randint(1, 4)},
                "date": DATE,
                "address": f"Street {i}",
                "customer": f"Customer {i}",
            }
            body["from" if body["kind"] == "delivery" else "to"] = (
                "W1" if body["kind"] == "delivery" else "S1"
            )
            c.post("/v1/jobs", json=body).raise_for_status()
        run = c.post("/v1/plans", json={"date": DATE, "options": {"preset": "fast", "time_limit_s": 10}})
        run.raise_for_status()
        run_id = run.json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = c.get(f"/v1/plans/{run_id}").json()
            if state["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.3)
        if state["status"] != "succeeded":
            raise RuntimeError(f"seed plan {state['status']}: {state.get('error')}")
        c.post(f"/v1/plans/{run_id}/publish").raise_for_status()
        used = [r["resource"] for r in state["plan"]["routes"]]
        print(f"  seeded {couriers} couriers, {jobs} jobs; plan uses {len(used)} couriers", flush=True)
        return used or ids


async def _drive(
    base: str, clients: int, total: int, make: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one_client() -> None:
            nonlocal errors
            for i in counter:
                t0 = time.perf_counter()
                try:
                    r = await make(client, i)
                    ok = r.status_code < 400
                    code = str(r.status_code)
                except httpx.HTTPError as exc:
                    ok, code = False, type(exc).__name__
                if not ok:
                    statuses[code] = statuses.get(code, 0) + 1
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        # warm-up: connections open, caches filled
        warm = iter(range(min(200, total)))
        saved, counter = counter, warm
        await asyncio.gather(*(one_client() for _ in range(clients)))
        latencies.clear()
        errors = 0
        statuses.clear()
        counter = saved
        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "errors": errors,
        "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(n - 1, int(0.99 * n))],
        "max_ms": 1000 * latencies[-1],
        "failures": statuses,
    }


def bench(
    backend: str, clients: int, total: int, couriers: int, jobs: int, workers: int = 1
) -> list[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="onestop-bench-"))
    db = Database(backend, root)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_server(db.url, port, root / "server.log", workers)
    rows = []
    try:
        print(f"{backend}: {workers} server process(es) on {base}", flush=True)
        used = _seed(base, couriers, jobs)
        keys = []
        with httpx.Client(base_url=base, headers=AUTH) as c:
            for cid in used:
                r = c.post("/v1/keys", json={"role": "courier", "resource": cid})
                r.raise_for_status()
                keys.append((cid, {"Authorization": f"Bearer {r.json()['key']}"}))

        async def route(client: httpx.AsyncClient, i: int) -> httpx.Response:
            cid, headers = keys[i % len(keys)]
            return await client.get(f"/v1/resources/{cid}/route", params={"date": DATE}, headers=headers)

        run_tag = uuid.uuid4().hex[:6]

        async def create(client: httpx.AsyncClient, i: int) -> httpx.Response:
            body = {
                "kind": "pickup",
                "location": [24.9, 60.17],
                "date": "2026-03-03",
                "to": "S1",
                "items": {"volume": 1},
            }
            headers = {**AUTH, "Idempotency-Key": f"bench-{run_tag}-{i}"}
            return await client.post("/v1/jobs", json=body, headers=headers)

        for name, make in (("route fetch", route), ("job create", create)):
            result = asyncio.run(_drive(base, clients, total, make))
            rows.append(
                {"backend": backend, "scenario": name, "clients": clients, "workers": workers, **result}
            )
            print(
                f"  {name:<11} {result['requests']:>6} req  {result['rps']:8.1f} req/s  "
                f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
                f"errors {result['errors']} {result['failures'] or ''}",
                flush=True,
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        db.drop()
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_load", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4000, help="requests per scenario")
    parser.add_argument("--couriers", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        rows += bench(backend, args.clients, args.requests, args.couriers, args.jobs, args.workers)
    print()
    print("| backend | scenario | server processes | clients | requests | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['scenario']} | {r['workers']} | {r['clients']} | {r['requests']} "
            f"| {r['rps']:.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
