"""Service settings: environment variables (``ONESTOP_*``, ``DATABASE_URL``) with safe defaults."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The shortest bootstrap secret accepted: it is a dispatcher key for all zones, typed by people.
MIN_BOOTSTRAP_CHARS = 32
#: The most an API body may ask the server to wait for one OSRM answer.
MAX_TRAVEL_TIMEOUT_S = 120.0


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    Parameters
    ----------
    database_url
        SQLAlchemy URL; ``DATABASE_URL`` (or ``ONESTOP_DATABASE_URL``). A SQLite file by
        default; ``postgresql://`` URLs are served through psycopg 3.
    bootstrap_key
        If set, a dispatcher key with exactly this secret (all zones) exists after start-up:
        for tests and first installs, before ``onestop keys create`` has been run. At least
        32 characters; unset, the bootstrap key stops working.
    travel_providers
        Providers an API body may choose in ``options.travel`` (``haversine``, ``osm``,
        ``osrm``, ``matrix``). The CLI is not limited: it runs with its user's own rights.
    travel_osm_extracts
        The only ``osm.extract`` values an API body may name (``bundled:helsinki`` by
        default; an operator may list server paths). Anything else is 422 before any file
        is looked at.
    travel_osrm_urls
        The only OSRM base URLs an API body may name (none by default): the server never
        connects to a host a client picked.
    travel_max_timeout_s
        The largest ``osrm.timeout_s`` an API body may ask for (at most 120 s).
    travel_max_parallel
        The largest ``osrm.parallel`` (requests at once to the OSRM server) a body may ask for.
    tracking_token_days
        A customer tracking token expires this many days after the end of its job's date.
    embedded_worker
        Run plan runs in a worker thread beside the server (the embedded default). Turn off
        when ``onestop worker`` processes do the solving.
    embedded_threads
        How many runs the embedded worker solves at once (each in its own child process).
    warm_solver
        Keep a spare solver process (planner already imported) so a run starts at once;
        off, each run first starts its process (about 1.5 s).
    lease_s
        Seconds a worker holds a claimed run without a heartbeat before another may take it.
    poll_s
        Seconds between a worker's looks for queued runs when nobody wakes it.
    max_attempts
        A run whose worker died this many times is failed instead of retried.
    store_retry_s
        How long a worker keeps a finished run's outcome and retries storing it while the
        database is away (default an hour), instead of failing the run or solving it again.
    max_solve_s
        A run without ``options.time_limit_s`` is stopped (failed) after 1.5 × this + 120 s.
    timezone
        IANA zone for plans built from stored jobs (``{"date", "zone"}`` bodies).
    max_body_bytes
        Larger request bodies answer 413.
    idempotency_ttl_s
        How long an ``Idempotency-Key``'s first answer is replayed (default a day); a retry
        after that is a new request, and older records are deleted.
    stream_limit_per_key
        Open live streams one key may hold in one server process; one more answers 429.
    events_per_minute_per_key, quotes_per_minute_per_key
        Events (``POST /v1/events``) and quotes (``POST /v1/appointments/quote``) one key may
        send a minute (that many at once, then evenly); past it 429 with ``Retry-After``.
    dask_scheduler
        When set, plan runs go to a Dask distributed cluster, one run (a day of one zone) per
        task, instead of the embedded worker: ``tcp://host:8786``, or ``local`` / ``local:N``
        for N worker processes on this machine (see ``api/cluster.py``).
    """

    model_config = SettingsConfigDict(env_prefix="ONESTOP_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./onestop.db",
        validation_alias=AliasChoices("DATABASE_URL", "ONESTOP_DATABASE_URL", "database_url"),
    )
    bootstrap_key: str | None = None
    travel_providers: Annotated[list[str], NoDecode] = ["haversine", "osm", "osrm", "matrix"]
    travel_osm_extracts: Annotated[list[str], NoDecode] = ["bundled:helsinki"]
    travel_osrm_urls: Annotated[list[str], NoDecode] = []
    travel_max_timeout_s: float = Field(default=30.0, gt=0, le=MAX_TRAVEL_TIMEOUT_S)
    travel_max_parallel: int = Field(default=4, ge=1, le=32)
    tracking_token_days: float = Field(default=3.0, gt=0, le=366)
    embedded_worker: bool = True
    embedded_threads: int = Field(default=1, ge=1, le=32)
    warm_solver: bool = True
    lease_s: float = Field(default=30.0, gt=0)
    poll_s: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    max_solve_s: float = Field(default=3600.0, gt=0)
    store_retry_s: float = Field(default=3600.0, gt=0)
    timezone: str = "UTC"
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)
    max_string_chars: int = Field(default=100_000, ge=100)
    db_pool_size: int = Field(default=20, ge=1)
    idempotency_ttl_s: float = Field(default=86_400.0, gt=0)
    stream_limit_per_key: int = Field(default=20, ge=1)
    events_per_minute_per_key: int = Field(default=3000, ge=1)
    quotes_per_minute_per_key: int = Field(default=600, ge=1)
    dask_scheduler: str | None = Field(default=None, min_length=5, max_length=500)

    @field_validator("bootstrap_key")
    @classmethod
    def _long_bootstrap(cls, v: str | None) -> str | None:
        """An empty value means unset; a short one is refused so start-up fails loudly."""
        if v is None or v == "":
            return None
        if len(v) < MIN_BOOTSTRAP_CHARS:
            raise ValueError(
                f"must be at least {MIN_BOOTSTRAP_CHARS} characters "
                f"(got {len(v)}); make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return v

    @field_validator("travel_providers", "travel_osm_extracts", "travel_osrm_urls", mode="before")
    @classmethod
    def _list(cls, v: object) -> object:
        """Environment lists: a JSON array or comma-separated text (``a,b``); empty text is none."""
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return v

    @field_validator("travel_osrm_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        return [u.rstrip("/") for u in v]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
