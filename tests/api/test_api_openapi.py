"""The OpenAPI document: a bearer security scheme on every /v1 operation (the Authorize button
in /docs), readable unique operation ids, and the 429 of the limited operations."""

from __future__ import annotations

import re

from conftest import settings_for
from onestop.api import create_app


def test_security_scheme_and_operation_ids(tmp_path):
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'o.db'}"))
    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    ops = {
        (method, path): op
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete")
    }
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z]*", i) for i in ids), ids
    assert ops[("post", "/v1/events")]["operationId"] == "postEvent"
    assert ops[("get", "/v1/depots")]["operationId"] == "listDepots"
    assert ops[("get", "/v1/depots/{ident}")]["operationId"] == "readDepot"
    assert all(op["security"] == [{"bearerAuth": []}] for (_, p), op in ops.items() if p.startswith("/v1/"))
    assert "security" not in ops[("get", "/healthz")]
    for key in (("post", "/v1/events"), ("post", "/v1/appointments/quote"), ("get", "/v1/stream")):
        assert "Retry-After" in ops[key]["responses"]["429"]["headers"]
