"""SMS backends behind one small interface, chosen by SMS_BACKEND.

- `android_sms_gateway`: the rep's Android phone through its gateway (the official
  `android-sms-gateway` client). Our `sms_messages.id` is the gateway's message id, so a
  retried send is the same message: the gateway answers 409 to an id it has, which is success.
- `outbox` (development only, refused in production): stored in `sms_outbox_messages`, one
  row per id, shown under /outbox/customers.

`send()` raises `SendFailed` (permanent: the gateway refused the message; temporary: it
could not be reached or failed on its side). `lookup()` answers what the gateway knows of an
id: its state, or None when it has no such message (it was never sent).
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Protocol

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db

TIMEOUT = (5, 20)  # connect, read (seconds): a phone behind a slow link answers within this


class GatewayState(enum.Enum):
    ACCEPTED = "accepted"  # the gateway has it (pending on the phone, or processed)
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Gateway:
    """What a backend needs of an `sms_gateways` row (the password decrypted)."""

    url: str
    username: str
    password: str
    from_number: str


@dataclass(frozen=True)
class Lookup:
    state: GatewayState
    error: str | None = None


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class SmsBackend(Protocol):
    name: str

    def send(self, gateway: Gateway, *, message_id: uuid.UUID, to: str, text: str) -> None: ...

    def lookup(self, gateway: Gateway, message_id: uuid.UUID) -> Lookup | None: ...


class _TimeoutSession(requests.Session):
    """The client passes no timeout: every request of this session gets one."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


_STATES = {"Pending": GatewayState.ACCEPTED, "Processed": GatewayState.ACCEPTED,
           "Sent": GatewayState.SENT, "Delivered": GatewayState.DELIVERED,
           "Failed": GatewayState.FAILED, "Cancelled": GatewayState.FAILED,
           "Cancelling": GatewayState.FAILED}


class AndroidGatewayBackend:
    name = "android_gateway"

    def _client(self, gateway: Gateway):
        from android_sms_gateway import client, http

        return client.APIClient(gateway.username, gateway.password, base_url=gateway.url,
                                http=http.RequestsHttpClient(_TimeoutSession()))

    def send(self, gateway: Gateway, *, message_id: uuid.UUID, to: str, text: str) -> None:
        from android_sms_gateway import domain
        from android_sms_gateway.errors import APIError

        message = domain.Message(phone_numbers=[to], text_message=domain.TextMessage(text),
                                 id=str(message_id), with_delivery_report=True)
        try:
            self._client(gateway).send(message)
        except APIError as exc:
            status = exc.status_code or 0
            if status == 409:
                return  # the gateway has this id already: sent before, not again
            detail = (exc.response or {}).get("message") if isinstance(exc.response, dict) else None
            reason = f"the gateway answered {status}" + (f": {detail}" if detail else "")
            raise SendFailed(reason, permanent=400 <= status < 500 and status not in (408, 429)) from exc
        except requests.RequestException as exc:
            raise SendFailed(f"the gateway could not be reached ({type(exc).__name__})",
                             permanent=False) from exc

    def lookup(self, gateway: Gateway, message_id: uuid.UUID) -> Lookup | None:
        from android_sms_gateway.errors import APIError, NotFoundError

        try:
            state = self._client(gateway).get_state(str(message_id))
        except NotFoundError:
            return None
        except (APIError, requests.RequestException) as exc:
            raise SendFailed(f"the gateway could not be asked ({type(exc).__name__})", permanent=False) from exc
        errors = [r.error for r in state.recipients if r.error]
        return Lookup(_STATES.get(state.state.value, GatewayState.ACCEPTED), errors[0] if errors else None)


class OutboxSmsBackend:
    name = "outbox"

    def send(self, gateway: Gateway, *, message_id: uuid.UUID, to: str, text: str) -> None:
        from app.inbox.sms.models import SmsOutboxMessage

        # One row per id, as the gateway keeps one message per id (a re-send adds nothing).
        db.session.execute(
            pg_insert(SmsOutboxMessage)
            .values(id=message_id, from_number=gateway.from_number, to_number=to, body=text)
            .on_conflict_do_nothing(index_elements=[SmsOutboxMessage.id]))

    def lookup(self, gateway: Gateway, message_id: uuid.UUID) -> Lookup | None:
        from app.inbox.sms.models import SmsOutboxMessage

        found = db.session.scalar(select(SmsOutboxMessage.id).where(SmsOutboxMessage.id == message_id))
        return Lookup(GatewayState.SENT) if found else None


BACKENDS = {"android_sms_gateway": AndroidGatewayBackend, "outbox": OutboxSmsBackend}


class NoSmsBackend(RuntimeError):
    """SMS_BACKEND is `none` (or unknown): texting is off."""


def get_sms_backend() -> SmsBackend:
    name = (current_app.config.get("SMS_BACKEND") or "none").lower()
    if name not in BACKENDS:
        raise NoSmsBackend(f"SMS_BACKEND={name}: texting is not configured")
    return BACKENDS[name]()


def sms_enabled() -> bool:
    return (current_app.config.get("SMS_BACKEND") or "none").lower() in BACKENDS
