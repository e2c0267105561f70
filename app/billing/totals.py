"""Invoice arithmetic: the one place money on an invoice is computed and rounded.

Rules (all Decimal, never float):

- A line total is `quantity × unit_price` rounded to cents ROUND_HALF_UP (once).
- The subtotal is the sum of the line totals (already cents: no rounding).
- Tax is `round_half_up(taxable_subtotal × rate)`: ONE rounding on the sum of the
  taxable line totals, not a rounding per line (so tax never drifts by a cent per
  line). No tax when the invoice has no tax rate or the company is not taxable.
- A line is taxable unless it is for a product of type SERVICE (installation,
  activation, service plans billed as SERVICE) or a shipping product (category
  "Shipping", case-insensitive). A typed line with no product is taxable: goods are
  presumed taxable (under-collecting is the seller's liability); type the line from
  a SERVICE product, or use the invoice's shipping field, when it is not.
  Lines point at products loosely through `product_code` = `Product.qb_item_id`
  (the catalog's unique key; locally created products get "local-<n>").
- Shipping (`invoice.shipping_cost`) is its own amount, never taxed.
- total = subtotal + tax + shipping, exactly.

`recompute_invoice` then hands the balance to `app.billing.payments.apply_payments`
(amount_paid, balance_due, PARTIAL/PAID status, paid_at), which is owned by the
payments code. Recomputing
only sets these columns: it never creates an order or moves a lead (a payment or a
signature does, through `app.billing.events`).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from app.billing import payments
from app.billing.models import Product, ProductType
from app.extensions import db

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SHIPPING_CATEGORY = "shipping"


def round_money(value: Decimal) -> Decimal:
    """Round to cents, half up. The only money rounding of the invoice code."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmount:
    quantity: int
    unit_price: Decimal
    taxable: bool = True


@dataclass(frozen=True)
class Totals:
    line_totals: tuple[Decimal, ...]
    subtotal: Decimal
    taxable_subtotal: Decimal
    tax_amount: Decimal
    shipping_cost: Decimal
    total: Decimal


def line_total(quantity: int, unit_price: Decimal) -> Decimal:
    return round_money(Decimal(quantity) * Decimal(unit_price))


def compute_totals(lines: Iterable[LineAmount], *, tax_rate: Decimal | None,
                   shipping_cost: Decimal | None) -> Totals:
    """Pure arithmetic over plain values (what the property tests exercise)."""
    line_totals = []
    subtotal = taxable = ZERO
    for line in lines:
        amount = line_total(line.quantity, line.unit_price)
        line_totals.append(amount)
        subtotal += amount
        if line.taxable:
            taxable += amount
    tax = round_money(taxable * Decimal(tax_rate)) if tax_rate else ZERO
    shipping = round_money(shipping_cost) if shipping_cost is not None else ZERO
    return Totals(tuple(line_totals), subtotal, taxable, tax, shipping, subtotal + tax + shipping)


def product_is_taxable(product) -> bool:
    """SERVICE products and shipping products are not taxed; anything else is."""
    if product is None:
        return True
    if product.type is ProductType.SERVICE:
        return False
    return (product.category or "").strip().lower() != SHIPPING_CATEGORY


def products_by_code(codes: set[str]) -> dict:
    if not codes:
        return {}

    rows = db.session.scalars(select(Product).where(Product.qb_item_id.in_(codes))).all()
    return {p.qb_item_id: p for p in rows}


def recompute_invoice(invoice) -> None:
    """Set every line total, subtotal, tax_amount, shipping_cost and total of the
    invoice from its lines, tax rate and shipping; then the balance (see module doc).
    Idempotent: recomputing an unchanged invoice changes nothing."""
    lines = list(invoice.line_items)
    products = products_by_code({ln.product_code for ln in lines if ln.product_code})
    rate = None
    if invoice.tax_rate is not None and invoice.company.taxable:
        rate = invoice.tax_rate.rate
    totals = compute_totals(
        [LineAmount(ln.quantity, ln.unit_price, product_is_taxable(products.get(ln.product_code)))
         for ln in lines],
        tax_rate=rate, shipping_cost=invoice.shipping_cost,
    )
    for ln, amount in zip(lines, totals.line_totals, strict=True):
        if ln.total != amount:
            ln.total = amount
    invoice.subtotal = totals.subtotal
    invoice.tax_amount = totals.tax_amount
    if invoice.shipping_cost is not None:
        invoice.shipping_cost = totals.shipping_cost
    invoice.total = totals.total
    payments.apply_payments(invoice)
