"""Inbound e-mail (ingest_inbound_email): matched by normalised address, threaded by
In-Reply-To / References, deduplicated by Message-ID, an unknown sender in a thread without
lead (Unmatched), UNSUBSCRIBE / STOP sets do-not-contact; the development "reply as the
customer" action on the outbox, absent in production."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.inbox.email import jobs
from app.inbox.email.services import ingest_inbound_email
from app.inbox.models import EmailMessage, EmailStatus, EmailThread, MessageDirection
from app.integrations.models import OutboxMessage
from tests.factories import csrf_token, login
from tests.integration.inbox.email.test_email_send import emails_of, post_email


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP)


@pytest.fixture
def lead(factory, db_session):
    company = factory.company()
    contact = factory.contact(company, email="Mike.D@ABC-Towing.example.com",
                              email_normalized="mike.d@abc-towing.example.com")
    made = factory.lead(company, contact)
    db_session.commit()
    return made


def inbound(db_session):
    return db_session.scalars(select(EmailMessage).where(EmailMessage.direction == MessageDirection.INBOUND)).all()


def test_a_new_email_from_a_contact_is_matched_by_normalised_address(db_session, lead):
    outcome = ingest_inbound_email("Mike Delgado <  MIKE.D@abc-towing.EXAMPLE.com>", "sales@example.com",
                                   "Question about trackers", "Do they work in trailers?", "<q1@abc.example.com>")
    assert outcome == "received"
    [message] = inbound(db_session)
    assert message.thread.lead_id == lead.id and message.status is EmailStatus.RECEIVED
    assert message.message_id == "<q1@abc.example.com>"
    assert db_session.scalar(select(func.count()).select_from(Activity)
                             .where(Activity.lead_id == lead.id, Activity.activity_type == "email.received")) == 1


def test_the_same_message_id_is_stored_once(db_session, lead):
    args = ("mike.d@abc-towing.example.com", "sales@example.com", "Hi", "Hello", "<dup@abc.example.com>")
    assert ingest_inbound_email(*args) == "received"
    assert ingest_inbound_email(*args) == "duplicate"
    assert ingest_inbound_email(*args[:4], " <dup@abc.example.com> ") == "duplicate"
    assert len(inbound(db_session)) == 1
    assert db_session.scalar(select(func.count()).select_from(EmailThread)) == 1


def test_a_reply_is_threaded_by_in_reply_to_then_references(client, app, db_session, rep, lead):
    login(client, rep)
    post_email(client, app, lead)
    [ours] = emails_of(db_session, lead)
    ingest_inbound_email("mike.d@abc-towing.example.com", "sales@example.com", "Re: Your GPS trackers", "Yes",
                         "<a1@abc.example.com>", in_reply_to=ours.message_id)
    # a reply to an unknown message whose References still name ours: the same thread
    ingest_inbound_email("someone.else@elsewhere.example.com", "sales@example.com", "Re: Re: Your GPS trackers",
                         "Adding my colleague", "<a2@elsewhere.example.com>", in_reply_to="<unknown@x.example.com>",
                         references=f"{ours.message_id} <a1@abc.example.com> <unknown@x.example.com>")
    # no threading headers: a new thread of the lead
    ingest_inbound_email("mike.d@abc-towing.example.com", "sales@example.com", "Another topic", "Hi",
                         "<a3@abc.example.com>")
    threads = {m.message_id: m.thread_id for m in emails_of(db_session, lead)}
    assert threads["<a1@abc.example.com>"] == threads["<a2@elsewhere.example.com>"] == ours.thread_id
    assert threads["<a3@abc.example.com>"] != ours.thread_id


def test_an_unknown_sender_lands_in_a_thread_without_lead(db_session, lead):
    assert ingest_inbound_email("stranger@nowhere.example.com", "sales@example.com", "Prices?", "How much?",
                                "<u1@nowhere.example.com>") == "received"
    [message] = inbound(db_session)
    assert message.thread.lead_id is None  # Unmatched
    assert db_session.scalar(select(func.count()).select_from(Activity)
                             .where(Activity.activity_type == "email.received")) == 0


@pytest.mark.parametrize("body", ["unsubscribe", "STOP", "Stop.\n\nOn Monday you wrote: ..."])
def test_an_unsubscribe_reply_makes_the_lead_do_not_contact(db_session, lead, body):
    outcome = ingest_inbound_email("mike.d@abc-towing.example.com", "sales@example.com", "Re: trackers", body,
                                   "<s1@abc.example.com>")
    assert outcome == "received (opted out)"
    db_session.refresh(lead)
    assert lead.is_dnc is True


def test_a_reply_mentioning_stop_in_a_sentence_is_not_an_unsubscribe(db_session, lead):
    ingest_inbound_email("mike.d@abc-towing.example.com", "sales@example.com", "Re: trackers",
                         "Please don't stop sending updates", "<s2@abc.example.com>")
    db_session.refresh(lead)
    assert lead.is_dnc is False


# --- development: reply as the customer ---------------------------------------------------

def test_reply_as_the_customer_threads_the_reply_and_unsubscribe_blocks_the_next_send(client, app, db_session,
                                                                                      rep, lead):
    login(client, rep)
    post_email(client, app, lead)
    [ours] = emails_of(db_session, lead)
    assert jobs.send_email(str(ours.id)) == "sent"
    sent = db_session.scalar(select(OutboxMessage).where(OutboxMessage.message_key == ours.message_id))
    page = client.get("/outbox/customers")
    assert page.status_code == 200 and f"/outbox/email/{sent.id}/reply" in page.text
    assert client.post(f"/outbox/email/{sent.id}/reply",
                       data={"body": "", "csrf_token": csrf_token(client, app)}).status_code == 422
    response = client.post(f"/outbox/email/{sent.id}/reply",
                           data={"body": "Unsubscribe", "csrf_token": csrf_token(client, app)})
    assert response.status_code == 302
    [reply] = inbound(db_session)
    assert reply.thread_id == ours.thread_id and reply.in_reply_to == ours.message_id
    assert reply.from_address == ours.to_address and reply.subject == "Re: Your GPS trackers"
    db_session.refresh(lead)
    assert lead.is_dnc is True
    assert post_email(client, app, lead).status_code == 422


def test_the_email_reply_action_is_absent_in_production(app, redis_url, db_session, monkeypatch):
    from tests.integration.security_env import production_app

    prod = production_app(app, redis_url, monkeypatch)
    rules = {r.rule for r in prod.url_map.iter_rules()}
    assert "/leads/<uuid:lead_id>/email" in rules
    assert not any(r.startswith("/outbox") for r in rules)
    assert "/outbox/<channel>/<uuid:message_id>/reply" in {r.rule for r in app.url_map.iter_rules()}


def test_the_leads_email_conversation_moves_and_counts_unread_replies(client, app, db_session, rep, lead):
    from app.inbox.models import Conversation, ConversationChannel

    login(client, rep)
    post_email(client, app, lead)
    conversation = db_session.scalar(select(Conversation).where(Conversation.lead_id == lead.id))
    assert conversation.channel is ConversationChannel.EMAIL and conversation.unread_count == 0
    ingest_inbound_email("mike.d@abc-towing.example.com", "sales@example.com", "Re: Your GPS trackers",
                         "Sounds good", "<c1@abc.example.com>")
    ingest_inbound_email("mike.d@abc-towing.example.com", "sales@example.com", "Re: Your GPS trackers",
                         "Sounds good", "<c1@abc.example.com>")  # the same message again: not unread twice
    db_session.refresh(conversation)
    assert conversation.unread_count == 1 and conversation.last_message_preview.startswith("Re: Your GPS")
