"""``onestop keys create|list|revoke``: manage API keys offline, with the database's own rights.

A new key is shown once (or written to ``-o FILE``, readable by its owner only); only a salted
hash is kept. ``list`` never shows secrets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from onestop.dispatch.cli import InputError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import make_engine, migrate, session_factory, session_scope
from .models import ROLES, ApiKey, utcnow
from .security import issue_key, keys_in_zone, revoke


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    from .commands import load_settings

    settings = load_settings(database_url=database_url)
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        migrate(engine)
        with session_scope(session_factory(engine)) as s:
            yield s
    finally:
        engine.dispose()


def create(
    role: str,
    zone: str | None = None,
    resource: str | None = None,
    *,
    label: str | None = None,
    database_url: str | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """Store a new key and return it.

    Parameters
    ----------
    role
        ``dispatcher``, ``courier``, ``technician`` or ``customer``.
    zone
        For a dispatcher: the one zone it may act in (all zones when omitted).
    resource
        For a courier or technician: its resource id. For a customer: the job id (which must
        exist; the key is bound to that job row and expires ``ONESTOP_TRACKING_TOKEN_DAYS``
        after its date unless ``expires_at`` says otherwise).
    expires_at
        When the key stops working (None: until revoked, or the tracking default).

    Raises
    ------
    ValueError
        For an unknown role, a missing resource or job, an expiry in the past.
    """
    from .commands import load_settings

    settings = load_settings(database_url=database_url)
    with _session(database_url) as s:
        return issue_key(
            s,
            role=role,
            zone=zone,
            resource_id=resource if role in ("courier", "technician") else None,
            job_id=resource if role == "customer" else None,
            label=label,
            expires_at=expires_at,
            tracking_days=settings.tracking_token_days,
        )


def list_keys(
    *, database_url: str | None = None, zone: str | None = None, role: str | None = None, every: bool = False
) -> list[dict[str, Any]]:
    """Keys as rows (no secrets), oldest first; only working ones unless ``every``; with
    ``zone``, what a dispatcher of that zone sees through ``GET /v1/keys``."""
    now = utcnow()
    with _session(database_url) as s:
        query = select(ApiKey).where(*keys_in_zone(zone)).order_by(ApiKey.created_at, ApiKey.id)
        if role:
            query = query.where(ApiKey.role == role)
        rows = []
        for k in s.scalars(query):
            state = (
                "revoked"
                if k.revoked_at is not None
                else "expired"
                if k.expires_at is not None and k.expires_at <= now
                else "active"
            )
            if state != "active" and not every:
                continue
            rows.append(
                {
                    "id": k.id,
                    "role": k.role,
                    "zone": k.zone,
                    "resource": k.resource_id,
                    "job": k.job_id,
                    "label": k.label,
                    "created_at": k.created_at,
                    "expires_at": k.expires_at,
                    "state": state,
                }
            )
        return rows


def revoke_keys(key_ids: list[str], *, database_url: str | None = None) -> list[str]:
    """Revoke keys by id; returns the ids that were not active (unknown or already revoked)."""
    with _session(database_url) as s:
        return [k for k in key_ids if not revoke(s, k)]


def _expiry(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 < days <= 3660:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 3660 days, not {text!r}")
    return days


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``onestop keys`` and ``python -m onestop.api.keys`` alike."""
    sub = parser.add_subparsers(dest="action", required=True)
    c = sub.add_parser("create", help="create a key and print it once")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--zone", help="a dispatcher's one zone (all zones when omitted)")
    c.add_argument("--resource", help="resource id (courier/technician) or job id (customer)")
    c.add_argument("--label")
    c.add_argument("--expires-in", type=_expiry, metavar="DAYS", help="the key stops working after DAYS")
    c.add_argument("-o", "--output", metavar="FILE", help="write the key to FILE (mode 600), not stdout")
    c.add_argument("--database-url", help="overrides DATABASE_URL")
    ls = sub.add_parser("list", help="list keys (never their secrets)")
    ls.add_argument("--role", choices=ROLES)
    ls.add_argument("--zone", help="only what a dispatcher of this zone may see")
    ls.add_argument("--all", dest="every", action="store_true", help="revoked and expired keys too")
    ls.add_argument("--database-url", help="overrides DATABASE_URL")
    r = sub.add_parser("revoke", help="revoke keys by id")
    r.add_argument("key_ids", nargs="+", metavar="KEY_ID")
    r.add_argument("--database-url", help="overrides DATABASE_URL")
    from onestop.dispatch.cli import add_common_options

    for p in (c, ls, r):
        add_common_options(p)


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


def run_args(args: argparse.Namespace) -> int:
    """Exit 0 done, 2 bad input (an unknown job, an unknown or already revoked key)."""
    if args.action == "create":
        expires = utcnow() + dt.timedelta(days=args.expires_in) if args.expires_in else None
        try:
            key = create(
                args.role,
                args.zone,
                args.resource,
                label=args.label,
                database_url=args.database_url,
                expires_at=expires,
            )
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if args.output:
            try:
                fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(key + "\n")
            except OSError as exc:
                raise InputError(f"cannot write {args.output}: {exc.strerror}") from None
            if not getattr(args, "quiet", False):
                sys.stderr.write(f"key written to {args.output}\n")
        else:
            sys.stdout.write(key + "\n")
            if not getattr(args, "quiet", False):
                sys.stderr.write("store this key now: it is shown only once\n")
        return 0
    if args.action == "list":
        rows = list_keys(database_url=args.database_url, zone=args.zone, role=args.role, every=args.every)
        head = ("id", "role", "zone", "resource/job", "expires", "state", "label")
        table = [head] + [
            (
                r["id"],
                r["role"],
                r["zone"] or "-",
                r["resource"] or r["job"] or "-",
                _when(r["expires_at"]),
                r["state"],
                r["label"] or "",
            )
            for r in rows
        ]
        widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
        for row in table:
            line = "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
            sys.stdout.write(line.rstrip() + "\n")
        return 0
    missing = revoke_keys(args.key_ids, database_url=args.database_url)
    if missing:
        raise InputError(f"no active key {', '.join(repr(k) for k in missing)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .commands import standalone

    return standalone("onestop keys", "Manage API keys.", add_arguments, run_args, argv)


if __name__ == "__main__":
    raise SystemExit(main())
