"""The commands: `serve` answers over real HTTP, `keys` makes and refuses keys."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
from apitools import DEPOTS, wait_for
from onestop.api import keys


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_http(tmp_path):
    """`python -m onestop.api.serve` migrates a fresh file, serves /docs and the API, stops on SIGTERM."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "ONESTOP_BOOTSTRAP_KEY": "served-key-with-at-least-32-characters",
        "ONESTOP_WARM_SOLVER": "false",
    }
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "onestop.api.serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def _up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(_up, timeout=30, interval=0.2, what="the server to listen")
        assert httpx.get(f"{base}/docs").status_code == 200
        headers = {"Authorization": "Bearer served-key-with-at-least-32-characters"}
        made = httpx.post(f"{base}/v1/depots", json=DEPOTS[0], headers=headers)
        assert made.status_code == 201, made.text
        refused = httpx.get(f"{base}/v1/depots")
        assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
    # uvicorn re-raises SIGTERM after a clean shutdown, so -15 is a normal end here
    assert code in (0, -15), log.read_text()
    assert "Application shutdown complete" in log.read_text()


def test_keys_command(tmp_path, monkeypatch, capsys):
    """`keys create` prints a key once; a courier key without a resource is refused with exit 2."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")
    assert keys.main(["create", "--role", "dispatcher", "--zone", "north"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("os_") and len(printed) > 40
    assert keys.main(["create", "--role", "courier"]) == 2
    assert "needs a resource" in capsys.readouterr().err
    key_id = printed.split("_", 2)[1]
    assert keys.main(["revoke", key_id]) == 0
    assert keys.main(["revoke", key_id]) == 2


def test_serve_stops_on_sigint_with_50_open_streams(tmp_path):
    """`onestop serve` with 50 live streams open over loopback stops on SIGINT within 10 s
    (sse-starlette ends the streams, uvicorn's graceful-shutdown timeout bounds the rest), and
    its log carries the service's own INFO lines (one logging set-up)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'streams.db'}",
        "ONESTOP_BOOTSTRAP_KEY": "served-key-for-the-sigint-test-0123456789",
        "ONESTOP_WARM_SOLVER": "false",
        "ONESTOP_STREAM_LIMIT_PER_KEY": "60",
    }
    log = tmp_path / "serve.log"
    onestop = os.path.join(os.path.dirname(sys.executable), "onestop")
    proc = subprocess.Popen(
        [onestop, "serve", "--port", str(port)], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Bearer served-key-for-the-sigint-test-0123456789"}
    opened = threading.Semaphore(0)
    ended: list[str] = []

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{base}/v1/stream", params={"timeout": 600}, headers=headers,
                              timeout=httpx.Timeout(5, read=120)) as r:
                assert r.status_code == 200, r.read()
                for line in r.iter_lines():
                    if line.startswith(": onestop"):
                        opened.release()
            ended.append("closed")
        except httpx.HTTPError as exc:
            ended.append(type(exc).__name__)

    threads = [threading.Thread(target=listen, daemon=True) for _ in range(50)]
    try:

        def _up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(_up, timeout=60, interval=0.2, what="the server to listen")
        for t in threads:
            t.start()
        for k in range(50):
            assert opened.acquire(timeout=60), f"only {k} of 50 streams opened"
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert took < 10, (took, text[-3000:])
    assert code in (0, -signal.SIGINT, 130), text[-3000:]
    assert "Application shutdown complete" in text
    assert "INFO onestop.api.worker: worker" in text  # the service's own INFO lines are shown
    for t in threads:
        t.join(timeout=10)
    assert len(ended) == 50  # every client saw its stream end
