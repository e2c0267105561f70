"""Rollups of the append-only activity log the reports read (migration 0026_reports): kept
exact by a trigger on activities; `report_rollups_rebuild()` refills them from the log."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    FetchedValue,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    SmallInteger,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.auth.models import User


class ReportStageChange(db.Model):
    """One `lead.stage_changed`: the stage left and entered, when, and since when the lead had
    been in the stage it left (its stage change before, or its creation)."""

    __tablename__ = "report_stage_changes"
    __table_args__ = (Index(None, "lead_id", "occurred_at"), Index(None, "occurred_at"),
                      # a stage's changes in one bucket of days (ReportStageDays), in time order (0030)
                      Index("ix_report_stage_changes_stage_bucket", "from_stage", "days_bucket", "occurred_at",
                            postgresql_include=["entered_at", "rep_id"]))

    activity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lead_id: Mapped[uuid.UUID]
    from_stage: Mapped[str | None]
    to_stage: Mapped[str | None]
    occurred_at: Mapped[datetime]
    entered_at: Mapped[datetime | None]
    # kept by a BEFORE trigger (0030): the lead's rep, and report_days_bucket(occurred_at, entered_at)
    rep_id: Mapped[uuid.UUID | None] = mapped_column(server_default=FetchedValue(), server_onupdate=FetchedValue())
    days_bucket: Mapped[int] = mapped_column(SmallInteger, server_default=text("-1"),
                                             server_onupdate=FetchedValue())


class ReportDailyWork(db.Model):
    """How many activities of a kind a user logged on a UTC day (calls: per outcome)."""

    __tablename__ = "report_daily_work"

    day: Mapped[date] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(primary_key=True)  # call, email.sent, sms.sent, note.added, ...
    outcome: Mapped[str] = mapped_column(primary_key=True, server_default=text("''"), default="")
    n: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)


class SpanRollup:
    """The key every day / month rollup starts with: a UTC day (span 'day') or a month (span
    'month', day = the 1st), and the rep (NULL, no rep, is a key value); a bigint identity id.
    Each such table also carries an index on (rep_id, span, day) and a unique key (nulls not
    distinct) over its whole key."""

    # first in each table, as its migration wrote it (a mixin's columns would come last)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True, sort_order=-4)
    span: Mapped[str] = mapped_column(sort_order=-3)  # day | month
    day: Mapped[date] = mapped_column(sort_order=-2)
    rep_id: Mapped[uuid.UUID | None] = mapped_column(sort_order=-1)


class ReportLeadFunnel(SpanRollup, db.Model):
    """The leads created on a UTC day (span 'day') or in a month (span 'month', day = the 1st),
    per rep × source × campaign × the furthest funnel step they reached (report_step(): their
    stage now or any stage their stage changes took them to; -1 lost/bogus before any step),
    with how many are won / lost now and the revenue won. Kept by triggers on leads and
    report_stage_changes (migration 0030); a NULL rep, source or campaign is a key value."""

    __tablename__ = "report_lead_funnel"
    __table_args__ = (
        Index("uq_report_lead_funnel_key", "span", "day", "rep_id", "source", "campaign", "top", unique=True,
              postgresql_nulls_not_distinct=True),
        Index(None, "rep_id", "span", "day"),
    )

    source: Mapped[str | None]
    campaign: Mapped[str | None]
    top: Mapped[int] = mapped_column(SmallInteger)
    leads: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    won: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    lost: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    revenue_won: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default=text("0"), default=0)


class ReportStageDays(SpanRollup, db.Model):
    """Stage changes on a UTC day (span 'day') or in a month (span 'month', day = the 1st) per
    rep × stage left × bucket of the days spent in it (report_days_bucket(); -1: unknown). Kept
    by triggers on report_stage_changes and leads (migration 0030): the median days in stage
    reads the counts, then the changes of the median's bucket only."""

    __tablename__ = "report_stage_days"
    __table_args__ = (
        Index("uq_report_stage_days_key", "span", "day", "rep_id", "from_stage", "bucket", unique=True,
              postgresql_nulls_not_distinct=True),
        Index(None, "rep_id", "span", "day"),
    )

    from_stage: Mapped[str | None]
    bucket: Mapped[int] = mapped_column(SmallInteger)
    n: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)


class ReportWonLost(SpanRollup, db.Model):
    """The leads won (by won_at) or lost / bogus (by lost_at) on a UTC day (span 'day') or in a
    month (span 'month', day = the 1st) per rep × source × campaign × outcome (WON, LOST,
    BOGUS) × lost reason as written (NULL for the won), with their count, units and revenue
    (estimates, NULL as 0). Kept by triggers on leads (migration 0032); the won & lost report
    reads it; a NULL rep, source, campaign or reason is a key value."""

    __tablename__ = "report_won_lost"
    __table_args__ = (
        Index("uq_report_won_lost_key", "span", "day", "rep_id", "source", "campaign", "outcome", "reason",
              unique=True, postgresql_nulls_not_distinct=True),
        Index(None, "rep_id", "span", "day"),
    )

    source: Mapped[str | None]
    campaign: Mapped[str | None]
    outcome: Mapped[str]  # WON | LOST | BOGUS
    reason: Mapped[str | None]
    n: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    units: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default=text("0"), default=0)


class ReportRepOpenDays(db.Model):
    """A rep's open leads that entered their stage on a UTC day (the rep's home counts the stale
    ones from it; triggers on leads, migration 0030)."""

    __tablename__ = "report_rep_open_days"

    rep_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
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


__all__ = ["ExportJob", "ReportDailyWork", "ReportLeadFunnel", "ReportRepOpenDays", "ReportStageChange", "ReportStageDays",
           "ReportWonLost", "SavedView"]
