"""From the Unmatched view, a rep creates the contact and lead an unknown sender is: the form
comes prefilled with the number / address / name, refuses what is wrong (422, nothing saved),
and on save the conversation (texts, e-mail threads) or the booking moves to the new lead."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.crm.models import Company, Contact, Lead, LeadStage
from app.inbox.email.services import ingest_inbound_email
from app.inbox.models import (
    Booking,
    Conversation,
    ConversationChannel,
    EmailThread,
    MessageDirection,
    SmsMessage,
    SmsStatus,
)
from tests.factories import csrf_token
from tests.integration.inbox.bookings.calcom import SECRET, deliver, story
from tests.integration.inbox.queue.test_queue import conversation, signed_in


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP, first_name="Rita")


def counts(db_session) -> tuple[int, int, int]:
    return tuple(db_session.scalar(select(func.count()).select_from(m)) for m in (Company, Contact, Lead))


def unmatched_text(factory, number="+15125550199") -> tuple[Conversation, SmsMessage]:
    unmatched = conversation(factory, lead=False, unmatched_address=number)
    text = factory._add(SmsMessage(id=uuid.uuid4(), conversation_id=unmatched.id, direction=MessageDirection.INBOUND,
                                   from_number=number, to_number="+15125550100", body="Price for 12 trackers?",
                                   status=SmsStatus.DELIVERED))
    return unmatched, text


def post(app, user, url, **data):
    client = signed_in(app, user)
    base = {"csrf_token": csrf_token(client, app), "company_name": "Lone Star Haulers", "first_name": "Dana",
            "last_name": "Ortiz", "email": "", "phone": ""}
    return client.post(url, data={**base, **data})


def test_an_unmatched_text_becomes_a_new_lead_with_its_conversation(app, db_session, factory, rep):
    unmatched, text = unmatched_text(factory)
    url = f"/inbox/conversations/{unmatched.id}/new-lead"
    page = signed_in(app, rep).get(url)
    assert page.status_code == 200
    assert 'value="+15125550199"' in page.get_data(as_text=True)  # prefilled with the number

    response = post(app, rep, url, phone="+15125550199")
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.expire_all()
    lead = db_session.get(Lead, unmatched.lead_id)
    assert lead is not None and response.headers["Location"].endswith(f"/leads/{lead.id}")
    assert lead.stage is LeadStage.NEW_LEAD and lead.company.name == "Lone Star Haulers"
    assert lead.company.assigned_rep_id == rep.id
    assert lead.contact.full_name == "Dana Ortiz" and lead.contact.phone_e164 == "+15125550199"
    assert (text.lead_id, text.contact_id) == (lead.id, lead.contact_id)
    assert unmatched.contact_id == lead.contact_id and unmatched.user_id == rep.id
    html = signed_in(app, rep).get("/inbox?tab=unmatched").get_data(as_text=True)
    assert str(unmatched.id) not in html


def test_an_unmatched_email_becomes_a_new_lead_with_its_threads(app, db_session, factory, rep):
    ingest_inbound_email("Pat Stranger <pat@nowhere.example.com>", "sales@crm.example.com", "Trackers?",
                         "How much?", "<p1@nowhere.example.com>",
                         received_at=datetime.now(UTC) - timedelta(minutes=3))
    db_session.flush()
    unmatched = db_session.scalar(select(Conversation).where(Conversation.channel == ConversationChannel.EMAIL,
                                                             Conversation.lead_id.is_(None)))
    url = f"/inbox/conversations/{unmatched.id}/new-lead"
    html = signed_in(app, rep).get(url).get_data(as_text=True)
    assert 'value="pat@nowhere.example.com"' in html and 'value="Pat"' in html and 'value="Stranger"' in html

    response = post(app, rep, url, first_name="Pat", last_name="Stranger", email="pat@nowhere.example.com")
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.expire_all()
    [thread] = db_session.scalars(select(EmailThread)).all()
    assert thread.lead_id == unmatched.lead_id is not None
    # the next e-mail from Pat is matched to the new lead, not Unmatched
    ingest_inbound_email("pat@nowhere.example.com", "sales@crm.example.com", "Again", "Still keen",
                         "<p2@nowhere.example.com>")
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Conversation)
                             .where(Conversation.lead_id.is_(None))) == 0


@pytest.mark.usefixtures("secret")
def test_an_unmatched_booking_becomes_a_new_lead(app, client, db_session, rep):
    deliver(client, story("new.person@fleetco.example.com")["created"])
    [booking] = db_session.scalars(select(Booking)).all()
    assert booking.contact_id is None
    url = f"/inbox/bookings/{booking.id}/new-lead"
    html = signed_in(app, rep).get(url).get_data(as_text=True)
    assert 'value="new.person@fleetco.example.com"' in html and 'value="Mike"' in html  # the sample's attendee
    assert f'href="/inbox/bookings/{booking.id}/new-lead"' in signed_in(app, rep).get(
        "/inbox/bookings/unmatched").get_data(as_text=True)

    response = post(app, rep, url, first_name="Mike", last_name="Delgado", email="new.person@fleetco.example.com")
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.expire_all()
    assert booking.contact_id is not None and booking.lead_id is not None
    item = db_session.scalar(select(Conversation).where(Conversation.lead_id == booking.lead_id))
    assert item.channel is ConversationChannel.CALL and item.last_kind == "booking_created"


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALCOM_WEBHOOK_SECRET", SECRET)


@pytest.mark.parametrize("data, message", [
    ({"company_name": ""}, "Name the company."),
    ({"phone": "12"}, "Enter a valid phone number"),
    ({"email": "not an address"}, "does not look right"),
    ({"first_name": "", "last_name": "", "email": "", "phone": ""}, "Give the contact a name"),
])
def test_bad_input_is_422_and_saves_nothing(app, db_session, factory, rep, data, message):
    unmatched, _ = unmatched_text(factory)
    before = counts(db_session)
    response = post(app, rep, f"/inbox/conversations/{unmatched.id}/new-lead", **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db_session.expire_all()
    assert counts(db_session) == before and unmatched.lead_id is None


def test_a_known_address_or_number_is_refused_attach_instead(app, db_session, factory, rep):
    factory.contact(first_name="Zed", last_name="Known", full_name="Zed Known", email="zed@known.example.com",
                    email_normalized="zed@known.example.com")
    unmatched, _ = unmatched_text(factory)
    before = counts(db_session)
    response = post(app, rep, f"/inbox/conversations/{unmatched.id}/new-lead", email="ZED@known.example.com")
    assert response.status_code == 422
    assert "Zed Known already has this e-mail: attach to them instead." in response.get_data(as_text=True)
    db_session.expire_all()
    assert counts(db_session) == before


def test_an_attached_conversation_goes_to_its_lead(app, db_session, factory, rep):
    matched = conversation(factory)
    response = signed_in(app, rep).get(f"/inbox/conversations/{matched.id}/new-lead")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{matched.lead_id}")


def test_attaching_to_a_contact_without_a_lead_opens_one(app, db_session, factory, rep):
    """The number is a known contact's who has no lead (so the text was unmatched): "New contact"
    refuses (they exist), and attach opens a lead for them in their company instead of a dead end."""
    company = factory.company(name="No Lead Yet Co")
    contact = factory.contact(company, phone="+15125550199", phone_e164="+15125550199")
    unmatched, text = unmatched_text(factory)
    refused = post(app, rep, f"/inbox/conversations/{unmatched.id}/new-lead", phone="+15125550199")
    assert refused.status_code == 422 and "attach to them instead" in refused.get_data(as_text=True)
    client = signed_in(app, rep)
    response = client.post(f"/inbox/conversations/{unmatched.id}/attach",
                           data={"csrf_token": csrf_token(client, app), "contact_id": str(contact.id)})
    assert response.status_code == 302
    db_session.expire_all()
    lead = db_session.get(Lead, unmatched.lead_id)
    assert lead.contact_id == contact.id and lead.company_id == company.id and lead.stage is LeadStage.NEW_LEAD
    assert text.lead_id == lead.id
