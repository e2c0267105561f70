"""Tables of the integrations: the dev e-mail outbox (migration 0006) and the delivery
state of every e-mail the app sends (0013_delivery_failures)."""
from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, func, text
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


class DeliveryStatus(enum.StrEnum):
    SENDING = "SENDING"  # written with the send; attempts may have failed and will be retried
    SENT = "SENT"  # the mail server took it
    FAILED = "FAILED"  # refused for good, or the last retry failed: `error` says why


class MailDelivery(db.Model):
    """Not in the spec. One e-mail the app sends, whatever the backend (SMTP or the dev
    outbox): written in the same transaction as the change that sends it, updated by the
    mail job. `error` is the provider's reason of the last failed attempt; a FAILED row
    carries the task the sender was given (completed when a later send is delivered)."""

    __tablename__ = "mail_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('SENDING', 'SENT', 'FAILED')", name="status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    message_key: Mapped[str] = mapped_column(unique=True)
    to_address: Mapped[str]
    status: Mapped[str] = mapped_column(default=DeliveryStatus.SENDING.value,
                                        server_default=text("'SENDING'"))
    error: Mapped[str | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )
    sender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    # Python's clock (not the transaction's now()): two sends in one transaction keep their order.
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC), server_default=func.now())
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]

    @property
    def failed(self) -> bool:
        return self.status == DeliveryStatus.FAILED

    def __repr__(self) -> str:
        return f"<MailDelivery {self.to_address} {self.status}>"


__all__ = ["DeliveryStatus", "MailDelivery", "OutboxMessage"]
