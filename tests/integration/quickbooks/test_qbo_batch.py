"""Batch requests (/batch) against the local QuickBooks: due rows of one kind go out together,
each BatchItemResponse settles its own row, the batch's requestid is on the rows, and the
realm's 40 batches a minute are respected."""
from __future__ import annotations

import json

from sqlalchemy import select

from app.billing import invoices as svc
from app.billing.models import PaymentMethod
from app.extensions import db
from app.quickbooks import limits, push
from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow
from tests.integration.test_payments import make_invoice

CLOSED_PERIOD = {"Error": [{"Message": "Account Period Closed, Cannot Update Through Services API",
                            "Detail": "The account period has closed and the books are locked.", "code": "6210"}],
                 "type": "ValidationFault"}
INVALID = {"Error": [{"Message": "Invalid Reference Id", "Detail": "Something you're trying to use has been made "
                      "inactive.", "code": "2500"}], "type": "ValidationFault"}


def _rows(entity, operation=LedgerOperation.CREATE, order=None):
    """The rows of a kind, in the order of `order` (local ids) when given."""
    rows = list(db.session.scalars(select(SyncLedgerRow).where(
        SyncLedgerRow.entity == entity, SyncLedgerRow.operation == operation).order_by(SyncLedgerRow.created_at)))
    if order is not None:
        rows.sort(key=lambda r: order.index(r.local_id))
    return rows


def _batches(fake):
    return [(r["args"].get("requestid"), json.loads(r["body"])["BatchItemRequest"])
            for r in fake.api_requests("POST", "/batch")]


def _invoices(factory, n, prefix="Batch Fleet"):
    return [make_invoice(factory, company_name=f"{prefix} {i}", devices=2)[0] for i in range(n)]


def test_due_rows_of_one_kind_go_out_in_one_batch_and_each_answer_settles_its_own_row(
        db_session, factory, connected, fake_qbo):
    invoices = _invoices(factory, 4)
    db.session.commit()
    fake_qbo.refuse["Batch Fleet 2"] = INVALID  # QuickBooks refuses this customer's create
    customers = _rows(LedgerEntity.CUSTOMER, order=[i.company_id for i in invoices])
    assert push.process_row(customers[0].id) == "synced"  # one job took all four customer rows

    [(request_id, items)] = _batches(fake_qbo)
    assert sorted(item["bId"] for item in items) == sorted(str(r.id) for r in customers)
    assert all(item["operation"] == "create" and "Customer" in item for item in items)
    for row in customers:
        db.session.refresh(row)
    assert {r.batch_id for r in customers} == {request_id} and len(request_id) <= 36
    assert [r.state for r in customers] == [LedgerState.SYNCED, LedgerState.SYNCED, LedgerState.FAILED,
                                            LedgerState.SYNCED]
    assert "2500: Invalid Reference Id" in customers[2].last_error  # QuickBooks' words, for a person
    assert len(fake_qbo.objects["Customer"]) == 3
    for invoice, row in zip(invoices, customers, strict=True):
        db.session.refresh(invoice.company)
        assert invoice.company.qb_customer_id == row.remote_id
    assert all(push.process_row(r.id) == "not due" for r in customers[1:])  # their own jobs find nothing

    # Invoices: only those whose customer is in QuickBooks go in the batch; a closed period fails.
    fake_qbo.refuse[invoices[3].invoice_number] = CLOSED_PERIOD
    invoice_rows = _rows(LedgerEntity.INVOICE, order=[i.id for i in invoices])
    assert push.process_row(invoice_rows[0].id) == "synced"
    _, items = _batches(fake_qbo)[1]
    assert sorted(item["bId"] for item in items) == sorted(str(invoice_rows[i].id) for i in (0, 1, 3))
    for row in invoice_rows:
        db.session.refresh(row)
    assert [r.state for r in invoice_rows] == [LedgerState.SYNCED, LedgerState.SYNCED, LedgerState.PENDING,
                                               LedgerState.FAILED]
    assert "Account Period Closed" in invoice_rows[3].last_error and invoice_rows[3].next_attempt_at is None
    assert len(fake_qbo.objects["Invoice"]) == 2
    assert fake_qbo.objects["Invoice"][invoice_rows[0].remote_id]["DocNumber"] == invoices[0].invoice_number


def test_updates_in_a_batch_a_stale_sync_token_is_read_again_once_then_a_conflict(
        db_session, factory, connected, fake_qbo):
    invoices = _invoices(factory, 3, prefix="Stale Fleet")
    db.session.commit()
    push.process_row(_rows(LedgerEntity.CUSTOMER)[0].id)
    push.process_row(_rows(LedgerEntity.INVOICE)[0].id)
    for invoice in invoices:
        db.session.refresh(invoice)
        line = invoice.line_items[0]
        svc.update_line(invoice, line, actor=factory.user(), description=line.description, quantity=7,
                        unit_price=line.unit_price)
    db.session.commit()
    fake_qbo.stale_next[f"Invoice:{invoices[1].qb_invoice_id}"] = 1  # saved in QuickBooks meanwhile, once
    fake_qbo.stale_next[f"Invoice:{invoices[2].qb_invoice_id}"] = 2  # and twice: a person decides
    updates = _rows(LedgerEntity.INVOICE, LedgerOperation.UPDATE, order=[i.id for i in invoices])
    assert push.process_row(updates[0].id) == "synced"
    _, items = _batches(fake_qbo)[-1]
    assert [(i["operation"], i["Invoice"]["sparse"]) for i in items] == [("update", True)] * 3
    for row in updates:
        db.session.refresh(row)
    assert [r.state for r in updates] == [LedgerState.SYNCED, LedgerState.SYNCED, LedgerState.CONFLICT]
    assert [h["what"] for h in updates[1].history].count("stale SyncToken (5010) in the batch") == 1
    quantities = [fake_qbo.objects["Invoice"][i.qb_invoice_id]["Line"][0]["SalesItemLineDetail"]["Qty"]
                  for i in invoices]
    assert quantities == [7, 7, 2]  # the conflicting one is not overwritten blindly


def test_a_throttled_batch_backs_off_every_row_and_the_batches_per_minute_are_kept(
        app, db_session, factory, connected, fake_qbo, monkeypatch):
    from app.billing.payments import record_manual_payment

    invoices = _invoices(factory, 1, prefix="Paid Fleet") * 6
    db.session.commit()
    push.process_row(_rows(LedgerEntity.INVOICE)[0].id)
    for n, invoice in enumerate(invoices):
        record_manual_payment(invoice, actor=factory.user(), amount="1.00", method=PaymentMethod.CHECK,
                              reference=f"CHK {n}")
    db.session.commit()
    payments = _rows(LedgerEntity.PAYMENT)

    fake_qbo.throttle_next = 1
    assert push.process_row(payments[0].id) == "throttled"
    for row in payments:
        db.session.refresh(row)
    assert {r.state for r in payments} == {LedgerState.PENDING} and all(r.next_attempt_at for r in payments)
    assert limits.backoff_until(connected_realm()) is not None
    keys = limits._keys(connected_realm())
    limits.redis_connection().delete(keys[2], keys[4])  # the back-off's minute has passed
    for row in payments:
        row.next_attempt_at = None
    db.session.commit()

    monkeypatch.setitem(app.config, "QBO_BATCH_ITEMS", 2)
    monkeypatch.setitem(app.config, "QBO_BATCHES_PER_MINUTE", 2)
    fake_qbo.batches_per_minute = 2  # QuickBooks' own limit, as tight as ours
    outcomes = [push.process_row(row.id) for row in payments]
    # two rows a batch, two batches a minute: the third batch waits (its rows throttled, not sent)
    # (each job's outcome is its own row's: a row taken by an earlier job's batch is "not due")
    assert sorted(outcomes) == ["not due"] * 3 + ["synced"] * 2 + ["throttled"]
    assert fake_qbo.throttled == 1  # only the forced one: our budget kept us under QuickBooks' limit
    assert len(fake_qbo.objects["Payment"]) == 4
    assert [len(items) for _, items in _batches(fake_qbo)] == [6, 2, 2]
    assert limits.batches_sent(connected_realm()) == 3


def test_a_batch_whose_answer_was_lost_is_resent_under_its_requestid_and_a_throttled_one_is_not(
        db_session, factory, connected, fake_qbo):
    from app.billing.payments import record_manual_payment

    [invoice] = _invoices(factory, 1, prefix="Lost Fleet")
    db.session.commit()
    push.process_row(_rows(LedgerEntity.INVOICE)[0].id)
    for n in range(3):
        record_manual_payment(invoice, actor=factory.user(), amount="5.00", method=PaymentMethod.CHECK,
                              reference=f"CHK {n}")
    db.session.commit()
    payments = _rows(LedgerEntity.PAYMENT)

    fake_qbo.throttle_next = 1  # QuickBooks did nothing: the next attempt is a new batch
    assert push.process_row(payments[0].id) == "throttled"
    throttled_id = _batches(fake_qbo)[-1][0]
    for row in payments:
        db.session.refresh(row)
        assert row.batch_id is None
        row.next_attempt_at = None
    db.session.commit()
    limits.redis_connection().delete(*limits._keys(connected_realm())[2:3])

    fake_qbo.lose_batch_answer = 1  # QuickBooks made the payments; the answer never came back
    assert push.process_row(payments[0].id) == "retry"
    lost_id = _batches(fake_qbo)[-1][0]
    assert lost_id != throttled_id and len(fake_qbo.objects["Payment"]) == 3
    for row in payments:
        db.session.refresh(row)
        assert row.state is LedgerState.PENDING and row.batch_id == lost_id  # kept for the resend
        row.next_attempt_at = None
    db.session.commit()
    assert push.process_row(payments[2].id) == "synced"  # any of its rows resends the whole batch
    assert _batches(fake_qbo)[-1][0] == lost_id
    assert len(fake_qbo.objects["Payment"]) == 3  # the original answer, no second payment
    for row in payments:
        db.session.refresh(row)
    assert {r.state for r in payments} == {LedgerState.SYNCED}
    assert {r.remote_id for r in payments} == set(fake_qbo.objects["Payment"])


def test_the_batch_window_takes_40_a_minute_per_realm(app, db_session):
    now = 1_900_000_000.0
    granted = sum(1 for i in range(45) if limits.take("realm-batch", now=now + i * 0.2, batch=True) == 0)
    assert granted == 40  # 10 a second would have let all 45 through in 9 s
    assert 50 < limits.take("realm-batch", now=now + 9.5, batch=True) <= 61
    assert limits.take("realm-batch", now=now + 9.5) == 0  # a single request is not a batch


def connected_realm() -> str:
    from tests.integration.quickbooks.fake_qbo import REALM

    return REALM
