"""Applying Cal.com events (through the webhook and its job): one bookings row per meeting,
matched to the contact by e-mail, moved by reschedules (in any order, twice, delivered
twice), cancelled; an activity per event and one task for the lead's rep."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.crm.models import Task, TaskType
from app.inbox.bookings.models import BookingUid
from app.inbox.models import Booking, BookingStatus
from app.webhooks.models import WebhookEvent
from tests.integration.inbox.bookings.calcom import (
    UID_A,
    UID_B,
    UID_C,
    deliver,
    event,
    post,
    signature,
    soon,
    story,
    work_all,
)

pytestmark = pytest.mark.usefixtures("secret")


@pytest.fixture
def rep(factory):
    return factory.user(first_name="Jordan", last_name="Reyes")


@pytest.fixture
def lead(factory, rep):
    company = factory.company(name="ABC Towing", assigned_rep_id=rep.id)
    contact = factory.contact(company, first_name="Mike", last_name="Delgado", full_name="Mike Delgado",
                              email="Mike.Delgado@ABCTowing.example.com",
                              email_normalized="mike.delgado@abctowing.example.com")
    return factory.lead(company, contact)


EMAIL = "MIKE.delgado@abctowing.example.com "  # as a booker may type it: normalised to match


def all_bookings(db_session) -> list[Booking]:
    db_session.expire_all()
    return db_session.scalars(select(Booking)).all()


def tasks_of(db_session, lead) -> list[Task]:
    return db_session.scalars(select(Task).where(Task.lead_id == lead.id).order_by(Task.created_at)).all()


def booking_activities(db_session, lead) -> list[Activity]:
    return db_session.scalars(select(Activity).where(Activity.lead_id == lead.id,
                                                     Activity.activity_type.like("booking.%"))
                              .order_by(Activity.occurred_at)).all()


def uids_of(db_session, booking) -> set[str]:
    return set(db_session.scalars(select(BookingUid.uid).where(BookingUid.booking_id == booking.id)))


def title_at(start: datetime) -> str:
    return f"Prepare for the call with Mike Delgado at {start:%Y-%m-%d %H:%M} UTC"


def test_a_booking_is_matched_by_email_with_an_activity_and_a_task_for_the_rep(client, db_session, lead, rep):
    events = story(EMAIL)
    deliver(client, events["created"])
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_A, BookingStatus.SCHEDULED)
    assert (booking.contact_id, booking.lead_id) == (lead.contact_id, lead.id)
    assert booking.attendee_email == "mike.delgado@abctowing.example.com"
    assert booking.attendee_name == "Mike Delgado"
    assert (booking.event_type_slug, booking.event_type_title) == ("fleet-gps-demo", "Fleet GPS Demo")
    assert booking.start_at == soon(2, 15) and booking.end_at == soon(2, 15) + timedelta(minutes=30)
    assert booking.meeting_url == f"https://app.cal.com/video/{UID_A}"
    assert booking.reschedule_url == f"https://cal.com/reschedule/{UID_A}"
    assert booking.raw_payload == events["created"]  # the event as Cal.com sent it
    [activity] = booking_activities(db_session, lead)
    assert activity.activity_type == "booking.created"
    assert activity.summary == f"Mike Delgado booked Fleet GPS Demo on {soon(2, 15):%Y-%m-%d %H:%M} UTC"
    assert activity.company_id == lead.company_id and activity.contact_id == lead.contact_id
    [task] = tasks_of(db_session, lead)
    assert task.title == title_at(soon(2, 15))
    assert task.assigned_to_id == rep.id and task.due_at == soon(2, 15) and not task.is_completed
    assert task.task_type is TaskType.CALL and task.duration_min == 30
    assert task.calendar_event_id == str(booking.id)


def test_a_reschedule_moves_the_one_booking_and_its_task(client, db_session, lead):
    events = story(EMAIL)
    deliver(client, events["created"])
    [task_before] = tasks_of(db_session, lead)
    deliver(client, events["rescheduled"])
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_B, BookingStatus.RESCHEDULED)
    assert booking.start_at == soon(3, 20)
    assert booking.meeting_url == f"https://app.cal.com/video/{UID_B}"
    assert uids_of(db_session, booking) == {UID_A, UID_B}
    [task] = tasks_of(db_session, lead)  # moved, not another
    assert task.id == task_before.id
    assert task.due_at == soon(3, 20) and task.title == title_at(soon(3, 20))
    assert f"https://app.cal.com/video/{UID_B}" in task.description  # the new link
    kinds = [a.activity_type for a in booking_activities(db_session, lead)]
    assert kinds == ["booking.created", "booking.rescheduled"]


def test_a_cancellation_cancels_the_booking_and_completes_its_task(client, db_session, lead):
    events = story(EMAIL)
    deliver(client, events["created"], events["rescheduled"], events["cancelled_b"])
    [booking] = all_bookings(db_session)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.cancel_reason.startswith("Short a driver this week")
    assert booking.cancelled_at is not None
    [task] = tasks_of(db_session, lead)
    assert task.is_completed
    kinds = [a.activity_type for a in booking_activities(db_session, lead)]
    assert kinds == ["booking.created", "booking.rescheduled", "booking.cancelled"]


def test_a_reschedule_before_its_create_makes_one_booking(client, db_session, lead):
    events = story(EMAIL)
    deliver(client, events["rescheduled"], events["created"])
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_B, BookingStatus.RESCHEDULED)
    assert booking.start_at == soon(3, 20)  # the late create changed nothing
    assert booking.raw_payload == events["rescheduled"]
    assert uids_of(db_session, booking) == {UID_A, UID_B}
    [task] = tasks_of(db_session, lead)
    assert task.due_at == soon(3, 20)
    # both are in the lead's history, at their own times
    kinds = [a.activity_type for a in booking_activities(db_session, lead)]
    assert kinds == ["booking.created", "booking.rescheduled"]


def test_a_cancel_before_its_create_leaves_it_cancelled_with_no_open_task(client, db_session, lead):
    events = story(EMAIL)
    deliver(client, events["cancelled_a"], events["created"])
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_A, BookingStatus.CANCELLED)
    assert [t for t in tasks_of(db_session, lead) if not t.is_completed] == []
    kinds = [a.activity_type for a in booking_activities(db_session, lead)]
    assert kinds == ["booking.created", "booking.cancelled"]


@pytest.mark.parametrize("order", [
    ("created", "rescheduled", "rescheduled_again"),
    ("rescheduled_again", "rescheduled", "created"),
    ("created", "rescheduled_again", "rescheduled"),  # two rows for a moment, then one
    ("rescheduled", "rescheduled_again", "created"),
    ("rescheduled_again", "created", "rescheduled"),
])
def test_a_booking_rescheduled_twice_is_one_row_whatever_the_order(client, db_session, lead, order):
    events = story(EMAIL)
    deliver(client, *(events[name] for name in order))
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_C, BookingStatus.RESCHEDULED)
    assert booking.start_at == soon(4, 17)
    assert uids_of(db_session, booking) == {UID_A, UID_B, UID_C}
    [task] = tasks_of(db_session, lead)
    assert task.due_at == soon(4, 17) and not task.is_completed
    assert task.calendar_event_id == str(booking.id)
    assert len(booking_activities(db_session, lead)) == 3


def test_the_cancellation_of_a_rescheduled_booking_before_the_reschedule(client, db_session, lead):
    events = story(EMAIL)
    deliver(client, events["created"], events["cancelled_b"], events["rescheduled"])
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_B, BookingStatus.CANCELLED)
    assert [t.is_completed for t in tasks_of(db_session, lead)] == [True]


def test_a_cancellation_of_the_time_a_booking_moved_from_changes_nothing(client, db_session, lead):
    events = story(EMAIL)
    late_cancel_a = event("cancelled", email=EMAIL, uid=UID_A, start=soon(2, 15),
                          sent=datetime.now(UTC) - timedelta(hours=1))
    deliver(client, events["created"], events["rescheduled"], late_cancel_a)
    [booking] = all_bookings(db_session)
    assert (booking.cal_booking_uid, booking.status) == (UID_B, BookingStatus.RESCHEDULED)
    assert [t.is_completed for t in tasks_of(db_session, lead)] == [False]


def test_the_same_reschedule_twice_is_applied_once(client, db_session, lead):
    """Delivered twice as the same bytes (stored once), and once more re-serialised into other
    bytes (stored again: Cal.com sends no event id): one move, one activity."""
    events = story(EMAIL)
    deliver(client, events["created"], events["rescheduled"], events["rescheduled"])
    body = json.dumps(events["rescheduled"], separators=(",", ":")).encode()
    assert post(client, body, header=signature(body)).status_code == 200
    work_all()
    assert len(db_session.scalars(select(WebhookEvent).where(WebhookEvent.event_type == "BOOKING_RESCHEDULED")).all()) == 2
    [booking] = all_bookings(db_session)
    assert booking.cal_booking_uid == UID_B
    kinds = [a.activity_type for a in booking_activities(db_session, lead)]
    assert kinds == ["booking.created", "booking.rescheduled"]
    assert len(tasks_of(db_session, lead)) == 1


def test_a_cancelled_booking_rescheduled_again_reopens_its_task(client, db_session, lead):
    """A host-requested reschedule cancels the booking; the attendee's new time moves it back."""
    now = datetime.now(UTC)
    created = event("created", email=EMAIL, uid=UID_A, start=soon(2, 15), sent=now - timedelta(hours=3))
    cancelled = event("cancelled", email=EMAIL, uid=UID_A, start=soon(2, 15), sent=now - timedelta(hours=2),
                      requestReschedule=True)
    moved = event("rescheduled", email=EMAIL, uid=UID_B, previous=UID_A, start=soon(5, 16),
                  sent=now - timedelta(hours=1))
    deliver(client, created, cancelled)
    assert [t.is_completed for t in tasks_of(db_session, lead)] == [True]
    deliver(client, moved)
    [booking] = all_bookings(db_session)
    assert booking.status is BookingStatus.RESCHEDULED and booking.cancelled_at is None
    [task] = tasks_of(db_session, lead)
    assert not task.is_completed and task.due_at == soon(5, 16)


def test_without_an_assigned_rep_the_organizer_user_prepares(client, db_session, factory):
    organizer = factory.user(email="jordan.reyes@northstarfleet.example.com")
    company = factory.company()  # nobody assigned
    contact = factory.contact(company, email_normalized="mike.delgado@abctowing.example.com")
    lead = factory.lead(company, contact)
    deliver(client, story(EMAIL)["created"])
    [task] = tasks_of(db_session, lead)
    assert task.assigned_to_id == organizer.id


def test_an_event_no_booking_can_come_of_is_marked_and_not_retried(client, db_session, lead):
    broken = event("created", email=EMAIL, uid=UID_A, start=soon(2, 15), sent=datetime.now(UTC))
    broken["payload"]["startTime"] = "next tuesday"
    deliver(client, broken)
    stored = db_session.scalar(select(WebhookEvent).where(WebhookEvent.provider == "calcom"))
    db_session.refresh(stored)
    assert stored.processed_at is not None and "start or end" in stored.error
    assert all_bookings(db_session) == []


def test_other_triggers_are_stored_and_ignored(client, db_session, lead):
    ping = {"triggerEvent": "PING", "createdAt": "2026-11-09T16:42:07.311Z", "payload": {"title": "Test"}}
    deliver(client, ping)
    stored = db_session.scalar(select(WebhookEvent).where(WebhookEvent.provider == "calcom"))
    db_session.refresh(stored)
    assert stored.processed_at is not None and stored.error is None
    assert all_bookings(db_session) == []


def test_a_meeting_link_that_is_not_http_is_not_kept(client, db_session, lead):
    hostile = event("created", email=EMAIL, uid=UID_A, start=soon(2, 15), sent=datetime.now(UTC),
                    bookerUrl="javascript:alert(1)//", location="javascript:alert(2)")
    hostile["payload"]["metadata"]["videoCallUrl"] = "javascript:alert(3)"
    hostile["payload"]["videoCallData"]["url"] = "data:text/html,<script>alert(4)</script>"
    deliver(client, hostile)
    [booking] = all_bookings(db_session)
    assert booking.meeting_url is None and booking.reschedule_url is None and booking.cancel_url is None


def test_a_contact_without_a_lead_gets_the_booking_and_its_next_event_finds_the_lead(
        client, db_session, factory, rep):
    company = factory.company(assigned_rep_id=rep.id)
    contact = factory.contact(company, email_normalized="mike.delgado@abctowing.example.com")
    events = story(EMAIL)
    deliver(client, events["created"])
    [booking] = all_bookings(db_session)
    assert (booking.contact_id, booking.lead_id) == (contact.id, None)  # matched, not unmatched
    [task] = db_session.scalars(select(Task).where(Task.calendar_event_id == str(booking.id))).all()
    assert task.company_id == company.id and task.assigned_to_id == rep.id
    lead = factory.lead(company, contact)
    deliver(client, events["rescheduled"])
    [booking] = all_bookings(db_session)
    assert booking.lead_id == lead.id
    assert [a.activity_type for a in booking_activities(db_session, lead)] == ["booking.rescheduled"]
