"""The `smtp` mail backend (smtplib).

STARTTLS verifies the server's certificate and host name (smtplib's default context does
not); `SMTP_CA_FILE` adds a CA to trust, for a relay with a private certificate.
Tested against a real SMTP server (aiosmtpd) in tests/integration/test_smtp.py.

Every failure comes out as `DeliveryFailed` with the server's reply: a 5xx reply (and an
untrusted certificate, or a server without STARTTLS) is permanent; a 4xx reply, a refused
or dropped connection or a timeout is temporary.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from app.integrations.mail import DeliveryFailed, MailMessage, default_sender


def _setting(config, key: str, default: str = "") -> str:
    return str(config.get(key) or os.environ.get(key) or default)


@dataclass
class SmtpBackend:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = 20.0
    ca_file: str = ""

    @classmethod
    def from_config(cls, config) -> SmtpBackend:
        return cls(
            host=_setting(config, "SMTP_HOST", "localhost"),
            port=int(_setting(config, "SMTP_PORT", "587")),
            username=_setting(config, "SMTP_USERNAME"),
            password=_setting(config, "SMTP_PASSWORD"),
            starttls=_setting(config, "SMTP_STARTTLS", "true").lower() in {"1", "true", "yes", "on"},
            ca_file=_setting(config, "SMTP_CA_FILE"),
        )

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def build(self, message: MailMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = message.from_address or default_sender()
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = message.message_id or make_msgid(
            domain=(message.from_address or default_sender()).rpartition("@")[2].strip("> ") or None)
        if message.in_reply_to:
            email["In-Reply-To"] = message.in_reply_to
        if message.references:
            email["References"] = message.references
        email.set_content(message.body_text)
        if message.body_html:
            email.add_alternative(message.body_html, subtype="html")
        return email

    def send(self, message: MailMessage) -> None:
        email = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.tls_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise DeliveryFailed(server_reply(code, reply), permanent=code >= 500) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth, 421 ...
            raise DeliveryFailed(server_reply(exc.smtp_code, exc.smtp_error),
                                 permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryFailed(f"The mail server {self.host}:{self.port} does not offer STARTTLS.",
                                 permanent=True) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(f"The mail server's certificate is not trusted: {exc.verify_message}.",
                                 permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, unknown host
            raise DeliveryFailed(f"Could not reach the mail server {self.host}:{self.port}: "
                                 f"{connection_problem(exc)}.", permanent=False) from exc


def server_reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    text = " ".join(text.split())
    return f"{code} {text}" if code and code > 0 else text or "The mail server gave no reason."


def connection_problem(exc: Exception) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(reason).rstrip(".")
