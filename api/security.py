"""API keys (stored as salted SHA-256 of a 256-bit secret) and the principal behind a request."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from .models import ROLES, ApiKey, Courier, Job, Technician, utcnow

KEY_PREFIX = "os"
BOOTSTRAP_ID = "bootstrap"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a role and what it is bound to."""

    key_id: str
    role: str
    zone: str | None = None
    resource_id: str | None = None
    job_id: str | None = None
    #: Unix time after which the key is refused (None: until revoked); caches check it too.
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def is_dispatcher(self) -> bool:
        return self.role == "dispatcher"

    def sees_zone(self, zone: str | None) -> bool:
        """A dispatcher limited to a zone sees only rows of that zone."""
        return self.is_dispatcher and (self.zone is None or zone == self.zone)


def _digest(salt: str, secret: str) -> str:
    # The secret is 256 random bits, so one salted SHA-256 is enough (no password stretching).
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def split_token(token: str) -> tuple[str, str]:
    """``os_<id>_<secret>`` → (id, secret); any other text is the bootstrap key's secret."""
    parts = token.split("_", 2)
    if len(parts) == 3 and parts[0] == KEY_PREFIX and parts[1] and parts[2]:
        return parts[1], parts[2]
    return BOOTSTRAP_ID, token


def tracking_expiry(date: dt.date, days: float) -> dt.datetime:
    """When a tracking token for a job on ``date`` stops working: ``days`` after that date ends
    (counted in UTC, so a day's late evening in any zone is still covered). ``issue_key`` gives
    a token made later than that ``days`` from its making."""
    end_of_day = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return end_of_day + dt.timedelta(days=days)


def issue_key(
    session: Session,
    *,
    role: str,
    zone: str | None = None,
    resource_id: str | None = None,
    job_id: str | None = None,
    label: str | None = None,
    key_id: str | None = None,
    secret: str | None = None,
    expires_at: dt.datetime | None = None,
    tracking_days: float | None = None,
) -> str:
    """Store a new key and return its token; only the hash is kept, so this is the one chance.

    A customer key is bound to its job's row (``jobs.uid``), which must exist; it expires at
    ``expires_at`` or, when that is not given, ``tracking_days`` after the job's date.

    Raises
    ------
    ValueError
        Unknown role, a missing resource or job, an unknown job, an expiry in the past.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role in ("courier", "technician") and not resource_id:
        raise ValueError(f"a {role} key needs a resource")
    subject_uid = None
    if role == "customer":
        if not job_id:
            raise ValueError("a customer key needs a job")
        job = session.get(Job, job_id)
        if job is None:
            raise ValueError(f"job {job_id!r} does not exist")
        subject_uid = job.uid
        if expires_at is None and tracking_days is not None:
            # a token made late (for a past day's job) still gets its few days
            expires_at = max(
                tracking_expiry(job.date, tracking_days), utcnow() + dt.timedelta(days=tracking_days)
            )
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValueError("the expiry needs a UTC offset")
        if expires_at <= utcnow():
            raise ValueError("the expiry is in the past")
    key_id = key_id or secrets.token_hex(8)
    secret = secret or secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    session.add(
        ApiKey(
            id=key_id,
            role=role,
            zone=zone,
            resource_id=resource_id,
            job_id=job_id,
            salt=salt,
            hash=_digest(salt, secret),
            label=label,
            expires_at=expires_at,
            subject_uid=subject_uid,
        )
    )
    return secret if key_id == BOOTSTRAP_ID else f"{KEY_PREFIX}_{key_id}_{secret}"


def ensure_bootstrap(session: Session, secret: str) -> None:
    """Make the bootstrap dispatcher key match ``secret`` (all zones)."""
    row = session.get(ApiKey, BOOTSTRAP_ID)
    if (
        row is not None
        and hmac.compare_digest(row.hash, _digest(row.salt, secret))
        and row.revoked_at is None
    ):
        return
    if row is not None:
        session.delete(row)
        session.flush()
    issue_key(session, role="dispatcher", key_id=BOOTSTRAP_ID, secret=secret, label="bootstrap")


def disable_bootstrap(session: Session) -> bool:
    """Revoke the bootstrap key (``ONESTOP_BOOTSTRAP_KEY`` was removed); True if it was active."""
    return revoke(session, BOOTSTRAP_ID)


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a bearer token, or None when the token is unknown, wrong, revoked,
    expired, or a customer key whose job row is gone (or was replaced under the same id)."""
    key_id, secret = split_token(token)
    row = session.execute(select(ApiKey).where(ApiKey.id == key_id)).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.hash, _digest(row.salt, secret)):
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    if row.role == "customer":
        uid = session.scalar(select(Job.uid).where(Job.id == row.job_id))
        if uid is None or row.subject_uid is None or not hmac.compare_digest(uid, row.subject_uid):
            return None
    expires = row.expires_at.timestamp() if row.expires_at is not None else None
    return Principal(row.id, row.role, row.zone, row.resource_id, row.job_id, expires)


def revoke(session: Session, key_id: str) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def revoke_subject(
    session: Session, *, job_id: str | None = None, resource_id: str | None = None, roles: Sequence[str]
) -> list[str]:
    """Revoke every active key of a deleted job or resource; returns their ids (for caches)."""
    target = ApiKey.job_id == job_id if job_id is not None else ApiKey.resource_id == resource_id
    where = (target, ApiKey.role.in_(roles), ApiKey.revoked_at.is_(None))
    ids = list(session.scalars(select(ApiKey.id).where(*where)))
    if ids:
        session.execute(update(ApiKey).where(ApiKey.id.in_(ids)).values(revoked_at=utcnow()))
    return ids


def keys_in_zone(zone: str | None) -> list[object]:
    """SQL filters: the keys a dispatcher of ``zone`` may see and revoke (None: all of them).

    A zone dispatcher manages the keys of its zone's people and customers: customer keys of
    jobs in the zone, courier and technician keys of resources in the zone. Dispatcher keys,
    its own included, belong to an all-zones dispatcher (or the CLI).
    """
    if zone is None:
        return []
    jobs = select(Job.id).where(Job.zone == zone)
    couriers = select(Courier.id).where(Courier.zone == zone)
    technicians = select(Technician.id).where(Technician.zone == zone)
    return [
        or_(
            (ApiKey.role == "customer") & ApiKey.job_id.in_(jobs),
            (ApiKey.role == "courier") & ApiKey.resource_id.in_(couriers),
            (ApiKey.role == "technician") & ApiKey.resource_id.in_(technicians),
        )
    ]
