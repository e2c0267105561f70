"""Items → products: the full pull, CDC with overlap (no double apply), inactive and deleted
items, the 29-day rule; POST /webhooks/quickbooks (intuit-signature) and its apply job."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.billing.models import Product, ProductType
from app.extensions import db
from app.quickbooks import jobs
from app.quickbooks.pull import pull_items
from app.quickbooks.webhook import intuit_signature
from app.webhooks.models import WebhookEvent
from tests.integration.quickbooks.conftest import VERIFIER
from tests.integration.quickbooks.fake_qbo import REALM
from tests.integration.security_env import production_app


def _product(item_id):
    return db.session.scalar(select(Product).where(Product.qb_item_id == item_id))


def test_a_full_pull_then_cdc_with_overlap_applies_each_change_once(db_session, connected, fake_qbo):
    assert pull_items()["kind"] == "full"  # never pulled: full
    tracker = _product("21")
    assert tracker.name == "GPS Tracker - OBD-II Plug-in (NS-300)" and tracker.unit_price == Decimal("79.00")
    assert tracker.cost == Decimal("31.50") and tracker.sku == "NS-300" and tracker.active
    assert _product("22").type is ProductType.SERVICE
    assert db.session.scalar(select(func.count()).select_from(Product)) == 3

    fake_qbo.change_item("21", UnitPrice=74.5)
    first = pull_items()
    assert first["kind"] == "cdc" and first.get("updated") == 1
    cdc = fake_qbo.api_requests("GET", "/cdc")[-1]
    assert cdc["args"]["entities"] == "Item,Invoice,Payment"
    db.session.refresh(connected)
    since = datetime.fromisoformat(cdc["args"]["changedSince"])
    second = pull_items()  # the overlap asks for the same change again
    assert second["kind"] == "cdc" and second.get("unchanged") == 1 and "updated" not in second
    assert datetime.fromisoformat(fake_qbo.api_requests("GET", "/cdc")[-1]["args"]["changedSince"]) >= since
    assert _product("21").unit_price == Decimal("74.50")

    fake_qbo.change_item("22", Active=False)
    fake_qbo.delete_item("23")
    outcome = pull_items()
    assert outcome.get("updated") == 1 and outcome.get("deactivated") == 1
    assert not _product("22").active and not _product("23").active  # inactive, never deleted
    assert db.session.scalar(select(func.count()).select_from(Product)) == 3


def test_a_watermark_older_than_29_days_pulls_everything_again(db_session, connected, fake_qbo):
    pull_items()
    connected.items_cdc_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()
    assert pull_items()["kind"] == "full"


def _notification(entity="Item"):
    return json.dumps({"eventNotifications": [{"realmId": REALM, "dataChangeEvent": {"entities": [
        {"name": entity, "id": "21", "operation": "Update", "lastUpdated": "2026-11-20T14:12:09.000Z"}]}}]}).encode()


def test_the_webhook_checks_intuit_signature_and_stores_the_event_once(client, db_session, connected, fake_qbo):
    body = _notification()
    count = lambda: db.session.scalar(select(func.count()).select_from(WebhookEvent).where(  # noqa: E731
        WebhookEvent.provider == "quickbooks"))
    missing = client.post("/webhooks/quickbooks", data=body, content_type="application/json")
    assert missing.status_code == 400
    bad = client.post("/webhooks/quickbooks", data=body, content_type="application/json",
                      headers={"intuit-signature": intuit_signature(body, "another-token")})
    assert bad.status_code == 400
    tampered = client.post("/webhooks/quickbooks", data=body + b" ", content_type="application/json",
                           headers={"intuit-signature": intuit_signature(body, VERIFIER)})
    assert tampered.status_code == 400
    assert count() == 0

    good = client.post("/webhooks/quickbooks", data=body, content_type="application/json",
                       headers={"intuit-signature": intuit_signature(body, VERIFIER)})
    assert good.status_code == 200 and good.json == {"received": True, "duplicate": False, "requeued": False}
    again = client.post("/webhooks/quickbooks", data=body, content_type="application/json",
                        headers={"intuit-signature": intuit_signature(body, VERIFIER)})
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert count() == 1

    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.provider == "quickbooks"))
    from app.job_outbox.models import OutboxJob

    job = db.session.scalar(select(OutboxJob).where(OutboxJob.func == "app.quickbooks.jobs.apply_quickbooks_event"))
    assert job.args["args"] == [str(event.id)]
    outcome = jobs.apply_quickbooks_event(str(event.id))  # the job: items changed → a pull
    assert "full" in outcome and _product("21") is not None
    assert jobs.apply_quickbooks_event(str(event.id)) == "already processed"


def test_the_webhook_is_refused_without_a_verifier_token_in_production(app, redis_url, monkeypatch, db_session):
    prod = production_app(app, redis_url, monkeypatch, QBO_CLIENT_ID="id", QBO_CLIENT_SECRET="secret",
                          QBO_WEBHOOK_VERIFIER="verifier")
    monkeypatch.setitem(prod.config, "QBO_WEBHOOK_VERIFIER", "")  # lost after start
    body = _notification()
    response = prod.test_client().post("/webhooks/quickbooks", data=body, content_type="application/json",
                                       headers={"intuit-signature": intuit_signature(body, "whsec_dev_quickbooks")})
    assert response.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(WebhookEvent).where(
        WebhookEvent.provider == "quickbooks")) == 0


def test_an_invoice_changed_in_quickbooks_is_a_conflict_never_an_overwrite(db_session, factory, connected, fake_qbo):
    from app.quickbooks import push
    from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow
    from tests.integration.test_payments import make_invoice

    pull_items()  # the full pull sets the watermark
    invoice, _ = make_invoice(factory)
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.entity == LedgerEntity.INVOICE))
    assert push.process_row(row.id) == "synced"
    assert pull_items().get("conflicts") is None  # ours, unchanged: no conflict
    total_before = invoice.total

    fake_qbo.edit_in_quickbooks("Invoice", invoice.qb_invoice_id, TotalAmt=1000.0, Balance=1000.0)
    assert pull_items()["conflicts"] == 1
    conflict = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.state == LedgerState.CONFLICT))
    assert conflict.operation is LedgerOperation.UPDATE and conflict.local_id == invoice.id
    assert "changed in QuickBooks: total 1000.00" in conflict.last_error
    db.session.refresh(invoice)
    assert invoice.total == total_before  # our money is not overwritten
    assert pull_items().get("conflicts") is None  # the overlap shows it again: one conflict, not two
    assert db.session.scalar(select(func.count()).select_from(SyncLedgerRow).where(
        SyncLedgerRow.state == LedgerState.CONFLICT)) == 1

    from app.quickbooks import ledger

    ledger.retry(conflict, actor=None)  # "push ours"
    db.session.commit()
    assert push.process_row(conflict.id) == "synced"
    assert Decimal(str(fake_qbo.objects["Invoice"][invoice.qb_invoice_id]["TotalAmt"])) == invoice.total


def test_retrying_a_conflict_while_the_same_update_waits_asks_for_the_waiting_one(db_session, factory, connected,
                                                                                 fake_qbo):
    from app.billing import invoices as svc
    from app.quickbooks import ledger, push
    from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow
    from tests.integration.test_payments import make_invoice

    pull_items()
    invoice, _ = make_invoice(factory)
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.entity == LedgerEntity.INVOICE))
    assert push.process_row(row.id) == "synced"
    fake_qbo.edit_in_quickbooks("Invoice", invoice.qb_invoice_id, TotalAmt=1.0, Balance=1.0)
    assert pull_items()["conflicts"] == 1
    conflict = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.state == LedgerState.CONFLICT))
    line = invoice.line_items[0]
    svc.update_line(invoice, line, actor=factory.user(), description="Edited here", quantity=line.quantity,
                    unit_price=line.unit_price)  # an update now waits too
    db.session.commit()
    ledger.retry(conflict, actor=None)
    db.session.commit()
    assert conflict.state is LedgerState.SKIPPED
    assert db.session.scalar(select(func.count()).select_from(SyncLedgerRow).where(
        SyncLedgerRow.operation == LedgerOperation.UPDATE, SyncLedgerRow.state == LedgerState.PENDING)) == 1


def test_a_payment_recorded_in_quickbooks_is_an_item_for_a_person_never_money_here(db_session, factory, connected,
                                                                                   fake_qbo):
    from app.auth.models import UserRole
    from app.billing.models import PaymentMethod
    from app.billing.payments import record_manual_payment
    from app.crm.models import Task
    from app.quickbooks import push
    from app.quickbooks.models import LedgerEntity, LedgerState, SyncLedgerRow
    from tests.integration.test_payments import make_invoice

    admin = factory.user(UserRole.ADMIN)  # who is told
    pull_items()  # the full pull sets the watermark
    invoice, _ = make_invoice(factory)
    assert push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.entity == LedgerEntity.INVOICE))) == "synced"
    ours = record_manual_payment(invoice, actor=factory.user(), amount="100.00", method=PaymentMethod.CHECK,
                                 reference="CHK 1")
    db.session.commit()
    assert push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.local_id == ours.id))) == "synced"
    assert pull_items().get("payments") is None  # our own payment, seen by CDC: nothing for a person
    balance, paid_here = invoice.balance_due, len(invoice.payments)

    theirs = fake_qbo.record_payment_in_quickbooks(invoice.qb_invoice_id, 250.0, reference="WIRE 88")
    counts = pull_items()
    assert counts["payments"] == 1 and counts.get("conflicts") is None  # the balance is explained by it
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.state == LedgerState.CONFLICT))
    assert row.local_id == invoice.id and row.conflict["kind"] == "payment_in_quickbooks"
    assert row.conflict["payment_id"] == theirs["Id"] and row.conflict["amount"] == "250.00"
    assert "250.00 was recorded in QuickBooks" in row.last_error and "WIRE 88" in row.last_error
    db.session.refresh(invoice)
    assert invoice.balance_due == balance and len(invoice.payments) == paid_here  # no money applied here
    task = db.session.scalar(select(Task).where(Task.title.like("A payment of 250.00 was recorded in QuickBooks%")))
    assert task.assigned_to_id == admin.id and task.company_id == invoice.company_id
    assert pull_items().get("payments") is None  # the CDC overlap shows it again: still one item
    assert db.session.scalar(select(func.count()).select_from(SyncLedgerRow).where(
        SyncLedgerRow.state == LedgerState.CONFLICT)) == 1

    from app.quickbooks import ledger

    for refused in (lambda: ledger.retry(row, actor=None), lambda: ledger.resolve(row, choice="create", actor=None)):
        try:
            refused()
        except ledger.LedgerRefused as exc:
            assert "not pushed back" in str(exc)
        else:
            raise AssertionError("a payment seen in QuickBooks must not be pushed back")
    ledger.resolve(row, choice="skip", actor=None)  # "Dealt with"
    db.session.commit()
    assert row.state is LedgerState.SKIPPED and pull_items().get("payments") is None  # and not raised again


def test_a_cdc_answer_older_than_a_push_just_settled_is_not_a_conflict(db_session, factory, connected, fake_qbo):
    """The CDC answered before a payment's batch reached QuickBooks; the batch committed before the
    comparison: QuickBooks' balance in that answer is older than ours, not a disagreement."""
    from app.billing.models import PaymentMethod
    from app.billing.payments import record_manual_payment
    from app.quickbooks import push
    from app.quickbooks.models import LedgerEntity, LedgerState, SyncLedgerRow
    from app.quickbooks.pull import compare_invoice
    from tests.integration.test_payments import make_invoice

    invoice, _ = make_invoice(factory)
    assert push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.entity == LedgerEntity.INVOICE))) == "synced"
    stale_answer = dict(fake_qbo.objects["Invoice"][invoice.qb_invoice_id])  # the CDC's view, before the payment
    answered_at = datetime.now(UTC)
    payment = record_manual_payment(invoice, actor=factory.user(), amount="100.00", method=PaymentMethod.CHECK,
                                    reference="CHK 9")
    db.session.commit()
    assert push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.local_id == payment.id))) == "synced"
    assert compare_invoice(stale_answer, seen_at=answered_at) is False
    assert compare_invoice(stale_answer, seen_at=answered_at + timedelta(hours=1)) is True  # a real disagreement
    assert db.session.scalar(select(func.count()).select_from(SyncLedgerRow).where(
        SyncLedgerRow.state == LedgerState.CONFLICT)) == 1
