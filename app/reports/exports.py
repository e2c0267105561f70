"""CSV of a whole list as filtered (issue 13): the leads, companies and invoices lists, every
matching row (not one page), in the list's order, a batch at a time. Each reads the list's
own filters and query functions, so the CSV always holds what the list shows: dates ISO,
money plain decimals."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.auth.models import User
from app.billing import invoices as billing
from app.billing.models import InvoiceStatus
from app.crm.models import Company, Contact, Lead
from app.crm.pipeline.moves import STAGE_LABELS
from app.crm.records import lead_list
from app.crm.records import queries as records
from app.extensions import db

BATCH = 1000

LEAD_HEADER = ["Company", "Contact", "E-mail", "Phone", "Stage", "Source", "Campaign", "Rep", "Units",
               "Estimated revenue", "Created", "Stage changed", "Last activity", "Won", "Lost", "Lost reason"]
COMPANY_HEADER = ["Company", "Status", "Industry", "Phone", "Website", "Source", "Rep", "Fleet size",
                  "Google rating", "Created"]
INVOICE_HEADER = ["Invoice", "Company", "Status", "Created", "Sent", "Due", "Subtotal", "Tax", "Total", "Paid",
                  "Balance due", "Paid at"]


def _day(value):
    return value.date() if value is not None else None


def lead_rows(query: lead_list.ListQuery, user_id) -> Iterator[list]:
    """The list's matching leads (its own filters and order: lead_list.ids_after), page after
    page by keyset, BATCH rows and one statement a page: memory flat however many match."""
    keyset = lead_list.SORTS[query.sort]
    rep = aliased(User)
    after = None
    while True:
        ids, order = lead_list.ids_after(query, user_id, after, BATCH)
        rows = db.session.execute(
            select(ids.c.id, ids.c.sort_value, Company.name, Contact.full_name, Contact.email, Contact.phone_e164,
                   Lead.stage, Lead.source, Lead.source_campaign, rep.first_name, rep.last_name,
                   Lead.estimated_units, Lead.estimated_revenue, Lead.created_at, Lead.stage_changed_at,
                   Lead.last_activity_at, Lead.won_at, Lead.lost_at, Lead.lost_reason)
            .select_from(ids).join(Lead, Lead.id == ids.c.id).join(Contact, Contact.id == Lead.contact_id)
            .outerjoin(Company, Company.id == Lead.company_id).outerjoin(rep, rep.id == Company.assigned_rep_id)
            .order_by(*order)).all()
        for r in rows:
            rep_name = " ".join(p for p in (r.first_name, r.last_name) if p) or None
            yield [r.name, r.full_name, r.email, r.phone_e164, STAGE_LABELS[r.stage], r.source, r.source_campaign,
                   rep_name, r.estimated_units, r.estimated_revenue, _day(r.created_at), _day(r.stage_changed_at),
                   _day(r.last_activity_at), _day(r.won_at), _day(r.lost_at), r.lost_reason]
        if len(rows) < BATCH:
            return
        after = keyset.cursor(rows[-1].sort_value, rows[-1].id)


def company_rows(filters: records.CompanyFilters) -> Iterator[list]:
    """Page after page of the companies list (its own query), BATCH rows at a time."""
    after = None
    while True:
        page = records.companies_page(filters, after, limit=BATCH)
        for c in page.companies:
            yield [c.name, c.status.value.capitalize(), c.industry, c.phone, c.website, c.source,
                   c.assigned_rep.full_name if c.assigned_rep else None, c.fleet_size, c.google_rating,
                   _day(c.created_at)]
            db.session.expunge(c)  # a written row holds no memory
        after = page.next_after
        if not after:
            return


@dataclasses.dataclass(frozen=True)
class InvoiceFilters:
    status: InvoiceStatus | None
    overdue: bool
    company_id: object
    sort: str
    descending: bool

    @classmethod
    def from_args(cls, args) -> InvoiceFilters:
        """As the invoices list reads its URL (app.billing.views.invoices)."""
        import uuid

        status = args.get("status") or ""
        try:
            company_id = uuid.UUID(args["company_id"]) if args.get("company_id") else None
        except ValueError:
            company_id = None
        return cls(InvoiceStatus(status) if status in InvoiceStatus.__members__ else None,
                   args.get("overdue") == "1", company_id,
                   args.get("sort") if args.get("sort") in billing.SORTS else "date",
                   args.get("dir", "desc") != "asc")


def invoice_rows(f: InvoiceFilters) -> Iterator[list]:
    cursor = None
    while True:
        page = billing.list_invoices(status=f.status, overdue=f.overdue, company_id=f.company_id, sort=f.sort,
                                     descending=f.descending, cursor=cursor, limit=BATCH)
        for inv in page.items:
            yield [inv.invoice_number, inv.company.name, inv.status.value.capitalize(), _day(inv.created_at),
                   _day(inv.sent_at), inv.due_date, inv.subtotal, inv.tax_amount, inv.total, inv.amount_paid,
                   inv.balance_due, _day(inv.paid_at)]
            db.session.expunge(inv)
        cursor = page.next_cursor
        if not cursor:
            return


# ------------------------------------------------------------------ tasks and inbox (the views helper)

TASK_HEADER = ["Task", "Type", "Priority", "Status", "Due", "Completed", "Assigned to", "Company", "Contact",
               "Created"]
INBOX_HEADER = ["Contact", "Company", "Address", "Channel", "Last message", "Last message at", "Unread",
                "Awaiting reply", "Done at", "Snoozed until", "Archived", "Rep"]


def _moment(value):
    """A timestamp as ISO 8601 in UTC, to the second."""
    from datetime import UTC

    return value.astimezone(UTC).replace(microsecond=0) if value is not None else None


def task_rows(f, user_id) -> Iterator[list]:
    """The tasks list as filtered (app.crm.tasks.queries.TaskFilters), every row, its order."""
    from app.crm.tasks import queries as tasks

    for t in tasks.task_rows(f, user_id, batch=BATCH):
        lead = t.lead
        company = lead.company if lead is not None and lead.company is not None else t.company
        yield [t.title, t.task_type.value.replace("_", " ").capitalize(), t.priority.value.capitalize(),
               "Done" if t.is_completed else "Open", _moment(t.due_at), _moment(t.completed_at),
               t.assigned_to.full_name if t.assigned_to else None, company.name if company else None,
               lead.contact.display_name if lead is not None and lead.contact else None, _day(t.created_at)]


def inbox_rows(f, user_id) -> Iterator[list]:
    """The inbox's tab and filters (app.inbox.queue.queries.QueueFilter), page after page."""
    from app.inbox.queue import queries as queue

    cursor = None
    while True:
        rows, cursor = queue.queue_page(f, user_id=user_id, cursor=cursor, limit=BATCH)
        for row in rows:
            c = row.conversation
            contact = c.contact
            yield [contact.display_name if contact else None,
                   contact.company.name if contact and contact.company else None,
                   None if contact else (c.unmatched_address or row.number), c.channel.value,
                   c.last_message_preview, _moment(c.last_message_at), c.unread_count,
                   "Yes" if c.awaiting_reply else "No", _moment(c.done_at), _moment(c.snoozed_until),
                   "Yes" if c.is_archived else "No", c.user.full_name if c.user else None]
            db.session.expunge(c)
        if not cursor:
            return
