"""The matrix cache: memory and disk hits return the same numbers without recomputing."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from onestop.geodata import CachedModel, Haversine, Matrices, OsmRoads, cached, travel_model

POINTS = [[24.94 + 0.003 * k, 60.16 + 0.002 * (k % 5)] for k in range(30)]


@dataclass
class CountingHaversine:
    """The real haversine model, counting how often it actually computes."""

    inner: Haversine = field(default_factory=Haversine)
    calls: int = 0
    name: str = "haversine"

    def matrices(self, points: Any) -> Matrices:
        self.calls += 1
        return self.inner.matrices(points)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


def test_memory_hit_returns_identical_arrays(tmp_path: Path) -> None:
    """A second call with the same points is answered from memory, without recomputing."""
    model = CountingHaversine()
    cache = cached(model, directory=tmp_path)
    first = cache.matrices(POINTS)
    second = cache.matrices(POINTS)
    assert model.calls == 1
    assert cache.stats.misses == 1 and cache.stats.memory_hits == 1
    assert np.array_equal(first.durations_s, second.durations_s)
    assert np.array_equal(first.distances_m, second.distances_m)


def test_disk_hit_in_a_fresh_cache(tmp_path: Path) -> None:
    """A new cache over the same directory reads the stored matrices instead of recomputing."""
    first = cached(CountingHaversine(), directory=tmp_path).matrices(POINTS)
    model = CountingHaversine()
    again = cached(model, directory=tmp_path)
    result = again.matrices(POINTS)
    assert model.calls == 0 and again.stats.disk_hits == 1
    assert np.array_equal(first.durations_s, result.durations_s)
    assert np.array_equal(first.distances_m, result.distances_m)
    assert not result.durations_s.flags.writeable
    assert not list(tmp_path.rglob("*.tmp"))


def test_key_covers_points_and_settings(tmp_path: Path) -> None:
    """Other points, another order, or other settings are misses, never a wrong answer."""
    model = CountingHaversine()
    cache = cached(model, directory=tmp_path)
    cache.matrices(POINTS)
    cache.matrices(POINTS[::-1])
    cache.matrices(POINTS[:-1])
    other = CountingHaversine(Haversine(speed_kmh=40))
    fast = cached(other, directory=tmp_path).matrices(POINTS)
    assert model.calls == 3 and other.calls == 1
    assert np.array_equal(fast.durations_s, Haversine(speed_kmh=40).matrices(POINTS).durations_s)


def test_corrupt_cache_file_is_a_miss(tmp_path: Path) -> None:
    """A damaged cache file is recomputed and replaced, not trusted and not fatal."""
    cached(CountingHaversine(), directory=tmp_path).matrices(POINTS)
    (entry,) = tmp_path.rglob("*.npz")
    entry.write_bytes(b"truncated")
    model = CountingHaversine()
    result = cached(model, directory=tmp_path).matrices(POINTS)
    assert model.calls == 1
    assert np.array_equal(result.durations_s, Haversine().matrices(POINTS).durations_s)
    assert cached(CountingHaversine(), directory=tmp_path).stats.misses == 0


def test_memory_lru_evicts_oldest() -> None:
    """The in-memory cache keeps at most memory_items entries, dropping the oldest."""
    model = CountingHaversine()
    cache = CachedModel(model, memory_items=2, disk=False)
    for k in range(3):
        cache.matrices(POINTS[: 5 + k])
    cache.matrices(POINTS[:7])
    cache.matrices(POINTS[:5])
    assert model.calls == 4 and cache.stats.memory_hits == 1


def test_threads_share_one_cache(tmp_path: Path) -> None:
    """Concurrent callers of one cache all get the same, correct matrices."""
    cache = cached(CountingHaversine(), directory=tmp_path)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cache.matrices(POINTS), range(8)))
    expected = Haversine().matrices(POINTS).durations_s
    assert all(np.array_equal(r.durations_s, expected) for r in results)


def _compute_in_child(directory: str) -> list[list[int]]:
    """Work done in another process: fill the shared disk cache."""
    m = cached(Haversine(), directory=directory).matrices(POINTS)
    return m.durations_s.tolist()


def test_processes_share_the_disk_cache(tmp_path: Path) -> None:
    """Two processes writing the same entry at once leave one readable, correct file."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(_compute_in_child, [str(tmp_path)] * 2)
    assert results[0] == results[1]
    model = CountingHaversine()
    assert cached(model, directory=tmp_path).matrices(POINTS).durations_s.tolist() == results[0]
    assert model.calls == 0
    assert len(list(tmp_path.rglob("*.npz"))) == 1 and not list(tmp_path.rglob("*.tmp"))


def test_osm_factory_model_is_cached(helsinki: OsmRoads, road_points: list[list[float]]) -> None:
    """The osm provider from travel_model answers a repeated day from its cache."""
    model = travel_model({"provider": "osm", "extract": helsinki.extract})
    assert isinstance(model, CachedModel)
    first = model.matrices(road_points)
    second = model.matrices(road_points)
    assert model.stats.misses == 1 and model.stats.memory_hits == 1
    assert np.array_equal(first.durations_s, helsinki.matrices(road_points).durations_s)
    assert second is first
