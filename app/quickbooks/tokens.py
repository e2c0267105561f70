"""The access token, refreshed under the realm's lock so two workers never burn a token.

Intuit's refresh tokens rotate: a refresh answers a new refresh token, and the one used may
stop working. So the refresh runs inside one transaction holding a PostgreSQL advisory lock
for the realm: read the stored refresh token, use it, store the new one, commit. A second
worker waits on the lock, then reads the fresh access token and does not refresh at all.
A refresh Intuit refuses with `invalid_grant` means the grant is dead: the connection is
marked DEAD with the date, and a person reconnects (Settings → QuickBooks).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from intuitlib.exceptions import AuthClientError
from sqlalchemy import func, select

from app.extensions import db
from app.integrations.secrets import decrypt
from app.quickbooks.models import ConnectionStatus, QuickBooksConnection

log = logging.getLogger("crm.quickbooks")
REFRESH_BEFORE = timedelta(minutes=5)  # an access token this close to its end is refreshed


class GrantDead(Exception):
    """Intuit refused the refresh token: the connection needs a person to reconnect."""


def lock_key(realm_id: str) -> int:
    """The realm's advisory lock key (a signed 64-bit integer)."""
    return int.from_bytes(hashlib.sha256(f"quickbooks-token:{realm_id}".encode()).digest()[:8], "big",
                          signed=True)


def fresh_access_token(connection_id, now: datetime | None = None) -> tuple[str, str]:
    """(realm id, a valid access token). Commits: the lock, the refresh and its storing are
    one transaction, so call it before the caller's own changes."""
    from app.quickbooks.connection import NotConnected, auth_client, realm_of, store_tokens

    db.session.commit()  # nothing of the caller's may ride along with (or hold locks in) the token's transaction
    connection = db.session.get(QuickBooksConnection, connection_id, populate_existing=True)
    if connection is None or connection.status is ConnectionStatus.DISCONNECTED:
        raise NotConnected("QuickBooks is not connected.")
    realm_id = realm_of(connection)
    db.session.execute(select(func.pg_advisory_xact_lock(lock_key(realm_id))))
    connection = db.session.get(QuickBooksConnection, connection_id, populate_existing=True)  # as the lock's holder left it
    if connection.status is ConnectionStatus.DEAD:
        db.session.commit()
        raise GrantDead(f"QuickBooks needs reconnecting (since {connection.dead_at:%Y-%m-%d}).")
    if connection.status is not ConnectionStatus.CONNECTED:
        db.session.commit()
        raise NotConnected("QuickBooks is not connected.")
    now = now or datetime.now(UTC)
    if connection.access_token_sealed and connection.access_expires_at \
            and connection.access_expires_at - REFRESH_BEFORE > now:
        token = decrypt(connection.access_token_sealed)
        db.session.commit()
        return realm_id, token
    client = auth_client(refresh_token=decrypt(connection.refresh_token_sealed))
    try:
        client.refresh()
    except AuthClientError as exc:
        if exc.status_code in (400, 401) and b"invalid_grant" in (exc.content or b""):
            connection.status, connection.dead_at = ConnectionStatus.DEAD, now
            connection.dead_reason = "QuickBooks refused the refresh token (invalid_grant)"
            connection.access_token_sealed = None
            db.session.commit()
            log.warning("quickbooks grant dead connection=%s", connection.id)
            _tell_admins(connection)
            raise GrantDead(f"QuickBooks needs reconnecting (since {now:%Y-%m-%d}).") from exc
        db.session.rollback()  # a temporary failure: the stored refresh token is still the one to use
        raise
    store_tokens(connection, client, now)
    db.session.commit()  # the new refresh token is stored before the lock is let go
    log.info("quickbooks token refreshed connection=%s", connection.id)
    return realm_id, client.access_token


def _tell_admins(connection: QuickBooksConnection) -> None:
    from app.quickbooks.ledger import task_for_admin

    task_for_admin("Reconnect QuickBooks: its authorisation ended",
                   "QuickBooks stopped accepting the CRM's authorisation. Open Settings → QuickBooks and "
                   "connect again; waiting pushes go out after that.",
                   key=f"qbo-dead-{connection.id}")
    db.session.commit()
