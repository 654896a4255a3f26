"""What a solve returns: routes with times, dropped nodes, statistics."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Visit:
    """A node served at ``start_s`` (service begins; arrival may be earlier)."""

    node: int
    start_s: int


@dataclass(frozen=True, slots=True)
class BreakTaken:
    """A vehicle's break ``index`` taken from ``start_s`` for its duration."""

    index: int
    start_s: int


@dataclass(frozen=True, slots=True)
class VehicleRoute:
    """One vehicle's day: start node, visits in order, end node, with times."""

    vehicle: int
    start_s: int
    visits: tuple[Visit, ...]
    end_s: int
    breaks: tuple[BreakTaken, ...] = ()


@dataclass(frozen=True, slots=True)
class SolveStats:
    """How the search went."""

    runtime_s: float = 0.0
    solutions: int = 0
    status: str = "unknown"
    construction: str = ""
    objective_trace: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingResult:
    """Routes of the used vehicles, nodes left out and the objective."""

    routes: tuple[VehicleRoute, ...]
    dropped: tuple[int, ...]
    objective: int
    stats: SolveStats = field(default_factory=SolveStats)
    #: Dropped nodes the time limit kept out (never tried to the end), as opposed to
    #: nodes tried and found no room for; a subset of ``dropped``.
    timed_out: tuple[int, ...] = ()

    @property
    def served(self) -> set[int]:
        return {v.node for r in self.routes for v in r.visits}
