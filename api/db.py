"""Engine, sessions and migrations: SQLite (WAL, foreign keys) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, Float, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
ALEMBIC_INI = PACKAGE_DIR / "alembic.ini"
#: Key of the PostgreSQL advisory lock held while migrating, so two starting processes
#: never run the same migration at once.
_MIGRATION_LOCK = 0x0_5E5_7013


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` mean psycopg 3 here; other URLs pass as given."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, pool_size: int = 20) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class db_epoch(FunctionElement[float]):  # noqa: N801 (reads as the SQL function it is)
    """The database's clock in seconds since 1970, for leases: every worker compares against one
    clock (the server's), so hosts whose clocks are skewed cannot both hold a run."""

    type = Float()
    inherit_cache = True


@compiles(db_epoch, "postgresql")
def _db_epoch_pg(element: db_epoch, compiler: object, **kw: object) -> str:
    # now() is the transaction's start: claims and heartbeats are short transactions of their own
    return "CAST(EXTRACT(EPOCH FROM now()) AS DOUBLE PRECISION)"


@compiles(db_epoch, "sqlite")
def _db_epoch_sqlite(element: db_epoch, compiler: object, **kw: object) -> str:
    # julianday('now') is CURRENT_TIMESTAMP as a day number, to the millisecond
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(db_epoch)
def _db_epoch_default(element: db_epoch, compiler: object, **kw: object) -> str:
    return "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS DOUBLE PRECISION)"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session committed on success and rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine | None = None):  # type: ignore[no-untyped-def]
    """Alembic's Config pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``: creates a fresh one, upgrades an existing one."""
    from alembic import command

    cfg = alembic_config(engine)
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if not is_sqlite(engine):
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            return
        except OperationalError:
            # two SQLite processes starting at once: the loser waits and sees a done job
            if attempt == 4:
                raise
            log.warning("migration attempt %d failed; retrying", attempt + 1, exc_info=True)
            time.sleep(0.5 * (attempt + 1))
        finally:
            cfg.attributes.pop("connection", None)
