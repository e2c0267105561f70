"""In a real browser, the whole inbox loop a rep lives in (issue 10's "Done when"):

- from a lead page the rep e-mails and texts the customer (the composers, the outbox backends);
- the customer answers both through the development "reply as the customer" action (the text
  as a signed gateway event to /webhooks/sms, the e-mail through the inbound ingest);
- the nav's unread badge goes up without a reload (htmx polling, within 10 s), both answers are
  in the inbox's Needs reply with their labels, unread;
- the keyboard (j/k, Enter, r, e) and the bulk bar (done, assign, archive) work;
- opening the lead marks its conversations read and the badge goes down.

The live server has no worker: the test runs the jobs with a burst SimpleWorker."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.e2e.test_pay_flow import run_jobs, shot

pytestmark = pytest.mark.e2e

PASSWORD = "inbox loop pass 123"


def badge_count(page) -> int:
    badge = page.locator("#inbox-unread")
    return int(badge.inner_text()) if badge.count() and badge.is_visible() else 0


@pytest.fixture
def rep_and_lead(live_app, live_server):
    from app.auth.services import create_user
    from app.extensions import db
    from app.inbox.sms.services import save_gateway
    from tests.factories import Factory

    old_base = live_app.config.get("APP_BASE_URL")
    live_app.config["APP_BASE_URL"] = live_server  # the SMS reply job posts to this server
    with live_app.app_context():
        tag = uuid.uuid4().hex[:6]
        rep = create_user(email=f"e2e-loop-{tag}@example.com", first_name="Lena", last_name="Loop",
                          role=UserRole.REP, password=PASSWORD)
        save_gateway(None, user_id=rep.id, label="Pixel", gateway_url="https://api.sms-gate.app/3rdparty/v1",
                     username="lena", password="pw", from_number="+14085550177", is_active=True)
        number = f"+1214556{uuid.uuid4().int % 10000:04d}"
        factory = Factory(db.session)
        company = factory.company(name=f"Harbor Freight Lines {tag}", assigned_rep_id=rep.id)
        contact = factory.contact(company, first_name="Nora", last_name="Quill", full_name="Nora Quill",
                                  phone=number, phone_e164=number, phone_type="mobile", is_sms_eligible=True,
                                  email=f"nora.{tag}@harbor.example.com", email_normalized=f"nora.{tag}@harbor.example.com")
        lead = factory.lead(company, contact)
        db.session.commit()
        ids = (rep.email, rep.id, lead.id, tag)
        db.session.remove()
    yield ids
    live_app.config["APP_BASE_URL"] = old_base


def test_a_rep_emails_and_texts_a_lead_and_the_customers_replies_land_unread(live_app, live_server, browser,
                                                                             rep_and_lead):
    email, _, lead_id, tag = rep_and_lead
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: errors.append(f"{m.text} at {page.url}") if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
    # a CSP violation names the element (Chromium's console message does not)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'CSP ' + e.violatedDirective + ': ' + (e.target && e.target.outerHTML || '').slice(0, 200)));")
    sign_in(page, live_server, email, PASSWORD)

    page.goto(f"{live_server}/leads/{lead_id}")
    page.locator("#email-subject").fill(f"Trackers for Harbor {tag}")
    page.locator("#email-body").fill("Hi Nora, the quote for 20 trackers is attached.")
    page.get_by_role("button", name="Send e-mail").click()
    expect(page.locator("#lead-thread [data-kind=email]")).to_contain_text("Queued")
    page.get_by_role("tab", name="SMS").click()
    page.get_by_label(re.compile("^Text Nora Quill")).fill(f"Hi Nora, did the quote {tag} arrive?")
    page.get_by_role("button", name="Send text").click()
    expect(page.locator("#lead-thread [data-kind=sms]")).to_contain_text("Queued")
    run_jobs(live_app)  # both sends: the outbox backends store them
    page.reload()
    expect(page.locator("#lead-thread [data-kind=email]")).to_contain_text("Sent")
    expect(page.locator("#lead-thread [data-kind=sms]")).to_contain_text("Sent")

    page.goto(f"{live_server}/outbox/customers")
    expect(page.locator("#inbox-unread")).to_have_count(1)  # the badge has loaded
    before = badge_count(page)
    mail_row = page.locator("tr", has_text=f"Trackers for Harbor {tag}")
    mail_row.get_by_label("Reply as the customer").fill("Got it, can we do 25?")
    mail_row.get_by_role("button", name="Reply").click()
    expect(page.get_by_text("The customer's reply arrived")).to_be_visible()
    text_row = page.locator("tr", has_text=f"did the quote {tag} arrive")
    text_row.get_by_label("Reply as the customer").fill("Yes! Call me tomorrow")
    text_row.get_by_role("button", name="Reply").click()
    expect(page.get_by_text("The customer's reply is on its way")).to_be_visible()
    run_jobs(live_app)  # the reply's delivery (HTTP to /webhooks/sms), then the event's apply job
    run_jobs(live_app)
    # no reload: the nav badge polls (every 10 s) and shows both answers
    expect(page.locator("#inbox-unread")).to_have_text(str(before + 2), timeout=15_000)

    page.get_by_role("link", name=re.compile("^Inbox")).click()
    page.wait_for_url(re.compile("/inbox"))
    page.get_by_label("Mine").check()
    rows = page.locator("[data-queue-row]", has_text="Nora Quill")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Yes! Call me tomorrow")).to_have_class(re.compile("is-unread"))
    expect(rows.filter(has_text="Got it, can we do 25?")).to_have_class(re.compile("is-unread"))
    expect(rows.filter(has_text="Yes! Call me tomorrow").locator("[data-kind]")).to_have_text("SMS")
    expect(rows.filter(has_text="Got it, can we do 25?").locator("[data-kind]")).to_have_text("E-mail")
    shot(page, "inbox-loop-needs-reply.png")

    # the keyboard: j selects the newest (the text), Enter opens the lead, which marks it read
    page.keyboard.press("j")
    expect(rows.first).to_have_class(re.compile("is-selected"))
    expect(rows.first).to_contain_text("Yes! Call me tomorrow")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/leads/{lead_id}"))
    expect(page.locator("#lead-thread [data-kind=sms]").last).to_contain_text("Yes! Call me tomorrow")
    expect(page.locator("#lead-thread [data-kind=email]").last).to_contain_text("Got it, can we do 25?")
    # the customer last wrote by text: the composer opens on SMS
    expect(page.get_by_role("tab", name="SMS")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#inbox-unread")).to_have_count(1)
    if before:
        expect(page.locator("#inbox-unread")).to_have_text(str(before), timeout=15_000)
    else:
        expect(page.locator("#inbox-unread")).to_be_hidden(timeout=15_000)
    shot(page, "inbox-loop-lead.png")

    # read, not answered: both stay in Needs reply, no longer bold
    page.goto(f"{live_server}/inbox?mine=1")
    expect(rows).to_have_count(2)
    expect(rows.first).not_to_have_class(re.compile("is-unread"))
    # r on the e-mail (second row) opens the lead's e-mail composer
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile("is-selected"))
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.wait_for_url(re.compile(f"/leads/{lead_id}#email-body"))
    expect(page.locator("#email-body")).to_be_focused()  # its tab opened (the customer last texted)
    page.goto(f"{live_server}/inbox?mine=1")
    page.keyboard.press("j")
    page.keyboard.press("e")  # done
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Got it, can we do 25?")
    assert errors == [], "\n".join(errors)
    context.close()


@pytest.fixture
def three_conversations(live_app, rep_and_lead):
    from app.extensions import db
    from app.inbox.models import Conversation, ConversationChannel, ConversationKind
    from tests.factories import Factory

    email, rep_id, _, tag = rep_and_lead
    with live_app.app_context():
        factory = Factory(db.session)
        names = []
        for i, (channel, kind) in enumerate([(ConversationChannel.SMS, ConversationKind.SMS),
                                             (ConversationChannel.CALL, ConversationKind.MISSED_CALL),
                                             (ConversationChannel.CALL, ConversationKind.BOOKING_CREATED)]):
            company = factory.company(name=f"Bulk Co {i} {tag}", assigned_rep_id=rep_id)
            contact = factory.contact(company, first_name=f"Bulk{i}", last_name=tag, full_name=f"Bulk{i} {tag}")
            lead = factory.lead(company, contact)
            db.session.add(Conversation(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id, user_id=rep_id,
                                        channel=channel, last_kind=kind.value, unread_count=1, awaiting_reply=True,
                                        last_message_at=datetime.now(UTC) - timedelta(minutes=i),
                                        last_message_preview=f"item {i}"))
            names.append(f"Bulk{i} {tag}")
        other = factory.user(UserRole.REP, first_name="Otto", last_name=f"Other{tag}")
        db.session.commit()
        other_name = other.full_name
        db.session.remove()
    return email, names, other_name


def test_bulk_done_assign_and_archive(live_server, page, three_conversations):
    email, names, other_name = three_conversations
    sign_in(page, live_server, email, PASSWORD)
    page.goto(f"{live_server}/inbox?mine=1")
    rows = page.locator("[data-queue-row]", has_text=names[0].split(" ")[1])
    expect(rows).to_have_count(3)
    expect(rows.nth(1).locator("[data-kind]")).to_have_text("Missed call")
    expect(rows.nth(2).locator("[data-kind]")).to_have_text("Booking")
    shot(page, "inbox-queue-kinds.png")
    apply = page.get_by_role("button", name="Apply to selected")
    expect(apply).to_be_disabled()

    page.get_by_label("Select", exact=True).nth(0).check()
    expect(page.get_by_text("1 selected")).to_be_visible()
    page.locator("#bulk-action").select_option("done")
    apply.click()
    expect(rows).to_have_count(2)
    page.goto(f"{live_server}/inbox?mine=1&tab=done")
    expect(page.locator("[data-queue-row]", has_text=names[0])).to_have_count(1)

    page.goto(f"{live_server}/inbox?mine=1")
    for box in page.get_by_label("Select", exact=True).all():
        box.check()
    page.locator("#bulk-action").select_option("assign")
    page.locator("#bulk-rep").select_option(label=other_name)
    page.get_by_role("button", name="Apply to selected").click()
    expect(rows).to_have_count(0)  # no longer mine
    page.goto(f"{live_server}/inbox")
    assigned = page.locator("[data-queue-row]", has_text=names[1])
    expect(assigned).to_contain_text(other_name)

    page.get_by_label("Select", exact=True).first.wait_for()
    page.locator(f"[data-queue-row]:has-text('{names[1]}') [data-bulk-item]").check()
    page.locator(f"[data-queue-row]:has-text('{names[2]}') [data-bulk-item]").check()
    page.locator("#bulk-action").select_option("archive")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("[data-queue-row]", has_text=names[1])).to_have_count(0)
    page.goto(f"{live_server}/inbox?archived=1&tab=all")
    expect(page.locator("[data-queue-row]", has_text=names[1])).to_have_count(1)
    expect(page.locator("[data-queue-row]", has_text=names[2])).to_have_count(1)
