"""The run lifecycle: a run that breaks validator rules is published only by force with a reason
(kept on the run); a stale publish is 409 `plan-moved` naming the live version; the api modules
import one way (no cycles)."""

from __future__ import annotations

import ast
import copy
import datetime as dt
from pathlib import Path

from apitools import DATE, FAST, ok, store_day, wait_run
from conftest import AUTH
from onestop.api import runs
from onestop.api.models import RUN_SUCCEEDED
from onestop.dispatch.runner import violations_json
from onestop.dispatch.validator import validate_plan

API = Path(runs.__file__).resolve().parent


def _broken_copy(client, run: dict) -> str:
    """A stored run whose plan the validator faults: the first customer stop moved past its window."""
    request = ok(client.get(f"/v1/plans/{run['id']}/request", headers=AUTH))
    plan = copy.deepcopy(run["plan"])
    stop = next(s for r in plan["routes"] for s in r["stops"] if s.get("job"))
    late = dt.datetime.fromisoformat(stop["start"]) + dt.timedelta(hours=9)
    stop["start"] = stop["arrival"] = late.isoformat()
    stop["end"] = (late + dt.timedelta(minutes=5)).isoformat()
    found = violations_json(validate_plan(request, plan))
    assert found
    with client.app.state.sessions() as session:
        broken = runs.new_run(
            session=session,
            request=request,
            source="stored",
            date=dt.date.fromisoformat(DATE),
            zone=None,
            created_by="test",
            status=RUN_SUCCEEDED,
            plan=plan,
            violations={"items": found},
            phase="done",
            progress=1.0,
        )
        session.commit()
        return broken.id


def test_publish_refuses_violations_unless_forced_with_a_reason(client):
    store_day(client, AUTH)
    run = wait_run(
        client,
        ok(client.post("/v1/plans", json={"date": DATE, "options": FAST}, headers=AUTH), 202)["id"],
        AUTH,
    )
    broken = _broken_copy(client, run)
    refused = client.post(f"/v1/plans/{broken}/publish", headers=AUTH)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("plan-has-violations") and problem["errors"], problem
    assert all(e["message"] for e in problem["errors"]) and "force" in problem["detail"]
    no_reason = client.post(f"/v1/plans/{broken}/publish", json={"force": True}, headers=AUTH)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["loc"] == "reason"
    forced = client.post(
        f"/v1/plans/{broken}/publish",
        json={"force": True, "reason": "customer agreed to a late visit"},
        headers=AUTH,
    )
    assert ok(forced)["run"] == broken
    shown = ok(client.get(f"/v1/plans/{broken}", headers=AUTH))
    assert shown["published"] and shown["publication"]["reason"] == "customer agreed to a late visit"
    assert shown["publication"]["forced"] and shown["publication"]["violations"] == len(problem["errors"])
    # the clean run is older than the live one (not its base): publishing it would drop that version
    stale = client.post(f"/v1/plans/{run['id']}/publish", headers=AUTH)
    assert stale.status_code == 409 and stale.json()["type"].endswith("plan-moved"), stale.text
    assert stale.json()["live_run"] == broken and broken in stale.json()["detail"]


def _imports(path: Path) -> set[str]:
    """The api modules a module imports, at any depth of the file (function-level too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            base = path.parent if node.level == 1 else path.parent.parent
            if node.module:
                target = base / Path(*node.module.split("."))
                out.add(str(target.relative_to(API)).replace("/", "."))
            else:
                out.update(str((base / a.name).relative_to(API)).replace("/", ".") for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("onestop.api."):
            out.add(node.module[len("onestop.api.") :])
    return out


def test_api_modules_import_without_cycles():
    """crud and living, worker and cluster (and every other pair) do not import each other."""
    modules = {
        str(p.relative_to(API).with_suffix("")).replace("/", "."): p
        for p in API.rglob("*.py")
        if "migrations" not in p.parts and p.name != "__init__.py"
    }
    graph = {m: {t for t in _imports(p) if t in modules and t != m} for m, p in modules.items()}
    assert "living" not in graph["crud"] and "cluster" not in graph["worker"]

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, nxt]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    cycles = [c for m in graph if (c := cycle_from(m))]
    assert not cycles, cycles
