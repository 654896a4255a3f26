"""``onestop keys create``: make an API key offline; the key is shown once, only its hash is kept."""

from __future__ import annotations

import argparse
import sys

from .db import make_engine, migrate, session_factory, session_scope
from .models import ROLES
from .security import issue_key, revoke
from .settings import Settings


def create(
    role: str,
    zone: str | None = None,
    resource: str | None = None,
    *,
    label: str | None = None,
    database_url: str | None = None,
) -> str:
    """Store a new key and return it.

    Parameters
    ----------
    role
        ``dispatcher``, ``courier``, ``technician`` or ``customer``.
    zone
        For a dispatcher: the one zone it may act in (all zones when omitted).
    resource
        For a courier or technician: its resource id. For a customer: the job id.

    Raises
    ------
    ValueError
        For an unknown role or a missing resource.
    """
    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        migrate(engine)
        with session_scope(session_factory(engine)) as s:
            return issue_key(
                s,
                role=role,
                zone=zone,
                resource_id=resource if role in ("courier", "technician") else None,
                job_id=resource if role == "customer" else None,
                label=label,
            )
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onestop keys", description="Manage API keys.")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="create a key and print it once")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--zone")
    c.add_argument("--resource", help="resource id (courier/technician) or job id (customer)")
    c.add_argument("--label")
    r = sub.add_parser("revoke", help="revoke a key by its id")
    r.add_argument("key_id")
    args = parser.parse_args(argv)
    if args.command == "create":
        try:
            key = create(args.role, args.zone, args.resource, label=args.label)
        except ValueError as exc:
            sys.stderr.write(f"onestop keys: {exc}\n")
            return 2
        sys.stdout.write(key + "\n")
        return 0
    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        migrate(engine)
        with session_scope(session_factory(engine)) as s:
            ok = revoke(s, args.key_id)
    finally:
        engine.dispose()
    if not ok:
        sys.stderr.write(f"onestop keys: no active key {args.key_id!r}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
