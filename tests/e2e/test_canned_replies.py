"""In a real browser: an admin writes a canned reply in Settings (click-to-insert fields,
the live preview, an unknown field refused), and a composer's picker inserts the rendered
reply into its textarea."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.e2e.test_sign_in import _shot

pytestmark = pytest.mark.e2e


def seed(app):
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead
    from app.extensions import db

    with app.app_context():
        suffix = uuid.uuid4().hex[:8]
        admin = create_user(email=f"canned-{suffix}@example.com", first_name="Nina", last_name="Admin",
                            role=UserRole.ADMIN, password="canned pass 123")
        company = Company(name=f"Gulf Towing {suffix}", normalized_name=f"gulf towing {suffix}")
        db.session.add(company)
        db.session.flush()
        contact = Contact(company_id=company.id, first_name="Rosa", last_name="Diaz", full_name="Rosa Diaz")
        db.session.add(contact)
        db.session.flush()
        lead = Lead(company_id=company.id, contact_id=contact.id)
        db.session.add(lead)
        db.session.commit()
        return admin.email, str(lead.id), company.name


def test_admin_writes_a_canned_reply_and_a_picker_inserts_it(live_app, live_server, page):
    email, lead_id, company = seed(live_app)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server, email, "canned pass 123")

    page.goto(f"{live_server}/settings/templates/new")
    name = f"Check-in {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Channel").select_option("SMS")
    body = page.get_by_label("Message")
    body.fill("Hi ")
    page.get_by_role("button", name="contact.first_name").click()
    body.press("End")
    body.type(", this is ")
    page.get_by_role("button", name="rep.first_name", exact=True).click()
    expect(body).to_have_value("Hi {{ contact.first_name }}, this is {{ rep.first_name }}")
    expect(page.locator("[data-sms-counter]")).to_contain_text("1 SMS segment")

    page.get_by_label("Preview for").select_option(lead_id)
    expect(page.locator("#template-preview")).to_contain_text("Hi Rosa, this is Nina")
    page.screenshot(path=str(_shot("canned-editor.png")), full_page=True)

    body.fill("Hi {{ contact.nickname }}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Unknown field “contact.nickname”")).to_be_visible()

    page.get_by_label("Message").fill("Hi {{ contact.first_name }}, any questions about {{ company.name }}?")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server}/settings/templates")
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()

    # A composer: its textarea and the picker slot, as a composer template includes them.
    page.evaluate("""([leadId]) => {
        const main = document.querySelector("main") || document.body;
        main.insertAdjacentHTML("beforeend",
          '<textarea id="sms-body"></textarea>' +
          '<div data-canned-picker data-body-target="#sms-body" hx-trigger="load" ' +
          'hx-get="/inbox/canned/picker?channel=SMS&lead_id=' + leadId + '"></div>');
        htmx.process(main.lastElementChild);
    }""", [lead_id])
    picker = page.locator("[data-canned-picker]")
    picker.get_by_label("Canned reply").select_option(label=name)
    picker.get_by_role("button", name="Insert").click()
    expect(page.locator("#sms-body")).to_have_value(f"Hi Rosa, any questions about {company}?")
    assert not [e for e in errors if "Content Security Policy" in e], errors
