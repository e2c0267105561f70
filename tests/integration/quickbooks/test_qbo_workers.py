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
