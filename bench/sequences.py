"""Sequences at scale: many runs due at once, drained by worker processes.

    python -m bench.sequences [--due 10000] [--active 100000] [--workers 2]

A database of its own in the bench server (`crm_bench_sequences`, emptied and migrated on
every run). `--due` runs are due now (an e-mail step, then a task step: the e-mail goes through
the inbox's `send_email` with the development outbox backends, its send job written to the job
outbox), `--active` more runs are active but due in a month (the table's bulk). `--workers`
processes each run the engine's tick until nothing is due (as RQ workers would, without RQ's
fork per job). Reported, against the issue's aims:

- throughput in steps/s (aim >= 300/s) and zero duplicates (checked by queries);
- the tick's claim query (`FOR UPDATE SKIP LOCKED` of a batch of due runs) p99 (aim < 20 ms),
  measured before the drain with every run in the table;
- the lead page's sequences panel with 5 runs p99 (aim < 50 ms), through the app.
Exits 1 when a duplicate is found (the timings are reported, not enforced: a shared machine).
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import time

import psycopg

from bench.generate import libpq_url
from bench.import_timing import fresh_database as _fresh_import_database
from bench.run import csrf_token, start_redis

DB_NAME = "crm_bench_sequences"
ALL_DAY = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}


def fresh_database() -> str:
    import bench.import_timing as timing

    timing.DB_NAME = DB_NAME
    return _fresh_import_database()


def make_app(url: str, redis_url: str):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SEQUENCE_EMAIL_DAILY_CAP": 10**9,
                      "SEQUENCE_BATCH": 200,
                      "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1)})
    logging.getLogger("crm.request").setLevel(logging.WARNING)
    return app


def seed(app, url: str, due: int, active: int) -> dict:
    from app.auth.models import UserRole
    from app.auth.services import create_user
    from app.crm.models import Tag, TagCategory
    from app.extensions import db
    from app.inbox.canned.services import save_template
    from app.inbox.models import TemplateCategory, TemplateChannel
    from app.sequences.definitions import save_definition

    with app.app_context():
        admin = create_user(email="seq-bench@example.com", first_name="Seq", last_name="Bench", role=UserRole.ADMIN,
                            password="sequence bench pass")
        rep = create_user(email="seq-rep@example.com", first_name="Rep", last_name="Bench", role=UserRole.REP,
                          password="sequence bench pass")
        email = save_template(None, name="Bench e-mail", channel=TemplateChannel.EMAIL,
                              category=TemplateCategory.SEQUENCE, subject="Trackers for {{ company.name }}",
                              body='Hi {{ contact.first_name | default("there") }}, here is our pricing.', actor=admin)
        ids = {}
        for slug in ("bench-due", "bench-later", "bench-x1", "bench-x2", "bench-x3", "bench-x4"):
            db.session.add(Tag(slug=slug, name=slug, category=TagCategory.DISPOSITION))
            db.session.flush()
            ids[slug] = save_definition(
                None, name=f"Bench {slug}", tag_slug=slug, description=None, is_active=True, window=ALL_DAY,
                steps=[{"type": "email", "template_id": str(email.id)},
                       {"type": "task", "task_type": "FOLLOW_UP", "priority": "NORMAL", "text": "Follow up"}],
                actor=admin).id
        db.session.commit()
        rep_id = rep.id
    total = due + active
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("""
            CREATE TEMP TABLE bench_ids AS
            SELECT n, gen_random_uuid() AS company_id, gen_random_uuid() AS contact_id, gen_random_uuid() AS lead_id
            FROM generate_series(1, %s) AS n""", (total,))
        conn.execute("""
            INSERT INTO companies (id, name, normalized_name, assigned_rep_id)
            SELECT company_id, 'Bench Fleet ' || n, 'bench fleet ' || n, %s FROM bench_ids""", (rep_id,))
        conn.execute("""
            INSERT INTO contacts (id, company_id, first_name, last_name, full_name, email, email_normalized, timezone)
            SELECT contact_id, company_id, 'Mike', 'Bench' || n, 'Mike Bench' || n, 'bench' || n || '@fleet.example',
                   'bench' || n || '@fleet.example', 'UTC' FROM bench_ids""")
        conn.execute("""
            INSERT INTO leads (id, company_id, contact_id, estimated_units, estimated_revenue)
            SELECT lead_id, company_id, contact_id, 10, 790 FROM bench_ids""")
        conn.execute("""
            INSERT INTO sequence_runs (id, lead_id, sequence_def_id, tag_slug, status, current_step, started_at,
                                       next_step_at, created_at)
            SELECT gen_random_uuid(), lead_id, CASE WHEN n <= %s THEN %s::uuid ELSE %s::uuid END,
                   CASE WHEN n <= %s THEN 'bench-due' ELSE 'bench-later' END, 'ACTIVE', 0, now() - interval '1 minute',
                   CASE WHEN n <= %s THEN now() - interval '1 second' * n / 1000
                        ELSE now() + interval '30 days' END, now()
            FROM bench_ids""", (due, ids["bench-due"], ids["bench-later"], due, due))
        # one lead with five runs (four stopped, one active) for the lead panel
        lead = conn.execute("SELECT lead_id FROM bench_ids WHERE n = %s", (total,)).fetchone()[0]
        for slug in ("bench-x1", "bench-x2", "bench-x3", "bench-x4"):
            conn.execute("""
                INSERT INTO sequence_runs (id, lead_id, sequence_def_id, tag_slug, status, current_step, started_at,
                                           canceled_at, canceled_reason, created_at)
                VALUES (gen_random_uuid(), %s, %s, %s, 'CANCELED', 0, now(), now(), 'The customer replied by e-mail', now())
            """, (lead, ids[slug], slug))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) sequence_runs, leads, contacts, companies")
    return {"lead": lead}


def claim_p99(app, samples: int = 300) -> float:
    from app.extensions import db
    from app.sequences import engine

    timings = []
    with app.app_context():
        for _ in range(samples):
            started = time.perf_counter()
            ids = db.session.scalars(
                engine.select(engine.SequenceRun.id)
                .where(engine.SequenceRun.status == engine.SequenceStatus.ACTIVE,
                       engine.SequenceRun.next_step_at <= engine.now_utc())
                .order_by(engine.SequenceRun.next_step_at, engine.SequenceRun.id).limit(200)
                .with_for_update(skip_locked=True)).all()
            timings.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
            assert ids
    return statistics.quantiles(timings, n=100)[98]


def panel_p99(app, lead_id, samples: int = 200) -> float:
    from app.auth.models import User
    from app.extensions import db

    client = app.test_client()
    client.post("/login", data={"email": "seq-rep@example.com", "password": "sequence bench pass",
                                "csrf_token": csrf_token(client, app)})
    with app.app_context():
        assert db.session.query(User).count() >= 2
    for _ in range(10):
        client.get(f"/leads/{lead_id}/sequences")
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(f"/leads/{lead_id}/sequences")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and response.text.count("seq-run\"") + response.text.count("seq-run ") >= 0
    return statistics.quantiles(timings, n=100)[98]


def drain(url: str, redis_url: str, results) -> None:
    app = make_app(url, redis_url)
    from app.sequences import engine

    with app.app_context():
        total = 0
        while True:
            outcome = engine.tick(budget_s=3600)
            total += outcome.fired + outcome.skipped
            if outcome.claimed == 0:
                break
    results.put(total)


def duplicates(url: str) -> dict[str, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return dict(zip(("duplicate step logs", "runs e-mailed twice", "duplicate tasks", "torn runs"), conn.execute("""
            SELECT (SELECT count(*) FROM (SELECT 1 FROM sequence_step_logs GROUP BY sequence_run_id, step_number
                                          HAVING count(*) > 1) d),
                   (SELECT count(*) FROM (SELECT t.lead_id FROM email_threads t JOIN email_messages m ON m.thread_id = t.id
                                          GROUP BY 1 HAVING count(*) > 1) d),
                   (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE sequence_run_id IS NOT NULL
                                          GROUP BY sequence_run_id, sequence_step_number HAVING count(*) > 1) d),
                   (SELECT count(*) FROM sequence_runs r WHERE r.current_step <>
                       (SELECT count(*) FROM sequence_step_logs l WHERE l.sequence_run_id = r.id))
        """).fetchone(), strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sequences", description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    url = fresh_database()
    redis = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis()
    try:
        app = make_app(url, redis_url)
        started = time.perf_counter()
        world = seed(app, url, args.due, args.active)
        print(f"seeded {args.due:,} due + {args.active:,} active runs in {time.perf_counter() - started:.1f} s")
        claim = claim_p99(app)
        print(f"claim query (batch of 200, FOR UPDATE SKIP LOCKED) p99: {claim:.1f} ms  (aim < 20 ms)")
        panel = panel_p99(app, world["lead"])
        print(f"lead page sequences panel, 5 runs, p99: {panel:.1f} ms  (aim < 50 ms)")
        results = multiprocessing.get_context("spawn").Queue()
        processes = [multiprocessing.get_context("spawn").Process(target=drain, args=(url, redis_url, results))
                     for _ in range(args.workers)]
        started = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        steps = sum(results.get() for _ in processes)
        print(f"drained: {steps:,} steps by {args.workers} workers in {elapsed:.1f} s = {steps / elapsed:.0f} steps/s "
              f"(aim >= 300/s)")
        found = duplicates(url)
        print("duplicates: " + ", ".join(f"{k} {v}" for k, v in found.items()))
        return 1 if any(found.values()) or steps != 2 * args.due else 0
    finally:
        if redis is not None:
            from app.devservices import stop_redis

            stop_redis(redis)


if __name__ == "__main__":
    sys.exit(main())
