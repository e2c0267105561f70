"""The live public link of a sent invoice, kept sealed so a canned reply can quote it.

invoices.payment_token holds only the SHA-256 of the link's token (the database alone
never reveals a usable link). A canned reply's `{{ invoice.pay_url }}` needs the link
itself, so `issue_link` also keeps the token here sealed with AES-256-GCM under a key
derived from SECRETS_KEY (an environment secret, not in the database). A sealed token
counts only while its hash is still the invoice's payment_token: a re-sent invoice
(new token) or a revoked link makes the old one unusable here as at /pay/<token>.
"""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import created_at
from app.extensions import db


class InvoicePayLink(db.Model):
    __tablename__ = "invoice_pay_links"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                                  primary_key=True)
    sealed_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


def _key() -> bytes:
    secret = current_app.config.get("SECRETS_KEY") or current_app.config["SECRET_KEY"]
    return hashlib.sha256(b"invoice-pay-link:" + secret.encode("utf-8")).digest()


def remember_link(invoice, token: str) -> None:
    """Keep the invoice's new token sealed (replacing the last one). Flushes."""
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_key()).encrypt(nonce, token.encode("utf-8"), str(invoice.id).encode())
    row = db.session.get(InvoicePayLink, invoice.id)
    if row is None:
        row = InvoicePayLink(invoice_id=invoice.id, sealed_token="")
        db.session.add(row)
    row.sealed_token = base64.urlsafe_b64encode(sealed).decode("ascii")
    db.session.flush()


def forget_link(invoice) -> None:
    row = db.session.get(InvoicePayLink, invoice.id)
    if row is not None:
        db.session.delete(row)
        db.session.flush()


def live_token(invoice) -> str | None:
    """The token of the invoice's current link, or None (never sent, revoked, re-sent
    before links were kept, or sealed under another key)."""
    from app.billing.sending import token_hash

    if not invoice.payment_token:
        return None
    row = db.session.get(InvoicePayLink, invoice.id)
    if row is None:
        return None
    raw = base64.urlsafe_b64decode(row.sealed_token.encode("ascii"))
    try:
        token = AESGCM(_key()).decrypt(raw[:12], raw[12:], str(invoice.id).encode()).decode("utf-8")
    except (InvalidTag, ValueError):
        return None
    return token if token_hash(token) == invoice.payment_token else None
