"""Why a job is not in the plan: a closed list (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

NO_CAPABLE_RESOURCE = "no_capable_resource"
OUTSIDE_SERVICE_AREA = "outside_service_area"
WINDOW_UNREACHABLE = "window_unreachable"
OVER_CAPACITY = "over_capacity"
SHIFT_TOO_SHORT = "shift_too_short"
NOT_SCHEDULED = "not_scheduled"
#: The part of the run that held the job failed; the detail names the part and the error.
SOLVER_FAILED = "solver_failed"
INVALID_REFERENCE = "invalid_reference"

REASONS = frozenset(
    {
        NO_CAPABLE_RESOURCE,
        OUTSIDE_SERVICE_AREA,
        WINDOW_UNREACHABLE,
        OVER_CAPACITY,
        SHIFT_TOO_SHORT,
        NOT_SCHEDULED,
        SOLVER_FAILED,
        INVALID_REFERENCE,
    }
)


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A job left out of the plan, with a reason from ``REASONS`` and a detail."""

    job: str
    reason: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown reason {self.reason!r}")

    def to_json(self) -> dict[str, str]:
        return {"job": self.job, "reason": self.reason, "detail": self.detail}
