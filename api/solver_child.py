"""The child process a plan is solved in, so a solve can be cancelled or killed alone.

Run as ``python -m onestop.api.solver_child``. Protocol, one JSON document per line: the
parent writes ``{"request", "preset", "time_limit_s", "solution_limit"}`` to stdin; the
child answers on stdout with any number of ``{"tag": "progress", ...}`` then one
``{"tag": "done", "plan", "violations"}`` or ``{"tag": "error", "kind", "errors"}``, and
exits. It imports the planner before reading, so a spare child starts solving at once, and
it exits when stdin closes (its worker died), so an orphan solve never runs on.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, BinaryIO


def _watch_stdin(stdin: BinaryIO) -> None:
    """EOF on stdin means the worker is gone: stop at once."""
    while stdin.read(65536):
        pass
    os._exit(3)


def main() -> int:
    # Keep fd 1 for the protocol only: anything else printing goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    from onestop.dispatch.runner import run_task

    line = sys.stdin.buffer.readline()
    if not line:
        return 0
    task = json.loads(line)
    threading.Thread(target=_watch_stdin, args=(sys.stdin.buffer,), daemon=True).start()
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(message, allow_nan=False, default=str) + "\n")

    last = (0.0, "")

    def progress(phase: str, fraction: float, best: int | None) -> None:
        nonlocal last
        now = time.monotonic()
        if phase == last[1] and now - last[0] < 0.2:
            return  # a new phase always goes out; repeats at most five times a second
        last = (now, phase)
        send({"tag": "progress", "phase": phase, "fraction": float(fraction), "best": best})

    send(run_task(task, on_progress=progress))
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
