"""Concurrency on real commits: two workers refreshing one realm's token at once (one refresh,
no token burnt), and a real worker SIGKILLed after QuickBooks made the customer, before our
commit: the retry sends the same requestid and QuickBooks answers the original (one object)."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import committing_app
from tests.integration.quickbooks.conftest import connect, qbo_settings
from tests.integration.quickbooks.fake_qbo import FakeQuickBooks
from tests.integration.test_faults_workers import Workers, wait_for


@pytest.fixture
def fake():
    with FakeQuickBooks() as fake:
        yield fake


def test_two_workers_refreshing_at_once_make_one_refresh_and_burn_no_token(databases, redis_url, fake):
    from app.extensions import db
    from app.integrations.secrets import decrypt
    from app.quickbooks.models import ConnectionStatus, QuickBooksConnection
    from app.quickbooks.tokens import fresh_access_token

    with committing_app(databases, redis_url, "crm_qbo_token_race", **qbo_settings(fake.url)) as app:
        with app.app_context():
            connection = connect(fake)
            connection.access_expires_at = datetime.now(UTC) - timedelta(minutes=1)
            db.session.commit()
            connection_id = connection.id
        fake.refresh_delay = 1.5  # both are inside the refresh at once, unless one waits for the other
        results, errors, go = [], [], threading.Barrier(2)

        def worker():
            with app.app_context():
                try:
                    go.wait()
                    results.append(fresh_access_token(connection_id))
                except Exception as exc:  # noqa: BLE001 (reported below)
                    errors.append(exc)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert fake.refresh_calls == 1  # the second waited on the realm's lock, then used the new token
        assert len(results) == 2 and results[0] == results[1]
        with app.app_context():
            row = db.session.get(QuickBooksConnection, connection_id)
            assert row.status is ConnectionStatus.CONNECTED
            assert decrypt(row.refresh_token_sealed) in fake.refresh_tokens  # the stored one still works
            assert decrypt(row.access_token_sealed) == results[0][1]


@pytest.fixture
def kills_app(databases, redis_url, fake):
    with committing_app(databases, redis_url, "crm_qbo_worker_kills", QBO_STUCK_AFTER_S=2,
                        **qbo_settings(fake.url)) as app:
        yield app


def test_a_worker_killed_after_the_create_before_the_commit_leaves_one_quickbooks_object(
        kills_app, redis_url, fake, capsys):
    from app.extensions import db
    from app.quickbooks.models import LedgerEntity, LedgerState, SyncLedgerRow
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    settings = {**qbo_settings(fake.url), "QBO_STUCK_AFTER_S": "2"}
    group = Workers(kills_app, redis_url, **settings)

    def state(entity):
        db.session.rollback()
        return db.session.scalar(select(SyncLedgerRow.state).where(SyncLedgerRow.entity == entity))

    try:
        with kills_app.app_context():
            connect(fake)
            fake.search_lag = True  # only the requestid can tell QuickBooks it is the same create
            fake.hang_after_create.set()
            invoice, _ = make_invoice(Factory(db.session))  # sent: customer + invoice rows and jobs
            db.session.commit()
            worker = group.start()
            assert fake.create_waiting.wait(120), group.log_tail()
            assert state(LedgerEntity.CUSTOMER) is LedgerState.IN_FLIGHT  # committed before QuickBooks was asked
            assert len(fake.objects["Customer"]) == 1  # QuickBooks made it; our commit never came
            group.kill_everything(worker)
            killed_at = time.monotonic()
            fake.release_create.set()

            group.start()  # a supervisor's new worker
            settled = wait_for(lambda: state(LedgerEntity.INVOICE) is LedgerState.SYNCED, timeout=240, step=0.5)
            assert settled, group.log_tail()
            recovery = time.monotonic() - killed_at
            time.sleep(3)  # anything that would push it again has had its chance
            assert state(LedgerEntity.CUSTOMER) is LedgerState.SYNCED
            creates = fake.api_requests("POST", "/customer")
            customer_row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.entity == LedgerEntity.CUSTOMER))
            assert len(creates) == 2 and {c["args"]["requestid"] for c in creates} == {str(customer_row.id)}
            assert len(fake.objects["Customer"]) == 1 and len(fake.objects["Invoice"]) == 1  # exactly once
            db.session.refresh(invoice)
            assert invoice.company.qb_customer_id == customer_row.remote_id == next(iter(fake.objects["Customer"]))
            assert customer_row.attempts == 2
    finally:
        group.stop_all()
    with capsys.disabled():
        print(f"\nquickbooks: worker SIGKILLed after the create, before the commit; settled {recovery:.1f} s later, "
              "one customer and one invoice in QuickBooks")


def test_a_worker_killed_after_a_batch_before_the_commit_resends_it_under_the_same_requestid(
        kills_app, redis_url, fake, capsys):
    """Three payments go out in one batch; QuickBooks makes them; the worker is SIGKILLed before
    its commit. The sweep (periodic_sync: rows IN_FLIGHT past QBO_STUCK_AFTER_S) sends the same
    rows under the same requestid: QuickBooks answers the original batch, no payment twice."""
    from app.billing.models import PaymentMethod
    from app.billing.payments import record_manual_payment
    from app.extensions import db
    from app.quickbooks import push
    from app.quickbooks.jobs import periodic_sync
    from app.quickbooks.models import LedgerEntity, LedgerState, SyncLedgerRow
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    group = Workers(kills_app, redis_url, **{**qbo_settings(fake.url), "QBO_STUCK_AFTER_S": "2"})

    def payment_rows():
        db.session.rollback()
        return list(db.session.scalars(select(SyncLedgerRow).where(SyncLedgerRow.entity == LedgerEntity.PAYMENT)))

    try:
        with kills_app.app_context():
            connect(fake)
            factory = Factory(db.session)
            invoice, _ = make_invoice(factory)
            db.session.commit()
            invoice_row = db.session.scalar(select(SyncLedgerRow.id).where(SyncLedgerRow.entity == LedgerEntity.INVOICE))
            assert push.process_row(invoice_row) == "synced"  # customer and invoice are in QuickBooks
            for n in range(3):
                record_manual_payment(invoice, actor=factory.user(), amount="10.00", method=PaymentMethod.CHECK,
                                      reference=f"CHK {n}")
            db.session.commit()
            fake.hang_after_batch.set()
            worker = group.start()
            assert fake.create_waiting.wait(120), group.log_tail()
            rows = payment_rows()
            assert {r.state for r in rows} == {LedgerState.IN_FLIGHT}  # committed before QuickBooks was asked
            [batch_id] = {r.batch_id for r in rows}
            assert batch_id and len(fake.objects["Payment"]) == 3  # QuickBooks made them; our commit never came
            group.kill_everything(worker)
            killed_at = time.monotonic()
            fake.release_create.set()

            group.start()  # a supervisor's new worker
            time.sleep(2.5)  # QBO_STUCK_AFTER_S
            assert periodic_sync()["asked"] >= 3  # the every-minute sweep asks for the stuck rows
            settled = wait_for(lambda: {r.state for r in payment_rows()} == {LedgerState.SYNCED}, timeout=240,
                               step=0.5)
            assert settled, group.log_tail()
            recovery = time.monotonic() - killed_at
            time.sleep(3)  # anything that would push them again has had its chance
            rows = payment_rows()
            batches = fake.api_requests("POST", "/batch")
            assert len(batches) == 2 and {b["args"]["requestid"] for b in batches} == {batch_id}
            assert len(fake.objects["Payment"]) == 3  # exactly once
            assert {r.remote_id for r in rows} == set(fake.objects["Payment"])
            assert {r.batch_id for r in rows} == {batch_id} and {r.attempts for r in rows} == {2}
    finally:
        group.stop_all()
    with capsys.disabled():
        print(f"\nquickbooks: worker SIGKILLed after a batch of 3 payments, before the commit; resent under the "
              f"same requestid and settled {recovery:.1f} s later, 3 payments in QuickBooks")
