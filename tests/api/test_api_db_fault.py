"""PostgreSQL restarted under a plan run, on a throwaway cluster the test starts itself: the
API answers 503 while the database is away and recovers by itself; the worker keeps the plan
it finished meanwhile and stores it once the database is back (the run succeeds on its first
attempt); nothing stored before is lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apitools import DEPOTS, assert_valid_plan, ok, wait_for, whole_request
from conftest import AUTH, settings_for
from fastapi.testclient import TestClient
from onestop.api import create_app
from pgcluster import Cluster, pg_bin


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = pg_bin()
    if bin_dir is None:  # this machine kind ships PostgreSQL: a missing server is a failure
        pytest.fail("PostgreSQL's initdb/pg_ctl are needed (Debian package postgresql)")
    c = Cluster(bin_dir)
    try:
        c.start()
        yield c
    finally:
        c.destroy()


def test_plan_run_survives_a_database_restart(cluster: Cluster) -> None:
    request = whole_request(preset="balanced", time_limit_s=3)
    settings = settings_for(cluster.url, lease_s=3, warm_solver=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        ok(client.post("/v1/depots", json=DEPOTS[0], headers=AUTH), 201)
        run_id = ok(client.post("/v1/plans", json=request, headers=AUTH), 202)["id"]

        def _solving() -> bool:
            return ok(client.get(f"/v1/plans/{run_id}", headers=AUTH))["progress"]["phase"] == "solving"

        wait_for(_solving, timeout=60, what="the run to be solving")
        worker = client.app.state.executor.workers[0]
        cluster.stop()
        away = client.get(f"/v1/plans/{run_id}", headers=AUTH)
        assert away.status_code == 503, away.text
        assert away.headers["content-type"] == "application/problem+json"
        assert int(away.headers["retry-after"]) >= 1
        # the solver finishes while the database is away: the worker holds the plan
        wait_for(lambda: worker.pending == run_id, timeout=120, what="the worker to hold the finished plan")
        assert client.get("/v1/depots", headers=AUTH).status_code == 503
        cluster.start()

        def _stored() -> dict | None:
            r = client.get(f"/v1/plans/{run_id}", headers=AUTH)
            if r.status_code == 503:
                return None
            body = ok(r)
            return body if body["status"] not in ("queued", "running") else None

        run = wait_for(_stored, timeout=60, what="the run to be stored after the restart")
        assert run["status"] == "succeeded", run
        assert run["attempts"] == 1  # not solved again after its lease
        assert_valid_plan(request, run["plan"])
        depots = ok(client.get("/v1/depots", headers=AUTH))
        assert DEPOTS[0]["id"] in {d["id"] for d in depots["items"]}
