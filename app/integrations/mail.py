"""Outgoing e-mail behind one small interface, chosen by MAIL_BACKEND.

- `outbox` (dev and tests): the message is stored in `outbox_messages` and shown in
  the app under /outbox; nothing leaves the machine.
- `smtp`: sent through smtplib (SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD,
  SMTP_STARTTLS from the app config or the environment).
- `gmail`: through the Gmail API from the Gmail account of MAIL_FROM, connected under
  Settings → E-mail accounts (app/inbox/email/outbound.py).

Backends are called from jobs only (sending is slow and external). A backend that could
not hand the message over raises `DeliveryFailed` with the provider's reason, saying
whether trying again later may work (a connection refused, a 4xx reply) or not (a 5xx
refusal); the job retries the first kind and marks the message failed otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class MailMessage:
    to: str
    subject: str
    body_text: str
    body_html: str | None = None
    from_address: str | None = None
    invoice_id: str | None = None
    # Same key = same message: a backend that can remember it sends it once.
    message_key: str | None = None
    # RFC 5322 threading headers (with their <>): our own Message-ID, and the message(s) replied to.
    message_id: str | None = None
    in_reply_to: str | None = None
    references: str | None = None


class DeliveryFailed(Exception):
    """The message was not handed over. `reason` is the provider's own words (an SMTP
    reply such as "550 5.1.1 No such user", or why the server could not be reached);
    `permanent`: the same message would be refused again, so retrying is pointless."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailBackend(Protocol):
    def send(self, message: MailMessage) -> None: ...


def get_mail_backend() -> MailBackend:
    name = (current_app.config.get("MAIL_BACKEND") or "outbox").lower()
    if name == "outbox":
        from app.integrations.outbox import OutboxBackend

        return OutboxBackend()
    if name == "smtp":
        from app.integrations.smtp import SmtpBackend

        return SmtpBackend.from_config(current_app.config)
    if name == "gmail":  # the system sender's Gmail account (app/inbox/email/outbound.py)
        from app.inbox.email.outbound import SystemGmailBackend

        return SystemGmailBackend()
    raise RuntimeError(f"unknown MAIL_BACKEND {name!r} (outbox, smtp, gmail)")


def default_sender() -> str:
    return current_app.config.get("MAIL_FROM") or "GPS Leaders <sales@example.com>"
