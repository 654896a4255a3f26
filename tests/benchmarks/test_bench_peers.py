"""Peer adapters (optional extra): same data, routes back, same validity check."""

from __future__ import annotations

from pathlib import Path

import pytest
from onestop.routing.check import check_result
from onestop.routing.instances import cost_in_convention, read_li_lim, read_solomon

from benchmarks.peers import PEERS, available

TINY_SOLOMON = """TINY

VEHICLE
NUMBER     CAPACITY
  3          10

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0       0          0          0          0        100          0
    1       1          1          4          0         50          1
    2       4          5          5          0         60          2
    3       0          2          3          0         70          0
"""

TINY_LI_LIM = """2\t10\t1
0\t0\t0\t0\t0\t100\t0\t0\t0
1\t1\t1\t3\t0\t50\t1\t0\t2
2\t4\t5\t-3\t0\t60\t2\t1\t0
3\t0\t2\t5\t0\t70\t0\t0\t4
4\t3\t2\t-5\t0\t90\t0\t3\t0
"""


@pytest.mark.parametrize("peer", ["pyvrp", "vroom"])
@pytest.mark.parametrize("kind", ["solomon", "lilim"])
def test_peer_solution_is_valid(tmp_path: Path, peer: str, kind: str) -> None:
    """Each installed peer serves every customer of a tiny instance validly."""
    assert available(peer), f"{peer} is not installed: `make test` installs the 'peers' extra"
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_LI_LIM if kind == "lilim" else TINY_SOLOMON)
    problem = read_li_lim(path) if kind == "lilim" else read_solomon(path)
    result = PEERS[peer](problem, 0.2, 0)
    assert result.dropped == ()
    assert check_result(problem, result) == []
    assert result.objective == round(
        cost_in_convention(problem, result, "exact" if kind == "lilim" else "dimacs")
        * (1000 if kind == "lilim" else 10)
    )
