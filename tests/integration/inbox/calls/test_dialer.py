"""The power dialer over HTTP: one lead at a time, claimed for the rep (stored, so a reload
shows the same lead), DNC / no phone / called in the last hour skipped, outcomes posted by
the form the hotkeys press, voicemail drops recorded as such."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.inbox.calls import services
from app.inbox.calls.models import CallListClaim
from app.inbox.models import CallLog, CallOutcome, MessageDirection, VoicemailDrop
from tests.factories import csrf_token, login

PHONES = iter(f"+1512555{n:04d}" for n in range(1000, 9999))


def phoned_lead(factory, **kw):
    company = factory.company()
    contact_kw = {"phone_e164": kw.pop("phone_e164", next(PHONES)), "is_sms_eligible": True}
    return factory.lead(company=company, contact=factory.contact(company, **contact_kw), **kw)


def make_list(leads, owner):
    return services.create_call_list("Test list", [lead.id for lead in leads], {"page": "leads", "args": {}},
                                     actor=owner)


def current_lead(client, call_list) -> str | None:
    page = client.get(f"/calls/lists/{call_list.id}/dial")
    assert page.status_code == 200
    match = re.search(r'name="lead_id" type="hidden" value="([0-9a-f-]{36})"', page.text) or \
        re.search(r'type="hidden" name="lead_id" value="([0-9a-f-]{36})"', page.text) or \
        re.search(r'id="lead_id" name="lead_id" type="hidden" value="([0-9a-f-]{36})"', page.text)
    return match.group(1) if match else None


def start(client, app, call_list):
    return client.post(f"/calls/lists/{call_list.id}/next", data={"csrf_token": csrf_token(client, app)})


def outcome(client, app, call_list, lead_id, value, **extra):
    data = {"csrf_token": csrf_token(client, app), "lead_id": lead_id, "outcome": value, "duration": "",
            "notes": ""}
    data.update(extra)
    return client.post(f"/calls/lists/{call_list.id}/dial", data=data)


def test_the_dialer_walks_the_list_with_the_hotkey_form(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    leads = [phoned_lead(factory) for _ in range(3)]
    call_list = make_list(leads, rep)
    login(client, rep)

    first = client.get(f"/calls/lists/{call_list.id}/dial")
    assert "Start calling" in first.text and current_lead(client, call_list) is None  # a GET claims nothing
    assert start(client, app, call_list).status_code == 303
    page = client.get(f"/calls/lists/{call_list.id}/dial")
    assert f'href="tel:{leads[0].contact.phone_e164}"' in page.text
    for key in ("c", "n", "v", "b", "w"):
        assert f'data-hotkey="{key}"' in page.text
    assert 'src="/static/js/dialer.js"' in page.text

    posted = []
    for lead, value, typed in zip(leads, ("CONNECTED", "NO_ANSWER", "WRONG_NUMBER"), ("4:05", "12", ""), strict=True):
        assert current_lead(client, call_list) == str(lead.id)
        response = outcome(client, app, call_list, str(lead.id), value, duration=typed, notes=f"note {value}")
        assert response.status_code == 303
        posted.append(value)

    calls = db_session.scalars(select(CallLog).where(CallLog.lead_id.in_([lead.id for lead in leads]))
                               .order_by(CallLog.created_at)).all()
    assert [(c.lead_id, c.outcome.value, c.duration_seconds, c.direction) for c in calls] == [
        (leads[0].id, "CONNECTED", 245, MessageDirection.OUTBOUND), (leads[1].id, "NO_ANSWER", 12, MessageDirection.OUTBOUND),
        (leads[2].id, "WRONG_NUMBER", None, MessageDirection.OUTBOUND)]
    assert all(c.user_id == rep.id for c in calls)
    db_session.refresh(leads[2].contact)
    assert leads[2].contact.is_sms_eligible is False
    done = client.get(f"/calls/lists/{call_list.id}/dial")
    assert "Nothing left to call" in done.text and "3 of 3 done" in done.text
    claims = db_session.scalars(select(CallListClaim).where(CallListClaim.call_list_id == call_list.id)).all()
    assert {c.call_log_id for c in claims} == {c.id for c in calls}


def test_position_survives_a_reload_and_a_new_session(app, factory, db_session):
    rep = factory.user(UserRole.REP)
    leads = [phoned_lead(factory) for _ in range(3)]
    call_list = make_list(leads, rep)
    client = app.test_client()
    login(client, rep)
    start(client, app, call_list)
    outcome(client, app, call_list, str(leads[0].id), "BUSY")
    assert current_lead(client, call_list) == str(leads[1].id)
    assert current_lead(client, call_list) == str(leads[1].id)  # a reload

    other_browser = app.test_client()  # a new sign-in: nothing in the session
    login(other_browser, rep)
    assert current_lead(other_browser, call_list) == str(leads[1].id)
    start(other_browser, app, call_list)  # "Start" again: still the same lead, not a second one
    assert current_lead(other_browser, call_list) == str(leads[1].id)
    assert db_session.scalar(select(func.count()).select_from(CallListClaim).where(
        CallListClaim.call_list_id == call_list.id, CallListClaim.completed_at.is_(None))) == 1


def test_two_reps_get_different_leads(app, factory, db_session):
    reps = [factory.user(UserRole.REP) for _ in range(2)]
    leads = [phoned_lead(factory) for _ in range(2)]
    call_list = make_list(leads, reps[0])
    clients = []
    for rep in reps:
        client = app.test_client()
        login(client, rep)
        start(client, app, call_list)
        clients.append(client)
    assert {current_lead(c, call_list) for c in clients} == {str(lead.id) for lead in leads}


def test_dnc_no_phone_and_called_in_the_last_hour_are_skipped(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    dnc = phoned_lead(factory, is_dnc=True)
    no_phone = phoned_lead(factory, phone_e164=None)
    recent = phoned_lead(factory)
    earlier = phoned_lead(factory)
    callable_ = phoned_lead(factory)
    services.log_call(recent, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER)
    old = services.log_call(earlier, actor=rep, direction=MessageDirection.OUTBOUND, outcome=CallOutcome.BUSY)
    old.created_at = datetime.now(UTC) - timedelta(minutes=61)
    db_session.flush()
    call_list = make_list([dnc, no_phone, recent, earlier, callable_], rep)
    login(client, rep)

    start(client, app, call_list)
    assert current_lead(client, call_list) == str(earlier.id)  # called 61 minutes ago: due again
    outcome(client, app, call_list, str(earlier.id), "SKIP")
    assert current_lead(client, call_list) == str(callable_.id)
    outcome(client, app, call_list, str(callable_.id), "CONNECTED")
    assert current_lead(client, call_list) is None
    assert "Nothing left to call" in client.get(f"/calls/lists/{call_list.id}/dial").text
    # the lead called 5 minutes ago becomes callable an hour after its call
    claim = services.claim_next(call_list, rep, now=datetime.now(UTC) + timedelta(minutes=61))
    assert claim.lead_id == recent.id


def test_an_outcome_for_a_lead_the_rep_does_not_hold_is_refused(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    leads = [phoned_lead(factory) for _ in range(2)]
    call_list = make_list(leads, rep)
    login(client, rep)
    start(client, app, call_list)

    response = outcome(client, app, call_list, str(leads[1].id), "CONNECTED")  # not the held lead

    assert response.status_code == 409
    assert db_session.scalar(select(func.count()).select_from(CallLog).where(
        CallLog.lead_id.in_([lead.id for lead in leads]))) == 0
    assert current_lead(client, call_list) == str(leads[0].id)


def test_a_bad_duration_in_the_dialer_is_refused_and_keeps_the_lead(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    lead = phoned_lead(factory)
    call_list = make_list([lead], rep)
    login(client, rep)
    start(client, app, call_list)
    response = outcome(client, app, call_list, str(lead.id), "CONNECTED", duration="ten minutes", notes="kept")
    assert response.status_code == 422 and "mm:ss" in response.text and ">kept</textarea>" in response.text
    assert db_session.scalar(select(func.count()).select_from(CallLog).where(CallLog.lead_id == lead.id)) == 0
    assert current_lead(client, call_list) == str(lead.id)


def test_drop_voicemail_records_a_dropped_voicemail(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    lead = phoned_lead(factory)
    drop = VoicemailDrop(name="Friendly follow-up", audio_url="/x", duration_seconds=21, file_name=None)
    db_session.add(drop)
    db_session.flush()
    call_list = make_list([lead], rep)
    login(client, rep)
    start(client, app, call_list)
    page = client.get(f"/calls/lists/{call_list.id}/dial")
    assert "Friendly follow-up (0:21)" in page.text and "Drop voicemail" in page.text

    assert outcome(client, app, call_list, str(lead.id), "DROP", voicemail_drop_id="").status_code == 422
    response = outcome(client, app, call_list, str(lead.id), "DROP", voicemail_drop_id=str(drop.id))

    assert response.status_code == 303
    call = db_session.scalar(select(CallLog).where(CallLog.lead_id == lead.id))
    assert (call.outcome, call.voicemail_dropped) == (CallOutcome.VOICEMAIL, True)
    activity = db_session.scalar(select(Activity).where(Activity.lead_id == lead.id))
    assert activity.activity_type == "call.voicemail_dropped"
    assert activity.detail["voicemail_drop_id"] == str(drop.id)


def test_the_lead_context_shows_notes_messages_and_the_open_invoice(app, client, factory, db_session):
    from decimal import Decimal

    from app.billing.models import Invoice, InvoiceStatus
    from app.crm.models import Note
    from app.inbox.models import SmsMessage

    rep = factory.user(UserRole.REP)
    lead = phoned_lead(factory)
    db_session.add(Note(company_id=lead.company_id, lead_id=lead.id, author_id=rep.id, body="Wants 40 trackers"))
    db_session.add(SmsMessage(lead_id=lead.id, contact_id=lead.contact_id, direction=MessageDirection.INBOUND,
                              from_number=lead.contact.phone_e164, to_number="+15125550000", body="Call me after 3"))
    db_session.add(Invoice(company_id=lead.company_id, lead_id=lead.id, invoice_number="INV-TEST-DIAL-1",
                           status=InvoiceStatus.PARTIAL, subtotal=Decimal("500.00"), total=Decimal("500.00"),
                           balance_due=Decimal("125.50")))
    db_session.flush()
    call_list = make_list([lead], rep)
    login(client, rep)
    start(client, app, call_list)
    page = client.get(f"/calls/lists/{call_list.id}/dial").text
    assert "Wants 40 trackers" in page and "Call me after 3" in page
    assert "INV-TEST-DIAL-1" in page and "$125.50" in page


def test_a_lead_that_becomes_dnc_while_held_is_flagged(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    lead = phoned_lead(factory)
    call_list = make_list([lead], rep)
    login(client, rep)
    start(client, app, call_list)
    lead.is_dnc = True  # a STOP arrived meanwhile
    db_session.flush()
    assert "became do-not-contact" in client.get(f"/calls/lists/{call_list.id}/dial").text
