"""Company addresses: add, edit, delete, and the default billing / shipping address.

The rule kept here: a company has at most one default billing and one default
shipping address, and has one as soon as it has an address that can serve (a
BILLING or BOTH address can be the default billing one; SHIPPING or BOTH the
default shipping one). Setting a default clears the others; removing or retyping
the default hands it to the oldest remaining address that can serve.

An address printed on an invoice the customer signed or paid is part of what they
agreed to (the signature's content hash covers it): it is neither edited nor
deleted; the rep adds the new address and makes it the default.
"""
from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from app.activity.services import record
from app.billing.models import Invoice, InvoiceStatus
from app.crm.models import AddressType, Company, CompanyAddress
from app.crm.records.normalize import US_STATES, normalize_us_state
from app.extensions import db

BILLING, SHIPPING = "billing", "shipping"
KINDS = {BILLING: (AddressType.BILLING, AddressType.BOTH), SHIPPING: (AddressType.SHIPPING, AddressType.BOTH)}
_FLAG = {BILLING: "is_default_billing", SHIPPING: "is_default_shipping"}
STATE_CODES = frozenset(US_STATES.values())
_ZIP = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")
FIELDS = ("label", "type", "address_line1", "address_line2", "city", "state", "zip", "country", "notes")


class AddressError(Exception):
    """Refused; the message is shown under `field` when given."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def us_state(value: str | None) -> str:
    """'Texas', 'tx', ' TX ' -> 'TX'; anything that is not a US state is refused."""
    code = normalize_us_state(value)
    if not code:
        raise AddressError("Enter the state.", "state")
    if code not in STATE_CODES:
        raise AddressError("Enter a US state as its two-letter code, like TX.", "state")
    return code


def us_zip(value: str | None) -> str:
    """'75207', '75207-1234' or '752071234' -> '75207' / '75207-1234'."""
    match = _ZIP.match((value or "").strip())
    if not match:
        raise AddressError("Enter a 5-digit ZIP code, or ZIP+4 like 75207-1234.", "zip")
    return f"{match[1]}-{match[2]}" if match[2] else match[1]


def _text(data: dict, key: str, *, required: str | None = None, limit: int = 200) -> str | None:
    value = " ".join(str(data.get(key) or "").split()) or None
    if value is None and required:
        raise AddressError(required, key)
    if value is not None and len(value) > limit:
        raise AddressError(f"Keep it under {limit} characters.", key)
    return value


def clean(data: dict) -> dict:
    """The address as stored, or AddressError for the first field that cannot be."""
    country = (_text(data, "country", limit=2) or "US").upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise AddressError("Use the two-letter country code, like US.", "country")
    kind = data.get("type")
    try:
        kind = AddressType(kind.value if isinstance(kind, AddressType) else kind)
    except ValueError:
        raise AddressError("Choose billing, shipping or both.", "type") from None
    values = {
        "label": _text(data, "label", limit=80) or "Main",
        "type": kind,
        "address_line1": _text(data, "address_line1", required="Enter the street address."),
        "address_line2": _text(data, "address_line2"),
        "city": _text(data, "city", required="Enter the city.", limit=100),
        "country": country,
        "notes": (str(data.get("notes") or "").strip() or None),
    }
    if values["notes"] and len(values["notes"]) > 1000:
        raise AddressError("Keep the notes under 1000 characters.", "notes")
    if country == "US":
        values["state"] = us_state(data.get("state"))
        values["zip"] = us_zip(data.get("zip"))
    else:
        values["state"] = _text(data, "state", required="Enter the state or region.", limit=100)
        values["zip"] = _text(data, "zip", required="Enter the postal code.", limit=20)
    return values


def _serves(address: CompanyAddress, kind: str) -> bool:
    return address.type in KINDS[kind]


def _addresses(company_id) -> list[CompanyAddress]:
    return list(db.session.scalars(
        select(CompanyAddress).where(CompanyAddress.company_id == company_id)
        .order_by(CompanyAddress.created_at, CompanyAddress.id).with_for_update()))


def _settle_defaults(company_id, *, prefer: CompanyAddress | None = None) -> None:
    """One default of each kind among the addresses that can serve it."""
    rows = _addresses(company_id)
    for kind, flag in _FLAG.items():
        able = [a for a in rows if _serves(a, kind)]
        for a in rows:
            if not _serves(a, kind) and getattr(a, flag):
                setattr(a, flag, False)
        current = [a for a in able if getattr(a, flag)]
        keep = current[0] if current else None
        if keep is None and able:
            keep = prefer if prefer in able else able[0]
        for a in able:
            setattr(a, flag, a is keep)
    db.session.flush()


def _summary(address: CompanyAddress) -> str:
    return f"{address.label}: {address.address_line1}, {address.city}, {address.state} {address.zip}"


def _state(address: CompanyAddress) -> dict:
    return {key: getattr(address, key) for key in
            (*FIELDS, "is_default_billing", "is_default_shipping")}


def add_address(company: Company, data: dict, *, actor) -> CompanyAddress:
    values = clean(data)
    address = CompanyAddress(company_id=company.id, is_default_billing=False,
                             is_default_shipping=False, **values)
    db.session.add(address)
    db.session.flush()
    _settle_defaults(company.id, prefer=address)
    record("address.added", f"Added address {_summary(address)}", actor=actor, company=company,
           detail={"address_id": address.id, "before": None, "after": _state(address)})
    return address


# What invoices print of an address (app.billing.signing._address): the type, the
# notes and the default flags may change under a signed invoice.
PRINTED = ("label", "address_line1", "address_line2", "city", "state", "zip", "country")


def _agreed_invoice_number(address: CompanyAddress) -> str | None:
    """The number of a signed or paid invoice that prints this address, if any."""
    return db.session.scalar(
        select(Invoice.invoice_number)
        .where(or_(Invoice.bill_to_address_id == address.id, Invoice.ship_to_address_id == address.id),
               or_(Invoice.signed_at.is_not(None), Invoice.amount_paid > 0,
                   Invoice.status.in_([InvoiceStatus.PAID, InvoiceStatus.PARTIAL])))
        .order_by(Invoice.created_at).limit(1))


def update_address(address: CompanyAddress, data: dict, *, actor) -> CompanyAddress:
    values = clean(data)
    if any(values.get(key) != getattr(address, key) for key in PRINTED if key in values):
        number = _agreed_invoice_number(address)
        if number:
            raise AddressError(f"{address.label} is on {number}, which the customer signed or paid, so it "
                               "can't change. Add the new address and make it the default instead.")
    before = _state(address)
    for key, value in values.items():
        setattr(address, key, value)
    db.session.flush()
    _settle_defaults(address.company_id)
    after = _state(address)
    if after != before:
        record("address.changed", f"Changed address {_summary(address)}", actor=actor,
               company=address.company_id,
               detail={"address_id": address.id, "before": before, "after": after})
    return address


def make_default(address: CompanyAddress, kind: str, *, actor) -> CompanyAddress:
    if kind not in KINDS:
        raise AddressError("Choose billing or shipping.")
    if not _serves(address, kind):
        raise AddressError(f"A {address.type.value.lower()} address cannot be the default {kind} "
                           f"address. Change its type first.")
    flag = _FLAG[kind]
    rows = _addresses(address.company_id)
    previous = next((a for a in rows if getattr(a, flag)), None)
    if previous is address:
        return address
    for a in rows:
        setattr(a, flag, a is address)
    db.session.flush()
    record("address.default_changed", f"{address.label} is now the default {kind} address",
           actor=actor, company=address.company_id,
           detail={"kind": kind, "before": {"address_id": previous.id if previous else None},
                   "after": {"address_id": address.id}})
    return address


def delete_address(address: CompanyAddress, *, actor) -> None:
    used = db.session.scalar(select(func.count()).select_from(Invoice).where(
        or_(Invoice.bill_to_address_id == address.id, Invoice.ship_to_address_id == address.id)))
    if used:
        raise AddressError(f"{address.label} is on {used} invoice{'s' if used != 1 else ''} and cannot "
                           "be deleted. Edit it, or add a new address and make that the default.")
    company_id, before = address.company_id, _state(address)
    summary = _summary(address)
    db.session.delete(address)
    db.session.flush()
    _settle_defaults(company_id)
    record("address.deleted", f"Deleted address {summary}", actor=actor, company=company_id,
           detail={"address_id": address.id, "before": before, "after": None})
