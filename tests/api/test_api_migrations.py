"""Migrations: a fresh database is created at head, an older one is upgraded with its data."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from apitools import ok
from conftest import AUTH
from onestop.api.db import alembic_config, make_engine, migrate
from onestop.api.models import Base
from sqlalchemy import inspect, text

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_fresh_database_is_at_head_and_matches_models(db_url):
    """Start-up migration of an empty database gives exactly the tables the models declare."""
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # twice is harmless
    assert _revision(engine) == HEAD
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_old_database_is_upgraded_keeping_rows(db_url, make_client):
    """A database at revision 0001 with rows in it is upgraded on start-up and keeps them."""
    engine = make_engine(db_url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "INSERT INTO depots (id, kind, zone, data, created_at, updated_at) "
                "VALUES ('OLD', 'warehouse', NULL, :data, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"data": '{"kind": "warehouse", "location": [24.9, 60.1]}'},
        )
    assert "events" not in inspect(engine).get_table_names()
    engine.dispose()

    client = make_client()
    depot = ok(client.get("/v1/depots/OLD", headers=AUTH))
    assert depot["location"] == [24.9, 60.1]
    engine = make_engine(db_url)
    assert _revision(engine) == HEAD and "events" in inspect(engine).get_table_names()
    engine.dispose()
