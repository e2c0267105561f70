"""A rep's claim of one lead of a call list (not in the spec; migration 0018).

One row per (list, lead) taken from the dialer: inserted with ON CONFLICT DO NOTHING, so
two reps walking one list never get the same lead. A rep's open claim (completed_at NULL,
at most one per rep and list) is where they are in the list: it survives a reload.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import uuid_pk
from app.extensions import db


class CallListClaim(db.Model):
    __tablename__ = "call_list_claims"
    __table_args__ = (
        UniqueConstraint("call_list_id", "lead_id"),
        Index("ix_call_list_claims_open", "call_list_id", "user_id", unique=True,
              postgresql_where=text("completed_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    call_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("call_lists.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None]
    call_log_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("call_logs.id", ondelete="SET NULL"))


__all__ = ["CallListClaim"]
