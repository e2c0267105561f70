"""QuickBooks initial sync against the local QuickBooks with Intuit's real limits.

    python -m bench.quickbooks_sync [--customers 30 --invoices 100 --payments 120 --workers 4]

The issue's sizes are 3,000 customers, 10,000 invoices and 12,000 payments (`--scale 100`):
at 500 requests a minute per realm that is about an hour of QuickBooks' time whatever the
code does, so the default is 1/100 of it and the full run is extrapolated from the
requests each object cost. The data and the ledger rows are written straight into a
database of its own (`crm_bench_qbo` in the bench server, emptied and migrated each run);
the push is the app's own (`app.quickbooks.push.process_row`), from `--workers` threads
sharing the realm's Redis budget, phase by phase (customers, invoices, payments), against
tests/integration/quickbooks/fake_qbo.py enforcing 10/s and 500/min (429 beyond).

Prints: wall time, requests sent, 429s, duplicates (QuickBooks objects per local object),
and how close it ran to the limits (the most requests QuickBooks saw in any 1 s and 60 s).
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import psycopg

from bench.generate import BENCH_PGDATA, libpq_url, migrate
from bench.run import start_redis

DB_NAME = "crm_bench_qbo"


def fresh_database() -> str:
    from app.devservices import start_postgres

    server, url = start_postgres(BENCH_PGDATA, DB_NAME)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate(url)
    fresh_database.server = server
    return url


def seed(customers: int, invoices: int, payments: int) -> dict[str, list]:
    """Companies, sent invoices (one line each) and check payments, with their ledger rows."""
    from app.billing.models import Invoice, InvoiceLineItem, InvoiceStatus, Payment, PaymentMethod
    from app.crm.models import Company
    from app.extensions import db
    from app.quickbooks.ledger import record_push
    from app.quickbooks.models import LedgerEntity, LedgerOperation

    now = datetime.now(UTC)
    rows: dict[str, list] = {"customers": [], "invoices": [], "payments": []}
    companies = [Company(id=uuid.uuid4(), name=f"Bench Fleet {i:05d}", normalized_name=f"bench fleet {i:05d}")
                 for i in range(customers)]
    db.session.add_all(companies)
    db.session.flush()
    made = []
    for i in range(invoices):
        company = companies[i % customers]
        price = Decimal("79.00")
        invoice = Invoice(id=uuid.uuid4(), company_id=company.id, invoice_number=f"BQ-{i:06d}", subtotal=price * 2,
                          total=price * 2, balance_due=price * 2, status=InvoiceStatus.SENT, sent_at=now)
        invoice.line_items.append(InvoiceLineItem(description="GPS tracker", quantity=2, unit_price=price,
                                                  total=price * 2, created_at=now))
        db.session.add(invoice)
        made.append(invoice)
    db.session.flush()
    paid = []
    for i in range(payments):
        invoice = made[i % invoices]
        payment = Payment(id=uuid.uuid4(), invoice_id=invoice.id, amount=Decimal("10.00"), method=PaymentMethod.CHECK,
                          reference=f"CHK {i}", paid_at=now)
        db.session.add(payment)
        paid.append(payment)
    db.session.flush()
    for company in companies:
        rows["customers"].append(record_push(LedgerEntity.CUSTOMER, company.id, LedgerOperation.CREATE,
                                             company_id=company.id))
    for invoice in made:
        rows["invoices"].append(record_push(LedgerEntity.INVOICE, invoice.id, LedgerOperation.CREATE,
                                            company_id=invoice.company_id))
    for payment in paid:
        rows["payments"].append(record_push(LedgerEntity.PAYMENT, payment.id, LedgerOperation.CREATE,
                                            company_id=companies[paid.index(payment) % invoices % customers].id))
    db.session.commit()
    return rows


def run_phase(app, row_ids: list, workers: int) -> dict[str, int]:
    from app.extensions import db
    from app.quickbooks.push import process_row

    work: queue.Queue = queue.Queue()
    for row_id in row_ids:
        work.put(row_id)
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def worker():
        with app.app_context():
            while True:
                try:
                    row_id = work.get_nowait()
                except queue.Empty:
                    break
                outcome = process_row(row_id)
                with lock:
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def drain(app, rows: dict[str, list], workers: int, limit_s: float = 600) -> int:
    """Push what waited (its retry time) until everything is synced: as the periodic sync would."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.quickbooks.models import LedgerState, SyncLedgerRow

    passes, deadline = 0, time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with app.app_context():
            left = db.session.execute(select(SyncLedgerRow.id, SyncLedgerRow.entity).where(
                SyncLedgerRow.state != LedgerState.SYNCED).order_by(SyncLedgerRow.created_at)).all()
            due = db.session.scalar(select(func.min(SyncLedgerRow.next_attempt_at)).where(
                SyncLedgerRow.state != LedgerState.SYNCED))
            db.session.remove()
        if not left:
            return passes
        if due is not None:
            time.sleep(max(0.0, min((due - datetime.now(UTC)).total_seconds(), 70)))
        passes += 1
        for entity in ("CUSTOMER", "INVOICE", "PAYMENT"):
            run_phase(app, [r.id for r in left if r.entity.value == entity], workers)
    raise SystemExit("bench.quickbooks_sync: rows still not synced after 10 minutes")


def peak(times: list[float], window: float) -> int:
    times, best, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def main(argv: list[str] | None = None) -> int:
    from tests.integration.quickbooks.conftest import connect, qbo_settings
    from tests.integration.quickbooks.fake_qbo import FakeQuickBooks

    parser = argparse.ArgumentParser(prog="python -m bench.quickbooks_sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=30)
    parser.add_argument("--invoices", type=int, default=100)
    parser.add_argument("--payments", type=int, default=120)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    url = fresh_database()
    redis = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis()
    from app import create_app
    from app.extensions import db

    logging.getLogger("crm.quickbooks").setLevel(logging.WARNING)
    with FakeQuickBooks() as fake:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                          "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
                          **qbo_settings(fake.url)})
        with app.app_context():
            from app.queue import redis_connection

            for key in redis_connection().scan_iter("crm:qbo:*"):
                redis_connection().delete(key)
            connect(fake)
            rows = seed(args.customers, args.invoices, args.payments)
            db.session.remove()
        started = time.perf_counter()
        phases = {}
        for phase in ("customers", "invoices", "payments"):
            t, sent = time.perf_counter(), len(fake.api_requests())
            outcomes = run_phase(app, rows[phase], args.workers)
            phases[phase] = (time.perf_counter() - t, outcomes, len(fake.api_requests()) - sent)
        drains = drain(app, rows, args.workers)
        wall = time.perf_counter() - started
        api = [r["at"] for r in fake.api_requests()]
        made = {entity: len(objects) for entity, objects in fake.objects.items() if entity != "Item"}
        print(f"quickbooks initial sync: {args.customers} customers, {args.invoices} invoices, "
              f"{args.payments} payments, {args.workers} workers")
        for phase, (seconds, outcomes, sent) in phases.items():
            print(f"  {phase:<9} {seconds:7.1f} s  {sent:5d} requests  {outcomes}")
        print(f"  then {drains} passes over rows that waited (a 429's back-off, a customer or invoice not in yet)")
        print(f"  wall time {wall:.1f} s; requests sent {len(api)} ({len(api) / max(wall, 1e-9) * 60:.0f}/min); "
              f"429s {fake.throttled}")
        print(f"  QuickBooks objects: {made} (duplicates: "
              f"{made['Customer'] - args.customers + made['Invoice'] - args.invoices + made['Payment'] - args.payments})")
        print(f"  busiest 1 s: {peak(api, 1.0)} requests (limit 10); busiest 60 s: {peak(api, 60.0)} (limit 500)")
        sizes = {"customers": (args.customers, 3000), "invoices": (args.invoices, 10000),
                 "payments": (args.payments, 12000)}
        full = sum(phases[p][2] / max(n, 1) * target for p, (n, target) in sizes.items())
        print(f"  at the issue's 3,000 / 10,000 / 12,000 (the same requests per object): ~{full:,.0f} requests, "
              f"≥ {full / 500:.0f} min at 500/min per realm (batches of 30 would cut the creates ~30x)")
    if redis is not None:
        from app.devservices import stop_redis

        stop_redis(redis)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
