"""Invoice services: create, lines, terms, void and reissue, editability, numbering.

Services take an explicit actor, flush and never commit (the caller commits once).
Every money amount is recomputed by `app.billing.totals.recompute_invoice`.

Editability (`assert_editable`): an invoice can be changed while it is DRAFT or
SENT and nobody has signed or paid it. Once signed (`signed_at`), partly or fully
paid (status PARTIAL/PAID or any amount paid) or VOID, it is locked; a signed or
unpaid invoice is corrected by voiding it and reissuing a copy (`reissue_invoice`).
An invoice with payments cannot be voided (money was taken against it).

Numbers: `INV-<year>-<5 digits>`, a per-year sequence without gaps. The year's
counter row (`invoice_number_counters`) is bumped by an upsert that takes the row
lock (INSERT ... ON CONFLICT DO UPDATE ... RETURNING — the same lock a SELECT ...
FOR UPDATE takes, and it also covers the first invoice of a year) in the invoice's
own transaction: concurrent creators queue on the row, and a rolled-back creation
gives its number back. Invoices are never deleted (void instead), so no gaps appear
later either. The year is the UTC year of creation.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import joinedload

from app.activity.services import record
from app.billing import events
from app.billing.models import (
    ContractTerm,
    Invoice,
    InvoiceLineItem,
    InvoiceNumberCounter,
    InvoiceStatus,
    Payment,
    PaymentTerm,
    Product,
    ShippingType,
)
from app.billing.totals import SHIPPING_CATEGORY, ZERO, line_total, recompute_invoice, round_money
from app.extensions import db
from app.paging import Keyset, split_page
from app.settings.models import Setting

# Numeric(10,2) holds up to 99,999,999.99.
MAX_AMOUNT = Decimal("99999999.99")
MAX_QUANTITY = 100_000
DEVICE_CATEGORY = "hardware"  # products of this category (any case) ship a device per unit


class InvoiceError(Exception):
    """A refused change; `field` names the form field it belongs to, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InvoiceLocked(InvoiceError):
    """The invoice can no longer be changed (signed, paid or void)."""


# ------------------------------------------------------------------ numbering

def format_invoice_number(year: int, number: int) -> str:
    return f"INV-{year}-{number:05d}"


def next_invoice_number(year: int | None = None) -> str:
    """Take the next number of `year` (default: this UTC year). Holds the counter
    row's lock until the caller's transaction ends."""
    year = year or datetime.now(UTC).year
    stmt = (
        pg_insert(InvoiceNumberCounter)
        .values(year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[InvoiceNumberCounter.year],
            set_={"last_number": InvoiceNumberCounter.last_number + 1},
        )
        .returning(InvoiceNumberCounter.last_number)
    )
    number = db.session.execute(stmt).scalar_one()
    return format_invoice_number(year, number)


# ------------------------------------------------------------------ terms

_NET_DAYS = re.compile(r"^net-?(\d{1,3})$")


def payment_term_days(term: PaymentTerm | None) -> int | None:
    """Days until due, derived from the term's slug (the spec's PaymentTerm has no
    days column): "due-on-receipt" -> 0, "net-30" / "net30" -> 30; None if unknown."""
    if term is None:
        return None
    slug = term.slug.strip().lower()
    if slug in ("due-on-receipt", "on-receipt", "due-now", "cod"):
        return 0
    match = _NET_DAYS.match(slug)
    return int(match.group(1)) if match else None


def due_date_for(invoice: Invoice, term: PaymentTerm | None) -> date | None:
    days = payment_term_days(term)
    if days is None:
        return None
    start = invoice.created_at.date() if invoice.created_at else datetime.now(UTC).date()
    return start + timedelta(days=days)


# ------------------------------------------------------------------ editability

def lock_reason(invoice: Invoice) -> str | None:
    """Why the invoice can't be edited, or None when it can."""
    if invoice.status is InvoiceStatus.VOID:
        return "This invoice is void. Reissue it to make a new draft."
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTIAL) or (invoice.amount_paid or ZERO) > 0:
        return "This invoice has payments and can't be changed."
    if invoice.paid_at is not None or (invoice.id is not None and _has_payment_rows(invoice.id)):
        # Refunded to zero: the ledger still shows what was taken against these lines.
        return "This invoice was paid and refunded, so it can't be changed: reissue it instead."
    if invoice.signed_at is not None:
        return "This invoice is signed and can't be changed: void and reissue instead."
    return None


def _has_payment_rows(invoice_id) -> bool:
    return db.session.scalar(select(exists().where(Payment.invoice_id == invoice_id)))


def is_editable(invoice: Invoice) -> bool:
    return lock_reason(invoice) is None


def assert_editable(invoice: Invoice) -> None:
    reason = lock_reason(invoice)
    if reason:
        raise InvoiceLocked(reason)


def can_void(invoice: Invoice) -> bool:
    return invoice.status is not InvoiceStatus.VOID and (invoice.amount_paid or ZERO) == 0 \
        and invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.PARTIAL)


# ------------------------------------------------------------------ helpers

def is_shipping_product(product: Product) -> bool:
    """A catalogue item that is shipping (category "Shipping"): the invoice's shipping
    method charges shipping, so these are not offered as lines."""
    return (product.category or "").strip().lower() == SHIPPING_CATEGORY


def is_device_product(product: Product) -> bool:
    """A catalogue item that is a device (category "Hardware", any case)."""
    return (product.category or "").strip().lower() == DEVICE_CATEGORY


def device_lines(invoice: Invoice) -> list[tuple[InvoiceLineItem, Product]]:
    """The invoice's lines that ship one device per unit, with their product: the one rule
    for what the agreement counts and the warehouse packs. A line names its product by
    `product_code`: the QuickBooks item id, else the SKU; the product is hardware."""
    codes = {line.product_code for line in invoice.line_items if line.product_code}
    if not codes:
        return []
    products: dict[str, Product] = {}
    for product in db.session.scalars(select(Product).where(
            or_(Product.qb_item_id.in_(codes), Product.sku.in_(codes))).order_by(Product.id)):
        if product.qb_item_id in codes:
            products[product.qb_item_id] = product
        if product.sku in codes:
            products.setdefault(product.sku, product)
    return [(line, products[line.product_code]) for line in invoice.line_items
            if line.product_code in products and is_device_product(products[line.product_code])]


def record_invoice_activity(activity_type: str, summary: str, invoice: Invoice, *, actor=None,
                            **detail) -> None:
    """The one way billing writes an activity about an invoice: on its company's and lead's
    timelines, its detail naming the invoice (id and number) and then `detail`."""
    record(activity_type, summary, actor=actor, company=invoice.company_id, lead=invoice.lead_id,
           detail={"invoice_id": invoice.id, "invoice_number": invoice.invoice_number, **detail})


def _check_amounts(invoice: Invoice) -> None:
    if invoice.total > MAX_AMOUNT or any(ln.total > MAX_AMOUNT for ln in invoice.line_items):
        raise InvoiceError("That makes the invoice too large (over $99,999,999.99).", field="quantity")


def _check_line(quantity, unit_price) -> tuple[int, Decimal]:
    if quantity is None or not 1 <= int(quantity) <= MAX_QUANTITY:
        raise InvoiceError(f"Quantity must be between 1 and {MAX_QUANTITY:,}.", field="quantity")
    if unit_price is None:
        raise InvoiceError("Enter a unit price.", field="unit_price")
    price = Decimal(unit_price)
    if price < 0 or price > MAX_AMOUNT or price != round_money(price):
        raise InvoiceError("Unit price must be between 0.00 and 99,999,999.99, in cents.",
                           field="unit_price")
    if line_total(int(quantity), price) > MAX_AMOUNT:
        raise InvoiceError("That line is too large (over $99,999,999.99).", field="quantity")
    return int(quantity), price


def _default_refs() -> dict:
    """The pricing defaults setting: slugs of the shipping type, payment and contract term."""
    value = db.session.scalar(select(Setting.value).where(Setting.key == "pricing.defaults")) or {}
    out = {}
    for key, model in (("shipping_type", ShippingType), ("payment_term", PaymentTerm),
                       ("contract_term", ContractTerm)):
        slug = value.get(key) if isinstance(value, dict) else None
        if slug:
            out[key] = db.session.scalar(select(model).where(model.slug == slug, model.active.is_(True)))
    return out


# ------------------------------------------------------------------ services

def create_invoice(company, *, actor, lead=None) -> Invoice:
    """A DRAFT invoice for `company` (optionally for one of its leads), numbered,
    billed and shipped to the company's default addresses, with the pricing defaults."""
    if lead is not None and lead.company_id != company.id:
        raise InvoiceError("That lead belongs to another company.", field="lead_id")
    defaults = _default_refs()
    shipping_type = defaults.get("shipping_type")
    now = datetime.now(UTC)
    number = next_invoice_number(now.year)  # before the new row joins the session (autoflush)
    invoice = Invoice(
        invoice_number=number, company=company, lead=lead,
        status=InvoiceStatus.DRAFT,
        bill_to_address=company.default_billing_address,
        ship_to_address=company.default_shipping_address or company.default_billing_address,
        shipping_type=shipping_type,
        shipping_cost=shipping_type.default_cost if shipping_type else None,
        payment_term=defaults.get("payment_term"),
        contract_term=defaults.get("contract_term"),
        subtotal=ZERO, tax_amount=ZERO, total=ZERO, amount_paid=ZERO, balance_due=ZERO,
        created_at=now,
    )
    invoice.due_date = due_date_for(invoice, invoice.payment_term)
    db.session.add(invoice)
    recompute_invoice(invoice)
    db.session.flush()
    record_invoice_activity("invoice.created", f"Created invoice {invoice.invoice_number}", invoice, actor=actor)
    return invoice


def add_line(invoice: Invoice, *, actor, product: Product | None = None, description: str | None = None,
             quantity: int, unit_price: Decimal | None) -> InvoiceLineItem:
    """Add a line from a product (its name and price unless given) or typed."""
    assert_editable(invoice)
    if product is not None and is_shipping_product(product):
        raise InvoiceError("Shipping is charged once, by the invoice's shipping method (Terms), "
                           "not as a line.", field="product_id")
    if product is not None:
        description = (description or "").strip() or product.name
        if unit_price is None:
            unit_price = product.unit_price
    description = (description or "").strip()
    if not description:
        raise InvoiceError("Describe the line or pick a product.", field="description")
    quantity, price = _check_line(quantity, unit_price)
    line = InvoiceLineItem(description=description[:500], quantity=quantity, unit_price=price,
                           total=line_total(quantity, price),
                           product_code=product.qb_item_id if product is not None else None,
                           created_at=datetime.now(UTC))
    invoice.line_items.append(line)
    recompute_invoice(invoice)
    _check_amounts(invoice)
    db.session.flush()
    record_invoice_activity("invoice.line_added", f"Added {quantity} × {description} to {invoice.invoice_number}", invoice,
            actor=actor, line_id=line.id, unit_price=price)
    events.billing_changed("invoice.updated", invoice, actor)
    return line


def update_line(invoice: Invoice, line: InvoiceLineItem, *, actor, description: str,
                quantity: int, unit_price: Decimal) -> InvoiceLineItem:
    assert_editable(invoice)
    if line.invoice_id != invoice.id:
        raise InvoiceError("That line is not on this invoice.")
    description = (description or "").strip()
    if not description:
        raise InvoiceError("Describe the line.", field="description")
    quantity, price = _check_line(quantity, unit_price)
    before = {"description": line.description, "quantity": line.quantity, "unit_price": line.unit_price}
    line.description, line.quantity, line.unit_price = description[:500], quantity, price
    recompute_invoice(invoice)
    _check_amounts(invoice)
    db.session.flush()
    after = {"description": line.description, "quantity": line.quantity, "unit_price": line.unit_price}
    if before != after:
        record_invoice_activity("invoice.line_updated", f"Changed line “{line.description}” on {invoice.invoice_number}", invoice,
                actor=actor, line_id=line.id, before=before, after=after)
        events.billing_changed("invoice.updated", invoice, actor)
    return line


def remove_line(invoice: Invoice, line: InvoiceLineItem, *, actor) -> None:
    assert_editable(invoice)
    if line.invoice_id != invoice.id:
        raise InvoiceError("That line is not on this invoice.")
    invoice.line_items.remove(line)
    recompute_invoice(invoice)
    db.session.flush()
    record_invoice_activity("invoice.line_removed", f"Removed “{line.description}” from {invoice.invoice_number}", invoice,
            actor=actor, quantity=line.quantity, unit_price=line.unit_price)
    events.billing_changed("invoice.updated", invoice, actor)


@dataclass
class _Change:
    name: str
    before: object
    after: object


def update_invoice_terms(invoice: Invoice, *, actor, tax_rate, shipping_type, shipping_cost, payment_term,
                         contract_term, backend, carrier, agreement_template, bill_to, ship_to, notes,
                         due_date) -> Invoice:
    """Set the invoice's reference choices, addresses, shipping, notes and due date.

    A changed payment term sets the due date from the term (invoice date + days);
    otherwise `due_date` is taken as given, and None means "from the payment term".
    Shipping has one source, the shipping method: no method means no shipping charge
    (the cost is cleared), and a changed method takes its default cost unless a new cost
    was given with it. (Shipping products are not invoice lines: `add_line` refuses them.)
    """
    assert_editable(invoice)
    for address, name in ((bill_to, "bill_to"), (ship_to, "ship_to")):
        if address is not None and address.company_id != invoice.company_id:
            raise InvoiceError("That address belongs to another company.", field=name)
    if shipping_cost is not None:
        shipping_cost = Decimal(shipping_cost)
        if shipping_cost < 0 or shipping_cost > MAX_AMOUNT or shipping_cost != round_money(shipping_cost):
            raise InvoiceError("Shipping must be between 0.00 and 99,999,999.99, in cents.",
                               field="shipping_cost")
    if shipping_type is None:
        shipping_cost = None
    elif shipping_type is not invoice.shipping_type and (shipping_cost is None
                                                         or shipping_cost == invoice.shipping_cost):
        shipping_cost = shipping_type.default_cost
    derived = due_date_for(invoice, payment_term)
    if payment_term is not invoice.payment_term and derived is not None:
        due_date = derived
    elif due_date is None:
        due_date = derived

    notes = (notes or "").strip() or None
    values = {"tax_rate": tax_rate, "shipping_type": shipping_type, "shipping_cost": shipping_cost,
              "payment_term": payment_term, "contract_term": contract_term, "backend": backend,
              "carrier": carrier, "agreement_template": agreement_template, "bill_to_address": bill_to,
              "ship_to_address": ship_to, "notes": notes, "due_date": due_date}
    changes = []
    for attr, value in values.items():
        before = getattr(invoice, attr)
        if before is not value and before != value:
            changes.append(_Change(attr, _describe(before), _describe(value)))
            setattr(invoice, attr, value)
    recompute_invoice(invoice)
    _check_amounts(invoice)
    db.session.flush()
    if changes:
        record_invoice_activity("invoice.terms_updated", f"Updated {', '.join(c.name.replace('_', ' ') for c in changes)} "
                f"on {invoice.invoice_number}", invoice, actor=actor,
                before={c.name: c.before for c in changes}, after={c.name: c.after for c in changes})
        events.billing_changed("invoice.updated", invoice, actor)
    return invoice


def _describe(value):
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, Decimal)):
        return value
    return getattr(value, "slug", None) or getattr(value, "label", None) or str(getattr(value, "id", value))


def void_invoice(invoice: Invoice, *, actor, reason: str) -> Invoice:
    reason = (reason or "").strip()
    if not reason:
        raise InvoiceError("Say why the invoice is void.", field="reason")
    if invoice.status is InvoiceStatus.VOID:
        raise InvoiceLocked("This invoice is already void.")
    if not can_void(invoice):
        raise InvoiceLocked("This invoice has payments: it can't be voided.")
    before = invoice.status
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = datetime.now(UTC)
    db.session.flush()
    record_invoice_activity("invoice.voided", f"Voided invoice {invoice.invoice_number}: {reason}", invoice, actor=actor,
            reason=reason[:500], status_before=before)
    events.billing_changed("invoice.voided", invoice, actor)
    return invoice


def reissue_invoice(invoice: Invoice, *, actor, reason: str | None = None) -> Invoice:
    """Void the invoice (unless it already is) and copy it into a new DRAFT with a
    new number: same company, lead, addresses, reference choices, shipping, notes and lines."""
    if invoice.status is not InvoiceStatus.VOID:
        void_invoice(invoice, actor=actor, reason=reason or "Reissued")
    now = datetime.now(UTC)
    number = next_invoice_number(now.year)
    copy = Invoice(
        invoice_number=number, company=invoice.company, lead=invoice.lead, status=InvoiceStatus.DRAFT,
        bill_to_address=invoice.bill_to_address, ship_to_address=invoice.ship_to_address,
        agreement_template=invoice.agreement_template, tax_rate=invoice.tax_rate,
        backend=invoice.backend, carrier=invoice.carrier, shipping_type=invoice.shipping_type,
        payment_term=invoice.payment_term, contract_term=invoice.contract_term,
        shipping_cost=invoice.shipping_cost,
        notes=invoice.notes, subtotal=ZERO, tax_amount=ZERO, total=ZERO, amount_paid=ZERO,
        balance_due=ZERO, created_at=now,
    )
    db.session.add(copy)
    for i, line in enumerate(invoice.line_items):
        copy.line_items.append(InvoiceLineItem(
            description=line.description, quantity=line.quantity, unit_price=line.unit_price,
            total=line.total, product_code=line.product_code, created_at=now + timedelta(microseconds=i)))
    copy.due_date = due_date_for(copy, copy.payment_term) or invoice.due_date
    recompute_invoice(copy)
    db.session.flush()
    record_invoice_activity("invoice.reissued", f"Reissued {invoice.invoice_number} as {copy.invoice_number}", copy, actor=actor,
            replaces_invoice_id=invoice.id, replaces_invoice_number=invoice.invoice_number)
    return copy


# ------------------------------------------------------------------ the list

SORTS = {"number": (Invoice.invoice_number, str), "date": (Invoice.created_at, datetime),
         "total": (Invoice.total, Decimal)}
PAGE_SIZE = 50


@dataclass
class InvoicePage:
    items: list[Invoice]
    next_cursor: str | None


def overdue_clause(today: date):
    return and_(Invoice.due_date < today, Invoice.balance_due > 0,
                Invoice.status.notin_([InvoiceStatus.PAID, InvoiceStatus.VOID]))


def is_overdue(invoice: Invoice, today: date | None = None) -> bool:
    today = today or datetime.now(UTC).date()
    return bool(invoice.due_date and invoice.due_date < today and (invoice.balance_due or ZERO) > 0
                and invoice.status not in (InvoiceStatus.PAID, InvoiceStatus.VOID))


def filtered_invoices(query, *, status: InvoiceStatus | None = None, overdue: bool = False, company_id=None,
                      today: date | None = None):
    """`query` on Invoice with the invoices list's filters applied."""
    if status is not None:
        query = query.where(Invoice.status == status)
    if overdue:
        query = query.where(overdue_clause(today or datetime.now(UTC).date()))
    if company_id is not None:
        query = query.where(Invoice.company_id == company_id)
    return query


def list_invoices(*, status: InvoiceStatus | None = None, overdue: bool = False, company_id=None,
                  sort: str = "date", descending: bool = True, cursor: str | None = None,
                  limit: int = PAGE_SIZE, today: date | None = None) -> InvoicePage:
    """A keyset page of invoices ordered by (sort column, id)."""
    sort = sort if sort in SORTS else "date"
    column, kind = SORTS[sort]
    keyset = Keyset(column, Invoice.id, descending=descending, kind=kind)
    query = filtered_invoices(select(Invoice).options(joinedload(Invoice.company)), status=status, overdue=overdue,
                              company_id=company_id, today=today)
    query = keyset.continue_after(query, cursor)
    rows, more = split_page(db.session.scalars(query.order_by(*keyset.order_by()).limit(limit + 1)), limit)
    next_cursor = keyset.cursor(getattr(rows[-1], column.key), rows[-1].id) if more else None
    return InvoicePage(rows, next_cursor)


@functools.lru_cache(maxsize=64)
def _rows_statement(sort: str, descending: bool, status: bool, overdue: bool, company: bool, after: bool):
    """list_invoice_rows' statement for a sort and the filters set (their values bound), built
    once: building it cost more than running it."""
    from app.crm.models import Company  # (crm's package imports billing's)

    keyset = Keyset(SORTS[sort][0], Invoice.id, descending=descending, kind=SORTS[sort][1])
    clauses = []
    if status:
        clauses.append(Invoice.status == bindparam("list_status", type_=Invoice.status.type))
    if overdue:
        clauses.append(overdue_clause(bindparam("list_today", type_=Invoice.due_date.type)))
    if company:
        clauses.append(Invoice.company_id == bindparam("list_company_id", type_=Invoice.company_id.type))
    if after:
        clauses.append(keyset.after_bound())
    query = (select(Invoice.id, Invoice.invoice_number, Company.name.label("company_name"), Invoice.status,
                    Invoice.created_at, Invoice.due_date, Invoice.total, Invoice.balance_due)
             .join(Company, Company.id == Invoice.company_id))
    return query.where(*clauses).order_by(*keyset.order_by()).limit(bindparam("list_limit"))


def list_invoice_rows(*, status: InvoiceStatus | None = None, overdue: bool = False, company_id=None,
                      sort: str = "date", descending: bool = True, cursor: str | None = None,
                      limit: int = PAGE_SIZE, today: date | None = None) -> InvoicePage:
    """The same page as list_invoices, as the invoices list shows it: rows of the columns it
    shows (id, invoice_number, company_name, status, created_at, due_date, total,
    balance_due), not invoice entities with their companies."""
    sort = sort if sort in SORTS else "date"
    column, kind = SORTS[sort]
    keyset = Keyset(column, Invoice.id, descending=descending, kind=kind)
    position = keyset.bound_position(cursor)
    params = {"list_limit": limit + 1, **(position or {})}
    if status is not None:
        params["list_status"] = status
    if overdue:
        params["list_today"] = today or datetime.now(UTC).date()
    if company_id is not None:
        params["list_company_id"] = company_id
    statement = _rows_statement(sort, descending, status is not None, overdue, company_id is not None,
                                position is not None)
    rows, more = split_page(db.session.execute(statement, params), limit)
    next_cursor = keyset.cursor(getattr(rows[-1], column.key), rows[-1].id) if more else None
    return InvoicePage(rows, next_cursor)


__all__ = [
    "InvoiceError", "InvoiceLocked", "InvoicePage", "add_line", "filtered_invoices", "is_overdue", "list_invoice_rows", "list_invoices", "assert_editable", "can_void", "create_invoice",
    "due_date_for", "format_invoice_number", "is_editable", "is_shipping_product", "lock_reason", "next_invoice_number",
    "payment_term_days", "reissue_invoice", "remove_line", "update_invoice_terms", "update_line",
    "void_invoice",
]
