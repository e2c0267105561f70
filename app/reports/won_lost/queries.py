"""The won & lost report's reads: won by month, win rate, lost and bogus by reason.

A lead counts in the month it was won (`won_at`) or lost (`lost_at`), for the leads whose
stage is still that. Reasons are grouped as the reps wrote them, case and spaces folded;
the group shows its most common spelling."""
from __future__ import annotations

from decimal import Decimal

from flask import url_for
from sqlalchemy import func, select

from app.crm.models import Lead, LeadStage
from app.extensions import db
from app.reports.filters import ReportFilters
from app.reports.scope import lead_conditions
from app.reports.tables import Column, Table


def reason_key(column):
    """How reasons group: lower case, spaces squeezed, ends trimmed."""
    return func.lower(func.regexp_replace(func.btrim(column), r"\s+", " ", "g"))


def month_of(column):
    return func.to_char(func.date_trunc("month", func.timezone("UTC", column)), "YYYY-MM")


def _drill(f: ReportFilters, set_: str, value: str) -> str:
    return url_for("reports.leads", **f.as_args(set=set_, value=value))


def won_by_month(f: ReportFilters) -> Table:
    month = month_of(Lead.won_at).label("month")
    rows = db.session.execute(
        select(month, func.count(), func.coalesce(func.sum(Lead.estimated_units), 0),
               func.coalesce(func.sum(Lead.estimated_revenue), 0))
        .where(Lead.stage == LeadStage.WON, Lead.won_at >= f.start, Lead.won_at < f.end, *lead_conditions(f))
        .group_by(month).order_by(month)).all()
    table = Table("won", "Won by month", [Column("Month"), Column("Deals", "int"), Column("Units", "int"),
                                          Column("Revenue", "money")], chart=3,
                  note="Revenue and units as estimated on each lead when it was won.",
                  empty="No deal won in this range.")
    for month_text, deals, units, revenue in rows:
        table.add([month_text, deals, units, revenue], _drill(f, "won", month_text))
    return table


def win_rate(f: ReportFilters) -> tuple[Table, Decimal | None]:
    won = (Lead.stage == LeadStage.WON) & (Lead.won_at >= f.start) & (Lead.won_at < f.end)
    lost = (Lead.stage == LeadStage.LOST) & (Lead.lost_at >= f.start) & (Lead.lost_at < f.end)
    bogus = (Lead.stage == LeadStage.BOGUS) & (Lead.lost_at >= f.start) & (Lead.lost_at < f.end)
    n_won, n_lost, n_bogus, value_won, value_lost = db.session.execute(
        select(func.count().filter(won), func.count().filter(lost), func.count().filter(bogus),
               func.coalesce(func.sum(Lead.estimated_revenue).filter(won), 0),
               func.coalesce(func.sum(Lead.estimated_revenue).filter(lost), 0))
        .where(Lead.stage.in_((LeadStage.WON, LeadStage.LOST, LeadStage.BOGUS)), *lead_conditions(f))).one()
    rate = (Decimal(n_won) * 100 / Decimal(n_won + n_lost)).quantize(Decimal("0.1")) if n_won + n_lost else None
    table = Table("closed", "Closed in the range", [Column("Outcome"), Column("Leads", "int"),
                                                    Column("Estimated value", "money")], chart=1,
                  note="Win rate: won ÷ (won + lost); bogus leads (not real buyers) are left out.",
                  empty="No lead was won, lost or marked bogus in this range.")
    if n_won + n_lost + n_bogus:
        table.add(["Won", n_won, value_won], _drill(f, "won", ""))
        table.add(["Lost", n_lost, value_lost], _drill(f, "lost", ""))
        table.add(["Bogus", n_bogus, None], _drill(f, "bogus", ""))
    return table, rate


def reasons(f: ReportFilters) -> Table:
    key = reason_key(Lead.lost_reason).label("key")
    rows = db.session.execute(
        select(key, func.mode().within_group(func.btrim(Lead.lost_reason)),
               func.count().filter(Lead.stage == LeadStage.LOST), func.count().filter(Lead.stage == LeadStage.BOGUS),
               func.count())
        .where(Lead.stage.in_((LeadStage.LOST, LeadStage.BOGUS)), Lead.lost_at >= f.start, Lead.lost_at < f.end,
               *lead_conditions(f))
        .group_by(key).order_by(func.count().desc(), key)).all()
    table = Table("reasons", "Lost and bogus, by reason", [Column("Reason"), Column("Lost", "int"),
                                                          Column("Bogus", "int"), Column("Total", "int")], chart=3,
                  note="Reasons as the reps wrote them, grouped whatever their case or spacing.",
                  empty="No lead was lost or marked bogus in this range.")
    for key_text, spelling, n_lost, n_bogus, total in rows:
        table.add([spelling or "(no reason)", n_lost, n_bogus, total], _drill(f, "reason", key_text or ""))
    return table


def build(f: ReportFilters) -> tuple[list[Table], dict]:
    closed, rate = win_rate(f)
    return [won_by_month(f), closed, reasons(f)], {"win_rate": rate}
