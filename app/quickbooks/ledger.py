"""The sync ledger: every push to QuickBooks is a row, written in the transaction of the change
that needs it (billing's change events), processed by a job (app.quickbooks.jobs.push_row).

States: PENDING (due at `next_attempt_at`, or now) -> IN_FLIGHT (claimed and committed before
QuickBooks is called) -> SYNCED | FAILED (QuickBooks refused it: validation, closed period;
not retried) | CONFLICT (a person chooses: link, create, skip) | SKIPPED. A row left IN_FLIGHT
by a worker that died is claimed again after QBO_STUCK_AFTER_S and sent with the same
`requestid` (its id): QuickBooks answers the object the first attempt made.
"""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.billing import events
from app.extensions import db
from app.queue import enqueue
from app.quickbooks.models import (
    ConnectionStatus,
    LedgerEntity,
    LedgerOperation,
    LedgerState,
    QuickBooksConnection,
    SyncLedgerRow,
)

log = logging.getLogger("crm.quickbooks")
QUEUE = "default"
HISTORY_LIMIT = 30


def _syncing() -> bool:
    """Pushes are recorded while QuickBooks is connected (or its grant died: they wait for
    the reconnect); never before it was connected or after a disconnect."""
    return db.session.scalar(select(func.count()).select_from(QuickBooksConnection).where(
        QuickBooksConnection.status != ConnectionStatus.DISCONNECTED)) > 0


def push_job_id(row_id) -> str:
    return f"qbo-push-{row_id}"


def ask_for_push(row_id, *, first: bool = False) -> None:
    """The job that pushes the row. The first ask has a job key (the change's own job);
    later asks (a retry, a sweep, a reconnect) are new jobs: a row is claimed by one
    conditional UPDATE, so a second job for it finds nothing to do."""
    enqueue(QUEUE, "app.quickbooks.jobs.push_row", row_id, job_id=push_job_id(row_id) if first else None)


def record_push(entity: LedgerEntity, local_id, operation: LedgerOperation, *, company_id) -> uuid.UUID | None:
    """A ledger row (PENDING) and its job, in the caller's transaction. One create per local
    object ever; an update or void already waiting is not written twice. Returns the row's id
    (None when one was there already)."""
    row_id = uuid.uuid4()
    table = SyncLedgerRow.__table__
    stmt = pg_insert(SyncLedgerRow).values(
        id=row_id, entity=entity, local_id=local_id, operation=operation, state=LedgerState.PENDING,
        request_id=str(row_id), attempts=0, company_id=company_id,
        history=[_event("recorded")])
    # The partial indexes' predicates as literal SQL: a bound parameter cannot infer them.
    if operation is LedgerOperation.CREATE:
        stmt = stmt.on_conflict_do_nothing(index_elements=[table.c.entity, table.c.local_id],
                                           index_where=text("operation = 'CREATE'"))
    else:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[table.c.entity, table.c.local_id, table.c.operation],
            index_where=text("state = 'PENDING' AND operation <> 'CREATE'"))
    inserted = db.session.execute(stmt.returning(SyncLedgerRow.id)).scalar_one_or_none()
    if inserted is not None:
        ask_for_push(inserted, first=True)
    return inserted


def _event(what: str, **detail) -> dict:
    return {"at": datetime.now(UTC).isoformat(timespec="seconds"), "what": what, **detail}


def note(row: SyncLedgerRow, what: str, **detail) -> None:
    row.history = [*(row.history or []), _event(what, **detail)][-HISTORY_LIMIT:]


def create_row(entity: LedgerEntity, local_id) -> SyncLedgerRow | None:
    return db.session.scalar(select(SyncLedgerRow).where(
        SyncLedgerRow.entity == entity, SyncLedgerRow.local_id == local_id,
        SyncLedgerRow.operation == LedgerOperation.CREATE))


# ------------------------------------------------------------------ billing's changes

@events.on_billing_change
def billing_changed(kind: str, obj, actor) -> None:
    """invoice.sent / invoice.updated / invoice.voided / payment.recorded / payment.refunded:
    the ledger rows they need, in the change's transaction."""
    if not _syncing():
        return
    if kind == "invoice.sent":
        ensure_customer(obj.company_id)
        record_push(LedgerEntity.INVOICE, obj.id, LedgerOperation.CREATE, company_id=obj.company_id)
    elif kind in ("invoice.updated", "invoice.voided"):
        if obj.sent_at is None:
            return  # a draft is not in QuickBooks
        operation = LedgerOperation.VOID if kind == "invoice.voided" else LedgerOperation.UPDATE
        if create_row(LedgerEntity.INVOICE, obj.id) is None:
            ensure_customer(obj.company_id)
            record_push(LedgerEntity.INVOICE, obj.id, LedgerOperation.CREATE, company_id=obj.company_id)
        record_push(LedgerEntity.INVOICE, obj.id, operation, company_id=obj.company_id)
    elif kind in ("payment.recorded", "payment.refunded"):
        company_id = obj.invoice.company_id
        entity = LedgerEntity.REFUND if obj.amount < 0 else LedgerEntity.PAYMENT
        if create_row(LedgerEntity.INVOICE, obj.invoice_id) is None:
            ensure_customer(company_id)
            record_push(LedgerEntity.INVOICE, obj.invoice_id, LedgerOperation.CREATE, company_id=company_id)
        record_push(entity, obj.id, LedgerOperation.CREATE, company_id=company_id)


def ensure_customer(company_id) -> None:
    """The company's customer push, the first time it is invoiced (or by hand)."""
    from app.crm.models import Company

    if db.session.scalar(select(Company.qb_customer_id).where(Company.id == company_id)):
        return
    record_push(LedgerEntity.CUSTOMER, company_id, LedgerOperation.CREATE, company_id=company_id)


# ------------------------------------------------------------------ the job's side

def stuck_after() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("QBO_STUCK_AFTER_S") or 120))


def claimable_condition(now: datetime):
    return or_(
        and_(SyncLedgerRow.state == LedgerState.PENDING,
             or_(SyncLedgerRow.next_attempt_at.is_(None), SyncLedgerRow.next_attempt_at <= now)),
        and_(SyncLedgerRow.state == LedgerState.IN_FLIGHT, SyncLedgerRow.started_at < now - stuck_after()),
    )


def claim(row_id, now: datetime | None = None) -> SyncLedgerRow | None:
    """Take the row (PENDING and due, or IN_FLIGHT past QBO_STUCK_AFTER_S: its worker died) in
    one conditional UPDATE. The caller commits before calling QuickBooks."""
    now = now or datetime.now(UTC)
    claimed = db.session.execute(
        update(SyncLedgerRow).where(SyncLedgerRow.id == row_id, claimable_condition(now))
        .values(state=LedgerState.IN_FLIGHT, started_at=now, attempts=SyncLedgerRow.attempts + 1)
        .returning(SyncLedgerRow.id)).scalar_one_or_none()
    if claimed is None:
        return None
    row = db.session.get(SyncLedgerRow, row_id, populate_existing=True)
    note(row, "attempt", attempt=row.attempts)
    return row


def is_due(row_id, now: datetime | None = None) -> bool:
    """Whether claim() could take the row now (one read; claim() decides)."""
    return db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.id == row_id, claimable_condition(now or datetime.now(UTC)))) is not None


def due_rows(now: datetime | None = None, limit: int = 500) -> list[uuid.UUID]:
    now = now or datetime.now(UTC)
    return list(db.session.scalars(
        select(SyncLedgerRow.id).where(claimable_condition(now)).order_by(SyncLedgerRow.created_at).limit(limit)))


def resume_waiting(company_id=None) -> int:
    """Ask again for the PENDING rows waiting on something (a customer, a reconnect). For one
    company: the rows that wait (a retry time); those due now have their job already."""
    stmt = select(SyncLedgerRow.id).where(SyncLedgerRow.state == LedgerState.PENDING)
    if company_id is not None:
        stmt = stmt.where(SyncLedgerRow.company_id == company_id, SyncLedgerRow.next_attempt_at.isnot(None))
    rows = list(db.session.scalars(stmt.order_by(SyncLedgerRow.created_at).limit(1000)))
    if rows:
        db.session.execute(update(SyncLedgerRow).where(SyncLedgerRow.id.in_(rows)).values(next_attempt_at=None))
    for row_id in rows:
        ask_for_push(row_id)
    return len(rows)


def settle(row: SyncLedgerRow, state: LedgerState, *, error: str | None = None, remote_id: str | None = None,
           conflict: dict | None = None, retry_at: datetime | None = None, what: str | None = None) -> None:
    row.state = state
    row.last_error = error[:2000] if error else None
    if remote_id is not None:
        row.remote_id = remote_id
    if state is LedgerState.SYNCED:
        row.synced_at = datetime.now(UTC)
        row.conflict = None
    if conflict is not None:
        row.conflict = conflict
    row.next_attempt_at = retry_at
    note(row, what or state.value.lower(), **({"error": error[:300]} if error else {}),
         **({"remote_id": remote_id} if remote_id else {}))


# ------------------------------------------------------------------ what a person does

class LedgerRefused(ValueError):
    pass


PAYMENT_SEEN = "payment_in_quickbooks"  # a payment recorded in QuickBooks: seen, never pushed back


def _seen_only(row: SyncLedgerRow) -> None:
    if (row.conflict or {}).get("kind") == PAYMENT_SEEN:
        raise LedgerRefused("A payment recorded in QuickBooks is not pushed back: record it here by hand if it is "
                            "real, then mark it dealt with.")


def retry(row: SyncLedgerRow, *, actor) -> None:
    _seen_only(row)
    if row.state not in (LedgerState.FAILED, LedgerState.CONFLICT, LedgerState.SKIPPED, LedgerState.PENDING):
        raise LedgerRefused("Only a failed, skipped, waiting or conflicting push can be tried again.")
    if row.operation is not LedgerOperation.CREATE and row.state is not LedgerState.PENDING:
        waiting = db.session.scalar(select(SyncLedgerRow.id).where(
            SyncLedgerRow.entity == row.entity, SyncLedgerRow.local_id == row.local_id,
            SyncLedgerRow.operation == row.operation, SyncLedgerRow.state == LedgerState.PENDING))
        if waiting is not None:  # the same push already waits: it carries our current fields
            row.state = LedgerState.SKIPPED
            note(row, "retry asked: the waiting push does it", by=getattr(actor, "full_name", None))
            db.session.flush()
            ask_for_push(waiting)
            return
    row.state, row.next_attempt_at = LedgerState.PENDING, None
    note(row, "retry asked", by=getattr(actor, "full_name", None))
    db.session.flush()
    ask_for_push(row.id)


def resolve(row: SyncLedgerRow, *, choice: str, actor, remote_id: str | None = None) -> None:
    """A conflict's answer: link to an existing QuickBooks object, create a new one, or skip."""
    if row.state is not LedgerState.CONFLICT:
        raise LedgerRefused("This push has no conflict to resolve.")
    by = getattr(actor, "full_name", None)
    candidates = {c["id"] for c in (row.conflict or {}).get("candidates", [])}
    if choice == "link":
        if not remote_id or remote_id not in candidates:
            raise LedgerRefused("Choose one of the QuickBooks records offered.")
        from app.quickbooks.push import link_local

        link_local(row, remote_id)
        settle(row, LedgerState.SYNCED, remote_id=remote_id, what="linked")
        note(row, "resolved: link", by=by, remote_id=remote_id)
        db.session.flush()
        resume_waiting(row.company_id)
    elif choice == "create":
        _seen_only(row)
        row.conflict = {**(row.conflict or {}), "resolved": "create"}
        note(row, "resolved: create new", by=by)
        row.state, row.next_attempt_at = LedgerState.PENDING, None
        db.session.flush()
        ask_for_push(row.id)
    elif choice == "skip":
        row.state = LedgerState.SKIPPED
        note(row, "resolved: skip", by=by)
    else:
        raise LedgerRefused("Choose link, create or skip.")
    db.session.flush()


def task_for_admin(title: str, description: str, *, key: str | None = None, company_id=None):
    """A person is needed (a conflict, a refused push, a dead grant): a task for an admin."""
    from app.crm.tasks.services import create_task_for_an_admin

    company = None
    if company_id is not None:
        from app.crm.models import Company

        company = db.session.get(Company, company_id)
    return create_task_for_an_admin(title=title, description=description, actor=None, company=company)
