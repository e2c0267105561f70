"""The `outbox` mail backend: messages are stored, not sent, and shown under /outbox."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.integrations.mail import MailMessage, default_sender
from app.integrations.models import OutboxMessage


class OutboxBackend:
    def send(self, message: MailMessage) -> None:
        """Store the message once per `message_key` (a re-run job adds nothing)."""
        now = datetime.now(UTC)
        stmt = pg_insert(OutboxMessage).values(
            id=uuid.uuid4(),
            to_address=message.to,
            from_address=message.from_address or default_sender(),
            subject=message.subject,
            body_text=message.body_text,
            body_html=message.body_html,
            invoice_id=uuid.UUID(str(message.invoice_id)) if message.invoice_id else None,
            message_key=message.message_key,
            created_at=now,
            sent_at=now,
        )
        if message.message_key:
            stmt = stmt.on_conflict_do_nothing(index_elements=[OutboxMessage.message_key])
        db.session.execute(stmt)
