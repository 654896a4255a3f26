"""schemathesis against the app's own OpenAPI schema: no operation answers a server error,
and every answer conforms to the schema it documents (status code, content type, body).

A day is stored, solved and published once per module on a SQLite file; each operation
then gets its own copy of that file under ``tmp_path`` and its own app (migrated at
start-up, bootstrap dispatcher key, no embedded worker: runs queue but are not solved).
Requests go in-process through schemathesis's ASGI transport with the dispatcher key;
most path parameters (and route dates) are pointed at stored rows, so operations reach
their real work instead of a 404. Bounded: ``MAX_EXAMPLES`` generated cases per operation
plus schemathesis's coverage cases, no per-example deadline.
"""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from apitools import DATE, FAST, ok, store_day, wait_run  # noqa: E402
from conftest import AUTH, settings_for  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from onestop.api import create_app  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: Generated cases per operation; ``ONESTOP_SCHEMATHESIS_EXAMPLES`` raises it for a deeper local run.
MAX_EXAMPLES = int(os.environ.get("ONESTOP_SCHEMATHESIS_EXAMPLES", "20"))
#: ``ONESTOP_SCHEMATHESIS_RANDOM=1`` draws new cases each run instead of the same ones.
DERANDOMIZE = os.environ.get("ONESTOP_SCHEMATHESIS_RANDOM", "") != "1"
ZONE = {
    "id": "z1",
    "name": "Centre",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[24.8, 60.1], [25.1, 60.1], [25.1, 60.3], [24.8, 60.3], [24.8, 60.1]]],
    },
}


def _copy_db(src: Path, dst: Path) -> None:
    """Copies a closed SQLite file (and its WAL, if one is left) to ``dst``."""
    for suffix in ("", "-wal"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite file holding a published day, a second finished run and a courier key."""
    path = tmp_path_factory.mktemp("schemathesis") / "seed.db"
    with TestClient(create_app(settings_for(f"sqlite:///{path}"))) as c:
        store_day(c, AUTH)
        ok(c.post("/v1/zones", json=ZONE, headers=AUTH), 201)
        runs = []
        for _ in range(2):
            run = ok(c.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)
            runs.append(wait_run(c, run["id"], AUTH)["id"])
        ok(c.post(f"/v1/plans/{runs[0]}/publish", headers=AUTH))
        key = ok(c.post("/v1/keys", json={"role": "courier", "resource": "C1"}, headers=AUTH), 201)
    known = {
        "depots": ["W1", "S1"],
        "technicians": ["T1"],
        "couriers": ["C1", "C2"],
        "job_id": ["J1", "J2", "J3"],
        "zone_id": ["z1"],
        "run_id": runs,
        "key_id": [key["id"]],  # never the bootstrap key: the rest would be 401
        "resource_id": ["C1", "C2", "T1"],
    }
    return {"path": path, "known": known}


@pytest.fixture
def app(seeded: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
    """A fresh app on a copy of the seeded file (schemathesis runs its lifespan around the test)."""
    path = tmp_path / "schemathesis.db"
    _copy_db(seeded["path"], path)
    yield create_app(settings_for(f"sqlite:///{path}", embedded_worker=False))


def _aim(case: Any, known: dict[str, list[str]]) -> None:
    """Points most path parameters and route dates at stored rows, and makes streams close."""
    for name, value in list((case.path_parameters or {}).items()):
        section = case.path.split("/")[2] if name == "ident" else name
        choices = known.get(section)
        pick = zlib.crc32(repr(value).encode())
        if choices and pick % 3:
            case.path_parameters[name] = choices[pick % len(choices)]
    query = case.query if isinstance(case.query, dict) else {}
    if case.path.endswith("/route") and "date" in query and zlib.crc32(repr(query["date"]).encode()) % 3:
        query["date"] = DATE
    if case.path.endswith("/stream"):
        # in-process, a live stream never sees its client go: ask it to send what is there and close
        case.query = {**query, "once": "true"}


# The schema is the app's own; building the app touches no database (its lifespan does).
schema = schemathesis.openapi.from_dict(create_app(settings_for("sqlite://")).openapi())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=DERANDOMIZE,
)
def test_no_server_error_and_schema_conformance(case: Any, app: Any, seeded: dict[str, Any]) -> None:
    """Every generated request to every operation answers without a 5xx and as documented."""
    _aim(case, seeded["known"])
    case.call_and_validate(
        app=app,
        headers=AUTH,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
