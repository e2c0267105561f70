"""Reference data of invoices: products, tax rates, backends, carriers, shipping
types, payment terms, contract terms and agreement templates.

Entries are never deleted (invoices point at them): they are deactivated, which
takes them out of the invoice dropdowns while old invoices keep showing them.
Every change is an activity with the before/after state.

- Products created here get `qb_item_id` = "local-<n>" (the next free n), since
  the spec requires a unique QuickBooks item id and the product is not in
  QuickBooks yet; the QuickBooks sync can replace it later.
- Slugs are made from the name when left blank and can't change afterwards (the
  pricing defaults setting refers to slugs). A payment term's days come from its
  slug: "due-on-receipt" is 0 days, "net-30" is 30 (see invoices.payment_term_days).
- An agreement template's `variables` must list exactly the {{placeholders}} its
  body uses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, func, select, text

from app.activity.services import record
from app.billing.models import (
    AgreementTemplate,
    Backend,
    Carrier,
    ContractTerm,
    PaymentTerm,
    Product,
    ProductType,
    ShippingType,
    TaxRate,
    TaxRateCategory,
)
from app.billing.totals import round_money
from app.extensions import db


class ReferenceDataError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Kind:
    key: str            # URL segment
    model: type
    label: str          # plural, for headings
    singular: str
    fields: tuple[str, ...]  # editable attributes, in form order


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("products", Product, "Products", "product",
         ("name", "sku", "description", "unit_price", "cost", "type", "category")),
    Kind("tax-rates", TaxRate, "Tax rates", "tax rate",
         ("name", "slug", "rate", "category", "state", "jurisdiction", "sort_order")),
    Kind("backends", Backend, "Backends", "backend", ("name", "slug", "sort_order")),
    Kind("carriers", Carrier, "Carriers", "carrier", ("name", "slug", "sort_order")),
    Kind("shipping-types", ShippingType, "Shipping types", "shipping type",
         ("name", "slug", "default_cost", "sort_order")),
    Kind("payment-terms", PaymentTerm, "Payment terms", "payment term", ("name", "slug", "sort_order")),
    Kind("contract-terms", ContractTerm, "Contract terms", "contract term",
         ("name", "slug", "months", "sort_order")),
    Kind("agreement-templates", AgreementTemplate, "Agreement templates", "agreement template",
         ("name", "slug", "body", "variables", "sort_order")),
)}

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SLUG_BAD = re.compile(r"[^a-z0-9]+")
MAX_RATE = Decimal("1")


def slugify(name: str) -> str:
    return _SLUG_BAD.sub("-", name.lower()).strip("-")[:80]


def placeholders(body: str) -> list[str]:
    """The {{variables}} used in a template body, in order of first use."""
    seen: list[str] = []
    for name in _PLACEHOLDER.findall(body or ""):
        if name not in seen:
            seen.append(name)
    return seen


def check_agreement(body: str, variables: list[str]) -> None:
    used = placeholders(body)
    if body.count("{{") != len(_PLACEHOLDER.findall(body)) or body.count("}}") != body.count("{{"):
        raise ReferenceDataError("A placeholder is malformed: write {{name}} with letters, digits and _.",
                             field="body")
    missing = [v for v in used if v not in variables]
    unused = [v for v in variables if v not in used]
    problems = []
    if missing:
        problems.append("used in the body but not listed: " + ", ".join(missing))
    if unused:
        problems.append("listed but not used in the body: " + ", ".join(unused))
    if problems:
        raise ReferenceDataError("Variables must match the placeholders — " + "; ".join(problems) + ".",
                             field="variables")


def parse_variables(raw: str | list | None) -> list[str]:
    if isinstance(raw, list):
        items = raw
    else:
        items = re.split(r"[\s,]+", raw or "")
    out: list[str] = []
    for item in (str(i).strip().strip("{}").strip() for i in items):
        if item and item not in out:
            out.append(item)
    return out


def variables_list(value: Any) -> list[str]:
    """The stored JSON (an array, or an object keyed by name) as a list of names."""
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def next_local_item_id() -> str:
    # One creator at a time (transaction-scoped advisory lock), then max + 1.
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('products.local_item_id'))"))
    last = db.session.scalar(
        select(func.max(func.substring(Product.qb_item_id, 7).cast(Integer)))
        .where(Product.qb_item_id.op("~")(r"^local-[0-9]{1,9}$")))
    return f"local-{(last or 0) + 1}"


def _clean(kind: Kind, data: dict[str, Any], existing) -> dict[str, Any]:
    values = {k: data.get(k) for k in kind.fields if k in data}
    for key in ("name", "sku", "description", "category", "state", "jurisdiction", "slug", "body"):
        if key in values and isinstance(values[key], str):
            values[key] = values[key].strip() or None
    if not values.get("name"):
        raise ReferenceDataError("Give it a name.", field="name")
    if "slug" in kind.fields:
        if existing is not None:
            values.pop("slug", None)  # slugs are stable
        else:
            values["slug"] = slugify(values.get("slug") or values["name"])
            if not values["slug"]:
                raise ReferenceDataError("The slug needs letters or digits.", field="slug")
            taken = db.session.scalar(select(kind.model.id).where(kind.model.slug == values["slug"]))
            if taken:
                raise ReferenceDataError(f"The slug “{values['slug']}” is taken.", field="slug")
    if kind.model is TaxRate:
        rate = values.get("rate")
        if rate is None or not (Decimal(0) <= Decimal(rate) < MAX_RATE):
            raise ReferenceDataError("A rate is a fraction from 0 up to (not including) 1, e.g. 0.08250.",
                                 field="rate")
        if Decimal(rate) != Decimal(rate).quantize(Decimal("0.00001")):
            raise ReferenceDataError("At most 5 decimals (0.08250 is 8.25%).", field="rate")
        values["category"] = TaxRateCategory(values["category"])
        if values.get("state"):
            values["state"] = values["state"].upper()
    if kind.model is Product:
        for key in ("unit_price", "cost"):
            amount = values.get(key)
            if amount is None:
                if key == "unit_price":
                    raise ReferenceDataError("Enter a unit price.", field=key)
                continue
            if Decimal(amount) < 0 or Decimal(amount) != round_money(amount):
                raise ReferenceDataError("Amounts are 0.00 or more, in cents.", field=key)
        values["type"] = ProductType(values["type"])
    if kind.model is ShippingType and values.get("default_cost") is not None:
        if Decimal(values["default_cost"]) < 0 or Decimal(values["default_cost"]) != round_money(
                values["default_cost"]):
            raise ReferenceDataError("The default cost is 0.00 or more, in cents.", field="default_cost")
    if kind.model is ContractTerm and values.get("months") is not None and not 1 <= values["months"] <= 120:
        raise ReferenceDataError("Months go from 1 to 120 (leave blank for month-to-month).", field="months")
    if kind.model is AgreementTemplate:
        if not values.get("body"):
            raise ReferenceDataError("The agreement needs a body.", field="body")
        values["variables"] = parse_variables(values.get("variables"))
        check_agreement(values["body"], values["variables"])
    if "sort_order" in values and values["sort_order"] is None:
        values["sort_order"] = 0
    return values


def _state(obj, fields) -> dict:
    return {f: getattr(obj, f) for f in fields}


def save_reference(kind: Kind, existing, data: dict[str, Any], *, actor):
    """Create (existing None) or update an entry; returns it. Flushes, no commit."""
    values = _clean(kind, data, existing)
    if existing is None:
        obj = kind.model(**values)
        if kind.model is Product:
            obj.qb_item_id = next_local_item_id()
        db.session.add(obj)
        db.session.flush()
        record("reference.created", f"Added {kind.singular} {obj.name}", actor=actor,
               detail={"kind": kind.key, "id": obj.id, "after": _state(obj, kind.fields)})
        return obj
    before = _state(existing, kind.fields)
    for key, value in values.items():
        setattr(existing, key, value)
    after = _state(existing, kind.fields)
    changed = [k for k in kind.fields if before[k] != after[k]]
    db.session.flush()
    if changed:
        record("reference.updated", f"Updated {kind.singular} {existing.name}: {', '.join(changed)}",
               actor=actor, detail={"kind": kind.key, "id": existing.id,
                                    "before": {k: before[k] for k in changed},
                                    "after": {k: after[k] for k in changed}})
    return existing


def set_active(kind: Kind, obj, active: bool, *, actor):
    if obj.active == active:
        return obj
    obj.active = active
    db.session.flush()
    verb = "Reactivated" if active else "Deactivated"
    record("reference.reactivated" if active else "reference.deactivated",
           f"{verb} {kind.singular} {obj.name}", actor=actor,
           detail={"kind": kind.key, "id": obj.id, "before": {"active": not active}, "after": {"active": active}})
    return obj


def list_entries(kind: Kind):
    model = kind.model
    order = [model.active.desc()]
    if hasattr(model, "sort_order"):
        order.append(model.sort_order)
    if model is Product:
        order.append(model.category)
    order += [model.name, model.id]
    return db.session.scalars(select(model).order_by(*order)).all()


def choices(model, current=None) -> list:
    """Active entries for a dropdown, plus `current` when it is inactive (old invoices
    keep showing what they were made with)."""
    order = [model.sort_order] if hasattr(model, "sort_order") else []
    if model is Product:
        order.append(model.category)
    rows = list(db.session.scalars(select(model).where(model.active.is_(True)).order_by(*order, model.name)))
    if current is not None and current not in rows:
        rows.append(current)
    return rows
