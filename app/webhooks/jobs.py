"""Webhook jobs: the sweep of stored events nobody processed."""
from __future__ import annotations

import logging

from app.webhooks.services import enqueue_apply, unprocessed_events

log = logging.getLogger("crm.webhooks")


def sweep_unprocessed_events() -> int:
    """Ask again for the job of every stored event not processed within a minute (run by the
    job outbox relay once a minute; the caller commits). Returns how many."""
    events = unprocessed_events()
    for event_id, provider in events:
        enqueue_apply(provider, event_id)
    if events:
        log.info("webhook sweep asked again for %d unprocessed events", len(events))
    return len(events)
