"""Outgoing e-mail behind one small interface, chosen by MAIL_BACKEND.

- `outbox` (dev and tests): the message is stored in `outbox_messages` and shown in
  the app under /outbox; nothing leaves the machine.
- `smtp`: sent through smtplib (SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD,
  SMTP_STARTTLS from the app config or the environment).

Backends are called from jobs only (sending is slow and external).
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
    raise RuntimeError(f"unknown MAIL_BACKEND {name!r} (outbox, smtp)")


def default_sender() -> str:
    return current_app.config.get("MAIL_FROM") or "GPS Leaders <sales@example.com>"
