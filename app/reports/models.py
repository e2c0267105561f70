"""Rollups of the append-only activity log the reports read (migration 0026_reports): kept
exact by a trigger on activities; `report_rollups_rebuild()` refills them from the log."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User


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


class SavedView(db.Model):
    """A list's filters and sort kept under a name (issue 13): its owner's, or the team's when
    shared; at most one default per user and list, opened when the list is opened bare."""

    __tablename__ = "saved_views"
    __table_args__ = (
        Index(None, "list_name", "user_id"),
        Index("uq_saved_views_default", "user_id", "list_name", unique=True,
              postgresql_where=text("is_default")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    list_name: Mapped[str]  # leads | companies | invoices
    name: Mapped[str]
    query: Mapped[str]  # the list's query string, as its URL carried it
    shared: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    created_at: Mapped[datetime] = created_at()

    user: Mapped[User] = relationship()


class ExportJob(db.Model):
    """A list's CSV too large to stream (issue 13): written by a job (app.reports.export_jobs)
    a page at a time, its progress polled by the page; downloaded only by the user who asked,
    until `expires_at` (then the file and the row are removed)."""

    __tablename__ = "export_jobs"
    __table_args__ = (Index(None, "user_id", "created_at"), Index(None, "created_at"))

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    list_name: Mapped[str]  # a key of app.reports.export_jobs.LISTS
    query: Mapped[str]  # the list's query string, as its URL carried it
    status: Mapped[str] = mapped_column(server_default=text("'QUEUED'"), default="QUEUED")  # QUEUED RUNNING DONE FAILED
    rows_done: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    error: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


__all__ = ["ExportJob", "ReportDailyWork", "ReportStageChange", "SavedView"]
