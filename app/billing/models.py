"""Invoicing: invoices, line items, payments, the product catalog, and the reference
tables an invoice points at (agreement templates, tax rates, backends, carriers,
shipping types, payment terms, contract terms). Synced with QuickBooks (qb_*_id)
and Stripe (stripe_*_id)."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, updated_at, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.crm.models import Company, CompanyAddress, Lead
    from app.fulfillment.models import Device, FulfillmentOrder


class ProductType(enum.Enum):
    ONE_TIME = "ONE_TIME"
    RECURRING = "RECURRING"
    SERVICE = "SERVICE"


class TaxRateCategory(enum.Enum):
    CA_DISTRICT = "CA_DISTRICT"
    RESALE = "RESALE"
    OUT_OF_STATE = "OUT_OF_STATE"
    OTHER_STATE = "OTHER_STATE"
    OTHER = "OTHER"


class InvoiceStatus(enum.Enum):
    DRAFT = "DRAFT"
    SENT = "SENT"
    PARTIAL = "PARTIAL"
    PAID = "PAID"
    VOID = "VOID"


class PaymentMethod(enum.Enum):
    STRIPE = "STRIPE"
    CHECK = "CHECK"
    CASH = "CASH"
    WIRE = "WIRE"
    OTHER = "OTHER"


class Invoice(db.Model):
    """A customer invoice. Always belongs to a company (the lead is often NULL)."""

    __tablename__ = "invoices"

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    bill_to_address_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("company_addresses.id", ondelete="SET NULL"), index=True
    )
    ship_to_address_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("company_addresses.id", ondelete="SET NULL"), index=True
    )
    invoice_number: Mapped[str] = mapped_column(unique=True)
    status: Mapped[InvoiceStatus] = mapped_column(
        Enum(InvoiceStatus, name="invoice_status"),
        index=True,
        server_default=InvoiceStatus.DRAFT.value,
        default=InvoiceStatus.DRAFT,
    )
    agreement_template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreement_templates.id", ondelete="SET NULL"), index=True
    )
    tax_rate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tax_rates.id", ondelete="SET NULL"), index=True
    )
    backend_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("backends.id", ondelete="SET NULL")
    )
    carrier_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("carriers.id", ondelete="SET NULL")
    )
    shipping_type_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("shipping_types.id", ondelete="SET NULL")
    )
    payment_term_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_terms.id", ondelete="SET NULL")
    )
    contract_term_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contract_terms.id", ondelete="SET NULL")
    )
    subtotal: Mapped[Decimal]
    tax_amount: Mapped[Decimal] = mapped_column(server_default=text("0"), default=Decimal("0.00"))
    total: Mapped[Decimal]
    amount_paid: Mapped[Decimal] = mapped_column(server_default=text("0"), default=Decimal("0.00"))
    balance_due: Mapped[Decimal]
    shipping_cost: Mapped[Decimal | None]
    due_date: Mapped[date | None]
    notes: Mapped[str | None]
    # Public pay-link token (unique; NULL until the invoice is sent).
    payment_token: Mapped[str | None] = mapped_column(unique=True)
    stripe_invoice_id: Mapped[str | None]
    qb_invoice_id: Mapped[str | None]
    sent_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    # The e-signature event: name, time, IP, user agent and the agreement text as signed.
    signed_name: Mapped[str | None]
    signed_at: Mapped[datetime | None]
    signed_ip_addr: Mapped[str | None]
    signed_user_agent: Mapped[str | None]
    signed_agreement_snapshot: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    lead: Mapped[Lead | None] = relationship(back_populates="invoices")
    company: Mapped[Company] = relationship(back_populates="invoices")
    bill_to_address: Mapped[CompanyAddress | None] = relationship(
        back_populates="billed_invoices", foreign_keys=[bill_to_address_id]
    )
    ship_to_address: Mapped[CompanyAddress | None] = relationship(
        back_populates="shipped_invoices", foreign_keys=[ship_to_address_id]
    )
    agreement_template: Mapped[AgreementTemplate | None] = relationship(back_populates="invoices")
    tax_rate: Mapped[TaxRate | None] = relationship(back_populates="invoices")
    backend: Mapped[Backend | None] = relationship(back_populates="invoices")
    carrier: Mapped[Carrier | None] = relationship(back_populates="invoices")
    shipping_type: Mapped[ShippingType | None] = relationship(back_populates="invoices")
    payment_term: Mapped[PaymentTerm | None] = relationship(back_populates="invoices")
    contract_term: Mapped[ContractTerm | None] = relationship(back_populates="invoices")
    line_items: Mapped[list[InvoiceLineItem]] = relationship(
        back_populates="invoice",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="InvoiceLineItem.created_at",
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", order_by="Payment.paid_at"
    )
    fulfillment_orders: Mapped[list[FulfillmentOrder]] = relationship(back_populates="invoice")
    devices: Mapped[list[Device]] = relationship(back_populates="invoice", passive_deletes=True)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def __repr__(self) -> str:
        return f"<Invoice {self.invoice_number} {self.status.value if self.status else None}>"


class InvoiceLineItem(db.Model):
    __tablename__ = "invoice_line_items"

    id: Mapped[uuid.UUID] = uuid_pk()
    # indexed (migration 0034): an invoice's lines are read by it (the packing screen's pick list)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    description: Mapped[str]
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal]
    total: Mapped[Decimal]
    # Loose reference to a product (no foreign key).
    product_code: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    invoice: Mapped[Invoice] = relationship(back_populates="line_items")


class Payment(db.Model):
    """A payment against an invoice; `stripe_payment_id` is unique (webhook idempotency)."""

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal]
    method: Mapped[PaymentMethod] = mapped_column(Enum(PaymentMethod, name="payment_method"))
    stripe_payment_id: Mapped[str | None] = mapped_column(unique=True)
    reference: Mapped[str | None]
    notes: Mapped[str | None]
    paid_at: Mapped[datetime]
    qb_payment_id: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class UnappliedPayment(db.Model):
    """Money Stripe took that the CRM did not apply to an invoice (more than the balance,
    another currency, a void or unknown invoice), and its refunds: an append-only ledger
    (migration 0011_billing_unapplied; corrections are new rows, as for payments).

    The received row is keyed by the PaymentIntent id; a refund row by
    `<charge id>:refund:<cumulative amount refunded>` and carries a negative amount. The
    money stays out of `payments` (it never was on the invoice's balance, and may not be
    dollars). Amounts are the provider's integer minor units of `currency` (the currency
    can be anything Stripe took, so not Numeric(10,2) dollars)."""

    __tablename__ = "unapplied_payments"

    id: Mapped[uuid.UUID] = uuid_pk()
    stripe_key: Mapped[str] = mapped_column(unique=True)
    payment_intent_id: Mapped[str] = mapped_column(index=True)
    charge_id: Mapped[str | None]
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str]
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    company_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    customer_email: Mapped[str | None]
    reason: Mapped[str | None]
    webhook_event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="SET NULL"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_at()

    invoice: Mapped[Invoice | None] = relationship()
    company: Mapped[Company | None] = relationship()


class Product(db.Model):
    """A catalog item synced from QuickBooks (`qb_item_id` is the link)."""

    __tablename__ = "products"

    id: Mapped[uuid.UUID] = uuid_pk()
    qb_item_id: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    description: Mapped[str | None]
    sku: Mapped[str | None] = mapped_column(index=True)
    unit_price: Mapped[Decimal]
    cost: Mapped[Decimal | None]
    category: Mapped[str | None] = mapped_column(index=True)
    type: Mapped[ProductType] = mapped_column(
        Enum(ProductType, name="product_type"),
        server_default=ProductType.ONE_TIME.value,
        default=ProductType.ONE_TIME,
    )
    active: Mapped[bool] = mapped_column(
        Boolean, index=True, server_default=sql_bool(True), default=True
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    last_synced_at: Mapped[datetime | None]


class AgreementTemplate(db.Model):
    """Terms attached to an invoice, with {{variable}} substitution; snapshotted at signing."""

    __tablename__ = "agreement_templates"
    __table_args__ = (Index(None, "active", "sort_order"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    body: Mapped[str]
    # JSON describing the substitutable variables (an array or an object).
    variables: Mapped[Any] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="agreement_template", passive_deletes=True
    )


class TaxRate(db.Model):
    __tablename__ = "tax_rates"
    __table_args__ = (Index(None, "category", "active", "sort_order"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    # Numeric(7,5): the spec's "fine-grained tax percentages".
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 5))
    state: Mapped[str | None]
    jurisdiction: Mapped[str | None]
    category: Mapped[TaxRateCategory] = mapped_column(
        Enum(TaxRateCategory, name="tax_rate_category")
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    invoices: Mapped[list[Invoice]] = relationship(back_populates="tax_rate", passive_deletes=True)


class ReferenceRow:
    """The columns every invoice reference table shares (backends, carriers, shipping
    types, payment and contract terms): the spec gives each the same shape."""

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    sort_order: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Backend(ReferenceRow, db.Model):
    """A GPS tracking-software backend platform."""

    __tablename__ = "backends"
    __table_args__ = (Index(None, "active", "sort_order"),)

    invoices: Mapped[list[Invoice]] = relationship(back_populates="backend", passive_deletes=True)


class Carrier(ReferenceRow, db.Model):
    """A cellular carrier (SIM / airtime) for the devices."""

    __tablename__ = "carriers"
    __table_args__ = (Index(None, "active", "sort_order"),)

    invoices: Mapped[list[Invoice]] = relationship(back_populates="carrier", passive_deletes=True)


class ShippingType(ReferenceRow, db.Model):
    __tablename__ = "shipping_types"
    __table_args__ = (Index(None, "active", "sort_order"),)

    default_cost: Mapped[Decimal | None]

    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="shipping_type", passive_deletes=True
    )


class PaymentTerm(ReferenceRow, db.Model):
    __tablename__ = "payment_terms"
    __table_args__ = (Index(None, "active", "sort_order"),)

    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="payment_term", passive_deletes=True
    )


class ContractTerm(ReferenceRow, db.Model):
    __tablename__ = "contract_terms"
    __table_args__ = (Index(None, "active", "sort_order"),)

    months: Mapped[int | None] = mapped_column(Integer)

    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="contract_term", passive_deletes=True
    )


__all__ = [
    "AgreementTemplate",
    "Backend",
    "Carrier",
    "ContractTerm",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceStatus",
    "Payment",
    "PaymentMethod",
    "PaymentTerm",
    "Product",
    "ProductType",
    "ShippingType",
    "TaxRate",
    "TaxRateCategory",
]


class InvoiceNumberCounter(db.Model):
    """Not in the spec (migration 0005): the last invoice number handed out per year.

    `app.billing.invoices.next_invoice_number` bumps the year's row with an upsert
    (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), which holds the row lock until the
    invoice's own transaction ends, so numbers are sequential without gaps: concurrent
    creators queue, and a rolled-back creation gives its number back."""

    __tablename__ = "invoice_number_counters"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_nonneg"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


class InvoiceSignature(db.Model):
    """Not in the spec (migration 0006): the evidence of one signing, one per invoice."""

    __tablename__ = "invoice_signatures"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    signed_name: Mapped[str]
    signed_at: Mapped[datetime]
    signed_ip_addr: Mapped[str | None]
    signed_user_agent: Mapped[str | None]
    consent_text: Mapped[str]
    agreement_sha256: Mapped[str]
    content_sha256: Mapped[str]
    content_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()


class InvoicePaymentOptions(db.Model):
    """Not in the spec (migration 0006). Per-invoice payment flags; no row = both off."""

    __tablename__ = "invoice_payment_options"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    allow_partial: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    allow_overpayment: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    updated_at: Mapped[datetime] = updated_at()
