"""In a real browser: the inbox queue's empty state, a conversation that needs a reply with
the nav's unread badge, and the keyboard (j selects, e marks done, the badge follows)."""
from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("INBOX_SCREENSHOTS")


def seed(app, *, with_conversation: bool):
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead
    from app.extensions import db
    from app.inbox.models import Conversation, ConversationChannel

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        user = create_user(email=f"inbox-{tag}@example.com", first_name="Ina", last_name="Rep",
                           role=UserRole.REP, password="inbox pass 123")
        if with_conversation:
            company = Company(name=f"Queue Towing {tag}", normalized_name=f"queue towing {tag}",
                              assigned_rep_id=user.id)
            db.session.add(company)
            db.session.flush()
            contact = Contact(company_id=company.id, full_name=f"Quinn Texter {tag}")
            db.session.add(contact)
            db.session.flush()
            lead = Lead(company_id=company.id, contact_id=contact.id)
            db.session.add(lead)
            db.session.flush()
            db.session.add(Conversation(id=uuid.uuid4(), lead_id=lead.id, contact_id=contact.id, user_id=user.id,
                                        channel=ConversationChannel.SMS, last_message_at=datetime.now(UTC),
                                        last_message_preview="Can you call me back?", unread_count=1,
                                        awaiting_reply=True))
        db.session.commit()
        return tag, user.email


def test_empty_queue(live_app, live_server, page):
    _, email = seed(live_app, with_conversation=False)
    sign_in(page, live_server, email, "inbox pass 123")
    page.goto(f"{live_server}/inbox?mine=1")
    expect(page.get_by_text("Nothing needs you")).to_be_visible()
    expect(page.locator("#inbox-unread")).to_be_hidden()  # the badge reloaded after the action
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/inbox-empty.png", full_page=True)


def test_queue_badge_and_keyboard_done(live_app, live_server, page):
    tag, email = seed(live_app, with_conversation=True)
    sign_in(page, live_server, email, "inbox pass 123")
    page.goto(f"{live_server}/inbox?mine=1")
    row = page.locator("[data-queue-row]", has_text=f"Quinn Texter {tag}")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Can you call me back?")
    expect(page.locator("#inbox-unread")).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/inbox-queue.png", full_page=True)
    page.keyboard.press("j")
    expect(row).to_have_class(re.compile("is-selected"))
    page.keyboard.press("e")
    expect(page.locator("[data-queue-row]", has_text=f"Quinn Texter {tag}")).to_have_count(0)
    expect(page.get_by_text("Nothing needs you")).to_be_visible()
    expect(page.locator("#inbox-unread")).to_be_hidden()  # the badge reloaded after the action
