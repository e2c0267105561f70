"""Inbound webhook deliveries (Stripe, Cal.com, SMS gateway, ...), stored before
processing: for idempotency (provider, provider_event_id) and for replays."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import uuid_pk
from app.extensions import db


class WebhookEvent(db.Model):
    """Not in the spec. One row per delivered event; a redelivery of the same
    (provider, provider_event_id) hits the unique constraint."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "provider_event_id"),
        Index(None, "provider", "received_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider: Mapped[str]
    provider_event_id: Mapped[str]
    event_type: Mapped[str | None]
    # The parsed body.
    payload: Mapped[dict[str, Any]]
    # The body exactly as received (decoded as text), to re-verify the signature.
    raw_body: Mapped[str]
    signature_header: Mapped[str | None]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    error: Mapped[str | None]

    def __repr__(self) -> str:
        return f"<WebhookEvent {self.provider} {self.provider_event_id}>"


__all__ = ["WebhookEvent"]
