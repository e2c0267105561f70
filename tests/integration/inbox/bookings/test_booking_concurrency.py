"""Three events of one meeting (booked, moved, moved again) applied at the same moment by six
"workers" (each event twice), on a database whose transactions commit for real: one booking,
one task, three activities (events are applied one at a time: an advisory lock)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.crm.models import Task
from app.inbox.models import Booking
from app.webhooks.models import WebhookEvent
from tests.conftest import committing_app
from tests.integration.inbox.bookings.calcom import SECRET, UID_C, post, soon, story

EMAIL = "race.driver@abctowing.example.com"


@pytest.fixture(scope="module")
def committed_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_calcom_race", CALCOM_WEBHOOK_SECRET=SECRET) as app:
        yield app


def test_events_of_one_meeting_applied_at_once_make_one_booking(committed_app):
    from app.extensions import db
    from app.queue import redis_connection
    from tests.factories import Factory

    app = committed_app
    with app.app_context():
        factory = Factory(db.session)
        rep = factory.user()
        company = factory.company(assigned_rep_id=rep.id)
        lead = factory.lead(company, factory.contact(company, email=EMAIL, email_normalized=EMAIL))
        db.session.commit()
        lead_id = lead.id
        db.session.remove()

    events = story(EMAIL)
    client = app.test_client()
    for name in ("created", "rescheduled", "rescheduled_again"):
        assert post(client, events[name]).status_code == 200
    with app.app_context():
        ids = db.session.scalars(select(WebhookEvent.id).where(WebhookEvent.provider == "calcom")).all()
        db.session.remove()
        assert len(ids) == 3
        redis_connection().flushdb()  # the enqueued jobs: run by hand below, in parallel

    start = threading.Barrier(len(ids) * 2)
    errors: list[BaseException] = []

    def apply(event_id):
        from app.inbox.bookings.jobs import apply_calcom_event

        with app.app_context():
            try:
                start.wait()
                apply_calcom_event(str(event_id))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=apply, args=(i,)) for i in ids for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "a worker is stuck (deadlock?)"
    assert errors == []
    with app.app_context():
        [booking] = db.session.scalars(select(Booking)).all()
        assert booking.cal_booking_uid == UID_C and booking.start_at == soon(4, 17)
        [task] = db.session.scalars(select(Task).where(Task.lead_id == lead_id)).all()
        assert task.due_at == soon(4, 17)
        activities = db.session.scalars(select(Activity.activity_type).where(
            Activity.lead_id == lead_id, Activity.activity_type.like("booking.%"))).all()
        assert sorted(activities) == ["booking.created", "booking.rescheduled", "booking.rescheduled"]
        assert all(e.processed_at for e in db.session.scalars(select(WebhookEvent)))
        db.session.remove()
