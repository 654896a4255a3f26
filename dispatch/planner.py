"""Request → plan: parse, expand, matrices, solve, build. The one entry point."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from onestop import geodata
from onestop.routing import PRESETS, RoutingResult, SolverSettings, earliest_schedule, solve
from onestop.routing.construct import construct

from .errors import FieldError, RequestError
from .expand import Expansion, expand
from .model import DispatchProblem, parse_request
from .plan import build_plan
from .validator import validate_plan

log = logging.getLogger(__name__)

#: Called with (phase, fraction done 0..1, best objective or None).
Progress = Callable[[str, float, int | None], None]


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    problem: DispatchProblem
    expansion: Expansion
    plan: dict[str, Any]


def travel_model_for(options: Mapping[str, Any] | None) -> geodata.TravelModel:
    """The travel model a request's ``options.travel`` asks for."""
    factory = getattr(geodata, "travel_model", None)
    if factory is not None:
        return factory(dict(options) if options is not None else None)
    opts = dict(options or {})
    provider = opts.pop("provider", "haversine")
    if provider != "haversine":
        raise geodata.TravelDataError(f"unknown travel provider {provider!r}", "provider")
    return geodata.Haversine(**opts)


def zones_of(problem: DispatchProblem) -> geodata.ZoneSet | None:
    """The request's service zones, checked against the zones resources name."""
    if problem.zones is None:
        return None
    try:
        zone_set = geodata.ZoneSet.from_geojson(dict(problem.zones))
    except geodata.TravelDataError as exc:
        raise RequestError.single("zones", str(exc), "zones") from None
    known = set(zone_set.ids)
    errors = []
    for r in problem.resources:
        for z in r.zones or ():
            if z not in known:
                group = "technicians" if r.kind == "technician" else "couriers"
                idx = [x.id for x in problem.resources if x.kind == r.kind].index(r.id)
                errors.append(FieldError(f"{group}[{idx}].zones", "reference", f"unknown zone {z!r}"))
    if errors:
        raise RequestError(errors)
    return zone_set


def settings_for(
    problem: DispatchProblem, preset: str | None = None, time_limit_s: float | None = None
) -> SolverSettings:
    name = preset or problem.options.preset
    settings = PRESETS[name]
    limit = time_limit_s or problem.options.time_limit_s
    if limit:
        settings = settings.replace(time_limit_s=float(limit))
    return settings


def plan_day(
    request: bytes | str | Mapping[str, Any] | DispatchProblem,
    *,
    preset: str | None = None,
    time_limit_s: float | None = None,
    solution_limit: int | None = None,
    on_progress: Progress | None = None,
) -> PlanOutcome:
    """Plan a day. Raises RequestError / TravelDataError on bad input, never on
    impossible jobs (those come back unassigned with a reason)."""
    began = time.monotonic()
    problem = request if isinstance(request, DispatchProblem) else parse_request(request)
    settings = settings_for(problem, preset, time_limit_s)
    model = travel_model_for(problem.options.travel)
    if on_progress:
        on_progress("matrices", 0.0, None)
    exp = expand(problem, model.matrices, zones_of(problem))
    t_matrix = time.monotonic() - began
    limit = settings.time_limit_s
    # The time limit covers the whole request: travel matrices before the search
    # and building and checking the plan after it (about 5 % kept for that).
    search_s = max(0.5, limit - t_matrix - min(5.0, 0.05 * limit))
    if on_progress:
        on_progress("solving", 0.0, None)

    def _on_solution(objective: int, elapsed: float) -> None:
        if on_progress:
            on_progress("solving", min(1.0, elapsed / search_s), objective)

    result = solve(
        exp.problem,
        settings,
        time_limit_s=search_s,
        seed=problem.options.seed,
        solution_limit=solution_limit or problem.options.solution_limit,
        on_solution=_on_solution,
    )
    # every stop as early as the routes' order allows: what ETAs and customers expect
    result = earliest_schedule(exp.problem, result)
    t_solve = time.monotonic() - began - t_matrix

    def _plan(found: RoutingResult, construction: str, status: str) -> dict[str, Any]:
        return build_plan(
            problem,
            exp,
            found,
            computing_times={"matrices_s": round(t_matrix, 3), "solving_s": round(t_solve, 3)},
            settings={
                "preset": preset or problem.options.preset,
                "time_limit_s": limit,
                "seed": problem.options.seed,
                "construction": construction,
                "search_status": status,
            },
        )

    plan = _plan(result, result.stats.construction, result.stats.status)
    violations = validate_plan(problem, plan)
    if violations:
        # Never hand out a plan that breaks a rule: fall back to OneStop's own
        # construction, valid by design.
        log.warning(
            "search result breaks %d rule(s): %s; using the construction", len(violations), violations[0]
        )
        seed_result = construct(exp.problem, seed=problem.options.seed, deadline_s=max(1.0, 0.5 * limit))
        plan = _plan(seed_result, "own", "construction (search result failed validation)")
    if on_progress:
        on_progress("done", 1.0, result.objective)
    return PlanOutcome(problem, exp, plan)
