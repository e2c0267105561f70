"""Tables of the integrations (migration 0006): the dev e-mail outbox."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import uuid_pk
from app.extensions import db


class OutboxMessage(db.Model):
    """Not in the spec. An e-mail as the `outbox` mail backend "sends" it: stored, and
    shown under /outbox. `message_key` (unique) makes re-running a send job a no-op."""

    __tablename__ = "outbox_messages"

    id: Mapped[uuid.UUID] = uuid_pk()
    to_address: Mapped[str]
    from_address: Mapped[str]
    subject: Mapped[str]
    body_text: Mapped[str]
    body_html: Mapped[str | None]
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )
    message_key: Mapped[str | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(index=True, server_default=func.now())
    sent_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.to_address} {self.subject!r}>"


__all__ = ["OutboxMessage"]
