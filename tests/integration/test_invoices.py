"""Invoices: numbering (sequential, gap-free, concurrent), the builder's services and
their editability rules, void and reissue, and the pages (422 on bad input, nothing changed)."""
from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.auth.models import UserRole
from tests.conftest import committing_app
from tests.factories import csrf_token, login


@pytest.fixture
def catalog(db_session):
    from app.billing.models import (
        AgreementTemplate,
        Product,
        ProductType,
        ShippingType,
        TaxRate,
        TaxRateCategory,
    )

    tag = uuid.uuid4().hex[:6]
    c = {
        "tracker": Product(qb_item_id=f"t-{tag}-1", name="GL300 Tracker", unit_price=Decimal("79.00"),
                           type=ProductType.ONE_TIME, category="Hardware"),
        "install": Product(qb_item_id=f"t-{tag}-2", name="Installation", unit_price=Decimal("65.00"),
                           type=ProductType.SERVICE, category="Services"),
        "ship_product": Product(qb_item_id=f"t-{tag}-3", name="Freight", unit_price=Decimal("20.00"),
                                type=ProductType.ONE_TIME, category="Shipping"),
        "plan": Product(qb_item_id=f"t-{tag}-4", name="Monthly plan", unit_price=Decimal("24.95"),
                        type=ProductType.RECURRING, category="Service Plans"),
        "rate": TaxRate(slug=f"sc-{tag}", name="Santa Clara", rate=Decimal("0.09375"),
                        category=TaxRateCategory.CA_DISTRICT),
        "ground": ShippingType(slug=f"ground-{tag}", name="UPS Ground", default_cost=Decimal("18.00")),
        "air": ShippingType(slug=f"air-{tag}", name="UPS Air", default_cost=Decimal("32.00")),
        "net30": _term(db_session, "net-30", "Net 30"),
        "receipt": _term(db_session, "due-on-receipt", "Due on receipt"),
        "agreement": AgreementTemplate(slug=f"agr-{tag}", name="Agreement", body="Hi {{company_name}}",
                                       variables=["company_name"]),
    }
    for obj in c.values():
        db_session.add(obj)
    db_session.flush()
    return c


def _term(session, slug, name):
    """Payment terms by their real slugs (the days come from the slug)."""
    from app.billing.models import PaymentTerm

    return session.scalar(sa.select(PaymentTerm).where(PaymentTerm.slug == slug)) or PaymentTerm(
        slug=slug, name=name)


@pytest.fixture
def company(factory):
    from app.crm.models import AddressType, CompanyAddress

    company = factory.company()
    factory._add(CompanyAddress(company_id=company.id, label="HQ", type=AddressType.BOTH,
                                address_line1="1 Main St", city="San Jose", state="CA", zip="95110",
                                is_default_billing=True, is_default_shipping=False))
    factory._add(CompanyAddress(company_id=company.id, label="Yard", type=AddressType.SHIPPING,
                                address_line1="9 Yard Rd", city="San Jose", state="CA", zip="95112",
                                is_default_billing=False, is_default_shipping=True))
    factory.session.refresh(company)
    return company


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP)


def _new(company, rep, **kw):
    from app.billing.invoices import create_invoice

    return create_invoice(company, actor=rep, **kw)


# ------------------------------------------------------------------ creation and numbering

def test_create_invoice_is_a_numbered_draft_with_the_default_addresses(db_session, company, rep):
    from app.billing.models import InvoiceStatus

    invoice = _new(company, rep)
    assert invoice.status is InvoiceStatus.DRAFT
    assert re.fullmatch(rf"INV-{invoice.created_at.year}-\d{{5}}", invoice.invoice_number)  # its own year
    assert invoice.bill_to_address.label == "HQ"
    assert invoice.ship_to_address.label == "Yard"
    assert (invoice.subtotal, invoice.total, invoice.balance_due) == (0, 0, 0)


def test_numbers_follow_each_other(db_session, company, rep):
    a, b, c = _new(company, rep), _new(company, rep), _new(company, rep)
    numbers = [int(i.invoice_number.rsplit("-", 1)[1]) for i in (a, b, c)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


def test_a_rolled_back_creation_gives_its_number_back(db_session, company, rep):
    first = _new(company, rep)
    n = int(first.invoice_number.rsplit("-", 1)[1])
    savepoint = db_session.begin_nested()
    taken = _new(company, rep)
    assert taken.invoice_number.endswith(f"{n + 1:05d}")
    savepoint.rollback()
    again = _new(company, rep)
    assert again.invoice_number.endswith(f"{n + 1:05d}")


def test_the_year_of_creation_starts_its_own_sequence(db_session):
    from app.billing.invoices import next_invoice_number

    assert next_invoice_number(2091) == "INV-2091-00001"
    assert next_invoice_number(2091) == "INV-2091-00002"
    assert next_invoice_number(2092) == "INV-2092-00001"


def test_a_lead_of_another_company_is_refused(db_session, company, rep, factory):
    from app.billing.invoices import InvoiceError

    other = factory.lead()
    with pytest.raises(InvoiceError):
        _new(company, rep, lead=other)


@pytest.fixture(scope="module")
def numbering_app(databases, redis_url):
    """A database of its own: the concurrent creators commit for real."""
    with committing_app(databases, redis_url, "crm_invoice_numbers") as app:
        yield app


def test_concurrent_creation_has_no_duplicates_and_no_gaps(numbering_app):
    from app.auth.services import create_user
    from app.billing.invoices import create_invoice
    from app.billing.models import Invoice
    from app.crm.models import Company
    from app.extensions import db

    app = numbering_app
    with app.app_context():
        user = create_user(email="numbers@example.com", first_name="Num", last_name="Bers",
                           role=UserRole.REP, password="numbers pass 123")
        company = Company(name="Numbers Inc", normalized_name="numbers inc")
        db.session.add(company)
        db.session.commit()
        user_id, company_id = user.id, company.id

    threads, per_thread, errors = 4, 15, []
    held = threading.Event()

    def creator(index):
        try:
            with app.app_context():
                actor, comp = db.session.get(type(user), user_id), db.session.get(Company, company_id)
                assert held.wait(60), "the holder never took its number"
                for i in range(per_thread):
                    create_invoice(comp, actor=actor)
                    if index == 0 and i % 5 == 0:
                        db.session.rollback()  # a failed creation: its number must come back
                    else:
                        db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def holder():
        """Takes a number first and sits on it until others queue behind it, then rolls back."""
        try:
            with app.app_context():
                actor, comp = db.session.get(type(user), user_id), db.session.get(Company, company_id)
                create_invoice(comp, actor=actor)
                held.set()
                with db.engine.connect() as watcher:  # poll until a creator waits for the counter
                    deadline = time.monotonic() + 60
                    while not watcher.scalar(sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock'")):
                        assert time.monotonic() < deadline, "no creator ever waited for the held number"
                        time.sleep(0.01)
                db.session.rollback()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    workers = [threading.Thread(target=holder)]
    workers += [threading.Thread(target=creator, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not any(w.is_alive() for w in workers), "a creator is stuck (deadlock?)"
    assert errors == []

    with app.app_context():
        created = db.session.execute(sa.select(Invoice.invoice_number, Invoice.created_at)).all()
        counter = db.session.execute(sa.text("SELECT year, last_number FROM invoice_number_counters")).all()
    committed = threads * per_thread - per_thread // 5  # thread 0 rolled back 3 of its 15
    assert len(created) == committed
    by_year: dict[int, list[str]] = {}
    for number, created_at in created:  # each invoice's own year (a run may cross New Year)
        by_year.setdefault(created_at.year, []).append(number)
    for year, numbers in by_year.items():
        assert sorted(numbers) == [f"INV-{year}-{n:05d}" for n in range(1, len(numbers) + 1)]
    assert sorted(counter) == sorted((year, len(numbers)) for year, numbers in by_year.items())


# ------------------------------------------------------------------ lines and totals

def test_lines_totals_tax_and_shipping(db_session, company, rep, catalog):
    from app.billing.invoices import add_line

    invoice = _new(company, rep)
    add_line(invoice, actor=rep, product=catalog["tracker"], quantity=10, unit_price=None)
    add_line(invoice, actor=rep, product=catalog["install"], quantity=10, unit_price=None)
    add_line(invoice, actor=rep, description="Custom bracket", quantity=3, unit_price=Decimal("4.34"))
    _terms(invoice, rep, tax_rate=catalog["rate"], shipping_type=catalog["ground"])
    assert [ln.total for ln in invoice.line_items] == [Decimal("790.00"), Decimal("650.00"),
                                                        Decimal("13.02")]
    assert invoice.subtotal == Decimal("1453.02")
    # taxable: tracker 790.00 + custom 13.02 = 803.02 × 0.09375 = 75.283125 -> 75.28
    assert invoice.tax_amount == Decimal("75.28")
    assert invoice.shipping_cost == Decimal("18.00")  # the shipping type's default
    assert invoice.total == Decimal("1546.30")
    assert invoice.balance_due == Decimal("1546.30")


def _terms(invoice, actor, **changes):
    from app.billing.invoices import update_invoice_terms

    values = dict(tax_rate=invoice.tax_rate, shipping_type=invoice.shipping_type,
                  shipping_cost=invoice.shipping_cost, payment_term=invoice.payment_term,
                  contract_term=invoice.contract_term, backend=invoice.backend, carrier=invoice.carrier,
                  agreement_template=invoice.agreement_template, bill_to=invoice.bill_to_address,
                  ship_to=invoice.ship_to_address, notes=invoice.notes, due_date=invoice.due_date)
    if "shipping_type" in changes and "shipping_cost" not in changes:
        values["shipping_cost"] = None
    values.update(changes)
    return update_invoice_terms(invoice, actor=actor, **values)


def test_non_taxable_company_and_recurring_lines(db_session, company, rep, catalog):
    from app.billing.invoices import add_line

    invoice = _new(company, rep)
    add_line(invoice, actor=rep, product=catalog["plan"], quantity=4, unit_price=None)  # recurring: taxed
    _terms(invoice, rep, tax_rate=catalog["rate"])
    assert invoice.tax_amount == Decimal("9.36")  # 99.80 × 0.09375 = 9.35625
    company.taxable = False
    _terms(invoice, rep, notes="exempt now")
    assert invoice.tax_amount == Decimal("0.00")
    assert invoice.total == Decimal("99.80")


def test_update_and_remove_lines_recompute(db_session, company, rep, catalog):
    from app.billing.invoices import add_line, remove_line, update_line

    invoice = _new(company, rep)
    line = add_line(invoice, actor=rep, product=catalog["tracker"], quantity=1, unit_price=None)
    other = add_line(invoice, actor=rep, description="Bracket", quantity=2, unit_price=Decimal("5.00"))
    update_line(invoice, line, actor=rep, description="GL300 (discounted)", quantity=5, unit_price=Decimal("70.00"))
    assert line.total == Decimal("350.00") and invoice.subtotal == Decimal("360.00")
    remove_line(invoice, other, actor=rep)
    assert invoice.subtotal == Decimal("350.00") and len(invoice.line_items) == 1
    db_session.flush()
    db_session.expire_all()
    from app.billing.models import Invoice

    fresh = db_session.get(Invoice, invoice.id)
    assert fresh.total == Decimal("350.00") and [ln.description for ln in fresh.line_items] == ["GL300 (discounted)"]


@pytest.mark.parametrize("quantity, price, field", [
    (0, Decimal("1.00"), "quantity"), (100_001, Decimal("1.00"), "quantity"),
    (1, Decimal("-1.00"), "unit_price"), (1, Decimal("1.001"), "unit_price"),
    (100_000, Decimal("99999.99"), "quantity"),  # line over $99,999,999.99
])
def test_bad_lines_are_refused(db_session, company, rep, quantity, price, field):
    from app.billing.invoices import InvoiceError, add_line

    invoice = _new(company, rep)
    with pytest.raises(InvoiceError) as info:
        add_line(invoice, actor=rep, description="x", quantity=quantity, unit_price=price)
    assert info.value.field == field


def test_payment_term_sets_the_due_date(db_session, company, rep, catalog):
    from app.billing.invoices import payment_term_days

    invoice = _new(company, rep)
    created = invoice.created_at.date()
    _terms(invoice, rep, payment_term=catalog["net30"])
    assert invoice.due_date == created + timedelta(days=30)
    _terms(invoice, rep, due_date=date(2030, 1, 31))  # set by hand, term unchanged: kept
    assert invoice.due_date == date(2030, 1, 31)
    _terms(invoice, rep, payment_term=catalog["receipt"])
    assert invoice.due_date == created
    from types import SimpleNamespace

    assert payment_term_days(SimpleNamespace(slug="due-on-receipt")) == 0
    assert payment_term_days(SimpleNamespace(slug="net-15")) == 15
    assert payment_term_days(SimpleNamespace(slug="custom")) is None


def test_addresses_of_another_company_are_refused(db_session, company, rep, factory):
    from app.billing.invoices import InvoiceError
    from app.crm.models import AddressType, CompanyAddress

    other = factory.company()
    foreign = factory._add(CompanyAddress(company_id=other.id, label="X", type=AddressType.BOTH,
                                          address_line1="x", city="x", state="CA", zip="1"))
    invoice = _new(company, rep)
    with pytest.raises(InvoiceError):
        _terms(invoice, rep, bill_to=foreign)


# ------------------------------------------------------------------ editability, void, reissue

def test_signed_paid_and_void_invoices_are_locked(db_session, company, rep, catalog):
    from app.billing.invoices import InvoiceLocked, add_line, assert_editable, void_invoice
    from app.billing.models import InvoiceStatus

    signed = _new(company, rep)
    signed.signed_at = datetime.now(UTC)
    with pytest.raises(InvoiceLocked, match="void and reissue"):
        assert_editable(signed)
    with pytest.raises(InvoiceLocked):
        add_line(signed, actor=rep, description="x", quantity=1, unit_price=Decimal("1.00"))

    paid = _new(company, rep)
    paid.status, paid.amount_paid = InvoiceStatus.PARTIAL, Decimal("10.00")
    with pytest.raises(InvoiceLocked):
        assert_editable(paid)
    with pytest.raises(InvoiceLocked):
        void_invoice(paid, actor=rep, reason="changed mind")  # payments were taken

    sent = _new(company, rep)
    sent.status = InvoiceStatus.SENT
    assert_editable(sent)  # sent but neither signed nor paid: still editable

    void = _new(company, rep)
    void_invoice(void, actor=rep, reason="wrong company")
    assert void.status is InvoiceStatus.VOID and void.voided_at is not None
    with pytest.raises(InvoiceLocked):
        assert_editable(void)
    with pytest.raises(InvoiceLocked):
        void_invoice(void, actor=rep, reason="again")


def test_reissue_voids_and_copies_into_a_new_draft(db_session, company, rep, catalog):
    from app.activity.models import Activity
    from app.billing.invoices import add_line, reissue_invoice
    from app.billing.models import InvoiceStatus

    invoice = _new(company, rep)
    add_line(invoice, actor=rep, product=catalog["tracker"], quantity=3, unit_price=None)
    add_line(invoice, actor=rep, product=catalog["install"], quantity=3, unit_price=None)
    _terms(invoice, rep, tax_rate=catalog["rate"], shipping_type=catalog["air"], notes="Gate code 1234")
    invoice.signed_at = datetime.now(UTC)
    copy = reissue_invoice(invoice, actor=rep, reason="customer wants 4")
    assert invoice.status is InvoiceStatus.VOID
    assert copy.status is InvoiceStatus.DRAFT and copy.signed_at is None
    assert copy.invoice_number != invoice.invoice_number
    assert [(ln.description, ln.quantity, ln.unit_price, ln.product_code) for ln in copy.line_items] == \
        [(ln.description, ln.quantity, ln.unit_price, ln.product_code) for ln in invoice.line_items]
    assert (copy.total, copy.tax_amount, copy.shipping_cost, copy.notes) == \
        (invoice.total, invoice.tax_amount, Decimal("32.00"), "Gate code 1234")
    assert copy.bill_to_address_id == invoice.bill_to_address_id
    kinds = db_session.scalars(sa.select(Activity.activity_type).where(
        Activity.company_id == company.id)).all()
    assert {"invoice.created", "invoice.voided", "invoice.reissued", "invoice.line_added"} <= set(kinds)


def test_inactive_references_stay_on_old_invoices_but_leave_the_dropdowns(db_session, company, rep, catalog):
    from app.billing.models import TaxRate
    from app.billing.reference import choices

    invoice = _new(company, rep)
    _terms(invoice, rep, tax_rate=catalog["rate"])
    catalog["rate"].active = False
    db_session.flush()
    assert catalog["rate"] not in choices(TaxRate)
    assert catalog["rate"] in choices(TaxRate, invoice.tax_rate)
    _terms(invoice, rep, notes="still here")
    assert invoice.tax_rate is catalog["rate"]


# ------------------------------------------------------------------ pages

@pytest.fixture
def signed_in(client, rep):
    login(client, rep)
    return client


def _post(client, app, url, data, htmx=True):
    headers = {"X-CSRFToken": csrf_token(client, app)}
    if htmx:
        headers["HX-Request"] = "true"
    return client.post(url, data=data, headers=headers)


def test_new_invoice_page_and_create(app, signed_in, company, rep, db_session):
    from app.billing.models import Invoice

    page = signed_in.get(f"/invoices/new?company_id={company.id}")
    assert page.status_code == 200 and b"Create draft invoice" in page.data
    response = _post(signed_in, app, "/invoices/new", {"company_id": str(company.id), "lead_id": ""}, htmx=False)
    assert response.status_code == 303
    invoice = db_session.scalar(sa.select(Invoice).where(Invoice.company_id == company.id))
    assert response.headers["Location"].endswith(f"/invoices/{invoice.id}")
    page = signed_in.get(f"/invoices/{invoice.id}")
    assert page.status_code == 200
    assert invoice.invoice_number.encode() in page.data and b'id="invoice-totals"' in page.data


def test_company_picker(signed_in, company):
    page = signed_in.get("/invoices/new")
    assert page.status_code == 200 and b"Which company" in page.data
    results = signed_in.get(f"/invoices/new?q={company.name[:8]}", headers={"HX-Request": "true"})
    assert results.status_code == 200
    assert f"/invoices/new?company_id={company.id}" in results.get_data(as_text=True)


def test_add_line_through_the_page_updates_the_totals(app, signed_in, company, rep, catalog, db_session):
    invoice = _new(company, rep)
    response = _post(signed_in, app, f"/invoices/{invoice.id}/lines",
                     {"product_id": str(catalog["tracker"].id), "description": "", "quantity": "2", "unit_price": ""})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'hx-target="#invoice-lines"' in body and 'hx-target="#invoice-totals"' in body
    assert "$158.00" in body
    db_session.refresh(invoice)
    assert invoice.subtotal == Decimal("158.00")


@pytest.mark.parametrize("data", [
    {"product_id": "", "description": "", "quantity": "1", "unit_price": "5"},           # nothing described
    {"product_id": "", "description": "Thing", "quantity": "0", "unit_price": "5"},      # quantity
    {"product_id": "", "description": "Thing", "quantity": "x", "unit_price": "5"},
    {"product_id": "", "description": "Thing", "quantity": "1", "unit_price": "-5"},     # price
    {"product_id": "", "description": "Thing", "quantity": "1", "unit_price": "1.234"},
    {"product_id": str(uuid.uuid4()), "description": "Thing", "quantity": "1", "unit_price": "5"},  # no such product
    {"product_id": "", "description": "Thing", "quantity": "100000", "unit_price": "99999.99"},   # too large
])
def test_bad_line_input_is_422_and_changes_nothing(app, signed_in, company, rep, db_session, data):
    from app.billing.models import InvoiceLineItem

    invoice = _new(company, rep)
    db_session.commit()
    response = _post(signed_in, app, f"/invoices/{invoice.id}/lines", data)
    assert response.status_code == 422
    assert 'hx-target="#add-line"' in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(InvoiceLineItem)
                             .where(InvoiceLineItem.invoice_id == invoice.id)) == 0


def test_inline_line_edit_and_bad_edit(app, signed_in, company, rep, db_session):
    from app.billing.invoices import add_line

    invoice = _new(company, rep)
    line = add_line(invoice, actor=rep, description="Bracket", quantity=2, unit_price=Decimal("5.00"))
    db_session.commit()
    ok = _post(signed_in, app, f"/invoices/{invoice.id}/lines/{line.id}",
               {"description": "Bracket", "quantity": "3", "unit_price": "5.00"})
    assert ok.status_code == 200 and "$15.00" in ok.get_data(as_text=True)
    bad = _post(signed_in, app, f"/invoices/{invoice.id}/lines/{line.id}",
                {"description": "", "quantity": "-1", "unit_price": "abc"})
    assert bad.status_code == 422 and f'hx-target="#line-{line.id}"' in bad.get_data(as_text=True)
    db_session.refresh(line)
    assert (line.description, line.quantity, line.total) == ("Bracket", 3, Decimal("15.00"))
    gone = _post(signed_in, app, f"/invoices/{invoice.id}/lines/{line.id}/delete", {})
    assert gone.status_code == 200 and "delete" in gone.get_data(as_text=True)
    db_session.refresh(invoice)
    assert invoice.line_items == [] and invoice.total == 0


def test_terms_form_and_bad_terms(app, signed_in, company, rep, catalog, db_session):
    invoice = _new(company, rep)
    db_session.commit()
    base = {"bill_to_id": str(invoice.bill_to_address_id), "ship_to_id": str(invoice.ship_to_address_id),
            "tax_rate_id": str(catalog["rate"].id), "shipping_type_id": str(catalog["ground"].id),
            "shipping_cost": "", "payment_term_id": str(catalog["net30"].id), "due_date": "",
            "contract_term_id": "", "backend_id": "", "carrier_id": "", "agreement_template_id": "",
            "notes": "Leave at the gate"}
    ok = _post(signed_in, app, f"/invoices/{invoice.id}/terms", base)
    assert ok.status_code == 200
    db_session.refresh(invoice)
    assert invoice.shipping_cost == Decimal("18.00") and invoice.notes == "Leave at the gate"
    assert invoice.due_date == invoice.created_at.date() + timedelta(days=30)
    for bad in ({"shipping_cost": "-3"}, {"tax_rate_id": str(uuid.uuid4())}, {"due_date": "31/31/2026"},
                {"shipping_cost": "1.999"}):
        response = _post(signed_in, app, f"/invoices/{invoice.id}/terms", {**base, **bad, "notes": "changed"})
        assert response.status_code == 422, bad
        db_session.refresh(invoice)
        assert invoice.notes == "Leave at the gate"


def test_locked_invoice_refuses_edits_through_the_page(app, signed_in, company, rep, db_session):
    from app.billing.invoices import add_line

    invoice = _new(company, rep)
    add_line(invoice, actor=rep, description="Bracket", quantity=2, unit_price=Decimal("5.00"))
    invoice.signed_at = datetime.now(UTC)
    db_session.commit()
    response = _post(signed_in, app, f"/invoices/{invoice.id}/lines",
                     {"product_id": "", "description": "More", "quantity": "1", "unit_price": "1.00"})
    assert response.status_code == 409 and response.headers.get("HX-Refresh") == "true"
    page = signed_in.get(f"/invoices/{invoice.id}")
    assert b"Locked." in page.data and b'id="add-line"' not in page.data
    db_session.refresh(invoice)
    assert len(invoice.line_items) == 1


def test_void_and_reissue_through_the_page(app, signed_in, company, rep, db_session, factory):
    from app.billing.models import Invoice, InvoiceStatus

    invoice = _new(company, rep)
    login(signed_in, factory.user(UserRole.ADMIN))  # voiding is an admin's (a rep asks: test_billing_roles)
    db_session.commit()
    missing = _post(signed_in, app, f"/invoices/{invoice.id}/void", {"reason": ""}, htmx=False)
    assert missing.status_code == 422
    db_session.refresh(invoice)
    assert invoice.status is InvoiceStatus.DRAFT
    response = _post(signed_in, app, f"/invoices/{invoice.id}/reissue", {"reason": "new price"}, htmx=False)
    assert response.status_code == 303
    db_session.refresh(invoice)
    assert invoice.status is InvoiceStatus.VOID
    copy = db_session.scalar(sa.select(Invoice).where(Invoice.company_id == company.id,
                                                      Invoice.status == InvoiceStatus.DRAFT))
    assert response.headers["Location"].endswith(f"/invoices/{copy.id}")


def test_list_filters_sorting_paging_and_overdue(app, signed_in, company, rep, db_session, catalog):
    from app.billing.invoices import add_line, list_invoices
    from app.billing.models import InvoiceStatus

    made = []
    for i in range(5):
        inv = _new(company, rep)
        add_line(inv, actor=rep, description="x", quantity=i + 1, unit_price=Decimal("10.00"))
        made.append(inv)
    made[0].due_date = date.today() - timedelta(days=3)          # overdue
    made[1].due_date = date.today() - timedelta(days=3)
    made[1].status = InvoiceStatus.VOID                           # void: not overdue
    made[2].due_date = date.today() + timedelta(days=3)           # not yet due
    db_session.flush()
    overdue = list_invoices(overdue=True, company_id=company.id)
    assert [i.id for i in overdue.items] == [made[0].id]
    by_total = list_invoices(company_id=company.id, sort="total", descending=False, limit=2)
    assert [i.total for i in by_total.items] == [Decimal("10.00"), Decimal("20.00")]
    page2 = list_invoices(company_id=company.id, sort="total", descending=False, limit=2, cursor=by_total.next_cursor)
    assert [i.total for i in page2.items] == [Decimal("30.00"), Decimal("40.00")]
    page3 = list_invoices(company_id=company.id, sort="total", descending=False, limit=2, cursor=page2.next_cursor)
    assert [i.total for i in page3.items] == [Decimal("50.00")] and page3.next_cursor is None
    by_number = list_invoices(company_id=company.id, sort="number", limit=10)
    assert [i.invoice_number for i in by_number.items] == sorted((i.invoice_number for i in made), reverse=True)
    assert [i.status for i in list_invoices(status=InvoiceStatus.VOID, company_id=company.id).items] == \
        [InvoiceStatus.VOID]
    db_session.commit()
    page = signed_in.get(f"/invoices?company_id={company.id}&overdue=1")
    assert page.status_code == 200 and made[0].invoice_number.encode() in page.data
    assert made[2].invoice_number.encode() not in page.data and b"Overdue" in page.data
    fragment = signed_in.get(f"/invoices?company_id={company.id}&status=PAID", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and b"No invoices match" in fragment.data
    assert b"<html" not in fragment.data
    assert signed_in.get("/invoices?cursor=garbage&sort=total").status_code == 200


def test_the_list_pages_rows_are_list_invoices_page(app, company, rep, db_session, catalog, factory):
    """list_invoice_rows (what /invoices shows) is list_invoices' page, as columns: the same
    invoices in the same order, the same cursors, for each sort, direction and filter."""
    from app.billing.invoices import add_line, list_invoice_rows, list_invoices
    from app.billing.models import InvoiceStatus

    other = factory.company()
    for i in range(5):
        inv = _new(company if i % 2 else other, rep)
        add_line(inv, actor=rep, description="x", quantity=i % 3 + 1, unit_price=Decimal("10.00"))
        inv.due_date = date.today() - timedelta(days=i)
    db_session.flush()
    for kw in ({}, {"sort": "total", "descending": False}, {"sort": "number"}, {"overdue": True},
               {"company_id": company.id}, {"status": InvoiceStatus.DRAFT, "sort": "total"}):
        cursor = None
        while True:
            entities = list_invoices(limit=2, cursor=cursor, **kw)
            rows = list_invoice_rows(limit=2, cursor=cursor, **kw)
            assert [r.id for r in rows.items] == [i.id for i in entities.items], kw
            assert [(r.company_name, r.total, r.status) for r in rows.items] == \
                [(i.company.name, i.total, i.status) for i in entities.items]
            assert rows.next_cursor == entities.next_cursor
            cursor = rows.next_cursor
            if not cursor:
                break


def test_the_invoice_list_reads_a_constant_few_statements(app, signed_in, company, rep, db_session, catalog,
                                                          factory, count_statements):
    from app.billing.invoices import add_line

    def add(n):
        for _ in range(n):
            inv = _new(factory.company(), rep)
            add_line(inv, actor=rep, description="x", quantity=1, unit_price=Decimal("10.00"))
        db_session.flush()

    add(1)
    signed_in.get("/invoices")  # warm-up: first-request work
    db_session.expire_all()
    with count_statements() as few:
        assert signed_in.get("/invoices").status_code == 200
    add(5)
    db_session.expire_all()
    with count_statements() as many:
        page = signed_in.get("/invoices")
    assert page.status_code == 200
    assert many.count == few.count, "\n".join(s[:120] for s in many.statements)
    assert many.count <= 3, "\n".join(s[:120] for s in many.statements)  # the user, saved views, the page


def test_pages_need_the_invoices_permission(client, factory, company):
    login(client, factory.user(UserRole.OPERATOR))
    assert client.get("/invoices").status_code == 403
    assert client.get(f"/invoices/new?company_id={company.id}").status_code == 403


def test_new_invoice_from_a_lead(signed_in, factory, company):
    lead = factory.lead(company=company)
    page = signed_in.get(f"/invoices/new?lead_id={lead.id}")
    assert page.status_code == 200
    assert re.search(rf'<option selected value="{lead.id}">', page.get_data(as_text=True))
    assert company.name.encode() in page.data


def test_kept_invoice_rows_show_every_change_of_what_a_row_shows(app, signed_in, company, rep, db_session, catalog):
    """Each row's HTML is kept by every value it is rendered from (views.invoice_rows): change
    any of them and the list shows the row as it is now."""
    from app.billing.invoices import add_line
    from app.billing.models import InvoiceStatus
    from app.template_helpers import KEPT

    inv = _new(company, rep)
    add_line(inv, actor=rep, description="x", quantity=2, unit_price=Decimal("10.00"))
    inv.due_date = date.today() + timedelta(days=5)
    db_session.flush()

    def row():
        html = signed_in.get(f"/invoices?company_id={company.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
        start = html.index(f'/invoices/{inv.id}"')
        return html[start:html.index("</tr>", start)]

    first = row()
    assert inv.invoice_number in first and company.name in first and "$20.00" in first and "Overdue" not in first
    hits = KEPT.hits
    assert row() == first and KEPT.hits > hits  # the same values: the kept HTML

    changes = [
        (lambda: setattr(inv, "invoice_number", "INV-KEPT-1"), "INV-KEPT-1"),
        (lambda: setattr(company, "name", "Kept & Renamed Co"), "Kept &amp; Renamed Co"),
        (lambda: setattr(inv, "status", InvoiceStatus.SENT), "Sent"),
        (lambda: setattr(inv, "due_date", date.today() - timedelta(days=2)), "Overdue"),
        (lambda: setattr(inv, "total", Decimal("31.00")), "$31.00"),
        (lambda: setattr(inv, "balance_due", Decimal("7.00")), "$7.00"),
        (lambda: setattr(inv, "created_at", datetime(2025, 3, 4, 12, tzinfo=UTC)), "Mar 4, 2025"),
    ]
    for change, shown in changes:
        change()
        db_session.flush()
        assert shown in row(), shown
    inv.balance_due = Decimal("0.00")
    db_session.flush()
    assert "Overdue" not in row()  # nothing left to pay: no longer overdue
