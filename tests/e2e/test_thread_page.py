"""In a real browser: a lead's one conversation (texts, e-mails, a failed text with its reason,
calls and a meeting in one time order, newest last), "Load older" brings the page before
above, the composer's tabs work with the arrow keys, Ctrl+Enter sends a text that appears
QUEUED at the bottom; a do-not-contact lead's e-mail and SMS tabs are refused with the
reason, Log call open."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.e2e.test_pay_flow import shot

pytestmark = pytest.mark.e2e

PASSWORD = "thread pass 123"


@pytest.fixture
def leads(live_app):
    from app.auth.services import create_user
    from app.extensions import db
    from app.inbox.models import (
        Booking,
        CallLog,
        CallOutcome,
        EmailAccount,
        EmailMessage,
        EmailStatus,
        EmailThread,
        MessageDirection,
        SmsMessage,
        SmsStatus,
    )
    from app.inbox.sms.services import save_gateway
    from tests.factories import Factory

    with live_app.app_context():
        rep = create_user(email=f"e2e-thread-{uuid.uuid4().hex[:8]}@example.com", first_name="Tess",
                          last_name="Thread", role=UserRole.REP, password=PASSWORD)
        save_gateway(None, user_id=rep.id, label="Pixel", gateway_url="https://api.sms-gate.app/3rdparty/v1",
                     username="tess", password="pw", from_number="+14085550122", is_active=True)
        factory = Factory(db.session)
        number = f"+1214555{uuid.uuid4().int % 10000:04d}"
        company = factory.company(name="Quill Freight")
        contact = factory.contact(company, first_name="Nora", last_name="Quill", full_name="Nora Quill",
                                  phone=number, phone_e164=number, phone_type="mobile", is_sms_eligible=True)
        lead = factory.lead(company, contact)
        t0 = datetime.now(UTC) - timedelta(days=3)
        for i in range(30):  # older chatter: one page and a bit
            db.session.add(SmsMessage(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id,
                                      direction=MessageDirection.INBOUND if i % 2 else MessageDirection.OUTBOUND,
                                      from_number=number, to_number="+14085550122", body=f"Earlier text {i}",
                                      status=SmsStatus.DELIVERED, created_at=t0 + timedelta(minutes=i)))
        t1 = t0 + timedelta(days=1)
        # the system sender's account: another test on this live server may have made it already
        account = db.session.scalar(select(EmailAccount).where(
            EmailAccount.provider == "outbox", EmailAccount.email_address == "sales@example.com")) \
            or EmailAccount(id=uuid.uuid4(), email_address="sales@example.com", provider="outbox")
        thread = EmailThread(id=uuid.uuid4(), lead_id=lead.id, email_account=account, subject="Trackers for 20 trucks")
        db.session.add_all([account, thread])
        db.session.add_all([
            EmailMessage(id=uuid.uuid4(), thread=thread, direction=MessageDirection.OUTBOUND,
                         from_address="sales@example.com", to_address=contact.email, subject="Trackers for 20 trucks",
                         body_text="Hi Nora,\nthe quote for 20 trackers is attached.", status=EmailStatus.SENT,
                         created_at=t1),
            EmailMessage(id=uuid.uuid4(), thread=thread, direction=MessageDirection.INBOUND,
                         from_address=contact.email, to_address="sales@example.com",
                         subject="Re: Trackers for 20 trucks", body_text="Got it, can we do 25?",
                         status=EmailStatus.RECEIVED, created_at=t1 + timedelta(hours=1)),
            CallLog(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id, direction=MessageDirection.OUTBOUND,
                    outcome=CallOutcome.CONNECTED, duration_seconds=312, notes="Wants a demo on Tuesday",
                    created_at=t1 + timedelta(hours=2)),
            SmsMessage(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id, direction=MessageDirection.OUTBOUND,
                       from_number="+14085550122", to_number=number, body="Demo link coming up",
                       status=SmsStatus.FAILED, error="The phone is offline", created_at=t1 + timedelta(hours=3)),
            Booking(id=uuid.uuid4(), cal_booking_uid=uuid.uuid4().hex, lead_id=lead.id, contact_id=contact.id,
                    attendee_email=contact.email, attendee_name="Nora Quill", event_type_slug="demo",
                    event_type_title="Fleet tracking demo", start_at=t1 + timedelta(hours=5),
                    end_at=t1 + timedelta(hours=5, minutes=30), meeting_url="https://meet.example.com/abc"),
            SmsMessage(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id, direction=MessageDirection.INBOUND,
                       from_number=number, to_number="+14085550122", body="Thanks, see you then!",
                       status=SmsStatus.DELIVERED, created_at=t1 + timedelta(hours=6)),
        ])
        dnc_company = factory.company(name="Stopped Hauling")
        dnc = factory.lead(dnc_company, factory.contact(dnc_company, phone=number, phone_e164=number,
                                                        is_sms_eligible=False), is_dnc=True)
        db.session.commit()
        ids = (rep.email, lead.id, dnc.id, contact.id)
        db.session.remove()
    return ids


def test_one_conversation_with_a_composer(live_server, browser, leads):
    email, lead_id, dnc_id, contact_id = leads
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
    sign_in(page, live_server, email, PASSWORD)

    page.goto(f"{live_server}/leads/{lead_id}")
    card = page.locator("#lead-thread")
    items = card.locator("[data-kind]")
    expect(items).to_have_count(30)
    expect(items.last).to_contain_text("Thanks, see you then!")
    expect(card.locator("[data-kind=sms]", has_text="Demo link coming up")).to_contain_text("Not sent: The phone is offline")
    expect(card.locator("[data-kind=booking]")).to_contain_text("Fleet tracking demo")
    expect(card.locator("[data-kind=call]")).to_contain_text("5:12")
    # the customer last texted: the composer is open on SMS
    expect(card.get_by_role("tab", name="SMS")).to_have_attribute("aria-selected", "true")
    shot(page, "thread-lead.png")

    card.get_by_role("button", name="Load older").click()
    expect(items).to_have_count(36)
    expect(items.first).to_contain_text("Earlier text 0")
    expect(card.get_by_role("button", name="Load older")).to_have_count(0)

    # the tabs with the keyboard, then Ctrl+Enter sends the text
    card.get_by_role("tab", name="SMS").focus()
    page.keyboard.press("ArrowLeft")
    expect(card.get_by_role("tab", name="E-mail")).to_be_focused()
    expect(page.locator("#email-subject")).to_have_value("Re: Trackers for 20 trucks")
    page.keyboard.press("ArrowRight")
    body = page.locator("#sms-body")
    body.fill("Great, talk Tuesday.")
    body.press("Control+Enter")
    expect(items.last).to_contain_text("Great, talk Tuesday.")
    expect(items.last).to_contain_text("Queued")

    # the contact page: the same thread (all the contact's leads), no composer
    page.goto(f"{live_server}/contacts/{contact_id}")
    expect(card.locator("[data-kind]").last).to_contain_text("Great, talk Tuesday.")
    expect(card.get_by_role("link", name="Open the lead").first).to_be_visible()
    expect(card.locator("[data-composer]")).to_have_count(0)
    shot(page, "thread-contact.png")

    page.goto(f"{live_server}/leads/{dnc_id}")
    expect(card.get_by_role("tab", name="Log call")).to_have_attribute("aria-selected", "true")
    card.get_by_role("tab", name="SMS").click()
    expect(page.locator("#sms-refusal")).to_contain_text("Do not contact")
    expect(page.locator("#sms-body")).to_be_disabled()
    card.get_by_role("tab", name="E-mail").click()
    expect(page.locator("#email-refusal")).to_contain_text("Do not contact")
    expect(card.get_by_role("button", name="Send e-mail")).to_be_disabled()
    shot(page, "thread-dnc.png")
    assert errors == [], "\n".join(errors)
    context.close()
