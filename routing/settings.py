"""Solver settings: a validated value with named presets."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

FIRST_SOLUTIONS = (
    "AUTOMATIC",
    "PATH_CHEAPEST_ARC",
    "PATH_MOST_CONSTRAINED_ARC",
    "SAVINGS",
    "SWEEP",
    "CHRISTOFIDES",
    "PARALLEL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "GLOBAL_CHEAPEST_ARC",
    "LOCAL_CHEAPEST_ARC",
    "FIRST_UNBOUND_MIN_VALUE",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_COST_INSERTION",
    "BEST_INSERTION",
)
METAHEURISTICS = (
    "AUTOMATIC",
    "GREEDY_DESCENT",
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GENERIC_TABU_SEARCH",
)
#: "auto" uses PyVRP when the problem fits its model exactly (plain VRPTW and
#: pickup–delivery: benchmarks), OR-Tools with OneStop's construction otherwise.
BACKENDS = ("auto", "ortools", "pyvrp")
#: "own" seeds OR-Tools with OneStop's regret insertion; "ortools" uses
#: ``first_solution`` alone; "both" keeps whichever is better.
CONSTRUCTIONS = ("own", "ortools", "both")


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """How to search. Stopping and seed are arguments of ``solve``, not settings.

    Parameters
    ----------
    first_solution
        OR-Tools first-solution strategy name (used when ``construction`` is
        "ortools" or "both").
    metaheuristic
        OR-Tools local-search metaheuristic name.
    construction
        Which construction seeds the search, see ``CONSTRUCTIONS``.
    backend
        Which engine searches, see ``BACKENDS``.
    time_limit_s
        Default wall-clock limit when ``solve`` gets none.
    lns_time_limit_s
        Limit of each large-neighbourhood sub-search.
    log_search
        Let OR-Tools log its search.
    """

    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    construction: str = "own"
    backend: str = "auto"
    time_limit_s: float = 10.0
    lns_time_limit_s: float = 0.1
    log_search: bool = False

    def __post_init__(self) -> None:
        if self.first_solution not in FIRST_SOLUTIONS:
            raise ValueError(f"first_solution must be one of {', '.join(FIRST_SOLUTIONS)}.")
        if self.metaheuristic not in METAHEURISTICS:
            raise ValueError(f"metaheuristic must be one of {', '.join(METAHEURISTICS)}.")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}.")
        if self.construction not in CONSTRUCTIONS:
            raise ValueError(f"construction must be one of {', '.join(CONSTRUCTIONS)}.")
        if not self.time_limit_s > 0:
            raise ValueError("time_limit_s must be > 0.")
        if not self.lns_time_limit_s > 0:
            raise ValueError("lns_time_limit_s must be > 0.")

    def replace(self, **changes: object) -> SolverSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_toml(cls, path: str | Path) -> SolverSettings:
        """Read a ``[solver]`` table (or top-level keys) from a TOML file."""
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        table = dict(data.get("solver", data))
        preset = table.pop("preset", None)
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ValueError(f"unknown solver setting(s): {', '.join(sorted(unknown))}.")
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}.")
        base = PRESETS[preset] if preset else cls()
        return base.replace(**table)


PRESETS: dict[str, SolverSettings] = {
    "fast": SolverSettings(construction="own", metaheuristic="GREEDY_DESCENT", time_limit_s=2.0),
    "balanced": SolverSettings(time_limit_s=10.0),
    "quality": SolverSettings(construction="both", time_limit_s=60.0, lns_time_limit_s=0.5),
}
DEFAULT_PRESET = "balanced"
