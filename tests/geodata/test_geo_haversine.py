"""The default travel model reproduces DESIGN.md's formula exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onestop.geodata import Haversine, TravelDataError, haversine_leg, travel_model


def design_leg(a: tuple[float, float], b: tuple[float, float], speed_kmh: float = 25.0,
               circuity: float = 1.3) -> tuple[int, int]:
    """DESIGN.md's formula written out with the math module, independently of numpy."""
    r = 6_371_008.8
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        (lon2 - lon1) / 2
    ) ** 2
    dist = round(2 * r * math.asin(math.sqrt(h)) * circuity)
    return math.ceil(dist / (speed_kmh / 3.6)), dist


def test_one_degree_of_latitude() -> None:
    """One degree north is pi*R/180 m, times 1.3, at 25 km/h: 144,554 m and 20,816 s."""
    assert haversine_leg((0.0, 0.0), (0.0, 1.0)) == (20_816, 144_554)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((24.9384, 60.1699), (24.9520, 60.1650)),  # across central Helsinki
        ((-0.1278, 51.5074), (2.3522, 48.8566)),  # London to Paris
        ((179.9, 0.0), (-179.9, 0.0)),  # across the antimeridian
        ((10.0, 45.0), (10.0, 45.0)),  # the same place
    ],
)
def test_matches_design_formula(a: tuple[float, float], b: tuple[float, float]) -> None:
    """Every leg equals the formula computed by hand, both ways."""
    assert haversine_leg(a, b) == design_leg(a, b)
    assert haversine_leg(b, a) == design_leg(b, a)


def test_matrix_settings_and_diagonal() -> None:
    """A matrix with custom speed and circuity matches the formula and has a zero diagonal."""
    pts = [(24.94, 60.17), (24.95, 60.16), (24.96, 60.18)]
    m = travel_model({"provider": "haversine", "speed_kmh": 40, "circuity": 1.1}).matrices(pts)
    for i, a in enumerate(pts):
        for j, b in enumerate(pts):
            assert (m.durations_s[i, j], m.distances_m[i, j]) == design_leg(a, b, 40, 1.1)
    assert m.durations_s.dtype == np.int64 and not m.durations_s.flags.writeable


def test_default_when_no_travel_options() -> None:
    """No travel options means haversine at 25 km/h with circuity 1.3."""
    model = travel_model(None)
    assert isinstance(model, Haversine)
    assert model.describe() == {"provider": "haversine", "speed_kmh": 25.0, "circuity": 1.3}


def test_refuses_points_out_of_range() -> None:
    """A latitude beyond 90 degrees is refused, naming the points."""
    with pytest.raises(TravelDataError) as err:
        Haversine().matrices([(0.0, 91.0)])
    assert err.value.field == "points"
