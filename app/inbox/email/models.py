"""Where each e-mail was seen in a Gmail mailbox (0021_gmail; not in the spec).

Gmail's message and thread ids are per mailbox: the same e-mail to two reps has two Gmail ids
and one `email_messages` row (deduplicated by its RFC Message-ID). A source row per (account,
Gmail id) says "this mailbox's copy is stored": the sync skips it before fetching it again,
and a later message in the same Gmail thread of that mailbox joins the same thread."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import created_at, uuid_pk
from app.extensions import db


class EmailMessageSource(db.Model):
    __tablename__ = "email_message_sources"
    __table_args__ = (
        UniqueConstraint("email_account_id", "gmail_message_id"),
        Index("ix_email_message_sources_account_thread", "email_account_id", "gmail_thread_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_accounts.id", ondelete="CASCADE"))
    gmail_message_id: Mapped[str]
    gmail_thread_id: Mapped[str | None]
    email_message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("email_messages.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at()
