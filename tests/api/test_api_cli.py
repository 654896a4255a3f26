"""The console script and the modules agree (issue 13): real processes, a real SQLite file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
ONESTOP = str(BIN / "onestop")


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("ONESTOP_BOOTSTRAP_KEY", "DATABASE_URL")}
    full.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, env=full, timeout=120)


def _options(help_text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", help_text))


def test_version_and_python_m_onestop():
    from onestop import __version__

    r = _run(ONESTOP, "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"onestop {__version__}"
    r = _run(sys.executable, "-m", "onestop", "--help")
    assert r.returncode == 0
    for command in ("solve", "validate", "demo", "matrix", "serve", "worker", "keys"):
        assert command in r.stdout


def test_service_commands_have_one_definition():
    """`onestop worker|serve` accept what `python -m onestop.api.worker|serve` accept."""
    worker = _run(ONESTOP, "worker", "--help")
    assert worker.returncode == 0 and "--dask ADDRESS" in worker.stdout
    module = _run(sys.executable, "-m", "onestop.api.worker", "--help")
    assert _options(worker.stdout) == _options(module.stdout)
    serve = _run(ONESTOP, "serve", "--help")
    assert "--no-embedded-worker" in serve.stdout
    assert _options(serve.stdout) == _options(_run(sys.executable, "-m", "onestop.api.serve", "--help").stdout)


def test_short_bootstrap_key_refused_at_start_in_one_line(tmp_path):
    env = {"ONESTOP_BOOTSTRAP_KEY": "short", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    for argv in ((ONESTOP, "serve", "--port", "1"), (sys.executable, "-m", "onestop.api.serve", "--port", "1")):
        r = _run(*argv, env=env)
        assert r.returncode == 2, r.stderr
        assert "ONESTOP_BOOTSTRAP_KEY" in r.stderr and "at least 32 characters" in r.stderr
        assert "Traceback" not in r.stderr


def test_keys_create_list_revoke_on_a_sqlite_file(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}"}
    r = _run(ONESTOP, "keys", "create", "--role", "dispatcher", "--zone", "north", "--label", "desk", env=env)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    key_id = token.split("_")[1]
    out = tmp_path / "courier.key"
    r = _run(
        ONESTOP, "keys", "create", "--role", "courier", "--resource", "C1", "--expires-in", "2",
        "-o", str(out), "-q", env=env,
    )
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert out.read_text().startswith("os_") and (out.stat().st_mode & 0o777) == 0o600

    listed = _run(ONESTOP, "keys", "list", env=env)
    assert listed.returncode == 0 and key_id in listed.stdout and "desk" in listed.stdout
    assert token.split("_")[2] not in listed.stdout  # never the secret
    assert "C1" in listed.stdout

    r = _run(sys.executable, "-m", "onestop.api.keys", "revoke", key_id, env=env)
    assert r.returncode == 0, r.stderr
    assert key_id not in _run(ONESTOP, "keys", "list", env=env).stdout
    every = _run(ONESTOP, "keys", "list", "--all", env=env).stdout
    assert re.search(rf"{key_id}\s.*revoked", every)
    r = _run(ONESTOP, "keys", "revoke", key_id, env=env)
    assert r.returncode == 2 and "no active key" in r.stderr
    r = _run(ONESTOP, "keys", "create", "--role", "customer", "--resource", "NOJOB", env=env)
    assert r.returncode == 2 and r.stderr.strip() == "error: job 'NOJOB' does not exist"
