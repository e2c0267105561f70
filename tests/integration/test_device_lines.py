"""One rule for which invoice lines are devices (billing.invoices.device_lines): what the
agreement counts is what the warehouse packs, whatever the category's case or whether a
line names its product by QuickBooks id or by SKU."""
from __future__ import annotations

import uuid
from decimal import Decimal

from app.billing.invoices import device_lines
from app.billing.models import Invoice, InvoiceLineItem, Product, ProductType
from app.billing.signing import agreement_variables
from app.fulfillment import packing


def _product(db_session, category, sku=None, type_=ProductType.ONE_TIME):
    product = Product(qb_item_id=f"t-{uuid.uuid4().hex[:8]}", name=f"{category} item", sku=sku,
                      unit_price=Decimal("10.00"), category=category, type=type_)
    db_session.add(product)
    db_session.flush()
    return product


def test_the_agreement_and_the_warehouse_count_the_same_devices(db_session, factory):
    sku = f"GV{uuid.uuid4().hex[:6]}"
    lower = _product(db_session, "hardware", sku=sku)  # named by its SKU on one line
    title = _product(db_session, " Hardware ")
    service = _product(db_session, "Service Plans", type_=ProductType.RECURRING)
    invoice = Invoice(company_id=factory.company().id, invoice_number=f"INV-T-{uuid.uuid4().hex[:6]}",
                      subtotal=Decimal("0"), total=Decimal("0"), balance_due=Decimal("0"))
    db_session.add(invoice)
    db_session.flush()
    db_session.add_all([
        InvoiceLineItem(invoice_id=invoice.id, description="a", quantity=2, unit_price=Decimal("1"),
                        total=Decimal("2"), product_code=sku),
        InvoiceLineItem(invoice_id=invoice.id, description="b", quantity=3, unit_price=Decimal("1"),
                        total=Decimal("3"), product_code=title.qb_item_id),
        InvoiceLineItem(invoice_id=invoice.id, description="c", quantity=7, unit_price=Decimal("1"),
                        total=Decimal("7"), product_code=service.qb_item_id),
        InvoiceLineItem(invoice_id=invoice.id, description="d", quantity=9, unit_price=Decimal("1"),
                        total=Decimal("9"), product_code=None),
    ])
    db_session.flush()
    db_session.refresh(invoice)
    assert sorted((line.quantity, product.id) for line, product in device_lines(invoice)) == \
        sorted([(2, lower.id), (3, title.id)])
    assert packing.device_count_for(invoice) == 5
    assert agreement_variables(invoice)["device_count"] == "5"
    assert agreement_variables(invoice)["monthly_rate"] == "$1.00"
