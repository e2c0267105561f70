"""The won & lost report's reads: won by month, win rate, lost and bogus by reason.

A lead counts in the month it was won (`won_at`) or lost (`lost_at`), for the leads whose
stage is still that. Reasons are grouped as the reps wrote them, case and spaces folded;
the group shows its most common spelling. Two statements: won by month, lost by reason."""
from __future__ import annotations

from decimal import Decimal

from flask import url_for
from sqlalchemy import func, select

from app.crm.models import Lead, LeadStage
from app.reports import reads
from app.reports.filters import ReportFilters
from app.reports.scope import lead_conditions
from app.reports.tables import Column, Table


def reason_key(column):
    """How reasons group: whitespace runs made one space, ends trimmed, lower case (as
    `fold_reason` in Python)."""
    return func.lower(func.btrim(func.regexp_replace(column, r"\s+", " ", "g")))


def fold_reason(reason: str | None) -> str:
    return " ".join((reason or "").split()).lower()


def month_of(column):
    return func.to_char(func.date_trunc("month", func.timezone("UTC", column)), "YYYY-MM")


def _drill(f: ReportFilters, set_: str, value: str) -> str:
    return url_for("reports.leads", **f.as_args(set=set_, value=value))


def won_by_month(f: ReportFilters) -> Table:
    month = month_of(Lead.won_at).label("month")
    rows = reads.execute(
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


def closed_and_reasons(f: ReportFilters, won: Table) -> tuple[Table, Table, Decimal | None]:
    """Lost and bogus in the range, grouped by reason (one statement: grouped by the text as
    written, then folded here); with the won table's totals, the closed table and win rate."""
    rows = reads.execute(
        select(Lead.lost_reason, func.count().filter(Lead.stage == LeadStage.LOST),
               func.count().filter(Lead.stage == LeadStage.BOGUS),
               func.coalesce(func.sum(Lead.estimated_revenue).filter(Lead.stage == LeadStage.LOST), 0))
        .where(Lead.stage.in_((LeadStage.LOST, LeadStage.BOGUS)), Lead.lost_at >= f.start, Lead.lost_at < f.end,
               *lead_conditions(f))
        .group_by(Lead.lost_reason)).all()
    groups: dict[str, dict] = {}
    for reason, n_lost, n_bogus, value_lost in rows:
        group = groups.setdefault(fold_reason(reason), {"lost": 0, "bogus": 0, "value": Decimal("0.00"),
                                                        "spellings": {}})
        group["lost"] += n_lost
        group["bogus"] += n_bogus
        group["value"] += value_lost
        spelling = " ".join((reason or "").split())
        group["spellings"][spelling] = group["spellings"].get(spelling, 0) + n_lost + n_bogus
    reasons = Table("reasons", "Lost and bogus, by reason", [Column("Reason"), Column("Lost", "int"),
                                                            Column("Bogus", "int"), Column("Total", "int")], chart=3,
                    note="Reasons as the reps wrote them, grouped whatever their case or spacing.",
                    empty="No lead was lost or marked bogus in this range.")
    ordered = sorted(groups.items(), key=lambda kv: (-(kv[1]["lost"] + kv[1]["bogus"]), kv[0]))
    for key, group in ordered:
        # the group's most common spelling names it
        spelling = min(group["spellings"].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        reasons.add([spelling or "(no reason)", group["lost"], group["bogus"], group["lost"] + group["bogus"]],
                    _drill(f, "reason", key))

    n_won = sum(row[1] for row in won.rows)
    value_won = sum((row[3] for row in won.rows), Decimal("0.00"))
    n_lost = sum(g["lost"] for g in groups.values())
    n_bogus = sum(g["bogus"] for g in groups.values())
    value_lost = sum((g["value"] for g in groups.values()), Decimal("0.00"))
    rate = (Decimal(n_won) * 100 / Decimal(n_won + n_lost)).quantize(Decimal("0.1")) if n_won + n_lost else None
    closed = Table("closed", "Closed in the range", [Column("Outcome"), Column("Leads", "int"),
                                                     Column("Estimated value", "money")], chart=1,
                   note="Win rate: won ÷ (won + lost); bogus leads (not real buyers) are left out.",
                   empty="No lead was won, lost or marked bogus in this range.")
    if n_won + n_lost + n_bogus:
        closed.add(["Won", n_won, value_won], _drill(f, "won", ""))
        closed.add(["Lost", n_lost, value_lost], _drill(f, "lost", ""))
        closed.add(["Bogus", n_bogus, None], _drill(f, "bogus", ""))
    return closed, reasons, rate


def build(f: ReportFilters) -> tuple[list[Table], dict]:
    won = won_by_month(f)
    closed, reasons, rate = closed_and_reasons(f, won)
    return [won, closed, reasons], {"win_rate": rate}
