"""``onestop validate request.json plan.json``: re-check a plan against its request.

Exit codes: 0 the plan keeps every hard rule, 1 it breaks some (one line per
violation), 2 an input file is missing, unreadable or not a valid request
(one line ``error: ...``). Never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from onestop.geodata import ProviderUnavailable, TravelDataError

from .errors import RequestError
from .model import parse_request
from .validator import CUSTOMER_STOPS, validate_plan

log = logging.getLogger(__name__)


def _say(line: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(line + "\n")


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


class _InputError(Exception):
    """A bad input file: reported as one ``error:`` line, exit 2."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON numbers")


def run(request_path: str, plan_path: str) -> int:
    """Validate the plan in ``plan_path`` against the request in ``request_path``.

    Parameters
    ----------
    request_path
        A v1 request (JSON file).
    plan_path
        A v1 plan (JSON file), as ``onestop solve`` writes it.

    Returns
    -------
    int
        0 and ``plan is valid: N routes, M jobs planned, K unassigned`` when the plan
        keeps every rule; 1 and one line per violation when it does not; 2 and one line
        ``error: <what>`` when a file is missing, unreadable, not JSON, or the request is
        invalid.
    """
    try:
        request_bytes = _read(request_path, "request")
        plan_bytes = _read(plan_path, "plan")
        try:
            problem = parse_request(request_bytes)
        except RequestError as exc:
            more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
            raise _InputError(f"request {request_path}: {exc}{more}") from None
        try:
            plan = json.loads(plan_bytes.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as exc:
            raise _InputError(f"plan {plan_path} is not valid UTF-8 (byte {exc.start})") from None
        except RecursionError:
            raise _InputError(f"plan {plan_path} is nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise _InputError(
                f"plan {plan_path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except ValueError as exc:
            raise _InputError(f"plan {plan_path} is not valid JSON: {exc}") from None
        try:
            violations = validate_plan(problem, plan)
        except TravelDataError as exc:
            where = f"options.travel.{exc.field}" if exc.field else "options.travel"
            raise _InputError(f"request {request_path}: {where}: {exc}") from None
        except ProviderUnavailable as exc:
            raise _InputError(f"travel provider unavailable: {exc}") from None
    except _InputError as exc:
        _say(f"error: {exc}", err=True)
        return 2
    except Exception as exc:  # never a traceback on the command line
        log.debug("validate failed", exc_info=True)
        _say(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        return 1
    if violations:
        for v in violations:
            _say(str(v))
        return 1
    routes = plan["routes"]
    planned = {s["job"] for r in routes for s in r["stops"] if s["type"] in CUSTOMER_STOPS}
    unassigned = len(plan["unassigned"])
    _say(f"plan is valid: {len(routes)} routes, {len(planned)} jobs planned, {unassigned} unassigned")
    return 0
