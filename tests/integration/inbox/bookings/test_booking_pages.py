"""The bookings a rep sees: the lead page's card (upcoming and recent, UTC times, status,
the meeting link), and the unmatched list where a booking from an unknown address is
attached to a contact (then it has its lead, history and task)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.models import Task
from app.inbox.models import Booking, BookingStatus
from tests.factories import csrf_token, login
from tests.integration.inbox.bookings.calcom import UID_B, deliver, event, soon, story

pytestmark = pytest.mark.usefixtures("secret")


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP)


@pytest.fixture
def lead(factory, rep):
    company = factory.company(name="ABC Towing", assigned_rep_id=rep.id)
    contact = factory.contact(company, first_name="Mike", last_name="Delgado", full_name="Mike Delgado",
                              email="mike.delgado@abctowing.example.com",
                              email_normalized="mike.delgado@abctowing.example.com")
    return factory.lead(company, contact)


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


def test_the_lead_page_loads_its_bookings_card(app, db_session, lead, rep):
    page = signed_in(app, rep).get(f"/leads/{lead.id}").get_data(as_text=True)
    assert f'hx-get="/leads/{lead.id}/bookings"' in page


def test_the_card_lists_upcoming_and_recent_bookings(app, client, db_session, lead, rep):
    now = datetime.now(UTC)
    past = event("created", email="mike.delgado@abctowing.example.com", uid="past-booking",
                 start=now - timedelta(days=3), sent=now - timedelta(days=9))
    cancelled = event("cancelled", email="mike.delgado@abctowing.example.com", uid="cancelled-booking",
                      start=soon(6, 14), sent=now - timedelta(hours=1))
    events = story("mike.delgado@abctowing.example.com")
    deliver(client, events["created"], events["rescheduled"], past, cancelled)
    html = signed_in(app, rep).get(f"/leads/{lead.id}/bookings").get_data(as_text=True)
    upcoming, _, recent = html.partition('data-bookings="recent"')
    assert 'data-bookings="upcoming"' in upcoming
    assert f"{soon(3, 20):%Y-%m-%d %H:%M} UTC" in upcoming  # the moved time, in UTC
    assert "Rescheduled" in upcoming
    assert f'href="https://app.cal.com/video/{UID_B}"' in upcoming
    assert f"{soon(2, 15):%Y-%m-%d %H:%M} UTC" not in html  # the old time is gone
    assert "Cancelled" in recent and "Short a driver this week" in recent
    assert "Join the meeting" not in recent.split("Cancelled")[1].split("</li>")[0]  # no link to a cancelled call
    assert f"{(now - timedelta(days=3)):%Y-%m-%d %H:%M} UTC" in recent and "Scheduled" in recent


def test_the_card_reads_a_constant_number_of_statements(app, client, db_session, lead, rep, count_statements):
    viewer = signed_in(app, rep)
    viewer.get(f"/leads/{lead.id}/bookings")  # sign-in and first-request work out of the count
    db_session.expire_all()  # both counts start from a cold session (the test shares it)
    with count_statements() as none:
        assert viewer.get(f"/leads/{lead.id}/bookings").status_code == 200
    events = story("mike.delgado@abctowing.example.com")
    deliver(client, events["created"])
    for n in range(5):
        deliver(client, event("created", email="mike.delgado@abctowing.example.com", uid=f"more-{n}",
                              start=soon(7 + n, 9), sent=datetime.now(UTC)))
    db_session.expire_all()
    with count_statements() as many:
        html = viewer.get(f"/leads/{lead.id}/bookings").get_data(as_text=True)
    assert html.count('class="task" id="booking-') == 6
    assert many.count == none.count


def test_an_unknown_attendee_is_unmatched_until_a_rep_attaches_the_booking(app, client, db_session, lead, rep):
    events = story("dispatch@abctowing.example.com")  # no contact has this address
    deliver(client, events["created"])
    booking = db_session.scalar(select(Booking))
    assert booking.contact_id is None and booking.lead_id is None
    assert db_session.scalars(select(Task).where(Task.calendar_event_id == str(booking.id))).all() == []

    viewer = signed_in(app, rep)
    page = viewer.get("/inbox/bookings/unmatched").get_data(as_text=True)
    assert "dispatch@abctowing.example.com" in page and "Fleet GPS Demo" in page
    search_url = f"/inbox/bookings/{booking.id}/contacts"
    assert f'hx-get="{search_url}"' in page
    found = viewer.get(f"{search_url}?q=Mike+Delgado").get_data(as_text=True)
    assert "Mike Delgado" in found and f'value="{lead.contact_id}"' in found
    assert "No contact matches" in viewer.get(f"{search_url}?q=zzqqxx").get_data(as_text=True)

    response = viewer.post(f"/inbox/bookings/{booking.id}/attach",
                           data={"csrf_token": csrf_token(viewer, app), "contact_id": str(lead.contact_id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead.id}")
    db_session.expire_all()
    booking = db_session.get(Booking, booking.id)
    assert (booking.contact_id, booking.lead_id) == (lead.contact_id, lead.id)
    [attached] = db_session.scalars(select(Activity).where(Activity.activity_type == "booking.attached")).all()
    assert attached.lead_id == lead.id and attached.user_id == rep.id
    [task] = db_session.scalars(select(Task).where(Task.calendar_event_id == str(booking.id))).all()
    assert task.lead_id == lead.id and task.assigned_to_id == rep.id and task.due_at == soon(2, 15)
    assert "dispatch@abctowing.example.com" not in viewer.get("/inbox/bookings/unmatched").get_data(as_text=True)

    # later events of the booking follow it onto the lead
    deliver(client, events["rescheduled"])
    db_session.expire_all()
    task = db_session.get(Task, task.id)
    assert task.due_at == soon(3, 20)
    assert db_session.get(Booking, booking.id).cal_booking_uid == UID_B


def test_attaching_twice_or_to_nothing_is_refused(app, client, db_session, lead, rep):
    deliver(client, story("dispatch@abctowing.example.com")["created"])
    booking = db_session.scalar(select(Booking))
    viewer = signed_in(app, rep)
    token = csrf_token(viewer, app)
    assert viewer.post(f"/inbox/bookings/{booking.id}/attach", data={"csrf_token": token}).status_code == 422
    assert viewer.post(f"/inbox/bookings/{booking.id}/attach",
                       data={"csrf_token": token, "contact_id": "not-a-uuid"}).status_code == 422
    url = f"/inbox/bookings/{booking.id}/attach"
    assert viewer.post(url, data={"csrf_token": token, "contact_id": str(lead.contact_id)}).status_code == 302
    other = signed_in(app, rep)
    again = other.post(url, data={"csrf_token": csrf_token(other, app), "contact_id": str(lead.contact_id)})
    assert again.status_code == 409
    assert len(db_session.scalars(select(Activity).where(Activity.activity_type == "booking.attached")).all()) == 1


def test_a_contact_made_later_gets_the_next_event_of_an_unmatched_booking(client, db_session, factory, rep):
    events = story("new.person@example.com")
    deliver(client, events["created"])
    company = factory.company(assigned_rep_id=rep.id)
    contact = factory.contact(company, email="new.person@example.com", email_normalized="new.person@example.com")
    lead = factory.lead(company, contact)
    deliver(client, events["rescheduled"])
    booking = db_session.scalar(select(Booking))
    db_session.refresh(booking)
    assert (booking.lead_id, booking.status) == (lead.id, BookingStatus.RESCHEDULED)
    [task] = db_session.scalars(select(Task).where(Task.lead_id == lead.id)).all()
    assert task.due_at == soon(3, 20)
