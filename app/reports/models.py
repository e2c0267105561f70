"""Rollups of the append-only activity log the reports read (migration 0026_reports): kept
exact by a trigger on activities; `report_rollups_rebuild()` refills them from the log."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class ReportStageChange(db.Model):
    """One `lead.stage_changed`: the stage left and entered, when, and since when the lead had
    been in the stage it left (its stage change before, or its creation)."""

    __tablename__ = "report_stage_changes"
    __table_args__ = (Index(None, "lead_id", "occurred_at"), Index(None, "occurred_at"))

    activity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lead_id: Mapped[uuid.UUID]
    from_stage: Mapped[str | None]
    to_stage: Mapped[str | None]
    occurred_at: Mapped[datetime]
    entered_at: Mapped[datetime | None]


class ReportDailyWork(db.Model):
    """How many activities of a kind a user logged on a UTC day (calls: per outcome)."""

    __tablename__ = "report_daily_work"

    day: Mapped[date] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(primary_key=True)  # call, email.sent, sms.sent, note.added, ...
    outcome: Mapped[str] = mapped_column(primary_key=True, server_default=text("''"), default="")
    n: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)


__all__ = ["ReportDailyWork", "ReportStageChange"]
