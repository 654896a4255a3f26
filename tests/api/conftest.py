"""API test fixtures: the real app on a real database, a SQLite file under tmp_path and, when
PostgreSQL is reachable, a fresh PostgreSQL database per test (dropped afterwards).

With ``CI`` set, PostgreSQL must be reachable: its cases fail instead of being skipped, so a
CI run that lost its database cannot pass on SQLite alone."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from onestop.api import Settings, create_app

BOOTSTRAP = "test-bootstrap-key-at-least-32-characters"
AUTH = {"Authorization": f"Bearer {BOOTSTRAP}"}


def _pg_admin_url() -> str | None:
    """The PostgreSQL server to make test databases on, or None when there is none."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgresql", "postgres:")):
        from sqlalchemy.engine import make_url

        u = make_url(url.replace("postgresql+psycopg", "postgresql"))
        return u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
    except OSError:
        return None
    for user in ("postgres", "root"):
        url = f"postgresql://{user}@127.0.0.1:5432/postgres"
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=2):
                return url
        except Exception:
            continue
    return None


PG_ADMIN = _pg_admin_url()
IN_CI = bool(os.environ.get("CI"))
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(PG_ADMIN is None and not IN_CI, reason="PostgreSQL is not reachable"),
    ),
]


class Databases:
    """Fresh databases: a SQLite file each, or a fresh PostgreSQL schema each inside one
    database made for the session (schemas are cheap to drop; databases force checkpoints)."""

    def __init__(self, root) -> None:  # type: ignore[no-untyped-def]
        self.root = root
        self.pg_database: str | None = None
        self.pg_schemas: list[str] = []

    def new(self, backend: str) -> str:
        if backend == "sqlite":
            path = self.root / f"onestop-{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path}"
        import psycopg

        if PG_ADMIN is None:
            pytest.fail("CI: PostgreSQL is not reachable (DATABASE_URL, or 127.0.0.1:5432); it must be here")
        base = PG_ADMIN.rsplit("/", 1)[0]
        if self.pg_database is None:
            name = f"onestop_test_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.pg_database = name
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"{base}/{self.pg_database}", autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.pg_schemas.append(schema)
        server = base.replace("postgresql://", "postgresql+psycopg://")
        return f"{server}/{self.pg_database}?options=-csearch_path%3D{schema}"

    def drop_all(self) -> None:
        if self.pg_database is None:
            return
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
        self.pg_database = None


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


def settings_for(url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "bootstrap_key": BOOTSTRAP,
        "poll_s": 0.2,
        "lease_s": 5.0,
        "timezone": "Europe/Helsinki",
        "warm_solver": False,  # most tests solve nothing: no spare solver process each
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, databases: Databases) -> str:
    return databases.new(request.param)


@pytest.fixture
def make_client(db_url: str) -> Iterator[Callable[..., TestClient]]:
    """Opens TestClients on this test's database (several in turn = server restarts)."""
    opened: list[TestClient] = []

    def _open(**extra: object) -> TestClient:
        client = TestClient(create_app(settings_for(db_url, **extra)), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield _open
    for c in reversed(opened):
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
