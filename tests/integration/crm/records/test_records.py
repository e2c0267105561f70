"""Companies and contacts: derived keys, duplicate warnings, merges that move every child row."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text

from app.activity.models import Activity
from app.auth.models import UserRole
from app.billing.models import Invoice
from app.crm.models import Company, Contact, Lead, Note
from app.crm.records.services import (
    RecordError,
    children_of,
    merge_companies,
    merge_contacts,
    save_company,
    save_contact,
)
from app.extensions import db


def test_company_keys_and_duplicate_warnings(db_session, factory):
    rep = factory.user()
    first, dups = save_company({"name": "ABC Towing, LLC", "phone": "(214) 555-0142",
                                "google_place_id": "ChIJabc"}, actor=rep)
    assert dups == [] and first.normalized_name == "abc towing"
    second, dups = save_company({"name": "abc towing llc"}, actor=rep)
    assert second is None and dups[0].record.id == first.id and dups[0].reasons == ["same name"]
    assert not dups[0].blocking
    forced, dups = save_company({"name": "abc towing llc"}, actor=rep, allow_duplicates=True)
    assert forced is not None and dups == []
    blocked, dups = save_company({"name": "Other", "google_place_id": "ChIJabc"}, actor=rep,
                                 allow_duplicates=True)
    assert blocked is None and dups[0].blocking and "same Google place" in dups[0].reasons
    with pytest.raises(RecordError):
        save_company({"name": "  "}, actor=rep)


def test_contact_keys_and_duplicates(db_session, factory):
    rep = factory.user()
    contact, _ = save_contact({"first_name": "Mike", "last_name": "Delgado", "email": " Mike@ABC.example.com ",
                               "phone": "214-555-0142"}, actor=rep)
    assert contact.email_normalized == "mike@abc.example.com"
    assert contact.phone_e164 == "+12145550142" and contact.full_name == "Mike Delgado"
    again, dups = save_contact({"first_name": "M", "email": "mike@abc.example.com"}, actor=rep,
                               allow_duplicates=True)
    assert again is None and dups[0].blocking  # e-mail is unique in the database
    phone_twin, dups = save_contact({"first_name": "Front desk", "phone": "+1 214 555 0142"}, actor=rep)
    assert phone_twin is None and dups[0].reasons == ["same phone"] and not dups[0].blocking
    with pytest.raises(RecordError) as exc:
        save_contact({"first_name": "X", "email": "not-an-email"}, actor=rep)
    assert exc.value.field == "email"
    with pytest.raises(RecordError):
        save_contact({"first_name": "Y", "phone": "12"}, actor=rep)


def _one_of_each(child_values: dict, children: list[tuple[str, str]], parent_id) -> dict:
    """Insert one row pointing at `parent_id` into every child table; {(table, column): row id}."""
    missing = {table for table, _ in children} - set(child_values)
    assert not missing, f"a merge test has no row for the child table(s) {sorted(missing)}: add one"
    rows = {}
    for table_name, column in children:
        table = db.metadata.tables[table_name]
        values = {**child_values[table_name], column: parent_id}
        rows[table_name, column] = db.session.execute(insert(table).values(values).returning(table.c.id)).scalar_one()
    return rows


def _pointing_at(rows: dict) -> dict:
    result = {}
    for (table_name, column), row_id in rows.items():
        table = db.metadata.tables[table_name]
        result[table_name, column] = db.session.scalar(select(table.c[column]).where(table.c.id == row_id))
    return result


def foreign_keys_to(target: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to `target` in the migrated database."""
    return sorted(db.session.execute(text("""
        SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
         WHERE c.contype = 'f' AND c.confrelid = CAST(:target AS regclass)"""), {"target": target}).all())


def test_a_merge_moves_every_table_with_a_foreign_key_to_the_record(db_session):
    """The merge's child tables are the database's foreign keys to companies / contacts."""
    assert children_of("companies") == foreign_keys_to("companies")
    assert {"invoices", "devices", "fulfillment_orders", "activities", "unapplied_payments"} <= {
        table for table, _ in children_of("companies")}
    assert children_of("contacts") == foreign_keys_to("contacts")


def test_merge_companies_moves_every_child_row(db_session, factory):
    rep = factory.user()
    keep = factory.company(name="ABC Towing")
    dupe = factory.company(name="A.B.C. Towing", fleet_size=12, google_place_id="ChIJdupe")
    other = factory.company(name="Someone Else")
    loose_contact = factory.contact(other)
    invoice = Invoice(company_id=other.id, invoice_number=f"INV-M-{uuid.uuid4().hex[:8]}",
                      subtotal=Decimal("0"), total=Decimal("0"), balance_due=Decimal("0"))
    db_session.add(invoice)
    db_session.flush()
    now = datetime.now(UTC)
    rows = _one_of_each({
        "company_addresses": dict(label="HQ", type="BILLING", address_line1="1 Main St", city="Dallas",
                                  state="TX", zip="75001"),
        "contacts": dict(first_name="Dina"),
        "leads": dict(contact_id=loose_contact.id),
        "activities": dict(activity_type="call.logged", summary="Called"),
        "invoices": dict(invoice_number=f"INV-M-{uuid.uuid4().hex[:8]}", subtotal=0, total=0, balance_due=0),
        "notes": dict(author_id=rep.id, body="Call after 3pm"),
        "devices": dict(serial_number=f"GL300-{uuid.uuid4().hex[:8]}"),
        "fulfillment_orders": dict(invoice_id=invoice.id, device_count=1),
        "tasks": dict(title="Follow up"),
        "unapplied_payments": dict(stripe_key=f"evt-{uuid.uuid4().hex}", payment_intent_id=f"pi_{uuid.uuid4().hex}",
                                   amount_minor=1000, currency="usd", occurred_at=now),
        # an invoice's push to QuickBooks stays listed under the company its invoice moves to
        "quickbooks_sync_ledger": dict(entity="INVOICE", local_id=invoice.id, operation="CREATE", state="SYNCED",
                                       request_id=uuid.uuid4().hex),
    }, foreign_keys_to("companies"), dupe.id)

    merge_companies(keep, dupe, actor=rep)
    db_session.expire_all()
    assert db_session.get(Company, dupe.id) is None
    # every row, not the counts the merge reports about itself
    assert _pointing_at(rows) == dict.fromkeys(rows, keep.id)
    assert keep.fleet_size == 12 and keep.google_place_id == "ChIJdupe"
    assert db_session.scalar(select(func.count()).select_from(Activity).where(
        Activity.company_id == keep.id, Activity.activity_type == "company.merged")) == 1


def test_merge_contacts_moves_every_child_row(db_session, factory):
    rep = factory.user()
    company = factory.company()
    keep = factory.contact(company, email=None, email_normalized=None)
    dupe = factory.contact(company)
    email = dupe.email
    now = datetime.now(UTC)
    rows = _one_of_each({
        "leads": dict(company_id=company.id),
        "activities": dict(activity_type="call.logged", summary="Called"),
        "bookings": dict(cal_booking_uid=uuid.uuid4().hex, attendee_email="a@example.com", event_type_slug="demo",
                         event_type_title="Demo", start_at=now, end_at=now + timedelta(minutes=30)),
        "call_logs": dict(direction="OUTBOUND", outcome="CONNECTED"),
        "conversations": dict(channel="SMS"),
        "sms_messages": dict(direction="INBOUND", from_number="+12145550142", to_number="+12145550100", body="hi"),
    }, foreign_keys_to("contacts"), dupe.id)
    merge_contacts(keep, dupe, actor=rep)
    db_session.expire_all()
    assert _pointing_at(rows) == dict.fromkeys(rows, keep.id)
    assert db_session.get(Contact, dupe.id) is None
    assert db_session.get(Contact, keep.id).email == email


from tests.factories import csrf_token, login  # noqa: E402


def test_company_form_validates_warns_and_saves(app, client, db_session, factory):
    rep = factory.user()
    existing = factory.company(name="Cool Breeze Heating & Air", normalized_name="cool breeze heating and air")
    login(client, rep)
    assert client.get("/companies/new").status_code == 200
    empty = client.post("/companies/new", data={"name": "", "status": "LEAD", "assigned_rep_id": "", "csrf_token": csrf_token(client, app)})
    assert empty.status_code == 422 and b"A company needs a name." in empty.data
    bad = client.post("/companies/new", data={"name": "X", "fleet_size": "-3", "status": "LEAD", "assigned_rep_id": "",
                                              "csrf_token": csrf_token(client, app)})
    assert bad.status_code == 422
    warned = client.post("/companies/new", data={"name": "Cool Breeze Heating and Air", "status": "LEAD", "assigned_rep_id": "",
                                                 "csrf_token": csrf_token(client, app)})
    assert warned.status_code == 422 and b"Possible duplicate" in warned.data
    assert str(existing.id).encode() in warned.data and b"Save anyway" in warned.data
    count_before = db_session.scalar(select(func.count()).select_from(Company))
    saved = client.post("/companies/new", data={"name": "Cool Breeze Heating and Air", "status": "LEAD", "assigned_rep_id": "",
                                                "confirm_duplicate": "yes", "csrf_token": csrf_token(client, app)})
    assert saved.status_code == 302
    assert db_session.scalar(select(func.count()).select_from(Company)) == count_before + 1


def test_contact_form_and_lead_form(app, client, db_session, factory):
    rep = factory.user()
    company = factory.company()
    login(client, rep)
    redirect_first = client.get(f"/companies/{company.id}/leads/new")
    assert redirect_first.status_code == 302 and "/contacts/new" in redirect_first.headers["Location"]
    bad = client.post(f"/companies/{company.id}/contacts/new", data={
        "first_name": "Tanya", "email": "tanya@", "csrf_token": csrf_token(client, app)})
    assert bad.status_code == 422 and b"does not look right" in bad.data
    ok = client.post(f"/companies/{company.id}/contacts/new", data={
        "first_name": "Tanya", "last_name": "Brooks", "email": "Tanya@CoolBreeze.example.com",
        "phone": "(602) 555-0117", "csrf_token": csrf_token(client, app)})
    assert ok.status_code == 302
    contact = db_session.scalar(select(Contact).where(Contact.email_normalized == "tanya@coolbreeze.example.com"))
    assert contact.phone_e164 == "+16025550117"
    lost = client.post(f"/companies/{company.id}/leads/new", data={
        "contact_id": str(contact.id), "stage": "LOST", "csrf_token": csrf_token(client, app)})
    assert lost.status_code == 422
    made = client.post(f"/companies/{company.id}/leads/new", data={
        "contact_id": str(contact.id), "stage": "HOT", "estimated_units": "22", "estimated_revenue": "1738.00",
        "csrf_token": csrf_token(client, app)})
    assert made.status_code == 302
    lead = db_session.scalar(select(Lead).where(Lead.contact_id == contact.id))
    assert str(lead.estimated_revenue) == "1738.00"


def test_merge_through_the_page(app, client, db_session, factory):
    rep = factory.user(UserRole.ADMIN)  # merges are the owner's and admins' (test_merge_permissions)
    keep = factory.company(name="Harbor Plumbing")
    dupe = factory.company(name="Harbor Plumbing & Drain")
    lead = factory.lead(company=dupe)
    login(client, rep)
    page = client.get(f"/companies/{keep.id}/merge")
    assert page.status_code == 200 and b"Harbor Plumbing &amp; Drain" in page.data
    confirm = client.get(f"/companies/{keep.id}/merge?with={dupe.id}")
    assert b"cannot be undone" in confirm.data
    done = client.post(f"/companies/{keep.id}/merge", data={"with": str(dupe.id), "csrf_token": csrf_token(client, app)})
    assert done.status_code == 302
    assert db_session.get(Company, dupe.id) is None
    db_session.expire_all()
    assert db_session.get(Lead, lead.id).company_id == keep.id


def test_companies_list_pages_and_searches_by_similarity(app, client, db_session, factory):
    login(client, factory.user())
    target = factory.company(name="Gaines Electricians")
    for i in range(3):
        factory.company(name=f"ABC Electric {i}")
    html = client.get("/companies?q=Ganies Electricians", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert str(target.id) in html and "ABC Electric" not in html  # a close match: the others are not
    # a shorter query also finds the companies sharing a word, after the closest one
    html = client.get("/companies?q=Ganies Electric", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "ABC Electric" in html
    assert html.index("Gaines Electricians") < html.index("ABC Electric")
    first = client.get("/companies")
    assert first.status_code == 200


def test_companies_list_filters_sorts_and_pages(app, client, db_session, factory, monkeypatch):
    from app.crm.models import CompanyStatus
    from app.crm.records import queries

    rep = factory.user()
    big = factory.company(name="Zulu Freight", fleet_size=90, assigned_rep_id=rep.id, industry="Trucking")
    small = factory.company(name="Alpha Freight", fleet_size=3, assigned_rep_id=rep.id, industry="Trucking",
                            status=CompanyStatus.CUSTOMER)
    login(client, rep)
    html = client.get(f"/companies?rep={rep.id}&sort=fleet", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert html.index("Zulu Freight") < html.index("Alpha Freight")
    html = client.get(f"/companies?rep={rep.id}&status=CUSTOMER", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Alpha Freight" in html and "Zulu Freight" not in html
    page = queries.companies_page(queries.CompanyFilters(rep_id=rep.id, sort="fleet"), None, limit=1)
    assert [c.id for c in page.companies] == [big.id] and page.next_after
    rest = queries.companies_page(queries.CompanyFilters(rep_id=rep.id, sort="fleet"), page.next_after, limit=1)
    assert [c.id for c in rest.companies] == [small.id]
    full = client.get("/companies")
    assert full.status_code == 200 and b"Import CSV" in full.data


def test_companies_list_finds_a_misspelled_word_like_the_header_search(app, client, db_session, factory):
    target = factory.company(name="Brooks Plumbing & Drain Inc.")
    login(client, factory.user())
    html = client.get("/companies?q=brroks", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert str(target.id) in html


def test_contact_page_shows_the_person_their_leads_and_activity(app, client, db_session, factory):
    company = factory.company(name="Gaines Electricians")
    contact = factory.contact(company, full_name="Dana Gaines", title="Owner", phone="+15125550134",
                              phone_e164="+15125550134", phone_type="MOBILE", is_sms_eligible=True)
    lead = factory.lead(company=company, contact=contact, estimated_revenue=Decimal("1892.00"))
    login(client, factory.user())
    page = client.get(f"/contacts/{contact.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dana Gaines" in html and "Owner" in html and "Gaines Electricians" in html
    assert "+15125550134" in html and "Can receive SMS" in html
    assert f'href="/leads/{lead.id}"' in html and "$1,892.00" in html
    assert f"/activity/timeline?contact_id={contact.id}" in html
    assert client.get("/contacts/not-a-uuid").status_code == 404


def test_merge_contacts_through_the_page(app, client, db_session, factory):
    company = factory.company()
    keep = factory.contact(company, full_name="Carlos O'Connor", phone_e164="+12145550142")
    dupe = factory.contact(None, full_name="Carlos OConnor", phone_e164="+12145550142", email=None,
                           email_normalized=None, title="Dispatcher")
    unrelated = factory.contact(company, full_name="Somebody Else")
    lead = factory.lead(company=company, contact=dupe)
    login(client, factory.user(UserRole.ADMIN))
    picker = client.get(f"/contacts/{keep.id}/merge").get_data(as_text=True)
    assert "Carlos OConnor" in picker and "Somebody Else" not in picker
    confirm = client.get(f"/contacts/{keep.id}/merge?with={dupe.id}").get_data(as_text=True)
    assert "This cannot be undone" in confirm and "1 lead" in confirm
    done = client.post(f"/contacts/{keep.id}/merge", data={"with": str(dupe.id), "csrf_token": csrf_token(client, app)})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/contacts/{keep.id}")
    db_session.expire_all()
    assert db_session.get(Contact, dupe.id) is None and db_session.get(Contact, unrelated.id) is not None
    assert db_session.get(Lead, lead.id).contact_id == keep.id
    assert db_session.get(Contact, keep.id).title == "Dispatcher"  # an empty field filled from the duplicate
    assert client.post(f"/contacts/{keep.id}/merge", data={"csrf_token": csrf_token(client, app)}).status_code == 422


def test_a_merge_keeps_children_the_session_had_loaded_on_the_duplicate(db_session, factory):
    from app.crm.models import AddressType, CompanyAddress

    rep = factory.user()
    keep, dupe = factory.company(name="Harbor Plumbing"), factory.company(name="Harbor Plumbing Inc")
    address = CompanyAddress(company_id=dupe.id, label="Yard", type=AddressType.BOTH, address_line1="1 Dock St", city="Austin",
                             state="TX", zip="78701")
    db_session.add(address)
    db_session.add(Note(company_id=dupe.id, author_id=rep.id, body="Gate code 4411"))
    person = factory.contact(dupe)
    lead = factory.lead(company=dupe, contact=person)
    db_session.flush()
    # a page that showed the duplicate loaded its collections into the session
    assert len(dupe.addresses) == 1 and len(dupe.notes) == 1 and len(person.leads) == 1
    merge_companies(keep, dupe, actor=rep)
    db_session.expire_all()
    assert [a.id for a in db_session.get(Company, keep.id).addresses] == [address.id]
    assert len(db_session.get(Company, keep.id).notes) == 1
    other = factory.contact(keep)
    assert len(other.leads) == 0
    merge_contacts(other, person, actor=rep)
    db_session.expire_all()
    assert db_session.get(Lead, lead.id).contact_id == other.id
