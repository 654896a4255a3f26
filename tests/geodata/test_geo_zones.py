"""Service zones: loading GeoJSON, point-in-zone lookups and refusals of bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from onestop.geodata import NO_ZONE, TravelDataError, ZoneSet, partition_points_by_zone


def square(x0: float, y0: float, size: float) -> list[list[list[float]]]:
    """Polygon coordinates of an axis-aligned square."""
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def feature(geometry: dict[str, Any], fid: Any = None, **props: Any) -> dict[str, Any]:
    """A GeoJSON Feature with an optional top-level id."""
    out: dict[str, Any] = {"type": "Feature", "properties": props, "geometry": geometry}
    if fid is not None:
        out["id"] = fid
    return out


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


CITY = collection(
    feature({"type": "Polygon", "coordinates": square(24.90, 60.15, 0.05)}, "west"),
    feature({"type": "Polygon", "coordinates": square(24.95, 60.15, 0.05)}, id="east"),
    feature(
        {"type": "MultiPolygon",
         "coordinates": [square(24.93, 60.16, 0.04), square(25.10, 60.30, 0.01)]},
        name="centre",
    ),
)


def test_ids_in_file_order() -> None:
    """Ids come from id, properties.id or properties.name, in the order of the file."""
    assert ZoneSet.from_geojson(CITY).ids == ("west", "east", "centre")


def test_zones_of_points() -> None:
    """Each point gets every zone it lies in, boundaries included, in file order."""
    zones = ZoneSet.from_geojson(CITY)
    pts = [
        [24.91, 60.151],  # west only
        [24.94, 60.17],  # west and centre
        [24.95, 60.151],  # on the west/east border
        [25.105, 60.305],  # the centre's second polygon
        [26.0, 61.0],  # nowhere
    ]
    assert zones.zones_of(pts) == [
        ("west",),
        ("west", "centre"),
        ("west", "east"),
        ("centre",),
        (),
    ]
    assert zones.zones_of([]) == []


def test_partition_points_by_zone() -> None:
    """Every point lands in exactly one group: its first zone, or NO_ZONE."""
    zones = ZoneSet.from_geojson(CITY)
    pts = [[24.96, 60.16], [24.91, 60.151], [26.0, 61.0], [24.94, 60.17], [25.105, 60.305]]
    assert partition_points_by_zone(zones, pts) == {
        "west": [1, 3],
        "east": [0],
        "centre": [4],
        NO_ZONE: [2],
    }


def test_load_from_path_and_string(tmp_path: Path) -> None:
    """A file path and a JSON string load the same zones as the parsed object."""
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps(CITY))
    assert ZoneSet.from_geojson(path).ids == ZoneSet.from_geojson(str(path)).ids
    assert ZoneSet.from_geojson(json.dumps(CITY)).ids == ("west", "east", "centre")


def test_self_intersection_repaired() -> None:
    """A bow-tie polygon is repaired with make_valid into its two triangles."""
    bowtie = [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]
    zones = ZoneSet.from_geojson(collection(feature({"type": "Polygon", "coordinates": bowtie},
                                                    "bow")))
    assert zones.zones_of([[0.5, 1.0], [1.5, 1.0], [1.0, 1.9]]) == [("bow",), ("bow",), ()]


def test_round_trip_geojson() -> None:
    """to_geojson gives a collection that loads back to the same zones."""
    zones = ZoneSet.from_geojson(CITY)
    again = ZoneSet.from_geojson(zones.to_geojson())
    assert again.ids == zones.ids
    assert all(a.equals(b) for a, b in zip(zones.geometries, again.geometries, strict=True))


SQUARE = {"type": "Polygon", "coordinates": square(0, 0, 1)}


@pytest.mark.parametrize(
    ("source", "field", "message"),
    [
        ("{not json", "zones", "not valid JSON"),  # broken JSON text
        ({"type": "Feature"}, "zones", "FeatureCollection"),  # a single feature
        (collection(), "features", "at least one"),  # no features
        (collection({"type": "Polygon"}), "features[0]", "Feature"),  # bare geometry
        (collection(feature({"type": "Point", "coordinates": [0, 0]}, "p")),
         "features[0].geometry", "Polygon or MultiPolygon"),  # a point, not an area
        (collection(feature(SQUARE)), "features[0].id", "no id"),  # no id anywhere
        (collection(feature(SQUARE, "a"), feature(SQUARE, name="a")),
         "features[1].id", "used by features[0] and features[1]"),  # duplicate id
        (collection(feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]},
                            "line")),
         "features[0].geometry", "cannot be repaired"),  # collinear: no area to repair
        (collection(feature({"type": "Polygon", "coordinates": [[[0, 0], [1]]]}, "bad")),
         "features[0].geometry", "unreadable coordinates"),  # a one-number coordinate
        (collection(feature({"type": "Polygon", "coordinates": square(500, 0, 1)}, "far")),
         "features[0].geometry", "[lon, lat]"),  # projected metres, not degrees
    ],
)
def test_malformed_zones(source: Any, field: str, message: str) -> None:
    """Each malformed zone file raises TravelDataError naming the place and the problem."""
    with pytest.raises(TravelDataError, match=re.escape(message)) as err:
        ZoneSet.from_geojson(source)
    assert err.value.field == field


def test_missing_file(tmp_path: Path) -> None:
    """A zone file that does not exist is a TravelDataError, not an OSError."""
    with pytest.raises(TravelDataError, match="unreadable"):
        ZoneSet.from_geojson(tmp_path / "nope.geojson")
