"""QuickBooks jobs (queue "default"): push one ledger row, pull items, apply a webhook event,
and the periodic sync (app/schedule.py): items by CDC, ledger rows that are due or stuck."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from app.extensions import db
from app.quickbooks.connection import NotConnected
from app.quickbooks.tokens import GrantDead
from app.webhooks.services import take_stored_event

log = logging.getLogger("crm.quickbooks")


def push_row(row_id: str) -> str:
    from app.quickbooks.push import process_row

    return process_row(row_id)


def pull_items(full: bool = False) -> str:
    from app.quickbooks.limits import Throttled
    from app.quickbooks.pull import pull_items as pull

    try:
        return str(pull(full=full))
    except (NotConnected, GrantDead, Throttled) as exc:
        db.session.rollback()
        return f"not now: {exc}"


def apply_quickbooks_event(webhook_event_id: str) -> str:
    """An Intuit data-change notification: items changed → a CDC pull (the notification names
    entities, not their values)."""
    event, nothing = take_stored_event(webhook_event_id)
    if event is None:
        return nothing
    names = {entity.get("name") for note in event.payload.get("eventNotifications", [])
             for entity in (note.get("dataChangeEvent") or {}).get("entities", [])}
    outcome = "nothing to pull"
    event.processed_at, event.error = datetime.now(UTC), None
    db.session.commit()  # processed before the pull: a failed pull is the schedule's, not a redelivery's
    if "Item" in names:
        outcome = pull_items()
    log.info("quickbooks event=%s entities=%s outcome=%s", event.id, sorted(n for n in names if n), outcome)
    return outcome


def periodic_sync() -> dict:
    """Every minute: pull items by CDC, ask again for ledger rows that are due (a retry time
    passed) or stuck IN_FLIGHT (their worker died). Nothing when QuickBooks is not connected."""
    from app.quickbooks import ledger
    from app.quickbooks.pull import connected

    if not connected():
        return {"connected": False}
    rows = ledger.due_rows()
    for row_id in rows:
        ledger.ask_for_push(row_id)
    db.session.commit()
    return {"connected": True, "asked": len(rows), "items": pull_items()}
