"""In a real browser: a rep texts a lead from the lead page (the panel loads lazily, the
segment counter is live), the text goes out through the outbox backend, the customer's
"STOP" reply (the development reply action: a signed gateway event posted to the live
server's /webhooks/sms) lands on the lead, and the composer is disabled with the reason.
The live server has no worker: the test runs the jobs with a burst SimpleWorker."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.e2e.test_pay_flow import run_jobs, shot

pytestmark = pytest.mark.e2e

PASSWORD = "browser pass 123"


@pytest.fixture
def textable_lead(live_app, live_server):
    from app.auth.services import create_user
    from app.extensions import db
    from app.inbox.sms.services import save_gateway
    from tests.factories import Factory

    old_base = live_app.config.get("APP_BASE_URL")
    live_app.config["APP_BASE_URL"] = live_server  # the reply job posts to this server
    with live_app.app_context():
        rep = create_user(email=f"e2e-sms-{uuid.uuid4().hex[:8]}@example.com", first_name="Jordan",
                          last_name="Reyes", role=UserRole.REP, password=PASSWORD)
        number = f"+1214555{uuid.uuid4().int % 10000:04d}"
        save_gateway(None, user_id=rep.id, label="Pixel", gateway_url="https://api.sms-gate.app/3rdparty/v1",
                     username="jordan", password="pw", from_number="+14085550121", is_active=True)
        factory = Factory(db.session)
        company = factory.company(name="Delgado Towing")
        contact = factory.contact(company, phone=number, phone_e164=number, phone_type="mobile",
                                  is_sms_eligible=True)
        lead = factory.lead(company, contact)
        db.session.commit()
        ids = (rep.email, lead.id)
        db.session.remove()
    yield ids
    live_app.config["APP_BASE_URL"] = old_base


def test_rep_texts_a_lead_and_the_customers_stop_makes_them_untextable(live_app, live_server, browser,
                                                                       textable_lead):
    email, lead_id = textable_lead
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, email, PASSWORD)

    page.goto(f"{live_server}/leads/{lead_id}")
    page.get_by_role("tab", name="SMS").click()  # nothing from the customer yet: e-mail is open
    box = page.get_by_label("Text Mike")
    box.fill("a" * 161)
    expect(page.locator("#sms-segments")).to_contain_text("2 parts")
    box.fill("Hi Mike, 14 trackers at $79 each. Reply STOP to opt out.")
    expect(page.locator("#sms-segments")).to_contain_text("1 part")
    page.get_by_role("button", name="Send text").click()
    expect(page.locator("#lead-thread")).to_contain_text("Queued")
    run_jobs(live_app)  # the send job: the outbox backend stores it
    page.reload()
    expect(page.locator("#lead-thread")).to_contain_text("Sent")

    page.goto(f"{live_server}/outbox/customers")
    row = page.locator("tr", has_text="14 trackers").first
    row.get_by_label("Reply as the customer").fill("STOP")
    row.get_by_role("button", name="Reply").click()
    run_jobs(live_app)  # the reply's delivery (HTTP to /webhooks/sms), then the event's apply job
    run_jobs(live_app)

    page.goto(f"{live_server}/leads/{lead_id}")
    panel = page.locator("#lead-thread")
    expect(panel).to_contain_text("STOP")
    expect(panel).to_contain_text("Do not contact")
    expect(page.get_by_role("tab", name="Log call")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="SMS").click()
    expect(page.get_by_role("button", name="Send text")).to_be_disabled()
    shot(page, "sms-stop.png")
    assert errors == []
    context.close()
