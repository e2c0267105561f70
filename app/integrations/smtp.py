"""The `smtp` mail backend (smtplib).

STARTTLS verifies the server's certificate and host name (smtplib's default context does
not); `SMTP_CA_FILE` adds a CA to trust, for a relay with a private certificate.
Tested against a real SMTP server (aiosmtpd) in tests/integration/test_smtp.py.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from app.integrations.mail import MailMessage, default_sender


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
        email["Message-ID"] = make_msgid(domain=(message.from_address or default_sender())
                                         .rpartition("@")[2].strip("> ") or None)
        email.set_content(message.body_text)
        if message.body_html:
            email.add_alternative(message.body_html, subtype="html")
        return email

    def send(self, message: MailMessage) -> None:
        email = self.build(message)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=self.tls_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)
