"""Calls, bookings and unknown senders' e-mails as inbox items: a missed or voicemail inbound
call and a Cal.com booking (created, moved, cancelled) put the lead's CALL conversation in
Needs reply with their own label; a call back answers it; an e-mail from an unknown address
lands in Unmatched, one conversation per address. Opening the lead page marks it read."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.inbox.calls.services import log_call
from app.inbox.email.services import ingest_inbound_email
from app.inbox.models import (
    CallOutcome,
    Conversation,
    ConversationChannel,
    EmailThread,
    MessageDirection,
)
from app.inbox.queue import queries
from tests.factories import csrf_token, login
from tests.integration.inbox.bookings.calcom import SECRET, deliver, story
from tests.integration.inbox.queue.test_queue import conversation, ids_in, listed, signed_in


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALCOM_WEBHOOK_SECRET", SECRET)
    return SECRET


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP, first_name="Rita")


@pytest.fixture
def lead(factory, rep):
    company = factory.company(name="ABC Towing", assigned_rep_id=rep.id)
    contact = factory.contact(company, first_name="Mike", last_name="Delgado", full_name="Mike Delgado",
                              email="mike.delgado@abctowing.example.com",
                              email_normalized="mike.delgado@abctowing.example.com",
                              phone="+12145550101", phone_e164="+12145550101")
    return factory.lead(company, contact)


def call_conversation(db_session, lead) -> Conversation | None:
    db_session.expire_all()
    return db_session.scalar(select(Conversation).where(Conversation.lead_id == lead.id,
                                                        Conversation.channel == ConversationChannel.CALL))


@pytest.mark.parametrize("outcome, kind, label", [(CallOutcome.NO_ANSWER, "missed_call", "Missed call"),
                                                  (CallOutcome.VOICEMAIL, "voicemail", "Voicemail")])
def test_a_missed_inbound_call_needs_a_reply_with_its_own_label(app, db_session, lead, rep, outcome, kind, label):
    log_call(lead, actor=rep, direction=MessageDirection.INBOUND, outcome=outcome, notes="about the quote")
    db_session.flush()
    item = call_conversation(db_session, lead)
    assert item is not None and item.awaiting_reply and item.unread_count == 1
    assert item.last_kind == kind and item.user_id == rep.id
    assert "about the quote" in item.last_message_preview
    client = app.test_client()
    login(client, rep)
    page = client.get("/inbox?mine=1").get_data(as_text=True)
    assert ids_in(page) == [str(item.id)]
    assert f'data-kind="{kind}"' in page and label in page
    assert f'/leads/{lead.id}#composer-call' in page  # r: the lead's Log call tab

    # the rep calls back: the call answers the item, out of Needs reply
    log_call(lead, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.CONNECTED)
    db_session.flush()
    item = call_conversation(db_session, lead)
    assert not item.awaiting_reply and item.last_kind == "call"
    assert listed(app, rep, "?mine=1") == []


def test_calls_that_need_nothing_are_not_in_needs_reply(app, db_session, lead, rep):
    log_call(lead, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER)
    log_call(lead, actor=rep, direction=MessageDirection.INBOUND, outcome=CallOutcome.CONNECTED)
    db_session.flush()
    item = call_conversation(db_session, lead)
    assert item is not None and not item.awaiting_reply and item.unread_count == 0
    assert listed(app, rep, "?mine=1") == []
    assert listed(app, rep, "?mine=1&tab=all") == [str(item.id)]


@pytest.mark.usefixtures("secret")
def test_bookings_created_moved_cancelled_are_items_of_the_call_conversation(app, client, db_session, lead, rep):
    events = story("mike.delgado@abctowing.example.com")
    deliver(client, events["created"])
    item = call_conversation(db_session, lead)
    assert item.last_kind == "booking_created" and item.awaiting_reply and item.unread_count == 1
    assert item.user_id == rep.id and "booked Fleet GPS Demo" in item.last_message_preview
    html = signed_in(app, rep).get("/inbox?mine=1").get_data(as_text=True)
    assert 'data-kind="booking_created"' in html and ">Booking" in html.replace("</svg> ", ">")

    # done, then the booking moves: back in Needs reply as a reschedule
    db_session.execute(Conversation.__table__.update().where(Conversation.id == item.id)
                       .values(done_at=datetime.now(UTC), awaiting_reply=False, unread_count=0))
    deliver(client, events["rescheduled"])
    item = call_conversation(db_session, lead)
    assert item.last_kind == "booking_rescheduled" and item.awaiting_reply and item.done_at is None
    deliver(client, events["cancelled_b"])  # the booking (now uid B) is cancelled
    item = call_conversation(db_session, lead)
    assert item.last_kind == "booking_cancelled"
    assert listed(app, rep, "?mine=1") == [str(item.id)]


@pytest.mark.usefixtures("secret")
def test_a_late_booking_event_does_not_bring_the_item_back(app, client, db_session, lead, rep):
    events = story("mike.delgado@abctowing.example.com")
    deliver(client, events["rescheduled"])
    item = call_conversation(db_session, lead)
    db_session.execute(Conversation.__table__.update().where(Conversation.id == item.id)
                       .values(done_at=datetime.now(UTC), awaiting_reply=False, unread_count=0))
    deliver(client, events["created"])  # older than the reschedule: history only
    item = call_conversation(db_session, lead)
    assert item.done_at is not None and not item.awaiting_reply and item.last_kind == "booking_rescheduled"


def test_an_email_from_an_unknown_address_lands_in_unmatched_once_per_address(app, db_session, rep):
    at = datetime.now(UTC) - timedelta(minutes=5)
    ingest_inbound_email("Pat Stranger <Pat@Nowhere.example.com>", "sales@crm.example.com", "Trackers?",
                         "How much for 10?", "<a1@nowhere.example.com>", received_at=at)
    ingest_inbound_email("pat@nowhere.example.com", "sales@crm.example.com", "Also",
                         "And SIMs?", "<a2@nowhere.example.com>", received_at=at + timedelta(minutes=1))
    db_session.flush()
    [item] = db_session.scalars(select(Conversation).where(Conversation.lead_id.is_(None),
                                                           Conversation.channel == ConversationChannel.EMAIL)).all()
    assert item.unmatched_address == "pat@nowhere.example.com"
    assert item.unread_count == 2 and item.awaiting_reply and item.last_message_preview.startswith("Also")
    threads = db_session.scalars(select(EmailThread).where(EmailThread.conversation_id == item.id)).all()
    assert len(threads) == 2 and all(t.lead_id is None for t in threads)
    html = signed_in(app, rep).get("/inbox?tab=unmatched").get_data(as_text=True)
    assert str(item.id) in ids_in(html) and "pat@nowhere.example.com" in html


def test_opening_the_lead_marks_its_conversations_read_and_reloads_the_badge(app, db_session, factory, rep):
    sms = conversation(factory, user_id=rep.id, unread_count=2)
    lead_id = sms.lead_id
    email = conversation(factory, lead=False, user_id=rep.id, lead_id=lead_id, contact_id=sms.contact_id,
                         channel=ConversationChannel.EMAIL)
    other = conversation(factory, user_id=rep.id)
    assert queries.unread_count(rep.id) == 3
    client = app.test_client()
    login(client, rep)
    page = client.get(f"/leads/{lead_id}").get_data(as_text=True)
    assert f'hx-post="/leads/{lead_id}/conversations/read"' in page
    response = client.post(f"/leads/{lead_id}/conversations/read", headers={"X-CSRFToken": csrf_token(client, app)})
    assert response.status_code == 200 and "queueChanged" in response.headers["HX-Trigger"]
    db_session.expire_all()
    assert (sms.unread_count, email.unread_count, other.unread_count) == (0, 0, 1)
    assert sms.awaiting_reply  # read is not answered: still in Needs reply
    assert queries.unread_count(rep.id) == 1
    badge = client.get("/inbox/unread-badge").get_data(as_text=True)
    assert ">1<" in badge
    again = client.post(f"/leads/{lead_id}/conversations/read", headers={"X-CSRFToken": csrf_token(client, app)})
    assert again.status_code == 200 and "HX-Trigger" not in again.headers  # nothing changed


def test_mark_read_needs_the_inbox_and_a_lead(app, db_session, factory):
    operator = factory.user(UserRole.OPERATOR)
    client = app.test_client()
    login(client, operator)
    lead = factory.lead()
    assert client.post(f"/leads/{lead.id}/conversations/read",
                       headers={"X-CSRFToken": csrf_token(client, app)}).status_code == 403
    rep = factory.user(UserRole.REP)
    client = app.test_client()
    login(client, rep)
    assert client.post("/leads/not-a-uuid/conversations/read",
                       headers={"X-CSRFToken": csrf_token(client, app)}).status_code == 404
