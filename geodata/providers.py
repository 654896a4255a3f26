"""``travel_model(options)``: a v1 request's ``options.travel`` to a travel model.

Providers: ``haversine`` (the default), ``osm`` (roads of an extract), ``osrm`` (a
user-run server) and ``matrix`` (times and distances the user brings). Every refusal is a
``TravelDataError`` whose ``field`` names the setting, relative to ``options.travel``
(``"provider"``, ``"durations_s[2][3]"``), so the API and the CLI can point at it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .cache import cached
from .errors import TravelDataError
from .osm import OsmRoads, bundled_extract
from .osrm import OsrmTable
from .travel import UNREACHABLE, Haversine, Matrices, Point, TravelModel, check_points

#: Largest coordinate difference, degrees, at which a point matches one of ``locations``.
LOCATION_TOLERANCE_DEG = 1e-7

PROVIDERS = ("haversine", "osm", "osrm", "matrix")
#: Keys of a request's ``options`` (not of ``options.travel``): seeing one means the caller
#: passed the whole ``options`` object, whose ``travel`` entry is then used.
_REQUEST_OPTION_KEYS = frozenset({"travel", "preset", "time_limit_s", "objective"})


def _number(opts: dict[str, Any], key: str, default: float, *, lo: float, strict: bool) -> float:
    """``opts[key]`` as a finite number above ``lo`` (or at least ``lo`` if not strict)."""
    if key not in opts:
        return default
    val = opts[key]
    if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
        raise TravelDataError(f"{key} must be a number.", key)
    if val < lo or (strict and val == lo):
        raise TravelDataError(f"{key} must be {'>' if strict else '>='} {lo:g}.", key)
    return float(val)


def _integer(opts: dict[str, Any], key: str, default: int) -> int:
    if key not in opts:
        return default
    val = opts[key]
    if isinstance(val, bool) or not isinstance(val, int) or val < 1:
        raise TravelDataError(f"{key} must be an integer >= 1.", key)
    return val


def _boolean(opts: dict[str, Any], key: str, default: bool) -> bool:
    if key not in opts:
        return default
    val = opts[key]
    if not isinstance(val, bool):
        raise TravelDataError(f"{key} must be true or false.", key)
    return val


def _check_keys(opts: dict[str, Any], allowed: Sequence[str], provider: str) -> None:
    """Refuse unknown settings: a typo must not silently fall back to a default."""
    for key in opts:
        if key not in allowed:
            raise TravelDataError(
                f"{key!r} is not a setting of the {provider!r} provider "
                f"(known: {', '.join(allowed)}).",
                str(key),
            )


def _haversine(opts: dict[str, Any]) -> TravelModel:
    _check_keys(opts, ("provider", "speed_kmh", "circuity"), "haversine")
    return Haversine(
        _number(opts, "speed_kmh", 25.0, lo=0.0, strict=True),
        _number(opts, "circuity", 1.3, lo=1.0, strict=False),
    )


def _osm(opts: dict[str, Any]) -> TravelModel:
    allowed = ("provider", "extract", "snap_m", "speed_factor", "access_speed_kmh", "snap_to",
               "cache")
    _check_keys(opts, allowed, "osm")
    extract = opts.get("extract")
    if not isinstance(extract, str) or not extract:
        raise TravelDataError("extract must be the path of an .osm.pbf file.", "extract")
    if extract.startswith("bundled:"):
        path = bundled_extract(extract.split(":", 1)[1])
    else:
        path = Path(extract).expanduser()
        if not path.is_file():
            raise TravelDataError(f"extract {extract!r} does not exist or is not a file.",
                                  "extract")
    snap_to = opts.get("snap_to", "largest_component")
    use_cache = _boolean(opts, "cache", True)
    model = OsmRoads(
        str(path),
        snap_m=_number(opts, "snap_m", 1000.0, lo=0.0, strict=True),
        speed_factor=_number(opts, "speed_factor", 1.0, lo=0.0, strict=True),
        access_speed_kmh=_number(opts, "access_speed_kmh", 15.0, lo=0.0, strict=True),
        snap_to=snap_to,
        disk_cache=use_cache,
    )
    return cached(model, disk=True) if use_cache else model


def _osrm(opts: dict[str, Any]) -> TravelModel:
    allowed = ("provider", "url", "profile", "timeout_s", "chunk", "parallel", "retries", "cache")
    _check_keys(opts, allowed, "osrm")
    if "url" not in opts:
        raise TravelDataError("url is required for the osrm provider.", "url")
    model = OsrmTable(
        opts["url"],
        profile=opts.get("profile", "driving"),
        timeout_s=_number(opts, "timeout_s", 30.0, lo=0.0, strict=True),
        chunk=_integer(opts, "chunk", 100),
        parallel=_integer(opts, "parallel", 4),
        retries=opts.get("retries", 4),
    )
    return cached(model) if _boolean(opts, "cache", True) else model


def _matrix(opts: dict[str, Any]) -> TravelModel:
    _check_keys(opts, ("provider", "locations", "durations_s", "distances_m"), "matrix")
    return MatrixTable.from_options(opts)


_FACTORIES: dict[str, Callable[[dict[str, Any]], TravelModel]] = {
    "haversine": _haversine,
    "osm": _osm,
    "osrm": _osrm,
    "matrix": _matrix,
}


def travel_model(options: dict[str, Any] | None) -> TravelModel:
    """The travel model a request's ``options.travel`` asks for.

    Parameters
    ----------
    options
        The ``travel`` dict, or None for the default
        ``{"provider": "haversine", "speed_kmh": 25, "circuity": 1.3}``. A missing
        ``provider`` means ``"haversine"``. The whole request ``options`` (with
        ``travel``, ``preset``, ... keys) is accepted too; its ``travel`` is used.
        ``osm`` takes ``extract`` (a path, or ``"bundled:helsinki"``), ``snap_m``,
        ``speed_factor``, ``access_speed_kmh``, ``snap_to``, ``cache``; ``osrm`` takes
        ``url``, ``profile``, ``timeout_s``, ``chunk``, ``parallel``, ``retries``, ``cache``.

    Returns
    -------
    TravelModel
        ``Haversine``, ``OsmRoads`` or ``OsrmTable`` (the latter two wrapped in a matrix
        cache unless ``"cache": false``), or ``MatrixTable``.

    Raises
    ------
    TravelDataError
        Unknown provider, unknown setting, or a bad or missing value; ``field`` names it.
    """
    if isinstance(options, dict) and _REQUEST_OPTION_KEYS.intersection(options):
        options = options.get("travel")  # the whole ``options`` object was passed
    if options is None:
        return Haversine()
    if not isinstance(options, dict):
        raise TravelDataError("travel must be an object.", "")
    provider = options.get("provider", "haversine")
    factory = _FACTORIES.get(provider) if isinstance(provider, str) else None
    if factory is None:
        raise TravelDataError(
            f"provider must be one of {', '.join(PROVIDERS)}; got {provider!r}.", "provider"
        )
    return factory(options)


def _matrix_values(raw: Any, name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A JSON matrix as (int64 values, null mask), refusing anything but n×n naturals."""
    if not isinstance(raw, list):
        raise TravelDataError(f"{name} must be a list of {n} rows.", name)
    if len(raw) != n:
        raise TravelDataError(f"{name} has {len(raw)} rows; locations has {n}.", name)
    values = np.zeros((n, n), dtype=np.int64)
    null = np.zeros((n, n), dtype=bool)
    for i, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != n:
            size = len(row) if isinstance(row, list) else "not a list"
            raise TravelDataError(f"{name}[{i}] must be a row of {n} entries ({size}).",
                                  f"{name}[{i}]")
        for j, x in enumerate(row):
            where = f"{name}[{i}][{j}]"
            if x is None:
                if i == j:
                    raise TravelDataError(f"{where} must be 0 (a place to itself).", where)
                null[i, j] = True
                continue
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise TravelDataError(f"{where} must be an integer or null.", where)
            if isinstance(x, float) and not (math.isfinite(x) and x.is_integer()):
                raise TravelDataError(f"{where} must be an integer or null; got {x!r}.", where)
            if x < 0:
                raise TravelDataError(f"{where} must be >= 0; got {x!r}.", where)
            if i == j and x != 0:
                raise TravelDataError(f"{where} must be 0 (a place to itself).", where)
            values[i, j] = int(x)
    return values, null


@dataclass(frozen=True, slots=True, eq=False)
class MatrixTable:
    """Times and distances the user brings, looked up by exact location.

    Build it with ``MatrixTable.from_options`` (validates) or directly from arrays where
    ``UNREACHABLE`` marks pairs without a route.
    """

    locations: np.ndarray
    durations_s: np.ndarray
    distances_m: np.ndarray
    name: str = "matrix"
    _tree: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for attr in ("durations_s", "distances_m"):
            m = np.asarray(getattr(self, attr), dtype=np.int64)
            m.setflags(write=False)
            object.__setattr__(self, attr, m)
        locs = np.asarray(self.locations, dtype=float).reshape(-1, 2)
        object.__setattr__(self, "locations", locs)
        object.__setattr__(self, "_tree", cKDTree(locs) if len(locs) else None)

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> MatrixTable:
        """Validate a ``{"provider": "matrix", ...}`` dict; errors name the entry."""
        raw = opts.get("locations")
        if not isinstance(raw, list) or not raw:
            raise TravelDataError("locations must be a non-empty list of [lon, lat].",
                                  "locations")
        for i, loc in enumerate(raw):
            if (
                not isinstance(loc, list | tuple)
                or len(loc) != 2
                or any(isinstance(c, bool) or not isinstance(c, int | float) for c in loc)
                or not all(math.isfinite(c) for c in loc)
                or abs(loc[0]) > 180
                or abs(loc[1]) > 90
            ):
                raise TravelDataError(
                    f"locations[{i}] must be [lon, lat] with |lon| <= 180, |lat| <= 90.",
                    f"locations[{i}]",
                )
        locs = np.asarray(raw, dtype=float)
        n = len(locs)
        tree = cKDTree(locs)
        for i, j in sorted(tree.query_pairs(LOCATION_TOLERANCE_DEG, p=np.inf)):
            raise TravelDataError(f"locations[{j}] repeats locations[{i}].", f"locations[{j}]")
        for key in ("durations_s", "distances_m"):
            if key not in opts:
                raise TravelDataError(f"{key} is required for the matrix provider.", key)
        dur, dur_null = _matrix_values(opts["durations_s"], "durations_s", n)
        dis, dis_null = _matrix_values(opts["distances_m"], "distances_m", n)
        mismatch = np.argwhere(dur_null != dis_null)
        if len(mismatch):
            i, j = (int(x) for x in mismatch[0])
            raise TravelDataError(
                f"distances_m[{i}][{j}] and durations_s[{i}][{j}] must both be null or "
                "both be numbers.",
                f"distances_m[{i}][{j}]",
            )
        dur[dur_null] = UNREACHABLE
        dis[dis_null] = UNREACHABLE
        return cls(locs, dur, dis)

    def indices(self, points: Sequence[Point]) -> np.ndarray:
        """Index into ``locations`` of each point; refuses a point that is not one."""
        arr = check_points(points)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        dist, idx = self._tree.query(arr, k=1, p=np.inf)
        bad = np.flatnonzero(~(dist <= LOCATION_TOLERANCE_DEG * (1 + 1e-9)))
        if bad.size:
            i = int(bad[0])
            lon, lat = arr[i]
            raise TravelDataError(
                f"points[{i}] [{lon}, {lat}] is not one of travel.locations.", f"points[{i}]"
            )
        return np.asarray(idx, dtype=np.int64)

    def matrices(self, points: Sequence[Point]) -> Matrices:
        idx = self.indices(points)
        sub = np.ix_(idx, idx)
        return Matrices(self.durations_s[sub], self.distances_m[sub], self.name, self.describe())

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "locations": len(self.locations)}
