"""Connecting to QuickBooks Online (OAuth 2 through intuit-oauth) and the API client.

Configuration: QBO_CLIENT_ID, QBO_CLIENT_SECRET, QBO_ENVIRONMENT (sandbox | production);
QBO_BASE_URL (tests only, refused in production) points both the OAuth discovery document
and the API at a local server. The realm id and the tokens are stored sealed
(app/integrations/secrets.py); tokens are read and refreshed only through app.quickbooks.tokens.
"""
from __future__ import annotations

import logging
import secrets as pysecrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import requests
from flask import current_app
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from sqlalchemy import select

from app.extensions import db
from app.integrations.secrets import decrypt, encrypt
from app.quickbooks import limits
from app.quickbooks.models import ConnectionStatus, QuickBooksConnection
from app.urls import absolute_url

log = logging.getLogger("crm.quickbooks")

MINOR_VERSION = 75
API_URLS = {"sandbox": "https://sandbox-quickbooks.api.intuit.com/v3",
            "production": "https://quickbooks.api.intuit.com/v3"}


class NotConnected(Exception):
    """QuickBooks is not connected (or its grant died): nothing can be pushed or pulled."""


class ConnectRefused(ValueError):
    """The OAuth answer cannot be accepted (wrong state, an error from Intuit)."""


def missing_settings(config=None) -> list[str]:
    config = config or current_app.config
    return [key for key in ("QBO_CLIENT_ID", "QBO_CLIENT_SECRET") if not config.get(key)]


def is_configured() -> bool:
    return not missing_settings()


def environment() -> str:
    return current_app.config.get("QBO_ENVIRONMENT") or "sandbox"


def _discovery() -> str:
    base = current_app.config.get("QBO_BASE_URL")
    if base:  # intuit-oauth takes a discovery document's URL as its environment
        return f"{base.rstrip('/')}/.well-known/openid_configuration"
    return environment()


def api_url() -> str:
    base = current_app.config.get("QBO_BASE_URL")
    return f"{base.rstrip('/')}/v3" if base else API_URLS[environment()]


def authorization_origin() -> str:
    """Where the connect button's answer sends the admin (Intuit's authorisation page)."""
    base = urlsplit(current_app.config.get("QBO_BASE_URL") or "https://appcenter.intuit.com")
    return f"{base.scheme}://{base.netloc}"


def redirect_uri() -> str:
    return absolute_url("quickbooks.callback")


def auth_client(**tokens) -> AuthClient:
    config = current_app.config
    return AuthClient(config["QBO_CLIENT_ID"], config["QBO_CLIENT_SECRET"], redirect_uri(), _discovery(), **tokens)


def live_connection(*, lock: bool = False) -> QuickBooksConnection | None:
    stmt = select(QuickBooksConnection).where(QuickBooksConnection.environment == environment(),
                                              QuickBooksConnection.status != ConnectionStatus.DISCONNECTED)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def realm_of(connection: QuickBooksConnection) -> str:
    return decrypt(connection.realm_id_sealed)


# ------------------------------------------------------------------ connect / disconnect

def start_connect() -> tuple[str, str]:
    """The Intuit authorisation URL and the state it carries (kept in the admin's session)."""
    state = pysecrets.token_urlsafe(24)
    return auth_client().get_authorization_url([Scopes.ACCOUNTING], state_token=state), state


def finish_connect(*, code: str | None, realm_id: str | None, state: str | None, expected_state: str | None,
                   error: str | None, actor) -> QuickBooksConnection:
    """Check the state, trade the code for tokens, store the realm and tokens sealed. A live
    connection (a dead grant being reconnected) is replaced by the new one."""
    if not expected_state or not state or not pysecrets.compare_digest(state, expected_state):
        raise ConnectRefused("The answer from QuickBooks did not match this sign-in: connect again.")
    if error:
        raise ConnectRefused(f"QuickBooks refused the connection ({error[:100]}).")
    if not code or not realm_id:
        raise ConnectRefused("QuickBooks sent no authorisation: connect again.")
    client = auth_client()
    try:
        client.get_bearer_token(code, realm_id=realm_id)
    except AuthClientError as exc:
        raise ConnectRefused(f"QuickBooks refused the authorisation code ({exc.status_code}).") from exc
    now = datetime.now(UTC)
    previous = live_connection(lock=True)
    if previous is not None:
        previous.status, previous.disconnected_at = ConnectionStatus.DISCONNECTED, now
        previous.access_token_sealed = previous.refresh_token_sealed = None
        db.session.flush()
    connection = QuickBooksConnection(
        environment=environment(), status=ConnectionStatus.CONNECTED, realm_id_sealed=encrypt(realm_id),
        connected_by_id=getattr(actor, "id", None), connected_at=now, refreshed_at=now)
    store_tokens(connection, client, now)
    if previous is not None and realm_of(previous) == realm_id:
        connection.items_cdc_at, connection.items_full_at = previous.items_cdc_at, previous.items_full_at
    db.session.add(connection)
    db.session.flush()
    from app.queue import enqueue

    enqueue("default", "app.quickbooks.jobs.pull_items", job_id=f"qbo-pull-items-connect-{connection.id}")
    from app.quickbooks.ledger import resume_waiting

    resume_waiting()
    return connection


def store_tokens(connection: QuickBooksConnection, client: AuthClient, now: datetime) -> None:
    connection.access_token_sealed = encrypt(client.access_token)
    connection.refresh_token_sealed = encrypt(client.refresh_token)
    connection.access_expires_at = now + timedelta(seconds=int(client.expires_in or 3600))
    connection.refresh_expires_at = now + timedelta(seconds=int(client.x_refresh_token_expires_in or 8726400))
    connection.refreshed_at = now


def disconnect(*, actor) -> bool:
    """Revoke the grant at Intuit (best effort: a dead grant is gone already) and forget the
    tokens. False when nothing was connected."""
    connection = live_connection(lock=True)
    if connection is None:
        return False
    token = connection.refresh_token_sealed and decrypt(connection.refresh_token_sealed)
    if token and connection.status is ConnectionStatus.CONNECTED:
        try:
            auth_client().revoke(token=token)
        except (AuthClientError, OSError) as exc:
            log.warning("quickbooks revoke failed status=%s", getattr(exc, "status_code", type(exc).__name__))
    connection.status = ConnectionStatus.DISCONNECTED
    connection.disconnected_at = datetime.now(UTC)
    connection.access_token_sealed = connection.refresh_token_sealed = None
    db.session.flush()
    return True


# ------------------------------------------------------------------ the API client

class LimitedQuickBooks(QuickBooks):
    """python-quickbooks' client, every request through the realm's token bucket; a 429
    sets the realm's back-off and raises limits.Throttled (the SDK would report code 10000)."""

    def process_request(self, request_type, url, headers="", params="", data=""):
        if url.rstrip("/").endswith("/batch"):  # 40 a minute: a batch waits its turn longer
            limits.acquire(self.company_id, limits.MAX_BATCH_WAIT_S, batch=True)
        else:
            limits.acquire(self.company_id)
        response = super().process_request(request_type, url, headers=headers, params=params, data=data)
        if response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            seconds = float(retry_after) if retry_after and retry_after.isdigit() else limits.BACKOFF_AFTER_429_S
            limits.back_off(self.company_id, seconds)
            raise limits.Throttled(max(seconds, limits.BACKOFF_AFTER_429_S))
        return response


class BearerSession(requests.Session):
    """What python-quickbooks sends its requests through: the bearer token, and a timeout
    (the SDK's OAuth2Session has none; Intuit's own limit is 120 s)."""

    TIMEOUT = (5, 60)

    def __init__(self, access_token: str):
        super().__init__()
        self.access_token = access_token

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.TIMEOUT)
        return super().request(method, url, **kwargs)


@dataclass
class Api:
    qb: LimitedQuickBooks
    realm_id: str
    connection_id: object


def api() -> Api:
    """A client for the live connection, with a valid access token (refreshed when due,
    under the realm's lock: app.quickbooks.tokens). Commits (the token transaction)."""
    from app.quickbooks.tokens import fresh_access_token

    connection = live_connection()
    if connection is None:
        raise NotConnected("QuickBooks is not connected.")
    realm_id, access_token = fresh_access_token(connection.id)
    # What python-quickbooks reads of an AuthClient when the access token is valid (building a
    # real one fetches Intuit's discovery document: a round-trip per job for nothing).
    client = SimpleNamespace(client_id=current_app.config["QBO_CLIENT_ID"], environment=environment(),
                             access_token=access_token, refresh_token=None)
    qb = LimitedQuickBooks(auth_client=client, company_id=realm_id, minorversion=MINOR_VERSION)
    qb.sandbox_api_url_v3 = qb.api_url_v3 = api_url()
    qb.session = BearerSession(access_token)
    return Api(qb, realm_id, connection.id)
