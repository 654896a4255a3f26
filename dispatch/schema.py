"""The v1 request wire format (DESIGN.md), as strict pydantic models.

The wire layer only checks shape and types; meaning (times, references,
windows against shifts) is checked when the domain model is built.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)

MAX_ID = 128
MAX_TEXT = 2_000
MAX_LIST = 100_000

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, strip_whitespace=False)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID)]
#: "HH:MM", "HH:MM:SS" on the plan's date, or an ISO 8601 datetime.
TimeText = Annotated[str, StringConstraints(min_length=4, max_length=40)]
Seconds = Annotated[StrictInt, Field(ge=0, le=30 * 86_400)]
Number = StrictInt | StrictFloat


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


#: An amount in the user's own unit (m³, kg, units): a non-negative finite number,
#: integer or decimal (``0.35``). Strict: ``true`` and ``"1"`` are refused, not coerced.
Amount = Annotated[float, Strict(), Field(ge=0, le=1e9, allow_inf_nan=False)]


Coord = Annotated[Number, AfterValidator(_finite)]


def _lonlat(v: tuple[float, float]) -> tuple[float, float]:
    lon, lat = v
    if not -180 <= lon <= 180:
        raise ValueError("longitude must be within [-180, 180] ([lon, lat] order)")
    if not -90 <= lat <= 90:
        raise ValueError("latitude must be within [-90, 90] ([lon, lat] order)")
    return (float(lon), float(lat))


Location = Annotated[tuple[Coord, Coord], AfterValidator(_lonlat)]
TimeSpan = tuple[TimeText, TimeText]
Items = Annotated[dict[Name, Amount], Field(max_length=32)]
Tags = Annotated[list[Name], Field(max_length=256)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Cost(_Wire):
    fixed: Annotated[Number, Field(ge=0, le=1e9)] = 0
    per_hour: Annotated[Number, Field(ge=0, le=1e7)] = 0
    per_km: Annotated[Number, Field(ge=0, le=1e7)] = 0


class BreakIn(_Wire):
    window: TimeSpan
    duration: Seconds


class DepotIn(_Wire):
    id: Id
    kind: Literal["warehouse", "service_center", "recycling"]
    location: Location
    service_s: Seconds = 0
    name: Text | None = None


class TechnicianIn(_Wire):
    id: Id
    name: Text | None = None
    brands: Tags = []
    skills: Tags = []
    start: Id | Location
    end: Id | Location | None = None
    shift: TimeSpan
    breaks: Annotated[list[BreakIn], Field(max_length=16)] = []
    max_jobs: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    cost: Cost | None = None
    zones: Tags | None = None


class CourierIn(_Wire):
    id: Id
    name: Text | None = None
    depot: Id
    start: Id | Location | None = None
    end: Id | Location | None = None
    capacity: Items = {}
    brands: Tags = []
    skills: Tags = []
    shift: TimeSpan
    breaks: Annotated[list[BreakIn], Field(max_length=16)] = []
    max_jobs: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    cost: Cost | None = None
    zones: Tags | None = None


class PromiseIn(_Wire):
    kind: Literal["211"]
    ordered_at: TimeText


JobKind = Literal[
    "delivery",
    "installation",
    "delivery_installation",
    "haul_away",
    "exchange",
    "pickup",
    "repair",
    "inspection",
]


class JobIn(_Wire):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    id: Id
    kind: JobKind
    location: Location
    windows: Annotated[list[TimeSpan], Field(max_length=32)] = []
    duration: Seconds | None = None
    handover_s: Seconds = 300
    brand: Name | None = None
    skills: Tags = []
    items: Items = {}
    returned_items: Items = {}
    from_: Id | None = Field(default=None, alias="from")
    to: Id | None = None
    after: Id | None = None
    priority: Literal["urgent", "promise", "standard"] = "standard"
    promise: PromiseIn | None = None
    customer: Text | None = None
    address: Text | None = None
    notes: Text | None = None


class OptionsIn(_Wire):
    preset: Literal["fast", "balanced", "quality"] = "balanced"
    time_limit_s: Annotated[Number, Field(gt=0, le=3_600)] | None = None
    objective: Literal["time", "distance"] = "time"
    travel: dict[str, Any] | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=2**31 - 1)] = 0
    solution_limit: Annotated[StrictInt, Field(ge=1, le=10**7)] | None = None


class PlanRequestIn(_Wire):
    """A whole v1 request: one day of work in one place."""

    version: Literal["1", 1] = "1"
    date: Annotated[str, StringConstraints(min_length=10, max_length=10)]
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    depots: Annotated[list[DepotIn], Field(max_length=10_000)] = []
    technicians: Annotated[list[TechnicianIn], Field(max_length=10_000)] = []
    couriers: Annotated[list[CourierIn], Field(max_length=10_000)] = []
    jobs: Annotated[list[JobIn], Field(max_length=MAX_LIST)] = []
    options: OptionsIn = OptionsIn()
    zones: dict[str, Any] | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _none_options(cls, v: Any) -> Any:
        return {} if v is None else v
