"""In a real browser: a Cal.com booking arrives (a signed POST to the live server, applied by
its job) and shows on the lead's page with its time and meeting link; a booking from an
address nobody has waits in Unmatched, where the rep finds the contact and attaches it."""
from __future__ import annotations

import json
import urllib.request
import uuid

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.integration.inbox.bookings.calcom import event, signature, soon, work_all

pytestmark = pytest.mark.e2e


def seed(app):
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        user = create_user(email=f"cal-{tag}@example.com", first_name="Cal", last_name="Rep",
                           role=UserRole.REP, password="calcom pass 123")
        company = Company(name=f"Booked Towing {tag}", normalized_name=f"booked towing {tag}",
                          assigned_rep_id=user.id)
        db.session.add(company)
        db.session.flush()
        contact = Contact(company_id=company.id, full_name=f"Mike Booker {tag}",
                          email=f"mike-{tag}@example.com", email_normalized=f"mike-{tag}@example.com")
        db.session.add(contact)
        db.session.flush()
        lead = Lead(company_id=company.id, contact_id=contact.id)
        db.session.add(lead)
        db.session.commit()
        return tag, user.email, str(lead.id)


def arrive(app, live_server: str, envelope: dict) -> None:
    """Cal.com's POST, over HTTP, signed with the app's secret; then the worker applies it."""
    from app.webhooks.secrets import webhook_secret

    body = json.dumps(envelope).encode()
    with app.app_context():
        secret = webhook_secret("calcom")
    request = urllib.request.Request(f"{live_server}/webhooks/calcom", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Cal-Signature-256": signature(body, secret)})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    with app.app_context():
        work_all()


def test_a_booking_arrives_and_shows_on_the_lead_and_an_unmatched_one_is_attached(live_app, live_server, page):
    from datetime import UTC, datetime

    tag, email, lead_id = seed(live_app)
    now = datetime.now(UTC)
    arrive(live_app, live_server, event("created", email=f"mike-{tag}@example.com", uid=f"e2e-{tag}-a",
                                        start=soon(2, 15), sent=now))
    sign_in(page, live_server, email, "calcom pass 123")
    page.goto(f"{live_server}/leads/{lead_id}")
    card = page.locator("#lead-bookings")
    expect(card).to_contain_text("Fleet GPS Demo")
    expect(card).to_contain_text(f"{soon(2, 15):%Y-%m-%d %H:%M} UTC")
    expect(card).to_contain_text("Scheduled")
    expect(card.get_by_role("link", name="Join the meeting")).to_have_attribute(
        "href", f"https://app.cal.com/video/e2e-{tag}-a")

    # someone books from an address no contact has: Unmatched, until the rep attaches it
    arrive(live_app, live_server, event("created", email=f"office-{tag}@example.com", uid=f"e2e-{tag}-b",
                                        start=soon(3, 16), sent=now))
    page.goto(f"{live_server}/inbox/bookings/unmatched")
    row = page.locator("tr", has_text=f"office-{tag}@example.com")
    row.get_by_role("searchbox").fill(f"Mike Booker {tag}")
    row.get_by_role("button", name="Find").click()
    row.get_by_role("button", name="Attach").click()
    page.wait_for_url(f"{live_server}/leads/{lead_id}")
    expect(page.locator("#lead-bookings [data-bookings=upcoming] li")).to_have_count(2)
    expect(page.locator("#lead-bookings")).to_contain_text(f"{soon(3, 16):%Y-%m-%d %H:%M} UTC")
    expect(page.locator("#lead-tasks")).to_contain_text(f"Prepare for the call with Mike Booker {tag}")
