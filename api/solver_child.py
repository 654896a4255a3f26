"""The child process a plan is solved in, so a solve can be cancelled or killed alone.

Run as ``python -m onestop.api.solver_child``. Protocol, one JSON document per line: the
parent writes ``{"request", "preset", "time_limit_s", "solution_limit"}`` to stdin; the
child answers on stdout with any number of ``{"tag": "progress", ...}`` then one
``{"tag": "done", "plan", "violations"}`` or ``{"tag": "error", "kind", "errors"}``, and
exits. It imports the planner before reading, so a spare child starts solving at once, and
it exits when stdin closes (its worker died), so an orphan solve never runs on.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import threading
import time
from typing import Any, BinaryIO


def _validate(problem: Any, request: Any, plan: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Run dispatch's plan validator when it exists; None when there is none."""
    try:
        from onestop.dispatch import validator  # type: ignore[attr-defined]
    except ImportError:
        return None
    check = getattr(validator, "validate_plan", None)
    if check is None:
        return None
    first = next(iter(inspect.signature(check).parameters), "")
    found = check(problem if first == "problem" else request, plan)
    out = []
    for v in found or ():
        if isinstance(v, dict):
            out.append(v)
        elif hasattr(v, "__dataclass_fields__"):
            out.append({k: getattr(v, k) for k in v.__dataclass_fields__})
        else:
            out.append({"message": str(v)})
    return out


def _watch_stdin(stdin: BinaryIO) -> None:
    """EOF on stdin means the worker is gone: stop at once."""
    while stdin.read(65536):
        pass
    os._exit(3)


def main() -> int:
    # Keep fd 1 for the protocol only: anything else printing goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    from onestop.dispatch.errors import RequestError
    from onestop.dispatch.planner import plan_day
    from onestop.geodata import ProviderUnavailable, TravelDataError

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

    try:
        outcome = plan_day(
            task["request"],
            preset=task.get("preset"),
            time_limit_s=task.get("time_limit_s"),
            solution_limit=task.get("solution_limit"),
            on_progress=progress,
        )
        try:
            violations = _validate(outcome.problem, task["request"], outcome.plan)
        except Exception as exc:  # a validator bug must not lose the plan
            violations = [{"message": f"validator failed: {exc!r}"}]
        send({"tag": "done", "plan": outcome.plan, "violations": violations})
    except RequestError as exc:
        errors = [{"loc": e.loc, "message": e.message, "code": e.code} for e in exc.errors]
        send({"tag": "error", "kind": "request", "errors": errors})
    except TravelDataError as exc:
        loc = f"options.travel.{exc.field}".rstrip(".")
        send({"tag": "error", "kind": "travel", "errors": [{"loc": loc, "message": str(exc)}]})
    except ProviderUnavailable as exc:
        errors = [{"loc": "options.travel", "message": str(exc)}]
        send({"tag": "error", "kind": "travel_unavailable", "errors": errors})
    except Exception as exc:
        send(
            {
                "tag": "error",
                "kind": "internal",
                "errors": [{"loc": "", "message": f"{type(exc).__name__}: {exc}"}],
            }
        )
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
