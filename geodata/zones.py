"""Service zones: named polygons, and which zones each point lies in.

Zones come from a GeoJSON FeatureCollection of Polygon / MultiPolygon features, each
named by the feature's ``id`` or its ``properties.id`` / ``properties.name``. Point lookup
is one vectorised shapely ``STRtree`` query, so a day's thousands of points cost
milliseconds. A point on a zone's boundary counts as inside.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .errors import TravelDataError
from .travel import Point, check_points

_POLYGONAL = ("Polygon", "MultiPolygon")


def _feature_id(feature: dict[str, Any], i: int) -> str:
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise TravelDataError(f"features[{i}].properties must be an object.",
                              f"features[{i}].properties")
    for raw in (feature.get("id"), props.get("id"), props.get("name")):
        if raw is not None and not isinstance(raw, bool) and str(raw).strip():
            return str(raw)
    raise TravelDataError(
        f"features[{i}] has no id (give the feature an id or properties.id / properties.name).",
        f"features[{i}].id",
    )


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygon parts of ``geom`` (make_valid may return a GeometryCollection)."""
    if geom.geom_type in _POLYGONAL:
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in _POLYGONAL]
        if parts:
            return shapely.union_all(parts)
    return shapely.Polygon()


def _zone_geometry(feature: dict[str, Any], i: int, zone_id: str) -> BaseGeometry:
    where = f"features[{i}].geometry"
    raw = feature.get("geometry")
    if not isinstance(raw, dict) or raw.get("type") not in _POLYGONAL:
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        raise TravelDataError(
            f"zone {zone_id!r}: geometry must be a Polygon or MultiPolygon, not {kind}.", where
        )
    try:
        geom = shape(raw)
    except Exception as exc:  # shapely raises several types for bad coordinates
        raise TravelDataError(f"zone {zone_id!r}: unreadable coordinates ({exc}).", where) from exc
    if geom.is_empty:
        raise TravelDataError(f"zone {zone_id!r} is empty.", where)
    lonlat = np.asarray(shapely.get_coordinates(geom))
    if not np.isfinite(lonlat).all() or (np.abs(lonlat[:, 0]) > 180).any() or (
        np.abs(lonlat[:, 1]) > 90
    ).any():
        raise TravelDataError(
            f"zone {zone_id!r}: coordinates must be [lon, lat] in degrees.", where
        )
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = _polygonal(shapely.make_valid(geom))
        if fixed.is_empty or not fixed.is_valid or fixed.area <= 0:
            raise TravelDataError(
                f"zone {zone_id!r} is not a valid polygon and cannot be repaired: {reason}.",
                where,
            )
        geom = fixed
    if geom.area <= 0:
        raise TravelDataError(f"zone {zone_id!r} has no area.", where)
    return geom


@dataclass(frozen=True, slots=True, eq=False)
class ZoneSet:
    """Named service zones with a spatial index.

    ``ids`` keeps the order of the file; ``zones_of`` answers in that order.
    """

    ids: tuple[str, ...]
    geometries: tuple[BaseGeometry, ...]
    _tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.geometries):
            raise TravelDataError("ids and geometries must have the same length.", "features")
        seen: dict[str, int] = {}
        for i, zid in enumerate(self.ids):
            if zid in seen:
                raise TravelDataError(
                    f"zone id {zid!r} is used by features[{seen[zid]}] and features[{i}].",
                    f"features[{i}].id",
                )
            seen[zid] = i
        object.__setattr__(self, "_tree", shapely.STRtree(list(self.geometries)))

    @classmethod
    def from_geojson(cls, source: dict[str, Any] | str | os.PathLike[str]) -> ZoneSet:
        """Zones from a GeoJSON FeatureCollection: a parsed dict, a JSON string or a path.

        Raises
        ------
        TravelDataError
            Not JSON, not a FeatureCollection of polygons, an unrepairable polygon, a
            missing or repeated id.
        """
        obj: Any = source
        if isinstance(source, os.PathLike) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise TravelDataError(f"zone file {str(path)!r} is unreadable: {exc}.",
                                      "zones") from exc
            obj = text
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except ValueError as exc:
                raise TravelDataError(f"zones are not valid JSON: {exc}.", "zones") from exc
        if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
            raise TravelDataError("zones must be a GeoJSON FeatureCollection.", "zones")
        features = obj.get("features")
        if not isinstance(features, list) or not features:
            raise TravelDataError("zones must hold at least one feature.", "features")
        ids: list[str] = []
        geoms: list[BaseGeometry] = []
        for i, feature in enumerate(features):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise TravelDataError(f"features[{i}] must be a GeoJSON Feature.",
                                      f"features[{i}]")
            zid = _feature_id(feature, i)
            ids.append(zid)
            geoms.append(_zone_geometry(feature, i, zid))
        return cls(tuple(ids), tuple(geoms))

    def zones_of(self, points: Sequence[Point]) -> list[tuple[str, ...]]:
        """The ids of the zones containing each point (boundary included), in file order."""
        arr = check_points(points)
        out: list[list[int]] = [[] for _ in range(len(arr))]
        if len(arr):
            pts = shapely.points(arr)
            p_idx, z_idx = self._tree.query(pts, predicate="intersects")
            for p, z in zip(p_idx.tolist(), z_idx.tolist(), strict=True):
                out[p].append(z)
        return [tuple(self.ids[z] for z in sorted(zs)) for zs in out]

    def geometry(self, zone_id: str) -> BaseGeometry:
        """The polygon of one zone (KeyError if unknown)."""
        return self.geometries[self.ids.index(zone_id)]

    def to_geojson(self) -> dict[str, Any]:
        """The zones as a FeatureCollection (for maps)."""
        return {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "id": zid, "properties": {"id": zid},
                 "geometry": mapping(g)}
                for zid, g in zip(self.ids, self.geometries, strict=True)
            ],
        }


#: Key of the points that lie in no zone in ``partition_points_by_zone``.
NO_ZONE = ""


def partition_points_by_zone(zones: ZoneSet, points: Sequence[Point]) -> dict[str, list[int]]:
    """Point indices grouped by zone, for solving one zone per task.

    A point in several overlapping zones goes to the first in file order; points in none
    are under ``NO_ZONE``. Zones without points are left out. Every index appears once.
    """
    groups: dict[str, list[int]] = {}
    for i, zs in enumerate(zones.zones_of(points)):
        groups.setdefault(zs[0] if zs else NO_ZONE, []).append(i)
    order = {zid: k for k, zid in enumerate(zones.ids)}
    return dict(sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order))))
