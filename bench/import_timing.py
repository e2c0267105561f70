"""CSV import at 10,000 rows: how long the requests and the jobs take, against budgets.

    python -m bench.import_timing [--rows 10000]

The test suite checks what the import does with a 10k-row file (the requests only
enqueue, the jobs import every row: tests/integration/crm/importing/test_import.py);
the time it takes is measured here, where a busy machine cannot fail a test run. It
uses a database of its own in the bench server (`crm_bench_import`, emptied and migrated
on every run; the pipeline benchmark's `crm_bench` is not touched), Redis as bench.run
does, a signed-in admin, and a real RQ SimpleWorker in process for the jobs.

Budgets (a request must only enqueue; the jobs are the work):
upload, preview request and run request under 3 s each; the import job under 20 s.
Exits 1 when one is over.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import random
import sys
import time

import psycopg

from bench.generate import BENCH_PGDATA, libpq_url, migrate
from bench.run import csrf_token, start_redis

DB_NAME = "crm_bench_import"
REQUEST_BUDGET = 3.0  # seconds: upload, preview request, run request
RUN_JOB_BUDGET = 20.0  # seconds: the import job for 10,000 rows

AREA_CODES = (214, 469, 972, 817, 682, 713, 281, 832, 512, 210, 602, 480, 303, 720, 404, 305,
              312, 615, 704, 919)


def generated_csv(rows: int, seed: int = 11) -> bytes:
    """Google-Maps-shaped rows: 5% exact repeats, 1% without a phone."""
    rnd = random.Random(seed)
    header = ("query,name,site,phone,category,full_address,street,city,postal_code,state,rating,"
              "reviews,location_link,place_id,google_id\r\n")
    lines = []
    for i in range(rows):
        if lines and rnd.random() < 0.05:
            lines.append(rnd.choice(lines))
            continue
        area, number = AREA_CODES[i % 20], i // 20
        phone = "" if rnd.random() < 0.01 else f"+1 {area}-555-{number:04d}"
        lines.append(
            f"fleet near city {i % 50},Fleet Business {i},https://b{i}.example.com/,{phone},"
            f"towing services,\"{i} Main St, Dallas, TX\",{i} Main St,Dallas,75{i % 1000:03d},"
            f"Texas,4.{i % 10},{i % 500},https://maps.example.com/{i},ChIJgen{i:08d},0x{i:x}\r\n")
    return (header + "".join(lines)).encode()


def fresh_database() -> str:
    from app.devservices import start_postgres

    server, url = start_postgres(BENCH_PGDATA, DB_NAME)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate(url)
    fresh_database.server = server  # keep the handle alive for the run
    return url


def measure(url: str, redis_url: str, rows: int) -> dict[str, float]:
    from rq import SimpleWorker

    from app import create_app
    from app.auth.models import UserRole
    from app.auth.services import create_user
    from app.crm.importing import services as importing
    from app.extensions import db
    from app.queue import get_queue, redis_connection

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                      "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1)})
    logging.getLogger("crm.request").setLevel(logging.WARNING)
    with app.app_context():
        create_user(email="import-bench@example.com", first_name="Import", last_name="Bench",
                    role=UserRole.ADMIN, password="import bench pass")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "import-bench@example.com", "password": "import bench pass",
                                "csrf_token": csrf_token(client, app)})

    def work():
        with app.app_context():
            SimpleWorker([get_queue("import")], connection=redis_connection()).work(burst=True)

    data = generated_csv(rows)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    response = client.post("/companies/import", data={"csrf_token": csrf_token(client, app),
                                                      "file": (io.BytesIO(data), "bench.csv")},
                           content_type="multipart/form-data")
    seconds["upload request"] = time.perf_counter() - started
    token = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    with app.app_context():
        meta = importing.UploadStore().meta(token)
    form = {"csrf_token": csrf_token(client, app), "source": meta.source}
    form.update({f"map_{f.key}": meta.mapping.get(f.key, "") for f in importing.FIELDS})
    started = time.perf_counter()
    client.post(f"/companies/import/{token}", data=form)
    seconds["preview request"] = time.perf_counter() - started
    started = time.perf_counter()
    work()
    seconds["preview job"] = time.perf_counter() - started
    started = time.perf_counter()
    client.post(f"/companies/import/{token}/run", data={"csrf_token": csrf_token(client, app)})
    seconds["run request"] = time.perf_counter() - started
    started = time.perf_counter()
    work()
    seconds["run job"] = time.perf_counter() - started
    with app.app_context():
        state = importing.UploadStore().state(token, "run")
    if state.get("status") != "done" or state.get("processed") != rows:
        raise SystemExit(f"bench.import_timing: the import did not finish: {state}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_timing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args(argv)
    url = fresh_database()
    redis = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis()
    try:
        seconds = measure(url, redis_url, args.rows)
    finally:
        if redis is not None:
            from app.devservices import stop_redis

            stop_redis(redis)
    budgets = {"upload request": REQUEST_BUDGET, "preview request": REQUEST_BUDGET,
               "run request": REQUEST_BUDGET, "run job": RUN_JOB_BUDGET if args.rows <= 10_000 else None}
    over = []
    for name, value in seconds.items():
        budget = budgets.get(name)
        rate = f" ({args.rows / value:,.0f} rows/s)" if name.endswith("job") else ""
        verdict = "" if budget is None else (" ok" if value < budget else " OVER") + f" (budget {budget:.0f} s)"
        print(f"{name:16} {value:6.2f} s{rate}{verdict}")
        if budget is not None and value >= budget:
            over.append(name)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
