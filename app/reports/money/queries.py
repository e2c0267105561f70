"""The money report: invoiced and collected in the range, what is owed now by age, and
payments by method.

- Invoiced: the totals of invoices sent in the range (void ones left out).
- Collected: payments received in the range, refunds (negative payments) subtracted.
- Outstanding: the balance of every sent, unpaid invoice today, aged by days since it was
  sent: 0–30, 31–60, 61–90, 90+.
A rep's invoices are those of the companies assigned to them; source and campaign are the
invoice's lead's."""
from __future__ import annotations

from decimal import Decimal

from flask import url_for
from sqlalchemy import Date, and_, case, cast, func, literal, select

from app.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from app.reports import reads
from app.reports.filters import ReportFilters
from app.reports.scope import company_conditions, invoice_lead_conditions
from app.reports.tables import Column, Table
from app.reports.won_lost.queries import month_of

ZERO = Decimal("0.00")
AGES = (("0-30", "0–30 days", 0, 30), ("31-60", "31–60 days", 31, 60), ("61-90", "61–90 days", 61, 90),
        ("90+", "Over 90 days", 91, None))
OPEN = (InvoiceStatus.SENT, InvoiceStatus.PARTIAL)


def invoice_conditions(f: ReportFilters) -> list:
    return [*company_conditions(f, Invoice.company_id), *invoice_lead_conditions(f, Invoice.lead_id)]


def age_days(today):
    """Days since the invoice was sent (its creation when it never was)."""
    sent = cast(func.timezone("UTC", func.coalesce(Invoice.sent_at, Invoice.created_at)), Date)
    return literal(today, Date) - sent


def age_bucket(today):
    days = age_days(today)
    return case(*[(days <= high, key) for key, _, _, high in AGES if high is not None], else_="90+")


def outstanding_condition():
    return and_(Invoice.status.in_(OPEN), Invoice.balance_due > 0)


def _drill(f: ReportFilters, set_: str, value: str = "") -> str:
    return url_for("reports.invoices", **f.as_args(set=set_, value=value))


def build(f: ReportFilters, today) -> tuple[list[Table], dict]:
    conditions = invoice_conditions(f)
    sent_in_range = and_(Invoice.sent_at >= f.start, Invoice.sent_at < f.end, Invoice.status != InvoiceStatus.VOID)
    month = month_of(Invoice.sent_at).label("month")
    invoiced = reads.execute(
        select(month, func.count(), func.coalesce(func.sum(Invoice.total), 0))
        .where(sent_in_range, *conditions).group_by(month).order_by(month)).all()
    bucket = age_bucket(today).label("bucket")
    aged = {key: (n, amount) for key, n, amount in reads.execute(
        select(bucket, func.count(), func.coalesce(func.sum(Invoice.balance_due), 0))
        .where(outstanding_condition(), *conditions).group_by(bucket))}
    by_method = {method: (n, amount) for method, n, amount in reads.execute(
        select(Payment.method, func.count(), func.coalesce(func.sum(Payment.amount), 0))
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.paid_at >= f.start, Payment.paid_at < f.end, *conditions).group_by(Payment.method))}

    months = Table("invoiced", "Invoiced by month", [Column("Month"), Column("Invoices", "int"),
                                                     Column("Invoiced", "money")], chart=2,
                   note="Invoices sent in the range (void ones left out), at their total.",
                   empty="No invoice was sent in this range.")
    for month_text, n, amount in invoiced:
        months.add([month_text, n, amount], _drill(f, "sent", month_text))
    ages = Table("aging", "Outstanding now, by age", [Column("Age"), Column("Invoices", "int"),
                                                      Column("Balance due", "money")], chart=2,
                 note="Every sent invoice not fully paid today, by days since it was sent (whatever the range).",
                 empty="Nothing is owed.")
    if aged:
        for key, label, _, _ in AGES:
            n, amount = aged.get(key, (0, ZERO))
            ages.add([label, n, amount], _drill(f, "aging", key))
    methods = Table("methods", "Collected by method", [Column("Method"), Column("Payments", "int"),
                                                       Column("Collected", "money")], chart=2,
                    note="Payments received in the range; refunds count against their method.",
                    empty="No payment came in in this range.")
    for method in PaymentMethod:
        if method in by_method:
            n, amount = by_method[method]
            methods.add([method.value.capitalize(), n, amount], _drill(f, "paid_by", method.value))
    summary = {"invoiced": sum((r[2] for r in invoiced), ZERO),
               "collected": sum((v[1] for v in by_method.values()), ZERO),
               "outstanding": sum((v[1] for v in aged.values()), ZERO),
               "outstanding_count": sum(v[0] for v in aged.values())}
    return [months, ages, methods], summary
