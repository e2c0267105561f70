"""QuickBooks initial sync against the local QuickBooks with Intuit's real limits, pushed by
real RQ workers.

    python -m bench.quickbooks_sync [--customers 30 --invoices 100 --payments 120 --workers 4]
    python -m bench.quickbooks_sync --full     # the issue's 3,000 / 10,000 / 12,000

The data and the ledger rows (and so their jobs, through the transactional outbox) are
written into a database of its own (`crm_bench_qbo` in the bench server, emptied and migrated
each run); `--workers` `flask worker` processes (one with the scheduler: the every-minute
`quickbooks-sync` sweep) run the app's own jobs (app.quickbooks.jobs.push_row: batches of up to
30 rows of one kind, app.quickbooks.batch) against tests/integration/quickbooks/fake_qbo.py,
which enforces 10 requests a second, 500 a minute and 40 batches a minute per realm (429
beyond). The bench only watches: a progress line every 30 s, then the totals.

Prints: wall time, requests sent (batches and single), 429s, duplicates (QuickBooks objects per
local object, and every ledger row's remote id once), and how close it ran to the limits (the
most requests QuickBooks saw in any 1 s and 60 s, and batches in any 60 s).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg

from bench.generate import BENCH_PGDATA, libpq_url, migrate
from bench.run import start_redis

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))
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
        invoice.balance_due -= payment.amount  # as recording it does: QuickBooks' balance will agree
        db.session.add(payment)
        paid.append(payment)
    db.session.flush()
    for company in companies:
        rows["customers"].append(record_push(LedgerEntity.CUSTOMER, company.id, LedgerOperation.CREATE,
                                             company_id=company.id))
    for invoice in made:
        rows["invoices"].append(record_push(LedgerEntity.INVOICE, invoice.id, LedgerOperation.CREATE,
                                            company_id=invoice.company_id))
    for i, payment in enumerate(paid):
        rows["payments"].append(record_push(LedgerEntity.PAYMENT, payment.id, LedgerOperation.CREATE,
                                            company_id=made[i % invoices].company_id))
    db.session.commit()
    return rows


def start_workers(n: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    """`flask worker` processes on the bench's database and Redis; the first runs the scheduler."""
    logs.mkdir(parents=True, exist_ok=True)
    processes = []
    for i in range(n):
        log = open(logs / f"qbo-worker-{i}.log", "wb")  # noqa: SIM115 (the process keeps it)
        command = [FLASK, "--app", "wsgi", "worker", "--with-scheduler" if i == 0 else "--no-scheduler"]
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    return processes


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def ledger_counts(app) -> dict[str, int]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.quickbooks.models import SyncLedgerRow

    with app.app_context():
        counts = {f"{entity.value.lower()}:{state.value.lower()}": n for entity, state, n in db.session.execute(
            select(SyncLedgerRow.entity, SyncLedgerRow.state, func.count()).group_by(
                SyncLedgerRow.entity, SyncLedgerRow.state)).all()}
        db.session.remove()
    return counts


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
    parser.add_argument("--full", action="store_true", help="the issue's 3,000 / 10,000 / 12,000")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=90, help="minutes before giving up")
    args = parser.parse_args(argv)
    if args.full:
        args.customers, args.invoices, args.payments = 3000, 10000, 12000
    url = fresh_database()
    redis = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis()
    from app import create_app
    from app.extensions import db

    logging.getLogger("crm.quickbooks").setLevel(logging.WARNING)
    expected = args.customers + args.invoices + args.payments
    with FakeQuickBooks() as fake:
        settings = qbo_settings(fake.url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                          "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1), **settings})
        with app.app_context():
            from app.queue import redis_connection

            if redis is not None:  # the bench's own Redis: no job or budget left from an earlier run
                redis_connection().flushdb()
            for key in redis_connection().scan_iter("crm:qbo:*"):
                redis_connection().delete(key)
            connect(fake)
            t = time.perf_counter()
            seed(args.customers, args.invoices, args.payments)  # commits: the jobs go to RQ
            seeded = time.perf_counter() - t
            db.session.remove()
        print(f"quickbooks initial sync: {args.customers} customers, {args.invoices} invoices, "
              f"{args.payments} payments; {args.workers} RQ workers; seeded in {seeded:.0f} s", flush=True)
        env = {**os.environ, "CRM_ENV": "test", "DATABASE_URL": url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
               **{k: str(v) for k, v in settings.items()}}
        started, started_at = time.perf_counter(), datetime.now(UTC)
        workers = start_workers(args.workers, env, ROOT / "bench" / "out")
        finished, shown = False, 0.0
        try:
            while time.perf_counter() - started < args.timeout * 60:
                time.sleep(2)
                counts = ledger_counts(app)
                if time.perf_counter() - shown < 30 and any(k.endswith((":pending", ":in_flight")) for k in counts):
                    continue
                shown = time.perf_counter()
                synced = sum(n for k, n in counts.items() if k.endswith(":synced"))
                open_ = sum(n for k, n in counts.items() if k.endswith((":pending", ":in_flight")))
                elapsed = time.perf_counter() - started
                print(f"  {elapsed / 60:5.1f} min  synced {synced:6d}/{expected}  open {open_:6d}  "
                      f"({synced / elapsed * 60:.0f} rows/min)  requests {len(fake.api_requests())}  "
                      f"batches {len(fake.api_requests('POST', '/batch'))}  429s {fake.throttled}  "
                      f"{ {k: n for k, n in counts.items() if not k.endswith(':synced')} }", flush=True)
                if open_ == 0:
                    finished = True
                    break
        finally:
            stop_workers(workers)
        wall = time.perf_counter() - started
        with app.app_context():
            from sqlalchemy import func, select

            from app.quickbooks.models import SyncLedgerRow

            last = db.session.scalar(select(func.max(SyncLedgerRow.synced_at)))
            db.session.remove()
        if finished and last is not None:  # from the workers' start to the last row's commit
            wall = (last - started_at).total_seconds()
        api = fake.api_requests()
        batches = fake.api_requests("POST", "/batch")
        times = [r["at"] for r in api]
        made = {entity: len(objects) for entity, objects in fake.objects.items() if entity not in ("Item", "Account")}
        counts = ledger_counts(app)
        with app.app_context():
            from sqlalchemy import func, select

            from app.quickbooks.models import SyncLedgerRow

            remote = db.session.execute(select(SyncLedgerRow.entity, func.count(SyncLedgerRow.remote_id),
                                               func.count(SyncLedgerRow.remote_id.distinct()))
                                        .group_by(SyncLedgerRow.entity)).all()
            db.session.remove()
        print(f"  {'finished' if finished else 'NOT finished (timeout)'}: wall time {wall:.0f} s "
              f"({wall / 60:.1f} min); ledger {counts}")
        print(f"  requests sent {len(api)} ({len(batches)} batches of "
              f"{sum(len(json.loads(b['body'])['BatchItemRequest']) for b in batches)} operations, "
              f"{len(api) - len(batches)} single: queries, reads, lone pushes); 429s {fake.throttled}")
        duplicates = (made["Customer"] - counts.get("customer:synced", 0) + made["Invoice"]
                      - counts.get("invoice:synced", 0) + made["Payment"] - counts.get("payment:synced", 0))
        print(f"  QuickBooks objects: {made}; remote ids per entity (all, distinct): "
              f"{ {e.value: (n, d) for e, n, d in remote} }; duplicates: {duplicates}")
        print(f"  busiest 1 s: {peak(times, 1.0)} requests (limit 10); busiest 60 s: {peak(times, 60.0)} "
              f"(limit 500); busiest 60 s of batches: {peak([b['at'] for b in batches], 60.0)} (limit 40)")
        print(f"  average {len(api) / max(wall, 1e-9) * 60:.0f} requests/min, "
              f"{len(batches) / max(wall, 1e-9) * 60:.1f} batches/min, "
              f"{counts.get('customer:synced', 0) + counts.get('invoice:synced', 0) + counts.get('payment:synced', 0)} "
              f"of {expected} objects synced", flush=True)
    if redis is not None:
        from app.devservices import stop_redis

        stop_redis(redis)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
