"""Property test in the spirit of schemathesis: no body, however odd, makes a server error."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from apitools import COURIERS, DATE, DEPOTS, JOBS, TECHNICIANS, ok, whole_request
from conftest import AUTH, settings_for
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onestop.api import create_app

FIELDS = sorted(
    {k for group in (DEPOTS, TECHNICIANS, COURIERS, JOBS) for item in group for k in item}
    | {
        "date",
        "zone",
        "timezone",
        "options",
        "preset",
        "time_limit_s",
        "status",
        "role",
        "resource",
        "geometry",
    }
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["09:00", "25:61", "2026-03-02", "W1", "J1", "C1", "delivery", "fast", "", "null"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=5),
    ),
    max_leaves=12,
)

TEMPLATES = {
    ("POST", "/v1/jobs"): {**JOBS[1], "id": None, "date": DATE},
    ("PUT", "/v1/jobs/J1"): {**JOBS[0], "date": DATE},
    ("POST", "/v1/depots"): {**DEPOTS[0], "id": "W9"},
    ("POST", "/v1/couriers"): {**COURIERS[0], "id": "C9"},
    ("POST", "/v1/technicians"): {**TECHNICIANS[0], "id": "T9"},
    ("POST", "/v1/plans"): whole_request(),
    ("POST", "/v1/zones"): {
        "id": "z",
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    },
    ("POST", "/v1/keys"): {"role": "courier", "resource": "C1"},
    ("POST", "/v1/jobs/J1/status"): {"status": "on_the_way"},
}


@st.composite
def requests(draw):
    """An endpoint and a body: a valid body with one value replaced, or any JSON at all."""
    endpoint = draw(st.sampled_from(sorted(TEMPLATES)))
    if draw(st.booleans()):
        return endpoint, draw(json_values)
    body = copy.deepcopy(TEMPLATES[endpoint])
    body = {k: v for k, v in body.items() if v is not None}
    target = body
    # walk down one path, then replace what is there
    while True:
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        if isinstance(target[key], dict | list) and target[key] and draw(st.booleans()):
            target = target[key]
            continue
        target[key] = draw(json_values)
        break
    return endpoint, body


@pytest.fixture(scope="module")
def fuzz_client(databases) -> Iterator[TestClient]:
    """An app with no worker (nothing is solved) and the day's rows stored."""
    url = databases.new("sqlite")
    with TestClient(
        create_app(settings_for(url, embedded_worker=False)), raise_server_exceptions=False
    ) as client:
        for d in DEPOTS:
            ok(client.post("/v1/depots", json=d, headers=AUTH), 201)
        for c in COURIERS:
            ok(client.post("/v1/couriers", json=c, headers=AUTH), 201)
        ok(client.post("/v1/jobs", json={**JOBS[0], "date": DATE}, headers=AUTH), 201)
        yield client


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=requests())
def test_no_body_makes_a_server_error(fuzz_client, case):
    """Any JSON body on any write endpoint answers below 500, in the problem shape when 4xx."""
    (method, path), body = case
    r = fuzz_client.request(method, path, json=body, headers=AUTH)
    assert r.status_code < 500, (method, path, body, r.text)
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", r.text
