"""The Gmail API through Google's own client (google-api-python-client + google-auth), for one
connected account: credentials (decrypted, refreshed before they expire, re-sealed), the
service (the Gmail discovery document the client ships, read once; its endpoint is
GMAIL_API_BASE, a local server in tests), and the calls the e-mail channel makes, with
Google's errors mapped to what the caller does about them:

- `GrantRevoked`: the refresh token is dead (`invalid_grant`): the account needs reconnecting.
- `HistoryExpired`: users.history.list answered 404 (the history id is too old): resync.
- `GmailUnavailable`: anything else (429, 5xx, a timeout, a refused connection): try later;
  `permanent` for a 4xx refusal of this request.

Services flush, never commit: tokens refreshed here are written to the account row for the
caller's commit."""
from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate
from functools import cache

import google_auth_httplib2
import httplib2
from flask import current_app
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from app.integrations.secrets import decrypt, encrypt

log = logging.getLogger("crm.gmail")

SCOPES = ("https://www.googleapis.com/auth/gmail.send", "https://www.googleapis.com/auth/gmail.readonly")
BATCH_SIZE = 50  # messages.get per batch request (Gmail advises at most 50)
REFRESH_BEFORE = timedelta(minutes=5)  # an access token this close to its expiry is refreshed first
HTTP_TIMEOUT_S = 20


class GrantRevoked(Exception):
    """Google refused the stored grant (invalid_grant): only the owner reconnecting helps."""


class HistoryExpired(Exception):
    """The stored history id is older than Gmail keeps (404): a full resync is needed."""


class GmailUnavailable(Exception):
    def __init__(self, reason: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status  # Gmail's HTTP status (None: no answer)


@cache
def discovery_document() -> dict:
    return json.loads(get_static_doc("gmail", "v1"))


def client_config() -> dict:
    config = current_app.config
    return {"web": {"client_id": config.get("GOOGLE_CLIENT_ID") or "", "client_secret":
                    config.get("GOOGLE_CLIENT_SECRET") or "", "auth_uri": config["GOOGLE_AUTH_URI"],
                    "token_uri": config["GOOGLE_TOKEN_URI"]}}


def seal_tokens(account, credentials: Credentials) -> None:
    """Store the credentials' tokens on the account, encrypted (AES-256-GCM)."""
    account.gmail_access_token = encrypt(credentials.token) if credentials.token else None
    if credentials.refresh_token:
        account.gmail_refresh_token = encrypt(credentials.refresh_token)
    expiry = credentials.expiry  # google-auth keeps a naive UTC datetime
    account.gmail_token_expiry = expiry.replace(tzinfo=UTC) if expiry else None


def _revoked(exc: RefreshError) -> bool:
    return "invalid_grant" in str(exc)


def credentials(account) -> Credentials:
    """The account's credentials, refreshed first when they expire within REFRESH_BEFORE."""
    if not account.gmail_refresh_token or account.reconnect_needed_at is not None:
        raise GrantRevoked("The Gmail account is not connected.")
    web = client_config()["web"]
    expiry = account.gmail_token_expiry
    made = Credentials(
        token=decrypt(account.gmail_access_token) if account.gmail_access_token else None,
        refresh_token=decrypt(account.gmail_refresh_token), token_uri=web["token_uri"],
        client_id=web["client_id"], client_secret=web["client_secret"], scopes=list(SCOPES),
        expiry=expiry.astimezone(UTC).replace(tzinfo=None) if expiry else None)
    if made.token is None or expiry is None or expiry - datetime.now(UTC) < REFRESH_BEFORE:
        try:
            made.refresh(Request())
        except RefreshError as exc:
            if _revoked(exc):
                raise GrantRevoked(str(exc)) from exc
            raise GmailUnavailable(f"Google refused to refresh the token: {exc}") from exc
        except TransportError as exc:
            raise GmailUnavailable(f"Could not reach Google's token endpoint: {exc}") from exc
        seal_tokens(account, made)
    return made


def service(creds: Credentials):
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=HTTP_TIMEOUT_S))
    return build_from_document(discovery_document(), http=http,
                               client_options={"api_endpoint": current_app.config["GMAIL_API_BASE"]})


def _unavailable(exc: HttpError) -> GmailUnavailable:
    status = exc.resp.status
    reason = f"Gmail answered {status}: {exc.reason or exc.error_details or ''}".strip()
    return GmailUnavailable(reason, permanent=not (status == 429 or status >= 500), status=status)


def call(request):
    """Execute one API request, Google's errors mapped (see the module's docstring)."""
    try:
        return request.execute(num_retries=0)
    except HttpError as exc:
        raise _unavailable(exc) from exc
    except RefreshError as exc:
        if _revoked(exc):
            raise GrantRevoked(str(exc)) from exc
        raise GmailUnavailable(f"Google refused to refresh the token: {exc}") from exc
    except (TransportError, httplib2.HttpLib2Error, OSError) as exc:  # refused, reset, timed out
        raise GmailUnavailable(f"Could not reach Gmail: {exc or type(exc).__name__}") from exc


class Mailbox:
    """One account's Gmail, through one authorised service."""

    def __init__(self, account) -> None:
        self.account = account
        self.creds = credentials(account)
        self.api = service(self.creds)
        self._token = self.creds.token

    def keep_tokens(self) -> None:
        """A token the client refreshed on a 401 is sealed on the account too."""
        if self.creds.token != self._token:
            seal_tokens(self.account, self.creds)
            self._token = self.creds.token

    def profile(self) -> dict:
        return call(self.api.users().getProfile(userId="me"))

    def watch(self, topic: str) -> dict:
        """users.watch: Gmail publishes "this mailbox changed" for INBOX to the Pub/Sub topic
        until the answer's `expiration` (epoch ms, at most 7 days); calling it again renews."""
        return call(self.api.users().watch(userId="me", body={
            "topicName": topic, "labelIds": ["INBOX"], "labelFilterBehavior": "include"}))

    def send(self, mime: MimeMessage, thread_id: str | None) -> dict:
        body = {"raw": base64.urlsafe_b64encode(mime.as_bytes()).decode()}
        if thread_id:
            body["threadId"] = thread_id
        return call(self.api.users().messages().send(userId="me", body=body))

    def find_sent(self, message_id: str) -> dict | None:
        """Our message in this mailbox by its RFC Message-ID (what the reconciler asks)."""
        found = call(self.api.users().messages().list(
            userId="me", q=f"rfc822msgid:{message_id.strip('<>')}", includeSpamTrash=True, maxResults=5))
        messages = found.get("messages") or []
        return messages[0] if messages else None

    def history(self, start_history_id: str, page_token: str | None = None) -> dict:
        try:
            return self.api.users().history().list(
                userId="me", startHistoryId=start_history_id, historyTypes=["messageAdded"],
                maxResults=500, pageToken=page_token).execute(num_retries=0)
        except HttpError as exc:
            if exc.resp.status == 404:
                raise HistoryExpired(str(exc)) from exc
            return call(_Raise(exc))

    def list_recent(self, days: int, page_token: str | None = None) -> dict:
        return call(self.api.users().messages().list(
            userId="me", q=f"newer_than:{days}d", labelIds=["INBOX"], maxResults=500, pageToken=page_token))

    def message(self, gmail_id: str) -> dict:
        return call(self.api.users().messages().get(userId="me", id=gmail_id, format="full"))

    def messages(self, gmail_ids: list[str]) -> list[tuple[str, dict | GmailUnavailable]]:
        """users.messages.get (format=full) of these ids in one batch request (Gmail's
        /batch/gmail/v1), in order: each the message, or the GmailUnavailable it answered."""
        answers: dict[str, dict | GmailUnavailable] = {}

        def done(request_id, response, exception):
            answers[request_id] = _unavailable(exception) if isinstance(exception, HttpError) else (
                exception or response)

        base = current_app.config["GMAIL_API_BASE"].rstrip("/")
        batch = BatchHttpRequest(callback=done, batch_uri=f"{base}/batch/gmail/v1")
        for gmail_id in gmail_ids:
            batch.add(self.api.users().messages().get(userId="me", id=gmail_id, format="full"), request_id=gmail_id)
        call(_Once(batch))
        missing = GmailUnavailable("Gmail's batch answer left this message out")
        return [(gmail_id, answers.get(gmail_id, missing)) for gmail_id in gmail_ids]


class _Once:
    """A batch request through `call` (its execute() takes no retries: one attempt)."""

    def __init__(self, batch: BatchHttpRequest) -> None:
        self.batch = batch

    def execute(self, num_retries: int = 0):
        return self.batch.execute()


class _Raise:
    """Re-raise an HttpError through `call`'s mapping."""

    def __init__(self, exc: HttpError) -> None:
        self.exc = exc

    def execute(self, num_retries: int = 0):
        raise self.exc


def build_mime(*, from_address: str, to: str, subject: str, body_text: str, body_html: str | None,
               message_id: str | None, in_reply_to: str | None, references: str | None) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = from_address
    mime["To"] = to
    mime["Subject"] = subject
    mime["Date"] = formatdate(localtime=False)
    if message_id:
        mime["Message-ID"] = message_id
    if in_reply_to:
        mime["In-Reply-To"] = in_reply_to
    if references:
        mime["References"] = references
    mime.set_content(body_text)
    if body_html:
        mime.add_alternative(body_html, subtype="html")
    return mime
