"""Logging a call from the lead page: a call_logs row and an activity; a bad duration is
refused with nothing stored; WRONG_NUMBER makes the contact un-textable."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.inbox.calls.services import DurationRefused, parse_duration
from app.inbox.models import CallLog, CallOutcome, MessageDirection
from tests.factories import csrf_token, login


def _lead(factory, **contact):
    company = factory.company()
    values = dict(phone="(512) 555-0101", phone_e164="+15125550101", is_sms_eligible=True)
    values.update(contact)
    return factory.lead(company=company, contact=factory.contact(company, **values))


def _post(client, app, lead, **data):
    form = {"csrf_token": csrf_token(client, app), "direction": "OUTBOUND", "outcome": "CONNECTED",
            "duration": "", "notes": ""}
    form.update(data)
    return client.post(f"/leads/{lead.id}/calls", data=form, headers={"HX-Request": "true"})


@pytest.mark.parametrize(("raw", "seconds"), [("", None), ("245", 245), ("4:05", 245), ("0:07", 7),
                                              ("1:02:03", 3723), (" 12:00 ", 720)])
def test_durations_people_type(raw, seconds):
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["4:75", "abc", "-5", "1.5", "4:5", "1:60:00", "86400", "9" * 40, "٣:٠٥", "NaN"])
def test_durations_refused(raw):
    with pytest.raises(DurationRefused):
        parse_duration(raw)


def test_log_a_call_stores_the_call_and_an_activity(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    lead = _lead(factory)
    login(client, rep)

    response = _post(client, app, lead, outcome="NO_ANSWER", duration="1:30", notes="left no message",
                     direction="INBOUND")

    assert response.status_code == 200
    call = db_session.scalar(select(CallLog).where(CallLog.lead_id == lead.id))
    assert (call.outcome, call.direction, call.duration_seconds, call.notes, call.user_id, call.contact_id) == (
        CallOutcome.NO_ANSWER, MessageDirection.INBOUND, 90, "left no message", rep.id, lead.contact_id)
    activity = db_session.scalar(select(Activity).where(Activity.lead_id == lead.id,
                                                        Activity.activity_type == "call.logged"))
    assert activity.user_id == rep.id and activity.detail["call_log_id"] == str(call.id)
    assert "No answer" in response.text and "left no message" in response.text  # the panel, re-rendered
    assert response.headers["HX-Trigger"] and "activityChanged" in response.headers["HX-Trigger"]
    assert lead.contact.is_sms_eligible  # only a wrong number changes it


def test_a_bad_duration_is_refused_with_nothing_stored(app, client, factory, db_session):
    lead = _lead(factory)
    login(client, factory.user(UserRole.REP))
    before = db_session.scalar(select(func.count()).select_from(Activity))

    response = _post(client, app, lead, duration="4:75", outcome="WRONG_NUMBER")

    assert response.status_code == 422
    assert "mm:ss" in response.text or "59" in response.text
    assert db_session.scalar(select(func.count()).select_from(CallLog).where(CallLog.lead_id == lead.id)) == 0
    assert db_session.scalar(select(func.count()).select_from(Activity)) == before
    db_session.refresh(lead.contact)
    assert lead.contact.is_sms_eligible  # the refused WRONG_NUMBER changed nothing


def test_an_unknown_outcome_is_refused(app, client, factory, db_session):
    lead = _lead(factory)
    login(client, factory.user(UserRole.REP))
    assert _post(client, app, lead, outcome="VOICEMAIL_DROPPED").status_code == 422
    assert db_session.scalar(select(func.count()).select_from(CallLog).where(CallLog.lead_id == lead.id)) == 0


def test_wrong_number_clears_sms_eligibility_and_says_so(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    lead = _lead(factory)
    login(client, rep)

    assert _post(client, app, lead, outcome="WRONG_NUMBER", duration="5").status_code == 200

    db_session.refresh(lead.contact)
    assert lead.contact.is_sms_eligible is False
    cleared = db_session.scalar(select(Activity).where(Activity.contact_id == lead.contact_id,
                                                       Activity.activity_type == "contact.sms_ineligible"))
    assert cleared.user_id == rep.id and cleared.detail["reason"] == "wrong_number"
    assert cleared.detail["phone"] == "+15125550101"


def test_the_lead_page_loads_the_calls_panel(app, client, factory, db_session):
    lead = _lead(factory)
    login(client, factory.user(UserRole.REP))
    page = client.get(f"/leads/{lead.id}")
    assert f'hx-get="/leads/{lead.id}/thread"' in page.text
    panel = client.get(f"/leads/{lead.id}/thread", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and ">Log call<" in panel.text and 'name="duration"' in panel.text


def test_a_plain_form_post_logs_and_returns_to_the_lead(app, client, factory, db_session):
    lead = _lead(factory)
    login(client, factory.user(UserRole.REP))
    token = csrf_token(client, app)
    response = client.post(f"/leads/{lead.id}/calls", data={"csrf_token": token, "direction": "OUTBOUND",
                                                            "outcome": "BUSY", "duration": "0:00"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead.id}")
    refused = client.post(f"/leads/{lead.id}/calls", data={"csrf_token": token, "direction": "OUTBOUND",
                                                           "outcome": "BUSY", "duration": "soon"})
    assert refused.status_code == 422 and "Log a call" in refused.text
    assert db_session.scalar(select(func.count()).select_from(CallLog).where(CallLog.lead_id == lead.id)) == 1
