"""The company page's addresses and notes: validation (422, nothing changed), one
default billing and one default shipping address per company, author-only note edits."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.models import AddressType, CompanyAddress, Note
from app.crm.records import addresses as addressing
from tests.factories import csrf_token, login

HX = {"HX-Request": "true"}
GOOD = {"label": "Yard", "type": "BOTH", "address_line1": "1420 Irving Blvd", "address_line2": "",
        "city": "Dallas", "state": "Texas", "zip": "752071234", "country": "", "notes": ""}


@pytest.fixture
def rep(client, factory):
    user = factory.user(UserRole.REP)
    login(client, user)
    return user


def post(client, app, url, data=None, headers=HX):
    return client.post(url, data={"csrf_token": csrf_token(client, app), **(data or {})}, headers=headers)


def addresses_of(db_session, company):
    return db_session.scalars(select(CompanyAddress).where(CompanyAddress.company_id == company.id)
                              .order_by(CompanyAddress.created_at, CompanyAddress.id)).all()


def address(db_session, company, label, kind=AddressType.BOTH, *, billing=False, shipping=False, minutes=0):
    row = CompanyAddress(company_id=company.id, label=label, type=kind, address_line1=f"{label} St 1",
                         city="Austin", state="TX", zip="78701", is_default_billing=billing,
                         is_default_shipping=shipping,
                         created_at=datetime.now(UTC) - timedelta(minutes=60 - minutes))
    db_session.add(row)
    db_session.flush()
    return row


def defaults(db_session, company):
    rows = addresses_of(db_session, company)
    for row in rows:
        db_session.refresh(row)
    return ([r.label for r in rows if r.is_default_billing], [r.label for r in rows if r.is_default_shipping])


def types_of(db_session, prefix):
    return [a.activity_type for a in db_session.scalars(
        select(Activity).where(Activity.activity_type.startswith(prefix)))]


# ------------------------------------------------------------------------ addresses


def test_the_company_page_shows_both_sections(client, db_session, rep, factory):
    company = factory.company()
    address(db_session, company, "Main office", billing=True, shipping=True)
    page = client.get(f"/companies/{company.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="company-addresses"' in text and 'id="company-notes"' in text
    assert "Main office" in text and "Default billing" in text and "Default shipping" in text
    assert "No notes yet." in text


def test_add_an_address_normalised_and_default_when_first(client, app, db_session, rep, factory):
    company = factory.company()
    form = client.get(f"/companies/{company.id}/addresses/new", headers=HX)
    assert form.status_code == 200 and b'name="address_line1"' in form.data and b"<html" not in form.data
    assert b'value="US"' in form.data  # the country defaults to the US

    response = post(client, app, f"/companies/{company.id}/addresses", GOOD)
    assert response.status_code == 200, response.data[:600]
    text = response.get_data(as_text=True)
    assert text.lstrip().startswith("<section") and 'id="company-addresses"' in text
    row, = addresses_of(db_session, company)
    assert (row.state, row.zip, row.country, row.type) == ("TX", "75207-1234", "US", AddressType.BOTH)
    assert row.is_default_billing and row.is_default_shipping  # the first address serves both
    assert types_of(db_session, "address.") == ["address.added"]

    # a plain form post goes back to the company page
    response = post(client, app, f"/companies/{company.id}/addresses",
                    {**GOOD, "label": "Shop", "type": "SHIPPING", "zip": "75207"}, headers=None)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/companies/{company.id}")
    assert defaults(db_session, company) == (["Yard"], ["Yard"])  # a new address does not steal the default


@pytest.mark.parametrize("override, message", [
    ({"address_line1": "  "}, "Enter the street address."),
    ({"city": ""}, "Enter the city."),
    ({"state": ""}, "Enter the state."),
    ({"state": "ZZ"}, "Enter a US state as its two-letter code"),
    ({"state": "Texass"}, "Enter a US state as its two-letter code"),
    ({"zip": "7520"}, "Enter a 5-digit ZIP code"),
    ({"zip": "75207-12"}, "Enter a 5-digit ZIP code"),
    ({"type": "HOME"}, "Not a valid choice"),
])
def test_bad_addresses_are_422_with_the_message_and_nothing_saved(client, app, db_session, rep, factory,
                                                                  override, message):
    company = factory.company()
    response = post(client, app, f"/companies/{company.id}/addresses", {**GOOD, **override})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text and 'aria-invalid="true"' in text
    assert addresses_of(db_session, company) == []
    assert types_of(db_session, "address.") == []
    # without htmx: the whole company page, the form open with the message
    response = post(client, app, f"/companies/{company.id}/addresses", {**GOOD, **override}, headers=None)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert b"<html" in response.data


def test_outside_the_us_state_and_postal_code_are_free_text(db_session, factory):
    values = addressing.clean({**GOOD, "country": "ca", "state": "Ontario", "zip": "M5V 2T6"})
    assert (values["country"], values["state"], values["zip"]) == ("CA", "Ontario", "M5V 2T6")
    with pytest.raises(addressing.AddressError, match="two-letter country code"):
        addressing.clean({**GOOD, "country": "1"})


def test_make_default_keeps_exactly_one_of_each_kind(client, app, db_session, rep, factory):
    company = factory.company()
    main = address(db_session, company, "Main", billing=True, shipping=True, minutes=1)
    billing = address(db_session, company, "Accounts", AddressType.BILLING, minutes=2)
    shop = address(db_session, company, "Shop", AddressType.SHIPPING, minutes=3)

    assert post(client, app, f"/addresses/{billing.id}/default/billing").status_code == 200
    assert defaults(db_session, company) == (["Accounts"], ["Main"])
    assert post(client, app, f"/addresses/{shop.id}/default/shipping").status_code == 200
    assert defaults(db_session, company) == (["Accounts"], ["Shop"])
    assert post(client, app, f"/addresses/{main.id}/default/billing").status_code == 200
    assert defaults(db_session, company) == (["Main"], ["Shop"])
    changes = db_session.scalars(select(Activity).where(Activity.activity_type == "address.default_changed")).all()
    assert len(changes) == 3
    assert {(c.detail["kind"], c.detail["before"]["address_id"], c.detail["after"]["address_id"]) for c in changes} \
        == {("billing", str(main.id), str(billing.id)), ("shipping", str(main.id), str(shop.id)),
            ("billing", str(billing.id), str(main.id))}

    # a shipping-only address cannot be the default billing one: 422, nothing changed
    response = post(client, app, f"/addresses/{shop.id}/default/billing")
    assert response.status_code == 422
    assert "cannot be the default billing address" in response.get_data(as_text=True)
    assert defaults(db_session, company) == (["Main"], ["Shop"])
    assert post(client, app, f"/addresses/{shop.id}/default/elsewhere").status_code == 404
    # the buttons are only offered where they make sense
    text = client.get(f"/companies/{company.id}/addresses", headers=HX).get_data(as_text=True)
    assert f"/addresses/{shop.id}/default/billing" not in text
    assert f"/addresses/{billing.id}/default/billing" in text and f"/addresses/{main.id}/default/billing" not in text


def test_defaults_are_the_same_with_other_companies_around(db_session, factory):
    rep = factory.user()
    one, two = factory.company(), factory.company()
    a = addressing.add_address(one, GOOD, actor=rep)
    b = addressing.add_address(two, GOOD, actor=rep)
    c = addressing.add_address(one, {**GOOD, "label": "Second"}, actor=rep)
    addressing.make_default(c, "billing", actor=rep)
    assert (a.is_default_billing, c.is_default_billing, b.is_default_billing) == (False, True, True)


def test_edit_and_delete_hand_the_default_on(client, app, db_session, rep, factory):
    company = factory.company()
    main = address(db_session, company, "Main", billing=True, shipping=True, minutes=1)
    address(db_session, company, "Accounts", AddressType.BILLING, minutes=2)
    address(db_session, company, "Shop", AddressType.SHIPPING, minutes=3)

    page = client.get(f"/addresses/{main.id}/edit", headers=HX)
    assert page.status_code == 200 and b'value="Main St 1"' in page.data
    # Main becomes shipping only: the default billing moves to the oldest billing address
    response = post(client, app, f"/addresses/{main.id}/edit",
                    {**GOOD, "label": "Main", "type": "SHIPPING", "address_line1": "9 New Rd"})
    assert response.status_code == 200
    assert main.address_line1 == "9 New Rd"
    assert defaults(db_session, company) == (["Accounts"], ["Main"])
    changed = db_session.scalar(select(Activity).where(Activity.activity_type == "address.changed"))
    assert changed.detail["before"]["address_line1"] == "Main St 1" and changed.detail["after"]["type"] == "SHIPPING"

    # a refused edit changes nothing
    response = post(client, app, f"/addresses/{main.id}/edit", {**GOOD, "zip": "abc"})
    assert response.status_code == 422 and b"5-digit ZIP" in response.data
    db_session.refresh(main)
    assert main.zip == "75207-1234" and main.type == AddressType.SHIPPING

    # deleting the default shipping address hands it to the next one that can ship
    assert post(client, app, f"/addresses/{main.id}/delete").status_code == 200
    assert defaults(db_session, company) == (["Accounts"], ["Shop"])
    assert "address.deleted" in types_of(db_session, "address.")


def test_an_address_on_an_invoice_is_not_deleted(client, app, db_session, rep, factory):
    from app.billing.models import Invoice

    company = factory.company()
    main = address(db_session, company, "Main", billing=True, shipping=True)
    db_session.add(Invoice(company_id=company.id, bill_to_address_id=main.id, invoice_number=f"T-{uuid.uuid4().hex[:8]}",
                           subtotal=Decimal("10.00"), total=Decimal("10.00"), balance_due=Decimal("10.00")))
    db_session.flush()
    response = post(client, app, f"/addresses/{main.id}/delete")
    assert response.status_code == 422 and "is on 1 invoice and cannot be deleted" in response.get_data(as_text=True)
    assert addresses_of(db_session, company) == [main]


def test_addresses_and_notes_need_sales(client, app, db_session, factory):
    login(client, factory.user(UserRole.OPERATOR))
    company = factory.company()
    assert post(client, app, f"/companies/{company.id}/addresses", GOOD).status_code == 403
    assert post(client, app, f"/companies/{company.id}/notes", {"body": "hi", "lead_id": ""}).status_code == 403
    assert addresses_of(db_session, company) == []
    assert client.get(f"/companies/{company.id}/addresses/new").status_code == 403


# ---------------------------------------------------------------------------- notes


def notes_of(db_session, company):
    return db_session.scalars(select(Note).where(Note.company_id == company.id)).all()


def test_add_notes_newest_first_about_the_company_or_a_lead(client, app, db_session, rep, factory):
    company = factory.company()
    lead = factory.lead(company)
    response = post(client, app, f"/companies/{company.id}/notes", {"body": "Owner prefers mornings", "lead_id": ""})
    assert response.status_code == 200
    first, = notes_of(db_session, company)
    assert (first.author_id, first.lead_id, first.edited_at) == (rep.id, None, None)
    first.created_at = datetime.now(UTC) - timedelta(hours=1)  # one transaction: make the order visible
    db_session.flush()
    response = post(client, app, f"/companies/{company.id}/notes",
                    {"body": "Asked for a quote\nfor 12 trucks", "lead_id": str(lead.id)})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.index("Asked for a quote") < text.index("Owner prefers mornings")
    second = next(n for n in notes_of(db_session, company) if n.id != first.id)
    assert second.lead_id == lead.id
    added = db_session.scalars(select(Activity).where(Activity.activity_type == "note.added")).all()
    assert len(added) == 2
    assert {a.lead_id for a in added} == {None, lead.id} and {a.company_id for a in added} == {company.id}


@pytest.mark.parametrize("data, message, status", [
    ({"body": "   ", "lead_id": ""}, "Write something first.", 422),
    ({"body": "x" * 10_001, "lead_id": ""}, "Field cannot be longer than 10000 characters.", 422),
    ({"body": "hi", "lead_id": "not-a-lead"}, "Not a valid choice", 422),
])
def test_bad_notes_are_422_and_nothing_saved(client, app, db_session, rep, factory, data, message, status):
    company = factory.company()
    response = post(client, app, f"/companies/{company.id}/notes", data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert notes_of(db_session, company) == []
    assert types_of(db_session, "note.") == []


def test_a_lead_of_another_company_is_refused(client, app, db_session, rep, factory):
    company = factory.company()
    other_lead = factory.lead()
    response = post(client, app, f"/companies/{company.id}/notes", {"body": "hi", "lead_id": str(other_lead.id)})
    assert response.status_code == 422  # not among this company's leads
    assert notes_of(db_session, company) == []


def test_only_the_author_or_an_admin_edits_a_note(client, app, db_session, rep, factory):
    company = factory.company()
    note = Note(company_id=company.id, author_id=rep.id, body="Original")
    db_session.add(note)
    db_session.flush()

    page = client.get(f"/notes/{note.id}/edit", headers=HX)
    assert page.status_code == 200 and b"edit-body" in page.data
    response = post(client, app, f"/notes/{note.id}/edit", {"edit-body": "Original, corrected"})
    assert response.status_code == 200
    assert note.body == "Original, corrected" and note.edited_at is not None
    assert b"edited" in response.data
    edited = db_session.scalar(select(Activity).where(Activity.activity_type == "note.edited"))
    assert edited.detail["before"]["body"] == "Original" and edited.detail["after"]["body"] == "Original, corrected"

    # an empty edit: 422, unchanged
    response = post(client, app, f"/notes/{note.id}/edit", {"edit-body": " "})
    assert response.status_code == 422 and b"Write something first." in response.data
    db_session.refresh(note)
    assert note.body == "Original, corrected"

    # another rep: no Edit link, and 403 on the endpoints
    other = factory.user(UserRole.REP)
    login(client, other)
    text = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "Original, corrected" in text and f"/notes/{note.id}/edit" not in text
    assert client.get(f"/notes/{note.id}/edit", headers=HX).status_code == 403
    response = post(client, app, f"/notes/{note.id}/edit", {"edit-body": "Hijacked"})
    assert response.status_code == 403
    db_session.refresh(note)
    assert note.body == "Original, corrected"
    assert db_session.scalar(select(func.count()).select_from(Activity)
                             .where(Activity.activity_type == "note.edited")) == 1

    # an administrator may
    login(client, factory.user(UserRole.ADMIN))
    assert post(client, app, f"/notes/{note.id}/edit", {"edit-body": "Tidied by admin"}).status_code == 200
    assert note.body == "Tidied by admin" and note.author_id == rep.id



def test_an_address_on_a_signed_invoice_keeps_what_was_signed(client, app, db_session, rep, factory):
    from app.billing.models import Invoice

    company = factory.company()
    main = address(db_session, company, "Main", billing=True, shipping=True)
    invoice = Invoice(company_id=company.id, bill_to_address_id=main.id, invoice_number=f"T-{uuid.uuid4().hex[:8]}",
                      subtotal=Decimal("10.00"), total=Decimal("10.00"), balance_due=Decimal("10.00"),
                      signed_at=datetime.now(UTC))
    db_session.add(invoice)
    db_session.flush()
    form = {"label": "Main", "type": "BOTH", "address_line1": "Main St 1", "address_line2": "",
            "city": "Austin", "state": "TX", "zip": "78701", "country": "", "notes": ""}
    moved = post(client, app, f"/addresses/{main.id}/edit", {**form, "address_line1": "9 Elsewhere Rd"})
    assert moved.status_code == 422
    assert f"Main is on {invoice.invoice_number}, which the customer signed or paid" in moved.get_data(as_text=True)
    db_session.refresh(main)
    assert main.address_line1 == "Main St 1"
    # what the invoice does not print may still change
    noted = post(client, app, f"/addresses/{main.id}/edit", {**form, "notes": "Dock at the back"})
    assert noted.status_code == 200, noted.get_data(as_text=True)
    db_session.refresh(main)
    assert main.notes == "Dock at the back"
    # an unsigned, unpaid draft follows the company's address as before
    invoice.signed_at = None
    db_session.flush()
    assert post(client, app, f"/addresses/{main.id}/edit", {**form, "address_line1": "9 Elsewhere Rd"}).status_code == 200
