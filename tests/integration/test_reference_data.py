"""Billing reference data in Settings: validation, local QuickBooks ids, deactivation, activities."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.auth.models import UserRole
from tests.factories import csrf_token, login


@pytest.fixture
def admin(factory):
    return factory.user(UserRole.ADMIN)


def _save(key, data, admin, existing=None):
    from app.billing.reference import KINDS, save_reference

    return save_reference(KINDS[key], existing, data, actor=admin)


def test_products_created_here_get_local_quickbooks_ids(db_session, admin):
    from app.billing.models import Product, ProductType

    db_session.add(Product(qb_item_id="local-41", name="Old local", unit_price=Decimal("1.00")))
    db_session.flush()
    data = {"name": "Harness", "sku": "HRN", "description": "", "unit_price": Decimal("12.50"),
            "cost": None, "type": "ONE_TIME", "category": "Accessories"}
    first = _save("products", data, admin)
    second = _save("products", {**data, "name": "Relay", "type": "SERVICE"}, admin)
    assert (first.qb_item_id, second.qb_item_id) == ("local-42", "local-43")
    assert second.type is ProductType.SERVICE
    edited = _save("products", {**data, "unit_price": Decimal("13.00")}, admin, existing=first)
    assert edited.qb_item_id == "local-42" and edited.unit_price == Decimal("13.00")


@pytest.mark.parametrize("rate, ok", [
    (Decimal("0"), True), (Decimal("0.08250"), True), (Decimal("0.99999"), True),
    (Decimal("1"), False), (Decimal("-0.01"), False), (Decimal("0.082501"), False),
])
def test_tax_rates_are_fractions_below_one_with_five_decimals(db_session, admin, rate, ok):
    from app.billing.reference import ReferenceDataError

    data = {"name": f"Rate {uuid.uuid4().hex[:6]}", "slug": "", "rate": rate, "category": "CA_DISTRICT",
            "state": "ca", "jurisdiction": None, "sort_order": 0}
    if ok:
        saved = _save("tax-rates", data, admin)
        assert saved.rate == rate and saved.state == "CA"
    else:
        with pytest.raises(ReferenceDataError) as info:
            _save("tax-rates", data, admin)
        assert info.value.field == "rate"


def test_slugs_come_from_the_name_are_unique_and_stable(db_session, admin):
    from app.billing.reference import ReferenceDataError

    term = _save("payment-terms", {"name": "Net 45", "slug": "", "sort_order": 0}, admin)
    assert term.slug == "net-45"
    from app.billing.invoices import payment_term_days

    assert payment_term_days(term) == 45
    with pytest.raises(ReferenceDataError) as info:
        _save("payment-terms", {"name": "Net 45 again", "slug": "net-45", "sort_order": 0}, admin)
    assert info.value.field == "slug"
    renamed = _save("payment-terms", {"name": "Net forty-five", "slug": "other", "sort_order": 1}, admin,
                    existing=term)
    assert renamed.slug == "net-45" and renamed.name == "Net forty-five"


@pytest.mark.parametrize("body, variables, problem", [
    ("Hello {{company_name}}, {{ device_count }} devices.", "company_name, device_count", None),
    ("Hello {{company_name}}", "company_name, device_count", "listed but not used"),
    ("Hello {{company_name}} {{monthly_rate}}", "company_name", "not listed: monthly_rate"),
    ("Hello {{company name}}", "", "malformed"),
    ("Hello {{company_name}", "company_name", "malformed"),
])
def test_agreement_variables_must_match_the_placeholders(db_session, admin, body, variables, problem):
    from app.billing.reference import ReferenceDataError

    data = {"name": f"Terms {uuid.uuid4().hex[:6]}", "slug": "", "body": body, "variables": variables,
            "sort_order": 0}
    if problem is None:
        saved = _save("agreement-templates", data, admin)
        assert saved.variables == ["company_name", "device_count"]
    else:
        with pytest.raises(ReferenceDataError, match=problem):
            _save("agreement-templates", data, admin)


def test_changes_are_activities_with_before_and_after(db_session, admin):
    from app.activity.models import Activity
    from app.billing.reference import KINDS, set_active

    carrier = _save("carriers", {"name": "Carrier X", "slug": "", "sort_order": 0}, admin)
    _save("carriers", {"name": "Carrier Y", "sort_order": 3}, admin, existing=carrier)
    set_active(KINDS["carriers"], carrier, False, actor=admin)
    rows = {r.activity_type: r for r in db_session.scalars(
        sa.select(Activity).where(Activity.user_id == admin.id))}
    assert set(rows) == {"reference.created", "reference.updated", "reference.deactivated"}
    updated = rows["reference.updated"].detail
    assert updated["before"] == {"name": "Carrier X", "sort_order": 0}
    assert updated["after"] == {"name": "Carrier Y", "sort_order": 3}


def test_deactivated_entries_leave_the_dropdowns(db_session, admin):
    from app.billing.models import ShippingType
    from app.billing.reference import KINDS, choices, set_active

    courier = _save("shipping-types", {"name": "Courier", "slug": "", "default_cost": Decimal("9.00"),
                                       "sort_order": 0}, admin)
    assert courier in choices(ShippingType)
    set_active(KINDS["shipping-types"], courier, False, actor=admin)
    assert courier not in choices(ShippingType)
    assert courier in choices(ShippingType, current=courier)


# ------------------------------------------------------------------ pages

def _post(client, app, url, data):
    return client.post(url, data=data, headers={"X-CSRFToken": csrf_token(client, app), "HX-Request": "true"})


def test_settings_pages(app, client, admin):
    login(client, admin)
    assert client.get("/settings/billing").status_code == 200
    for key in ("products", "tax-rates", "backends", "carriers", "shipping-types", "payment-terms",
                "contract-terms", "agreement-templates"):
        page = client.get(f"/settings/billing/{key}")
        assert page.status_code == 200, key
    assert client.get("/settings/billing/nope").status_code == 404


def test_create_through_the_page_and_bad_input_is_422(app, client, admin, db_session):
    from app.billing.models import TaxRate

    login(client, admin)
    name = f"Dallas {uuid.uuid4().hex[:6]}"
    ok = _post(client, app, "/settings/billing/tax-rates",
               {"name": name, "slug": "", "rate": "0.08250", "category": "OTHER_STATE", "state": "TX",
                "jurisdiction": "", "sort_order": "0"})
    assert ok.status_code == 200 and name.encode() in ok.data
    before = db_session.scalar(sa.select(sa.func.count()).select_from(TaxRate))
    for bad in ({"rate": "1.5"}, {"rate": "abc"}, {"rate": "0.0825001"}, {"name": ""}):
        data = {"name": "Bad rate", "slug": "", "rate": "0.05", "category": "OTHER", "state": "",
                "jurisdiction": "", "sort_order": "0", **bad}
        response = _post(client, app, "/settings/billing/tax-rates", data)
        assert response.status_code == 422, bad
    assert db_session.scalar(sa.select(sa.func.count()).select_from(TaxRate)) == before
    agreement = _post(client, app, "/settings/billing/agreement-templates",
                      {"name": "T", "slug": "", "body": "Hi {{company_name}}", "variables": "device_count",
                       "sort_order": "0"})
    assert agreement.status_code == 422 and b"not listed: company_name" in agreement.data


def test_edit_and_deactivate_through_the_page(app, client, admin, db_session):
    from app.billing.models import Backend

    login(client, admin)
    backend = Backend(slug=f"be-{uuid.uuid4().hex[:6]}", name="Backend A")
    db_session.add(backend)
    db_session.commit()
    assert client.get(f"/settings/billing/backends/{backend.id}").status_code == 200
    saved = _post(client, app, f"/settings/billing/backends/{backend.id}", {"name": "Backend B", "sort_order": "2"})
    assert saved.status_code == 200
    off = _post(client, app, f"/settings/billing/backends/{backend.id}/active", {"active": "0"})
    assert off.status_code == 200 and b"Reactivate" in off.data
    db_session.refresh(backend)
    assert (backend.name, backend.sort_order, backend.active) == ("Backend B", 2, False)


def test_reference_pages_need_settings(client, factory):
    login(client, factory.user(UserRole.REP))
    assert client.get("/settings/billing/products").status_code == 403
