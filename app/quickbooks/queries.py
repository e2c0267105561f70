"""What the other pages show of the sync: one object's state in QuickBooks (a badge)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.quickbooks.models import (
    ConnectionStatus,
    LedgerEntity,
    LedgerState,
    QuickBooksConnection,
    SyncLedgerRow,
)

# what a person should see first when an object has several rows (its create, updates, a void)
_WEIGHT = {LedgerState.CONFLICT: 0, LedgerState.FAILED: 1, LedgerState.IN_FLIGHT: 2, LedgerState.PENDING: 3,
           LedgerState.SYNCED: 4, LedgerState.SKIPPED: 5}
TONES = {LedgerState.CONFLICT: "warning", LedgerState.FAILED: "danger", LedgerState.IN_FLIGHT: "accent",
         LedgerState.PENDING: "neutral", LedgerState.SYNCED: "success", LedgerState.SKIPPED: "neutral"}


def sync_badge(entity: LedgerEntity, local_id) -> dict | None:
    """{"label", "tone", "remote_id", "can_push"} for the object's ledger rows (one statement), or
    None when it was never pushed. A company never pushed while QuickBooks is connected gets
    {"can_push": True} (an admin pushes it by hand)."""
    rows = db.session.execute(select(SyncLedgerRow.state, SyncLedgerRow.remote_id).where(
        SyncLedgerRow.entity == entity, SyncLedgerRow.local_id == local_id)).all()
    if not rows:
        if entity is LedgerEntity.CUSTOMER and db.session.scalar(select(QuickBooksConnection.id).where(
                QuickBooksConnection.status == ConnectionStatus.CONNECTED).limit(1)) is not None:
            return {"label": None, "tone": None, "remote_id": None, "can_push": True}
        return None
    return _badge(rows)


def payment_badges(payment_ids) -> dict:
    """Each payment's (and refund's) badge by payment id, for an invoice's payments table (one
    statement); payments never pushed are absent."""
    by_payment: dict = {}
    if payment_ids:
        for row in db.session.execute(select(SyncLedgerRow.local_id, SyncLedgerRow.state, SyncLedgerRow.remote_id)
                                      .where(SyncLedgerRow.entity.in_([LedgerEntity.PAYMENT, LedgerEntity.REFUND]),
                                             SyncLedgerRow.local_id.in_(list(payment_ids)))):
            by_payment.setdefault(row.local_id, []).append(row)
    return {payment_id: _badge(rows) for payment_id, rows in by_payment.items()}


def _badge(rows) -> dict:
    state = min((r.state for r in rows), key=_WEIGHT.get)
    if state is LedgerState.SKIPPED and any(r.state is LedgerState.SYNCED for r in rows):
        state = LedgerState.SYNCED
    remote = next((r.remote_id for r in rows if r.remote_id), None)
    label = {LedgerState.SYNCED: "In QuickBooks", LedgerState.CONFLICT: "QuickBooks conflict",
             LedgerState.FAILED: "QuickBooks refused", LedgerState.IN_FLIGHT: "Pushing to QuickBooks",
             LedgerState.PENDING: "Waiting for QuickBooks", LedgerState.SKIPPED: "Not in QuickBooks"}[state]
    return {"label": label, "tone": TONES[state], "remote_id": remote, "can_push": False}
