"""The won & lost report's reads: won by month, win rate, lost and bogus by reason.

A lead counts in the month it was won (`won_at`) or lost (`lost_at`), for the leads whose
stage is still that. Reasons are grouped as the reps wrote them, case and spaces folded;
the group shows its most common spelling. Two statements: won by month, lost by reason,
both on the rollup report_won_lost (per day / month × rep × source × campaign × outcome ×
reason as written, kept by triggers on leads: migration 0032), so a year reads ~12 month
periods of rows plus the edge days, not every deal closed in it."""
from __future__ import annotations

from decimal import Decimal

from flask import url_for
from sqlalchemy import BigInteger, func, select

from app.crm.models import LeadStage
from app.reports import reads
from app.reports.filters import ReportFilters
from app.reports.models import ReportWonLost
from app.reports.scope import funnel_conditions
from app.reports.tables import Column, Table


def reason_key(column):
    """How reasons group: whitespace runs made one space, ends trimmed, lower case (as
    `fold_reason` in Python)."""
    return func.lower(func.btrim(func.regexp_replace(column, r"\s+", " ", "g")))


def fold_reason(reason: str | None) -> str:
    return " ".join((reason or "").split()).lower()


def month_of(column):
    return func.to_char(func.date_trunc("month", func.timezone("UTC", column)), "YYYY-MM")


def _total(total):
    """A sum of a rollup count as a whole number (sum(bigint) is numeric in PostgreSQL), 0 when
    no row counted."""
    return func.coalesce(total, 0).cast(BigInteger)


def _drill(f: ReportFilters, set_: str, value: str) -> str:
    return url_for("reports.leads", **f.as_args(set=set_, value=value))


def won_by_month(f: ReportFilters) -> Table:
    r = ReportWonLost
    month = func.to_char(r.day, "YYYY-MM").label("month")
    rows = reads.execute(
        select(month, _total(func.sum(r.n)), _total(func.sum(r.units)), func.sum(r.revenue))
        .where(r.outcome == LeadStage.WON.value, *funnel_conditions(f, r))
        .group_by(month).having(func.sum(r.n) != 0).order_by(month)).all()
    table = Table("won", "Won by month", [Column("Month"), Column("Deals", "int"), Column("Units", "int"),
                                          Column("Revenue", "money")], chart=3,
                  note="Revenue and units as estimated on each lead when it was won.",
                  empty="No deal won in this range.")
    for month_text, deals, units, revenue in rows:
        table.add([month_text, deals, units, revenue], _drill(f, "won", month_text))
    return table


def closed_and_reasons(f: ReportFilters, won: Table) -> tuple[Table, Table, Decimal | None]:
    """Lost and bogus in the range, grouped by reason (one statement on the rollup: grouped by
    the text as written, then folded here); with the won table's totals, the closed table and win rate."""
    r = ReportWonLost
    lost, bogus = r.outcome == LeadStage.LOST.value, r.outcome == LeadStage.BOGUS.value
    rows = reads.execute(
        select(r.reason, _total(func.sum(r.n).filter(lost)), _total(func.sum(r.n).filter(bogus)),
               func.coalesce(func.sum(r.revenue).filter(lost), 0))
        .where(r.outcome.in_((LeadStage.LOST.value, LeadStage.BOGUS.value)), *funnel_conditions(f, r))
        .group_by(r.reason).having(func.sum(r.n) != 0)).all()
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
