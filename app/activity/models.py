"""The activity log: the immutable audit trail of everything that happens."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User
    from app.crm.models import Company, Contact, Lead


class Activity(db.Model):
    """One event. Append-only: rows are inserted, never edited (hence no updated_at).

    The database refuses UPDATE and DELETE on this table (a trigger added in the
    migration), so never modify or delete an Activity through the session: write a
    new one instead. `user_id` is NULL for system actors (jobs, the sequence worker,
    webhooks, AI agents). `occurred_at` is when the event happened, `created_at` when
    the row was written (they differ for backfilled / imported events).
    """

    __tablename__ = "activities"
    __table_args__ = (
        Index(None, "lead_id", "occurred_at"),
        # the homes and reports read the log by kind over a span of time (migration 0026)
        Index("ix_activities_activity_type_occurred_at", "activity_type", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Free-form event kind (not an enum), e.g. "lead.stage_changed".
    activity_type: Mapped[str] = mapped_column(index=True)
    summary: Mapped[str]
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_at: Mapped[datetime] = created_at()

    lead: Mapped[Lead | None] = relationship()
    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Activity {self.activity_type} {self.summary!r}>"


__all__ = ["Activity"]
