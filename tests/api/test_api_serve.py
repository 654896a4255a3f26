"""The commands: `serve` answers over real HTTP, `keys` makes and refuses keys."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

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
