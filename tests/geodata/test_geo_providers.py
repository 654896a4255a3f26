"""travel_model(options): provider choice, setting refusals, and the matrix provider."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from onestop.geodata import (
    UNREACHABLE,
    CachedModel,
    Haversine,
    MatrixTable,
    OsmRoads,
    OsrmTable,
    TravelDataError,
    travel_model,
)

LOCS = [[24.94, 60.17], [24.95, 60.16], [24.96, 60.18]]


def matrix_options(**changes: Any) -> dict[str, Any]:
    """A valid 3-location matrix request, with some keys replaced."""
    opts: dict[str, Any] = {
        "provider": "matrix",
        "locations": copy.deepcopy(LOCS),
        "durations_s": [[0, 60, 120], [70, 0, None], [110, 50, 0]],
        "distances_m": [[0, 500, 900], [520, 0, None], [880, 400, 0]],
    }
    opts.update(changes)
    return opts


def with_entry(key: str, i: int, j: int, value: Any) -> dict[str, Any]:
    """matrix_options() with ``key[i][j]`` set to ``value``."""
    opts = matrix_options()
    opts[key][i][j] = value
    return opts


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"provider": "google"}, "provider"),  # unknown provider
        ({"provider": 3}, "provider"),  # provider not a string
        ({"provider": "haversine", "speed_kmh": 0}, "speed_kmh"),  # speed must be > 0
        ({"provider": "haversine", "speed_kmh": "fast"}, "speed_kmh"),  # not a number
        ({"provider": "haversine", "circuity": 0.9}, "circuity"),  # shorter than straight
        ({"provider": "haversine", "speed": 30}, "speed"),  # typo of speed_kmh
        ({"provider": "osm"}, "extract"),  # extract missing
        ({"provider": "osm", "extract": "/nonexistent/x.osm.pbf"}, "extract"),  # no such file
        ({"provider": "osm", "extract": "bundled:atlantis"}, "extract"),  # unknown bundled
        ({"provider": "osm", "extract": "bundled:helsinki", "snap_m": -1}, "snap_m"),  # < 0
        ({"provider": "osm", "extract": "bundled:helsinki", "snap_to": "x"}, "snap_to"),  # enum
        ({"provider": "osrm"}, "url"),  # url missing
        ({"provider": "osrm", "url": "localhost:5000"}, "url"),  # no scheme
        ({"provider": "osrm", "url": "http://h", "timeout_s": 0}, "timeout_s"),  # zero timeout
        ({"provider": "osrm", "url": "http://h", "profile": "a/b"}, "profile"),  # path in name
        ({"provider": "osrm", "url": "http://h", "chunk": 0}, "chunk"),  # empty chunks
    ],
)
def test_refused_settings_name_the_field(options: dict[str, Any], field: str) -> None:
    """Each bad setting raises TravelDataError naming exactly that setting."""
    with pytest.raises(TravelDataError) as err:
        travel_model(options)
    assert err.value.field == field


def test_each_provider_builds_its_model() -> None:
    """Each provider name yields its model; osm and osrm come wrapped in a matrix cache."""
    assert isinstance(travel_model({"provider": "haversine"}), Haversine)
    assert isinstance(travel_model({"speed_kmh": 30}), Haversine)
    osm = travel_model({"provider": "osm", "extract": "bundled:helsinki"})
    assert isinstance(osm, CachedModel) and isinstance(osm.model, OsmRoads)
    osrm = travel_model({"provider": "osrm", "url": "http://127.0.0.1:5000/", "cache": False})
    assert isinstance(osrm, OsrmTable) and osrm.url == "http://127.0.0.1:5000"
    assert isinstance(travel_model(matrix_options()), MatrixTable)


def test_matrix_lookup_by_location() -> None:
    """Points are looked up in locations, in any order and with repeats; null is UNREACHABLE."""
    model = travel_model(matrix_options())
    m = model.matrices([LOCS[2], LOCS[1], LOCS[2]])
    assert m.durations_s.tolist() == [[0, 50, 0], [UNREACHABLE, 0, UNREACHABLE], [0, 50, 0]]
    assert m.distances_m.tolist() == [[0, 400, 0], [UNREACHABLE, 0, UNREACHABLE], [0, 400, 0]]


def test_matrix_location_tolerance() -> None:
    """A point within 1e-7 degrees matches its location; one 1e-6 away is refused by index."""
    model = travel_model(matrix_options())
    near = [LOCS[1][0] + 5e-8, LOCS[1][1] - 5e-8]
    assert model.matrices([LOCS[0], near]).durations_s[0, 1] == 60
    far = [LOCS[1][0] + 1e-6, LOCS[1][1]]
    with pytest.raises(TravelDataError) as err:
        model.matrices([LOCS[0], LOCS[2], far])
    assert err.value.field == "points[2]"
    assert "points[2] [24.950001, 60.16] is not one of travel.locations" in str(err.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (matrix_options(locations=[]), "locations"),  # no locations
        (matrix_options(locations=[[24.94, 60.17], [24.95], [1, 2]]), "locations[1]"),  # no lat
        (matrix_options(locations=[[0, 0], [200, 0], [1, 1]]), "locations[1]"),  # lon > 180
        (matrix_options(locations=[[0, 0], [1, 1], [0, 0]]), "locations[2]"),  # repeated
        (matrix_options(durations_s=[[0, 1, 2], [1, 0, 2]]), "durations_s"),  # 2 rows of 3
        (matrix_options(durations_s=[[0, 1, 2], [1, 0], [1, 2, 0]]), "durations_s[1]"),  # ragged
        (matrix_options(durations_s="0 1 2"), "durations_s"),  # not a list
        (with_entry("durations_s", 0, 1, 2.5), "durations_s[0][1]"),  # not an integer
        (with_entry("durations_s", 2, 0, -4), "durations_s[2][0]"),  # negative
        (with_entry("durations_s", 1, 0, math.nan), "durations_s[1][0]"),  # NaN
        (with_entry("durations_s", 0, 2, math.inf), "durations_s[0][2]"),  # infinite
        (with_entry("durations_s", 0, 1, "60"), "durations_s[0][1]"),  # a string
        (with_entry("durations_s", 0, 1, True), "durations_s[0][1]"),  # a boolean
        (with_entry("durations_s", 2, 2, 5), "durations_s[2][2]"),  # non-zero diagonal
        (with_entry("distances_m", 1, 1, None), "distances_m[1][1]"),  # null diagonal
        (with_entry("distances_m", 2, 0, None), "distances_m[2][0]"),  # null in one matrix only
        ({k: v for k, v in matrix_options().items() if k != "distances_m"}, "distances_m"),
        # ^ distances missing
        (matrix_options(extra=1), "extra"),  # unknown setting
    ],
)
def test_matrix_refusals(options: dict[str, Any], field: str) -> None:
    """Each malformed matrix request raises TravelDataError naming the entry."""
    with pytest.raises(TravelDataError) as err:
        travel_model(options)
    assert err.value.field == field


def test_matrix_accepts_integral_floats() -> None:
    """60.0 is an integer written as a float (as some JSON writers do) and is accepted."""
    model = travel_model(with_entry("durations_s", 0, 1, 60.0))
    assert model.matrices(LOCS).durations_s[0, 1] == 60
    assert model.matrices(LOCS).durations_s.dtype == np.int64


def test_whole_request_options_are_accepted() -> None:
    """Passing the request's whole options object uses its travel entry (or the default)."""
    assert isinstance(travel_model({"preset": "fast"}), Haversine)
    model = travel_model({"preset": "fast", "travel": {"provider": "haversine", "speed_kmh": 40}})
    assert model.describe()["speed_kmh"] == 40.0
