"""Storing inbound events: once per (provider, provider event id), before processing; the
job that applies a stored event is an outbox row written in the same transaction."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.queue import enqueue
from app.webhooks.models import WebhookEvent

# provider -> the job that applies one stored event of it (by the row's id)
APPLY_JOBS = {
    "stripe": ("billing", "app.billing.jobs.apply_stripe_event"),
    "sms": ("sms", "app.inbox.sms.jobs.apply_sms_event"),
    "calcom": ("default", "app.inbox.bookings.jobs.apply_calcom_event"),
    "gmail": ("mail", "app.inbox.email.sync_jobs.apply_gmail_push"),
    "quickbooks": ("default", "app.quickbooks.jobs.apply_quickbooks_event"),
}
SWEEP_AFTER = timedelta(minutes=1)  # a stored event not processed by then is asked for again
SWEEP_WITHIN = timedelta(days=3)  # Stripe's own redelivery window
SWEEP_MAX_ATTEMPTS = 8  # then it waits for a person (its job is in the failed list)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class StoredEvent:
    id: uuid.UUID
    duplicate: bool  # delivered before
    requeued: bool  # delivered before, not processed yet: its job is asked for again


class EventRefused(ValueError):
    """A webhook body that is no event: the reason is what the provider is answered (400)."""


def read_event_object(raw: bytes) -> tuple[str, dict[str, Any]]:
    """The raw body as text and its JSON object, for every provider: UTF-8 JSON, an object
    (not an array), and no U+0000 anywhere (PostgreSQL's jsonb and text refuse it)."""
    try:
        text = raw.decode("utf-8")
        payload = json.loads(text)
    except ValueError as exc:
        raise EventRefused("unreadable body") from exc
    if not isinstance(payload, dict) or _has_nul(payload):
        raise EventRefused("not an event")
    return text, payload


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def take_stored_event(webhook_event_id) -> tuple[WebhookEvent | None, str | None]:
    """The stored event, row-locked for its apply job, its attempt counted; or (None, why
    there is nothing to apply: "missing", "already processed"). A job run twice applies once."""
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.id == webhook_event_id).with_for_update())
    if event is None:
        return None, "missing"
    if event.processed_at is not None:
        db.session.rollback()
        return None, "already processed"
    event.attempts = (event.attempts or 0) + 1
    return event, None


def enqueue_apply(provider: str, event_row_id: uuid.UUID) -> uuid.UUID | None:
    """Ask for the job applying this stored event (one job key per event: asking again while
    it is pending changes nothing, after it failed runs it again)."""
    queue, job = APPLY_JOBS[provider]
    return enqueue(queue, job, event_row_id, job_id=f"webhook-{provider}-{event_row_id}")


def store_event(provider: str, *, event_id: str, event_type: str | None, payload: dict[str, Any],
                raw_body: str, signature_header: str | None) -> StoredEvent:
    """Insert the event unless it was delivered before, with its job. A redelivery of an
    event stored but not processed yet asks for its job again (nothing is dropped)."""
    row_id = uuid.uuid4()
    stmt = (
        pg_insert(WebhookEvent)
        .values(id=row_id, provider=provider, provider_event_id=event_id, event_type=event_type,
                payload=payload, raw_body=raw_body, signature_header=signature_header, attempts=0)
        .on_conflict_do_nothing(index_elements=[WebhookEvent.provider, WebhookEvent.provider_event_id])
        .returning(WebhookEvent.id)
    )
    stored = db.session.execute(stmt).scalar_one_or_none()
    if stored is not None:
        enqueue_apply(provider, stored)
        return StoredEvent(stored, duplicate=False, requeued=False)
    earlier = db.session.execute(
        select(WebhookEvent.id, WebhookEvent.processed_at)
        .where(WebhookEvent.provider == provider, WebhookEvent.provider_event_id == event_id)
    ).one()
    if earlier.processed_at is None:
        enqueue_apply(provider, earlier.id)
        return StoredEvent(earlier.id, duplicate=True, requeued=True)
    return StoredEvent(earlier.id, duplicate=True, requeued=False)


def unprocessed_events(now: datetime | None = None) -> list[tuple[uuid.UUID, str]]:
    """(id, provider) of stored events still not processed a minute after they came (within
    the redelivery window, not given up on), oldest first."""
    now = now or datetime.now(UTC)
    return [tuple(r) for r in db.session.execute(
        select(WebhookEvent.id, WebhookEvent.provider)
        .where(WebhookEvent.processed_at.is_(None),
               WebhookEvent.received_at < now - SWEEP_AFTER,
               WebhookEvent.received_at > now - SWEEP_WITHIN,
               WebhookEvent.attempts < SWEEP_MAX_ATTEMPTS,
               WebhookEvent.provider.in_(list(APPLY_JOBS)))
        .order_by(WebhookEvent.received_at).limit(SWEEP_BATCH)
    )]
