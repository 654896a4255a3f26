"""API keys (stored as salted SHA-256 of a 256-bit secret) and the principal behind a request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ROLES, ApiKey, utcnow

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
) -> str:
    """Store a new key and return its token; only the hash is kept, so this is the one chance."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role in ("courier", "technician") and not resource_id:
        raise ValueError(f"a {role} key needs a resource")
    if role == "customer" and not job_id:
        raise ValueError("a customer key needs a job")
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


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a bearer token, or None when the token is unknown, wrong or revoked."""
    key_id, secret = split_token(token)
    row = session.execute(select(ApiKey).where(ApiKey.id == key_id)).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.hash, _digest(row.salt, secret)):
        return None
    return Principal(row.id, row.role, row.zone, row.resource_id, row.job_id)


def revoke(session: Session, key_id: str) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True
