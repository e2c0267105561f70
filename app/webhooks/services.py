"""Storing inbound events: once per (provider, provider event id), before processing."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.extensions import db
from app.queue import enqueue
from app.webhooks.models import WebhookEvent

# provider -> the job that applies one stored event of it (by the row's id)
APPLY_JOBS = {"stripe": ("billing", "app.billing.jobs.apply_stripe_event")}


def store_event(provider: str, *, event_id: str, event_type: str | None, payload: dict[str, Any],
                raw_body: str, signature_header: str | None) -> uuid.UUID | None:
    """Insert the event unless it was delivered before; enqueue its job once.
    Returns the new row's id, or None for a duplicate delivery (nothing stored)."""
    row_id = uuid.uuid4()
    stmt = (
        pg_insert(WebhookEvent)
        .values(id=row_id, provider=provider, provider_event_id=event_id, event_type=event_type,
                payload=payload, raw_body=raw_body, signature_header=signature_header, attempts=0)
        .on_conflict_do_nothing(index_elements=[WebhookEvent.provider, WebhookEvent.provider_event_id])
        .returning(WebhookEvent.id)
    )
    stored = db.session.execute(stmt).scalar_one_or_none()
    if stored is None:
        return None
    queue, job = APPLY_JOBS[provider]
    enqueue(queue, job, stored, job_id=f"webhook-{provider}-{stored}")
    return stored
