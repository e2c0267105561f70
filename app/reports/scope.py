"""The report filters as WHERE clauses. A lead is a rep's when its company is assigned to
them (as on the board); "(none)" as a source or campaign means a lead without one."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, or_
from sqlalchemy.orm import aliased

from app.crm.models import Company, Lead
from app.reports.filters import ReportFilters
from app.reports.models import ReportLeadFunnel

NONE = "(none)"


def _text_is(column, value: str):
    return column.is_(None) if value == NONE else column == value


def lead_conditions(f: ReportFilters, lead=Lead) -> list:
    where = []
    if f.rep_id:  # leads.rep_id is the company's rep, kept by triggers (migration 0030)
        where.append(lead.rep_id == f.rep_id)
    if f.source:
        where.append(_text_is(lead.source, f.source))
    if f.campaign:
        where.append(_text_is(lead.source_campaign, f.campaign))
    return where


def company_conditions(f: ReportFilters, company_id_column) -> list:
    """For rows that belong to a company (invoices): the rep's companies."""
    if not f.rep_id:
        return []
    company = aliased(Company)
    return [exists().where(company.id == company_id_column, company.assigned_rep_id == f.rep_id)]


def invoice_lead_conditions(f: ReportFilters, lead_id_column) -> list:
    """An invoice's source and campaign are its lead's."""
    if not (f.source or f.campaign):
        return []
    lead = aliased(Lead)
    return [exists().where(lead.id == lead_id_column,
                           *[c for c in lead_conditions(ReportFilters(f.preset, f.first_day, f.last_day, None,
                                                                       f.source, f.campaign), lead)])]


def rollup_periods(r, f: ReportFilters):
    """The range on a rollup with day and month rows (span, day: ReportLeadFunnel,
    ReportStageDays): the month rows of the whole months inside the range and the day rows of
    its edges, so a year reads ~12 periods of rows, not a year of days."""
    first, end = f.first_day, f.last_day + timedelta(days=1)  # [first, end)
    months_from = first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    months_to = end.replace(day=1)
    if months_from < months_to:
        return or_(and_(r.span == "month", r.day >= months_from, r.day < months_to),
                   and_(r.span == "day", r.day >= first, r.day < months_from),
                   and_(r.span == "day", r.day >= months_to, r.day < end))
    return and_(r.span == "day", r.day >= first, r.day < end)


def funnel_conditions(f: ReportFilters, r=ReportLeadFunnel) -> list:
    """The range, rep, source and campaign on a rollup of leads by period × rep × source ×
    campaign (ReportLeadFunnel, ReportWonLost)."""
    where = [rollup_periods(r, f)]
    if f.rep_id:
        where.append(r.rep_id == f.rep_id)
    if f.source:
        where.append(_text_is(r.source, f.source))
    if f.campaign:
        where.append(_text_is(r.campaign, f.campaign))
    return where
