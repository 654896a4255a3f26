"""The OSRM table client against small real HTTP servers started inside the tests."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from onestop.geodata import (
    UNREACHABLE,
    Haversine,
    OsrmTable,
    ProviderUnavailable,
    travel_model,
)

#: Coordinates east of this longitude stand for an island: no route to or from them.
ISLAND_LON = 100.0

Answer = Callable[[BaseHTTPRequestHandler], None]


def osrm_table(handler: BaseHTTPRequestHandler) -> None:
    """Answer like OSRM's table service, with times and distances from the haversine model."""
    parsed = urllib.parse.urlsplit(handler.path)
    parts = parsed.path.split("/")
    if parts[1:4] != ["table", "v1", "driving"]:
        return send(handler, 400, {"code": "InvalidUrl", "message": "bad path"})
    coords = [tuple(float(x) for x in c.split(",")) for c in parts[4].split(";")]
    query = dict(urllib.parse.parse_qsl(parsed.query))
    handler.server.requests.append((len(coords), query))  # type: ignore[attr-defined]
    src = [int(k) for k in query["sources"].split(";")] if "sources" in query else None
    dst = [int(k) for k in query["destinations"].split(";")] if "destinations" in query else None
    src = src if src is not None else list(range(len(coords)))
    dst = dst if dst is not None else list(range(len(coords)))
    m = Haversine().matrices(coords)

    def table(mat: np.ndarray) -> list[list[float | None]]:
        return [
            [None if (coords[i][0] > ISLAND_LON) != (coords[j][0] > ISLAND_LON)
             else float(mat[i, j]) for j in dst]
            for i in src
        ]

    send(handler, 200, {"code": "Ok", "durations": table(m.durations_s),
                        "distances": table(m.distances_m)})


def send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    """Write a JSON (or raw bytes) answer."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


def serve(answer: Answer) -> Iterator[tuple[str, list[Any]]]:
    """Run an HTTP server on 127.0.0.1 on a free port in a thread; yield its URL and log."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def osrm() -> Iterator[tuple[str, list[Any]]]:
    """A server answering OSRM's documented table format."""
    yield from serve(osrm_table)


@pytest.fixture
def garbage() -> Iterator[tuple[str, list[Any]]]:
    """A server answering HTML instead of JSON."""
    yield from serve(lambda h: send(h, 200, b"<html>proxy error</html>"))


@pytest.fixture
def refusing() -> Iterator[tuple[str, list[Any]]]:
    """A server answering OSRM's error format (code other than Ok)."""
    body = {"code": "TooBig", "message": "Too many table coordinates"}
    yield from serve(lambda h: send(h, 400, body))


@pytest.fixture
def wrong_shape() -> Iterator[tuple[str, list[Any]]]:
    """A server answering code Ok with a table of the wrong size."""
    yield from serve(lambda h: send(h, 200, {"code": "Ok", "durations": [[0]], "distances": [[0]]}))


@pytest.fixture
def slow() -> Iterator[tuple[str, list[Any]]]:
    """A server that sleeps past the client's timeout before answering."""

    def answer(h: BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)
        with contextlib.suppress(OSError):  # the client gave up, as it should
            osrm_table(h)

    yield from serve(answer)


@pytest.fixture
def closed_port() -> str:
    """The URL of a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


POINTS = [[24.94 + 0.01 * k, 60.16 + 0.005 * (k % 3)] for k in range(8)]


def test_table_matches_server(osrm: tuple[str, list[Any]]) -> None:
    """One request returns the server's table as integer matrices."""
    url, requests = osrm
    m = OsrmTable(url).matrices(POINTS)
    expected = Haversine().matrices(POINTS)
    assert np.array_equal(m.durations_s, expected.durations_s)
    assert np.array_equal(m.distances_m, expected.distances_m)
    assert len(requests) == 1 and requests[0][1]["annotations"] == "duration,distance"


def test_chunked_requests_assemble_the_full_table(osrm: tuple[str, list[Any]]) -> None:
    """With chunk=3, 8 points take 3x3 blocks of sources x destinations and fit together."""
    url, requests = osrm
    m = travel_model({"provider": "osrm", "url": url, "chunk": 3, "cache": False}).matrices(POINTS)
    expected = Haversine().matrices(POINTS)
    assert np.array_equal(m.durations_s, expected.durations_s)
    assert np.array_equal(m.distances_m, expected.distances_m)
    assert len(requests) == 9
    assert all(n <= 6 for n, _ in requests)


def test_null_is_unreachable(osrm: tuple[str, list[Any]]) -> None:
    """A null in OSRM's answer becomes UNREACHABLE in both matrices."""
    url, _ = osrm
    pts = [*POINTS[:3], [120.0, 10.0]]
    m = OsrmTable(url, chunk=2).matrices(pts)
    assert (m.durations_s[:3, 3] == UNREACHABLE).all()
    assert (m.durations_s[3, :3] == UNREACHABLE).all()
    assert (m.distances_m[:3, 3] == UNREACHABLE).all()
    assert (m.durations_s[:3, :3] >= 0).all() and m.durations_s[3, 3] == 0


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("garbage", "not JSON"),  # HTML from a proxy
        ("refusing", "TooBig"),  # OSRM's own error body
        ("wrong_shape", "table"),  # code Ok, but not the table asked for
        ("slow", "did not answer within"),  # sleeps past timeout_s
        ("closed_port", "unreachable"),  # nothing listens
    ],
)
def test_unavailable_servers(server: str, message: str, request: pytest.FixtureRequest) -> None:
    """Every way a server can fail raises ProviderUnavailable with a clear message."""
    value = request.getfixturevalue(server)
    url = value if isinstance(value, str) else value[0]
    with pytest.raises(ProviderUnavailable, match=message):
        OsrmTable(url, timeout_s=0.3, retries=1, backoff_s=0.01).matrices(POINTS[:3])


@pytest.fixture
def flaky() -> Iterator[tuple[str, list[Any]]]:
    """OSRM that fails every tenth request: a 503, a dropped connection, or a hang past the time-out."""
    lock = threading.Lock()
    count = [0]

    def answer(h: BaseHTTPRequestHandler) -> None:
        with lock:
            count[0] += 1
            k = count[0]
        if k % 10 == 0:
            h.server.requests.append((0, {"failed": str(k)}))  # type: ignore[attr-defined]
        if k % 30 == 10:
            return send(h, 503, b"<html>upstream busy</html>")
        if k % 30 == 20:
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)  # no answer at all
            return None
        if k % 30 == 0:
            time.sleep(0.6)  # past the client's time-out
            with contextlib.suppress(OSError):
                send(h, 503, b"")
            return None
        return osrm_table(h)

    yield from serve(answer)


def test_flaky_server_still_gives_the_whole_matrix(flaky: tuple[str, list[Any]]) -> None:
    """A server failing one request in ten (503, dropped, too slow) still yields the complete
    matrix: the client retries, over kept-alive connections of one shared client."""
    url, requests = flaky
    pts = [[24.90 + 0.003 * (k % 13), 60.15 + 0.002 * (k // 13)] for k in range(60)]
    m = OsrmTable(url, chunk=6, timeout_s=0.4, backoff_s=0.01).matrices(pts)  # 100 blocks
    expected = Haversine().matrices(pts)
    assert np.array_equal(m.durations_s, expected.durations_s)
    assert np.array_equal(m.distances_m, expected.distances_m)
    failed = [q for _, q in requests if "failed" in q]
    assert len(requests) - len(failed) == 100  # every block answered once
    assert len(failed) >= 10  # after one request in ten had failed


def test_refusals_are_not_retried() -> None:
    """OSRM's own 400 (TooBig) would fail again: one request, then ProviderUnavailable."""
    body = {"code": "TooBig", "message": "Too many table coordinates"}
    tries: list[str] = []

    def answer(h: BaseHTTPRequestHandler) -> None:
        tries.append(h.path)
        send(h, 400, body)

    for url, _ in serve(answer):
        with pytest.raises(ProviderUnavailable, match="TooBig"):
            OsrmTable(url, backoff_s=0.01).matrices(POINTS[:3])
    assert len(tries) == 1


def test_retries_give_up(closed_port: str) -> None:
    """After ``retries`` further tries the failure is reported, not hidden."""
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        OsrmTable(closed_port, retries=2, backoff_s=0.01).matrices(POINTS[:3])
