"""The report filters as WHERE clauses. A lead is a rep's when its company is assigned to
them (as on the board); "(none)" as a source or campaign means a lead without one."""
from __future__ import annotations

from sqlalchemy import exists
from sqlalchemy.orm import aliased

from app.crm.models import Company, Lead
from app.reports.filters import ReportFilters

NONE = "(none)"


def _text_is(column, value: str):
    return column.is_(None) if value == NONE else column == value


def lead_conditions(f: ReportFilters, lead=Lead) -> list:
    where = []
    if f.rep_id:
        company = aliased(Company)
        where.append(exists().where(company.id == lead.company_id, company.assigned_rep_id == f.rep_id))
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
