"""The sources report: per lead source and campaign, the range's new leads, how many were
won, the revenue won and the win rate (won ÷ (won + lost)) — which source pays."""
from __future__ import annotations

from decimal import Decimal

from flask import url_for
from sqlalchemy import func, select

from app.reports import reads
from app.reports.filters import ReportFilters
from app.reports.models import ReportLeadFunnel
from app.reports.scope import NONE, funnel_conditions
from app.reports.tables import Column, Table

COLUMNS = [Column("Leads", "int"), Column("Won", "int"), Column("Lost", "int"), Column("Revenue won", "money"),
           Column("Win rate", "pct")]


def _rate(won: int, lost: int) -> Decimal | None:
    return (Decimal(won) * 100 / Decimal(won + lost)).quantize(Decimal("0.1")) if won + lost else None


def build(f: ReportFilters) -> list[Table]:
    # the leads' rollup (report_lead_funnel, kept by triggers: 0030): whole months + edge days
    r = ReportLeadFunnel
    rows = [(source, campaign, int(n), int(n_won), int(n_lost), revenue) for source, campaign, n, n_won, n_lost, revenue
            in reads.execute(
                select(r.source, r.campaign, func.sum(r.leads), func.sum(r.won), func.sum(r.lost),
                       func.coalesce(func.sum(r.revenue_won), 0))
                .where(*funnel_conditions(f)).group_by(r.source, r.campaign).having(func.sum(r.leads) != 0))]
    by_source: dict[str, list] = {}
    for source, _campaign, n, n_won, n_lost, revenue in rows:
        total = by_source.setdefault(source or NONE, [0, 0, 0, Decimal("0.00")])
        for i, value in enumerate((n, n_won, n_lost, revenue)):
            total[i] += value
    sources = Table("sources", "By source", [Column("Source"), *COLUMNS], chart=4,
                    note="Leads created in the range, and what became of them so far.",
                    empty="No lead was created in this range.")
    for source, (n, n_won, n_lost, revenue) in sorted(by_source.items(), key=lambda kv: (-kv[1][3], kv[0])):
        sources.add([source, n, n_won, n_lost, revenue, _rate(n_won, n_lost)],
                    url_for("reports.leads", **f.as_args(set="created", source=source)))
    campaigns = Table("campaigns", "By source and campaign", [Column("Source · campaign"), *COLUMNS], chart=4,
                      empty="No lead was created in this range.")
    for source, campaign, n, n_won, n_lost, revenue in sorted(
            rows, key=lambda r: (-r[5], r[0] or "", r[1] or "")):
        campaigns.add([f"{source or NONE} · {campaign or NONE}", n, n_won, n_lost, revenue, _rate(n_won, n_lost)],
                      url_for("reports.leads", **f.as_args(set="created", source=source or NONE,
                                                           campaign=campaign or NONE)))
    return [sources, campaigns]
