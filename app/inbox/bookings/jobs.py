"""The job that applies one stored Cal.com event (queue "default"; asked for by the webhook
and, for an event still not processed a minute later, by the webhook sweep)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from app.extensions import db
from app.webhooks.services import take_stored_event

log = logging.getLogger("crm.bookings")


def apply_calcom_event(webhook_event_id: str) -> str:
    """Apply the stored event once (its row locked; a processed event is skipped, so a job run
    twice applies it once). An event no booking can come of is marked with its error and not
    retried; any other failure is recorded on the event and raised, so RQ retries it."""
    from app.inbox.bookings.services import EventNotApplicable
    from app.inbox.bookings.services import apply_calcom_event as apply
    event, nothing = take_stored_event(webhook_event_id)
    if event is None:
        return nothing
    savepoint = db.session.begin_nested()
    try:
        outcome = apply(event.payload, received_at=event.received_at)
        savepoint.commit()
        event.error = None
    except EventNotApplicable as exc:
        savepoint.rollback()
        outcome = f"refused: {exc}"
        event.error = str(exc)[:1000]
    except Exception as exc:
        savepoint.rollback()
        event.error = f"{type(exc).__name__}: {exc}"[:1000]
        db.session.commit()  # the attempt and its error stay; RQ (then the sweep) tries again
        raise
    event.processed_at = datetime.now(UTC)
    db.session.commit()
    log.info("calcom event=%s type=%s outcome=%s", event.id, event.event_type, outcome)
    return outcome
