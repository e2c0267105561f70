"""The rows behind a report's number: the leads or invoices a bar counts. A bar's link
names what it counts (`set`, `value`) with the report's filters; the page lists the first
rows, the CSV streams every one."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from app.crm.models import Company, Contact, Lead, LeadStage
from app.crm.pipeline.moves import STAGE_LABELS
from app.extensions import db
from app.reports import reads
from app.reports.filters import BadReportArgs, ReportFilters
from app.reports.models import ReportStageChange
from app.reports.money.queries import AGES, age_bucket, invoice_conditions, outstanding_condition
from app.reports.pipeline.queries import STEP_INDEX, step_of
from app.reports.scope import lead_conditions
from app.reports.tables import Column
from app.reports.won_lost.queries import month_of, reason_key

SHOWN = 200
CSV_BATCH = 1000

LEAD_SETS = {"stage": "Open leads in stage", "reached": "New leads that reached", "left": "Leads that left",
             "won": "Won", "lost": "Lost", "bogus": "Bogus", "reason": "Lost or bogus for", "created": "Created"}
INVOICE_SETS = {"sent": "Invoices sent", "aging": "Outstanding", "paid_by": "Paid by", "outstanding": "Outstanding"}

LEAD_COLUMNS = [Column("Company"), Column("Contact"), Column("Stage"), Column("Source"), Column("Campaign"),
                Column("Rep"), Column("Units", "int"), Column("Estimated revenue", "money"), Column("Created", "date"),
                Column("Won", "date"), Column("Lost", "date"), Column("Lost reason")]
INVOICE_COLUMNS = [Column("Invoice"), Column("Company"), Column("Status"), Column("Sent", "date"),
                   Column("Due", "date"), Column("Total", "money"), Column("Paid", "money"),
                   Column("Balance due", "money")]


LEAD_PAGE = [0, 1, 2, 3, 4, 5, 7, 8]  # the page's columns (the CSV has them all)
LEAD_PAGE_EXTRA = {"won": [9], "lost": [10, 11], "bogus": [10, 11], "reason": [10, 11]}


def lead_page_columns(set_: str) -> list[int]:
    return LEAD_PAGE + LEAD_PAGE_EXTRA.get(set_, [])


def describe(set_: str, value: str) -> str:
    """What a bar's value reads as in the page's title."""
    from app.reports.money.queries import AGES
    from app.reports.pipeline.queries import STEPS

    if set_ == "reached":
        return dict((k, label) for k, label, _ in STEPS).get(value, value)
    if set_ in ("stage", "left") and value in LeadStage.__members__:
        return STAGE_LABELS[LeadStage[value]]
    if set_ == "aging":
        return dict((k, label) for k, label, *_ in AGES).get(value, value)
    if set_ == "paid_by":
        return value.capitalize()
    if set_ == "reason" and not value:
        return "(no reason)"
    return value


def _month_bounds(value: str):
    try:
        first = date.fromisoformat(value + "-01")
    except ValueError:
        raise BadReportArgs("Pick a month like 2026-03.") from None
    return first


def _in_month(column, value: str):
    _month_bounds(value)
    return month_of(column) == value


def lead_where(f: ReportFilters, set_: str, value: str) -> list:
    where = lead_conditions(f)
    in_range = lambda column: and_(column >= f.start, column < f.end)  # noqa: E731
    if set_ == "stage":
        try:
            where.append(Lead.stage == LeadStage(value))
        except ValueError:
            raise BadReportArgs("That is not a stage.") from None
    elif set_ == "reached":
        if value not in STEP_INDEX:
            raise BadReportArgs("That is not a step of the funnel.")
        where.append(in_range(Lead.created_at))
        if STEP_INDEX[value]:
            furthest = select(func.max(step_of(ReportStageChange.to_stage))).where(
                ReportStageChange.lead_id == Lead.id).correlate(Lead).scalar_subquery()
            where.append(func.greatest(step_of(Lead.stage.cast(db.String)), func.coalesce(furthest, -1))
                         >= STEP_INDEX[value])
    elif set_ == "left":
        if value not in LeadStage.__members__:
            raise BadReportArgs("That is not a stage.")
        where.append(exists().where(ReportStageChange.lead_id == Lead.id, ReportStageChange.from_stage == value,
                                    in_range(ReportStageChange.occurred_at)))
    elif set_ == "won":
        where += [Lead.stage == LeadStage.WON, in_range(Lead.won_at)]
        if value:
            where.append(_in_month(Lead.won_at, value))
    elif set_ in ("lost", "bogus"):
        where += [Lead.stage == LeadStage[set_.upper()], in_range(Lead.lost_at)]
    elif set_ == "reason":
        where += [Lead.stage.in_((LeadStage.LOST, LeadStage.BOGUS)), in_range(Lead.lost_at),
                  reason_key(Lead.lost_reason) == value if value else Lead.lost_reason.is_(None)]
    elif set_ == "created":
        where.append(in_range(Lead.created_at))
    else:
        raise BadReportArgs("Pick a number from a report.")
    return where


def _lead_query(f, set_, value):
    rep = aliased(User)
    return (select(Company.name, Contact.full_name, Contact.email, Lead.stage, Lead.source, Lead.source_campaign,
                   rep.first_name, rep.last_name, Lead.estimated_units, Lead.estimated_revenue, Lead.created_at,
                   Lead.won_at, Lead.lost_at, Lead.lost_reason, Lead.id)
            .join(Contact, Contact.id == Lead.contact_id).outerjoin(Company, Company.id == Lead.company_id)
            .outerjoin(rep, rep.id == Company.assigned_rep_id)
            .where(*lead_where(f, set_, value)).order_by(Lead.created_at.desc(), Lead.id))


def _lead_row(r) -> list:
    rep = " ".join(p for p in (r.first_name, r.last_name) if p) or None
    return [r.name, r.full_name or r.email, STAGE_LABELS[r.stage], r.source, r.source_campaign, rep,
            r.estimated_units, r.estimated_revenue, r.created_at.date(), r.won_at.date() if r.won_at else None,
            r.lost_at.date() if r.lost_at else None, r.lost_reason]


def leads(f: ReportFilters, set_: str, value: str) -> tuple[list[tuple], int]:
    """The first rows ((row, lead id)) and how many there are in all (one statement)."""
    query = _lead_query(f, set_, value).add_columns(func.count().over().label("n")).limit(SHOWN)
    rows = reads.execute(query).all()
    return [(_lead_row(r), r.id) for r in rows], (rows[0].n if rows else 0)


def leads_csv_rows(f: ReportFilters, set_: str, value: str) -> Iterator[list]:
    query = _lead_query(f, set_, value).execution_options(yield_per=CSV_BATCH)
    for r in reads.execute(query):
        yield _lead_row(r)


def invoice_where(f: ReportFilters, set_: str, value: str, today: date) -> list:
    where = invoice_conditions(f)
    if set_ == "sent":
        where += [Invoice.sent_at >= f.start, Invoice.sent_at < f.end, Invoice.status != InvoiceStatus.VOID]
        if value:
            where.append(_in_month(Invoice.sent_at, value))
    elif set_ == "aging":
        if value not in {key for key, *_ in AGES}:
            raise BadReportArgs("That is not an age bucket.")
        where += [outstanding_condition(), age_bucket(today) == value]
    elif set_ == "outstanding":
        where.append(outstanding_condition())
    elif set_ == "paid_by":
        if value not in PaymentMethod.__members__:
            raise BadReportArgs("That is not a payment method.")
        where.append(exists().where(Payment.invoice_id == Invoice.id, Payment.method == PaymentMethod[value],
                                    Payment.paid_at >= f.start, Payment.paid_at < f.end))
    else:
        raise BadReportArgs("Pick a number from a report.")
    return where


def _invoice_query(f, set_, value, today):
    return (select(Invoice.invoice_number, Company.name, Invoice.status, Invoice.sent_at, Invoice.due_date,
                   Invoice.total, Invoice.amount_paid, Invoice.balance_due, Invoice.id)
            .join(Company, Company.id == Invoice.company_id)
            .where(*invoice_where(f, set_, value, today)).order_by(Invoice.created_at.desc(), Invoice.id))


def _invoice_row(r) -> list:
    return [r.invoice_number, r.name, r.status.value.capitalize(), r.sent_at.date() if r.sent_at else None,
            r.due_date, r.total, r.amount_paid, r.balance_due]


def invoices(f: ReportFilters, set_: str, value: str, today: date) -> tuple[list[tuple], int]:
    rows = reads.execute(_invoice_query(f, set_, value, today)
                              .add_columns(func.count().over().label("n")).limit(SHOWN)).all()
    return [(_invoice_row(r), r.id) for r in rows], (rows[0].n if rows else 0)


def invoices_csv_rows(f: ReportFilters, set_: str, value: str, today: date) -> Iterator[list]:
    for r in reads.execute(_invoice_query(f, set_, value, today).execution_options(yield_per=CSV_BATCH)):
        yield _invoice_row(r)
