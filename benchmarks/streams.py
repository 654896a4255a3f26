"""Live-stream benchmark (not a test): many open SSE streams, what they cost the database and
how soon a change reaches them.

    python -m benchmarks.streams [--streams 200] [--seconds 10] [--changes-per-s 2]

Serves the real app with uvicorn in this process on 127.0.0.1 (a fresh SQLite file), opens
``--streams`` dispatcher streams (``/v1/stream``) over loopback with httpx, and writes a
change to the feed ``--changes-per-s`` times a second for ``--seconds`` (as a progress
event would). Counted on the server's engine: statements that read the change feed (before
the shared read, every open stream read it every 0.5 s: 2 reads/s per stream). Measured at
the clients: delay from a change's write to its frame.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from onestop.api import Settings, create_app
from onestop.api.db import session_scope
from onestop.api.models import LiveChange
from sqlalchemy import event

from benchmarks.api_load import free_port

KEY = "bench-bootstrap-key-with-32-characters-or-more"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


async def _listen(
    url: str, params: dict[str, Any], got: list[tuple[int, float]], ready: asyncio.Event
) -> None:
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", url, params=params, headers=AUTH) as r,
    ):
        async for line in r.aiter_lines():
            if line.startswith(":"):
                ready.set()
            elif line.startswith("id: "):
                got.append((int(line[4:]), time.monotonic()))


def run_case(n: int, seconds: float, rate: float, poll: float | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database_url=f"sqlite:///{Path(tmp) / 'b.db'}", bootstrap_key=KEY))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        reads = [0]

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if "live_changes" in statement and statement.lstrip().upper().startswith("SELECT"):
                reads[0] += 1

        event.listen(app.state.engine, "before_cursor_execute", count)
        written: dict[int, float] = {}

        async def main() -> list[list[tuple[int, float]]]:
            params = {"timeout": seconds + 3, **({"poll": poll} if poll is not None else {})}
            url = f"http://127.0.0.1:{port}/v1/stream"
            gots: list[list[tuple[int, float]]] = [[] for _ in range(n)]
            readies = [asyncio.Event() for _ in range(n)]
            tasks = [
                asyncio.create_task(_listen(url, params, g, r)) for g, r in zip(gots, readies, strict=True)
            ]
            await asyncio.gather(*(r.wait() for r in readies))
            await asyncio.sleep(1.0)
            reads[0] = 0
            began = time.monotonic()
            while time.monotonic() - began < seconds:
                with session_scope(app.state.sessions) as s:
                    row = LiveChange(kind="position", resource_id="bench", data={"n": len(written)})
                    s.add(row)
                    s.flush()
                    ident = row.id
                written[ident] = time.monotonic()
                await asyncio.sleep(1 / rate)
            per_s = reads[0] / (time.monotonic() - began)
            reads.append(per_s)
            await asyncio.gather(*tasks, return_exceptions=True)
            return gots

        gots = asyncio.run(main())
        server.should_exit = True
        thread.join(timeout=10)
    delays = [(at - written[i]) * 1000 for g in gots for i, at in g if i in written]
    expected = n * len(written)
    return {
        "streams": n,
        "reads_per_s": reads[-1],
        "delivered": len(delays),
        "expected": expected,
        "p50_ms": _pct(delays, 0.5),
        "p99_ms": _pct(delays, 0.99),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.streams", description=__doc__)
    ap.add_argument("--streams", default="50,200", help="open streams, comma list (one run each)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--changes-per-s", type=float, default=2.0)
    a = ap.parse_args(argv)
    rows = []
    for n in [int(x) for x in a.streams.split(",") if x.strip()]:
        r = run_case(n, a.seconds, a.changes_per_s, None)
        rows.append(r)
        print(r, file=sys.stderr)
    print(f"\n{a.changes_per_s:g} changes/s for {a.seconds:g} s to open dispatcher streams\n")
    print("| streams | feed reads/s | frames delivered | delay p50 ms | delay p99 ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['streams']} | {r['reads_per_s']:.1f} | {r['delivered']}/{r['expected']} | "
            f"{r['p50_ms']:.0f} | {r['p99_ms']:.0f} |"
        )
    return 0 if all(r["delivered"] == r["expected"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
