"""One plan run as a pure function: a task in, one message out.

Both places that solve stored runs use it: the solver child process of ``onestop worker``
(``api/solver_child.py``) and tasks on a Dask cluster (``api/cluster.py``). A task is
``{"request", "preset", "time_limit_s", "solution_limit"}``, or a re-plan
``{"kind": "replan", "request", "plan", "at", "progress", "positions", "new_jobs",
"cancelled", "unavailable", "preset", "time_limit_s"}``; the answer is
``{"tag": "done", "plan", "violations"}`` or ``{"tag": "error", "kind", "errors"}`` with
``kind`` one of ``request``, ``travel``, ``travel_unavailable``, ``internal``. It never
raises: whatever goes wrong becomes an error message the worker can store.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from .planner import Progress, plan_day

__all__ = ["run_task", "violations_json"]


def _validate(problem: Any, request: Any, plan: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The independent validator's findings as plain dicts; None when there is no validator."""
    try:
        from . import validator
    except ImportError:
        return None
    check = getattr(validator, "validate_plan", None)
    if check is None:
        return None
    first = next(iter(inspect.signature(check).parameters), "")
    found = check(problem if first == "problem" else request, plan)
    return violations_json(found or ())


def violations_json(found: Iterable[Any]) -> list[dict[str, Any]]:
    """Validator findings (``Violation`` dataclasses) as the dicts a run stores."""
    out = []
    for v in found:
        if isinstance(v, dict):
            out.append(v)
        elif dataclasses.is_dataclass(v):
            out.append(dataclasses.asdict(v))
        else:
            out.append({"message": str(v)})
    return out


def _replan(task: Mapping[str, Any]) -> dict[str, Any]:
    from .replan import replan

    outcome = replan(
        task["request"],
        task["plan"],
        at=task["at"],
        progress=task.get("progress"),
        positions=task.get("positions"),
        new_jobs=task.get("new_jobs", ()),
        cancelled=task.get("cancelled", ()),
        unavailable=task.get("unavailable", ()),
        preset=task.get("preset"),
        time_limit_s=task.get("time_limit_s"),
    )
    return {
        "tag": "done",
        "plan": outcome.plan,
        "violations": violations_json(outcome.violations),
        "request": outcome.request,
    }


def run_task(task: Mapping[str, Any], on_progress: Progress | None = None) -> dict[str, Any]:
    """Plan ``task["request"]`` (or, for ``kind: replan``, re-plan ``task["plan"]`` from
    ``task["at"]``) and check the plan; the message a worker stores. A re-plan's message also
    carries the rest-of-day ``request`` it planned."""
    from onestop.geodata import ProviderUnavailable, TravelDataError

    from .errors import RequestError

    try:
        if task.get("kind") == "replan":
            if on_progress is not None:
                on_progress("solving", 0.0, None)
            return _replan(task)
        outcome = plan_day(
            task["request"],
            preset=task.get("preset"),
            time_limit_s=task.get("time_limit_s"),
            solution_limit=task.get("solution_limit"),
            on_progress=on_progress,
        )
        try:
            violations = _validate(outcome.problem, task["request"], outcome.plan)
        except Exception as exc:  # a validator bug must not lose the plan
            violations = [{"message": f"validator failed: {exc!r}"}]
        return {"tag": "done", "plan": outcome.plan, "violations": violations}
    except RequestError as exc:
        errors = [{"loc": e.loc, "message": e.message, "code": e.code} for e in exc.errors]
        return {"tag": "error", "kind": "request", "errors": errors}
    except TravelDataError as exc:
        loc = f"options.travel.{exc.field}".rstrip(".")
        return {"tag": "error", "kind": "travel", "errors": [{"loc": loc, "message": str(exc)}]}
    except ProviderUnavailable as exc:
        return {
            "tag": "error",
            "kind": "travel_unavailable",
            "errors": [{"loc": "options.travel", "message": str(exc)}],
        }
    except Exception as exc:
        return {
            "tag": "error",
            "kind": "internal",
            "errors": [{"loc": "", "message": f"{type(exc).__name__}: {exc}"}],
        }
