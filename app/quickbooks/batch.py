"""Batch requests: up to QBO_BATCH_ITEMS (30) due ledger rows of one kind in one
POST /v3/company/<realm>/batch.

Kinds that go in batches: customer creates, invoice creates, payment creates, invoice sparse
updates. A batch holds one kind only, and only rows whose dependency is in QuickBooks already
(an invoice whose customer has its QuickBooks id, a payment whose invoice has one): QuickBooks
runs a batch's items in order but an item does not see what an earlier one made. A row whose
dependency is missing goes alone through the single path (app.quickbooks.push), which pushes
the dependency first.

- Each BatchItemRequest's `bId` is the ledger row's id; the batch carries `requestid` = a uuid
  stored on every row of it (`batch_id`) and committed with the claim, before QuickBooks is
  asked. A worker that dies after sending and before its commit leaves the rows IN_FLIGHT:
  the sweep claims them again together and resends under the same requestid, so QuickBooks
  answers the original batch (the objects it made then) instead of making them again.
- The checks a single push makes first are made for the whole batch in one query each
  (customers by DisplayName / e-mail, invoices by DocNumber, SyncTokens by Id): a row with a
  match goes the single path (conflict or link), the others into the batch.
- Each BatchItemResponse settles its own row as a single answer would (push.settle_outcome):
  the object → SYNCED with its id; a Fault → validation / closed period FAILED with
  QuickBooks' words, throttling → the realm's back-off, 5010 on an update → re-read and
  retry once alone, else CONFLICT. An answer for the whole request (429, network) settles
  every row of it the same way.
- A batch counts as one request in the realm's windows and one of its 40 batches a minute
  (app.quickbooks.limits).

python-quickbooks' own `quickbooks.batch` gives each item a random bId and sends no requestid,
so the documented JSON is posted through the same client (LimitedQuickBooks: limits, 429).
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import requests
from flask import current_app
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, QuickbooksException
from sqlalchemy import exists, select, update

from app.extensions import db
from app.quickbooks import ledger, limits, push
from app.quickbooks.connection import Api
from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow

CUSTOMER_CREATE = (LedgerEntity.CUSTOMER, LedgerOperation.CREATE)
INVOICE_CREATE = (LedgerEntity.INVOICE, LedgerOperation.CREATE)
PAYMENT_CREATE = (LedgerEntity.PAYMENT, LedgerOperation.CREATE)
INVOICE_UPDATE = (LedgerEntity.INVOICE, LedgerOperation.UPDATE)
BATCHED = (CUSTOMER_CREATE, INVOICE_CREATE, PAYMENT_CREATE, INVOICE_UPDATE)
THROTTLE_CODES = (3001,)  # ThrottleExceeded (the stored throttle-429 sample)


def max_items() -> int:
    return int(current_app.config.get("QBO_BATCH_ITEMS") or 30)


def _ready(kind):
    """The SQL condition: this kind's dependency is in QuickBooks."""
    from app.billing.models import Invoice, Payment
    from app.crm.models import Company

    local = SyncLedgerRow.local_id
    if kind == INVOICE_CREATE:
        return exists().where(Invoice.id == local, Company.id == Invoice.company_id,
                              Company.qb_customer_id.isnot(None))
    if kind == PAYMENT_CREATE:
        return exists().where(Payment.id == local, Invoice.id == Payment.invoice_id, Invoice.qb_invoice_id.isnot(None))
    if kind == INVOICE_UPDATE:
        return exists().where(Invoice.id == local, Invoice.qb_invoice_id.isnot(None))
    return exists().where(Company.id == local)


def dependency(row_id):
    """The id of the create row this due row needs first (its company's customer, its
    invoice's create) when that one is not in QuickBooks yet and is due itself; else None."""
    from app.billing.models import Invoice, Payment

    row = db.session.get(SyncLedgerRow, row_id)
    if row is None or row.state is not LedgerState.PENDING:
        return None
    needed = None
    if row.entity is LedgerEntity.INVOICE:
        invoice = db.session.get(Invoice, row.local_id)
        if row.operation is LedgerOperation.CREATE or invoice.qb_invoice_id is None:
            if row.operation is not LedgerOperation.CREATE:
                needed = ledger.create_row(LedgerEntity.INVOICE, invoice.id)
            elif invoice.company.qb_customer_id is None:
                needed = ledger.create_row(LedgerEntity.CUSTOMER, invoice.company_id)
    elif row.entity is LedgerEntity.PAYMENT:
        payment = db.session.get(Payment, row.local_id)
        if payment.invoice.qb_invoice_id is None:
            needed = ledger.create_row(LedgerEntity.INVOICE, payment.invoice_id)
    if needed is None or needed.id == row.id or needed.state is not LedgerState.PENDING:
        return None
    if needed.next_attempt_at is not None and needed.next_attempt_at > datetime.now(UTC):
        return None
    return needed.id


def claim(row_id, now: datetime | None = None) -> list[SyncLedgerRow]:
    """Take the row and, when its kind goes in batches, up to 29 other due rows of its kind
    that are ready (IN_FLIGHT, attempts + 1, one new batch id), in the caller's transaction.
    A row left IN_FLIGHT by a worker that died in a batch: its whole batch, same batch id.
    [] when the row is not due (taken, settled, not yet)."""
    now = now or datetime.now(UTC)
    claimable = ledger.claimable_condition(now)
    seed = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.id == row_id, claimable)
                             .with_for_update(skip_locked=True))
    if seed is None:
        return []
    kind = (seed.entity, seed.operation)
    if seed.batch_id and seed.state in (LedgerState.IN_FLIGHT, LedgerState.PENDING):
        # its worker died, or the answer was lost: the same batch again, under its requestid
        ids = list(db.session.scalars(select(SyncLedgerRow.id).where(
            SyncLedgerRow.batch_id == seed.batch_id, claimable).with_for_update(skip_locked=True)))
        batch_id = seed.batch_id
    elif kind in BATCHED and not (seed.conflict or {}).get("resolved") and db.session.scalar(
            select(_ready(kind)).where(SyncLedgerRow.id == seed.id)):
        candidates = db.session.execute(select(SyncLedgerRow.id, SyncLedgerRow.local_id).where(
            SyncLedgerRow.entity == seed.entity, SyncLedgerRow.operation == seed.operation,
            SyncLedgerRow.id != seed.id, SyncLedgerRow.state == LedgerState.PENDING,
            SyncLedgerRow.conflict.is_(None), claimable, _ready(kind))
            .order_by(SyncLedgerRow.created_at).limit(max_items() * 2)
            .with_for_update(of=SyncLedgerRow, skip_locked=True)).all()
        ids, locals_ = [seed.id], {seed.local_id}
        for candidate_id, local_id in candidates:  # one row per local object (an update and a void)
            if len(ids) < max_items() and local_id not in locals_:
                ids.append(candidate_id)
                locals_.add(local_id)
        batch_id = str(uuid.uuid4()) if len(ids) > 1 else None
    else:
        ids, batch_id = [seed.id], None
    db.session.execute(update(SyncLedgerRow).where(SyncLedgerRow.id.in_(ids)).values(
        state=LedgerState.IN_FLIGHT, started_at=now, attempts=SyncLedgerRow.attempts + 1, batch_id=batch_id)
        .execution_options(synchronize_session=False))
    rows = {row.id: row for row in db.session.scalars(
        select(SyncLedgerRow).where(SyncLedgerRow.id.in_(ids)).execution_options(populate_existing=True))}
    ordered = [rows[seed.id]] + [rows[i] for i in ids if i != seed.id]
    for row in ordered:
        ledger.note(row, "attempt", attempt=row.attempts, **({"batch": batch_id} if batch_id else {}))
    return ordered


# ------------------------------------------------------------------ planning: what goes in the batch

class Plan:
    def __init__(self):
        self.items: list[tuple[SyncLedgerRow, dict]] = []  # (row, BatchItemRequest)
        self.done: list[tuple[SyncLedgerRow, str]] = []  # linked without asking (ours already)
        self.alone: list[SyncLedgerRow] = []  # the single path (a match, a dependency missing)

    def add(self, row: SyncLedgerRow, operation: str, entity: str, body: dict) -> None:
        self.items.append((row, {"bId": str(row.id), "operation": operation, entity: body}))


def _in(values) -> str:
    return ", ".join(f"'{push.quote_text(v)}'" for v in values)


def _query_all(client: Api, entity: str, field: str, values: list[str]) -> list[dict]:
    if not values:
        return []
    return push.query(client, f"select * from {entity} where {field} IN ({_in(sorted(set(values)))}) "
                              f"MAXRESULTS 1000").get(entity, [])


def _plan_customers(client: Api, rows: list[SyncLedgerRow], plan: Plan) -> None:
    companies = {row.id: push.company_of(row) for row in rows}
    emails = {row.id: push.company_email(companies[row.id]) for row in rows}
    waiting = [row for row in rows if not companies[row.id].qb_customer_id]
    for row in rows:
        if companies[row.id].qb_customer_id:
            plan.done.append((row, companies[row.id].qb_customer_id))
    found = _query_all(client, "Customer", "DisplayName", [companies[r.id].name for r in waiting])
    found += _query_all(client, "Customer", "PrimaryEmailAddr", [emails[r.id] for r in waiting if emails[r.id]])
    for row in waiting:
        company = companies[row.id]
        matches = [c for c in found if c.get("DisplayName") == company.name or (
            emails[row.id] and (c.get("PrimaryEmailAddr") or {}).get("Address") == emails[row.id])]
        ours = [c for c in matches if push.customer_marker(company) in (c.get("Notes") or "")]
        if ours:
            company.qb_customer_id = ours[0]["Id"]
            plan.done.append((row, ours[0]["Id"]))
        elif matches:
            plan.alone.append(row)  # a conflict to record (the single path offers the candidates)
        else:
            plan.add(row, "create", "Customer", push.customer_body(company, emails[row.id]))


def _plan_invoices(client: Api, rows: list[SyncLedgerRow], plan: Plan) -> None:
    invoices = {row.id: push.invoice_of(row.local_id) for row in rows}
    waiting = []
    for row in rows:
        invoice = invoices[row.id]
        if invoice.qb_invoice_id:
            plan.done.append((row, invoice.qb_invoice_id))
        elif not invoice.company.qb_customer_id:
            plan.alone.append(row)
        else:
            waiting.append(row)
    taken = _query_all(client, "Invoice", "DocNumber", [invoices[r.id].invoice_number for r in waiting])
    for row in waiting:
        invoice = invoices[row.id]
        same = [i for i in taken if i.get("DocNumber") == invoice.invoice_number]
        ours = [i for i in same if f"CRM invoice {invoice.id}" in (i.get("PrivateNote") or "")]
        if ours:
            invoice.qb_invoice_id = ours[0]["Id"]
            plan.done.append((row, ours[0]["Id"]))
        elif same:
            plan.alone.append(row)
        else:
            plan.add(row, "create", "Invoice", push.invoice_fields(invoice, invoice.company.qb_customer_id))


def _plan_payments(client: Api, rows: list[SyncLedgerRow], plan: Plan) -> None:
    for row in rows:
        payment = push.payment_of(row)
        if payment.qb_payment_id:
            plan.done.append((row, payment.qb_payment_id))
        elif not payment.invoice.qb_invoice_id:
            plan.alone.append(row)
        else:
            plan.add(row, "create", "Payment", push.payment_body(payment, payment.invoice.qb_invoice_id))


def _plan_updates(client: Api, rows: list[SyncLedgerRow], plan: Plan) -> None:
    invoices = {row.id: push.invoice_of(row.local_id) for row in rows}
    remote_ids = [invoices[r.id].qb_invoice_id for r in rows if invoices[r.id].qb_invoice_id]
    current = {i["Id"]: i for i in _query_all(client, "Invoice", "Id", remote_ids)}
    for row in rows:
        invoice = invoices[row.id]
        remote = current.get(invoice.qb_invoice_id or "")
        if remote is None:
            plan.alone.append(row)
            continue
        fields = push.invoice_fields(invoice, invoice.company.qb_customer_id)
        plan.add(row, "update", "Invoice", {"Id": remote["Id"], "SyncToken": remote["SyncToken"], "sparse": True,
                                            **fields})


PLANNERS = {CUSTOMER_CREATE: _plan_customers, INVOICE_CREATE: _plan_invoices, PAYMENT_CREATE: _plan_payments,
            INVOICE_UPDATE: _plan_updates}
LOCAL_ID = {"Customer": lambda row, remote: setattr(push.company_of(row), "qb_customer_id", remote),
            "Invoice": lambda row, remote: setattr(push.invoice_of(row.local_id), "qb_invoice_id", remote),
            "Payment": lambda row, remote: setattr(push.payment_of(row), "qb_payment_id", remote)}


# ------------------------------------------------------------------ sending and settling

class StaleInBatch(Exception):
    """A 5010 inside a batch: re-read and retry this row alone, once."""


def send(client: Api, batch_id: str, items: list[dict]) -> dict[str, dict]:
    """POST the batch (requestid = batch_id); its BatchItemResponses by bId."""
    url = f"{client.qb.api_url}/company/{client.realm_id}/batch"
    answer = client.qb.post(url, json.dumps({"BatchItemRequest": items}), params={}, request_id=batch_id)
    return {item.get("bId"): item for item in answer.get("BatchItemResponse", [])}


def _apply(client: Api, row: SyncLedgerRow, entity: str, answer: dict | None) -> str:
    """One BatchItemResponse, as a single answer: the object's id, or the Fault raised."""
    if answer is None:
        raise QuickbooksException("QuickBooks' batch answer has no item for this row", 10000)
    if "Fault" in answer:
        codes = [int(e.get("code") or 0) for e in answer["Fault"].get("Error", [])]
        if push.STALE_OBJECT in codes:
            raise StaleInBatch()
        if any(code in THROTTLE_CODES for code in codes):
            limits.back_off(client.realm_id)
            raise limits.Throttled(limits.BACKOFF_AFTER_429_S)
        QuickBooks.handle_exceptions(answer["Fault"])  # raises the SDK's exception for the code
    remote_id = str(answer[entity]["Id"])
    LOCAL_ID[entity](row, remote_id)
    return remote_id


def push_batch(client: Api, rows: list[SyncLedgerRow]) -> dict:
    """Push claimed rows of one kind in one batch; settle each; commit. Outcomes by row id.

    A row keeps its batch id while QuickBooks may have done its part without our knowing (the
    worker died, the answer was lost: network, 5xx): it is resent in that batch, under its
    requestid. A row QuickBooks certainly did not do (a 429, a refused token, the checks before
    the batch failed, an item throttled or missing from the answer) or that goes the single
    path loses it: its next attempt is a new batch."""
    kind = (rows[0].entity, rows[0].operation)
    batch_id = rows[0].batch_id
    entity = "Customer" if kind == CUSTOMER_CREATE else "Payment" if kind == PAYMENT_CREATE else "Invoice"
    plan, outcomes, stale, sent = Plan(), {}, [], False
    try:
        PLANNERS[kind](client, rows, plan)
        for row in plan.alone:
            row.batch_id = None
        if plan.items:
            sent = True
            answers = send(client, batch_id, [item for _, item in plan.items])
        else:
            answers = {}
    except Exception as exc:  # the whole request's answer (429, network, a refused token): every row's
        unknown = sent and _outcome_unknown(exc)
        in_batch = {row.id for row, _ in plan.items}
        for row in rows:
            outcomes[row.id] = push.settle_outcome(client, row, lambda exc=exc: _raise(exc))
            if row.state is LedgerState.PENDING and not (unknown and row.id in in_batch):
                row.batch_id = None
        db.session.commit()
        push.after_outcome(rows, outcomes)
        return outcomes
    for row, remote_id in plan.done:
        outcomes[row.id] = push.settle_outcome(client, row, lambda remote_id=remote_id: remote_id)
    for row, _item in plan.items:
        try:
            outcomes[row.id] = push.settle_outcome(client, row, lambda row=row: _apply(client, row, entity,
                                                                                           answers.get(str(row.id))))
        except StaleInBatch:
            ledger.note(row, "stale SyncToken (5010) in the batch", batch=batch_id)
            stale.append(row)
            row.batch_id = None
        if row.state is LedgerState.PENDING:
            row.batch_id = None
    db.session.commit()  # every answered row of the batch at once
    for row in stale:  # re-read, our fields again, once; else CONFLICT
        invoice = push.invoice_of(row.local_id)
        fields = push.invoice_fields(invoice, invoice.company.qb_customer_id)
        outcomes[row.id] = push.settle_outcome(client, row, lambda row=row, invoice=invoice, fields=fields: push.sparse_update(
            client, "Invoice", invoice.qb_invoice_id, fields, row, attempts=1)["Id"])
        db.session.commit()
    push.after_outcome([row for row in rows if row.id in outcomes], outcomes)
    for row in plan.alone:  # claimed already: the single path
        outcomes[row.id] = push.push_claimed(client, row)
    return outcomes


def _outcome_unknown(exc: Exception) -> bool:
    """The batch may have been done by QuickBooks though we have no answer."""
    if isinstance(exc, (requests.RequestException, OSError)):
        return True
    return (isinstance(exc, QuickbooksException) and not isinstance(exc, AuthorizationException)
            and push.is_temporary(exc))


def _raise(exc: Exception):
    raise exc
