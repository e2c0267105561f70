"""Tables of the SMS channel beyond the spec's (migration 0015_inbox_sms)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class SmsOutboxMessage(db.Model):
    """Not in the spec. An SMS as the development `outbox` backend "sends" it: one row per
    message id (ours), as the gateway keeps one message per id; shown under /outbox/customers."""

    __tablename__ = "sms_outbox_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    from_number: Mapped[str]
    to_number: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(index=True, server_default=func.now())


__all__ = ["SmsOutboxMessage"]
