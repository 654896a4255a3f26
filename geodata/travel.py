"""Travel models: points ([lon, lat]) in, travel-time and distance matrices out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .errors import TravelDataError

EARTH_RADIUS_M = 6_371_008.8
#: Marks a pair with no route in a matrix (``null`` in JSON).
UNREACHABLE = -1

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Matrices:
    """Square int64 matrices over the given points; ``UNREACHABLE`` where no route."""

    durations_s: np.ndarray
    distances_m: np.ndarray
    provider: str
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("durations_s", "distances_m"):
            m = np.asarray(getattr(self, name), dtype=np.int64)
            m.setflags(write=False)
            object.__setattr__(self, name, m)


class TravelModel(Protocol):
    """Anything that turns points into matrices."""

    name: str

    def matrices(self, points: Sequence[Point]) -> Matrices: ...

    def describe(self) -> dict[str, Any]:
        """The settings that produced the times, for the plan's record."""
        ...


def check_points(points: Sequence[Point]) -> np.ndarray:
    """Points as an (n, 2) float array; refuses non-finite or out-of-range values."""
    arr = np.asarray(points, dtype=float).reshape(-1, 2) if len(points) else np.zeros((0, 2))
    if not np.isfinite(arr).all():
        raise TravelDataError("points must be finite numbers.", "points")
    if (np.abs(arr[:, 0]) > 180).any() or (np.abs(arr[:, 1]) > 90).any():
        raise TravelDataError("points must be [lon, lat] with |lon| <= 180, |lat| <= 90.", "points")
    return arr


def haversine_m(points: np.ndarray) -> np.ndarray:
    """Great-circle metres between every pair of [lon, lat] points (float)."""
    lon = np.radians(points[:, 0])
    lat = np.radians(points[:, 1])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True, slots=True)
class Haversine:
    """DESIGN.md's default: straight line times a circuity factor at a fixed speed.

    ``distance_m = round(haversine_m × circuity)``,
    ``travel_s = ceil(distance_m / (speed_kmh / 3.6))``.
    """

    speed_kmh: float = 25.0
    circuity: float = 1.3
    name: str = "haversine"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            raise TravelDataError("speed_kmh must be a number > 0.", "speed_kmh")
        if not (math.isfinite(self.circuity) and self.circuity >= 1):
            raise TravelDataError("circuity must be a number >= 1.", "circuity")

    def matrices(self, points: Sequence[Point]) -> Matrices:
        arr = check_points(points)
        dist = np.rint(haversine_m(arr) * self.circuity).astype(np.int64)
        speed_ms = self.speed_kmh / 3.6
        dur = np.ceil(dist / speed_ms).astype(np.int64)
        np.fill_diagonal(dist, 0)
        np.fill_diagonal(dur, 0)
        return Matrices(dur, dist, self.name, self.describe())

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "speed_kmh": self.speed_kmh, "circuity": self.circuity}


def haversine_leg(
    a: Point, b: Point, speed_kmh: float = 25.0, circuity: float = 1.3
) -> tuple[int, int]:
    """(travel_s, distance_m) of one leg under the default model."""
    m = Haversine(speed_kmh, circuity).matrices([a, b])
    return int(m.durations_s[0, 1]), int(m.distances_m[0, 1])
