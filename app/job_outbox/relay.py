"""Moving committed job_outbox rows to RQ, and keeping them honest.

- `push_rows(rows)`: queue each row as an RQ job whose id is the row's id, atomically only
  if no such job is in Redis (RQ's `unique` enqueue); a job RQ failed or cancelled is
  replaced. Pushing the same row twice, from anywhere, queues it once.
- `relay_outbox()`: PENDING rows older than a few seconds (the after-commit fast path had
  its chance) are pushed and marked ENQUEUED; ENQUEUED rows not seen for a minute are
  looked up in Redis: lost → pushed again, failed → FAILED with RQ's error, finished →
  DONE. DONE rows are deleted after a week. Rows are claimed FOR UPDATE SKIP LOCKED, so
  any number of relays can run at once.
- `start_relay()` (at every worker start): a pass now, then a thread of the worker's main
  process runs `relay_job()` every RELAY_EVERY: the relay, and once a minute the sweeps that
  find lost work from the database (stored webhook events not processed, leads whose score
  is older than their activity).
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from flask import current_app
from rq import Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job
from sqlalchemy import delete, select

from app.extensions import db
from app.job_outbox.models import JobStatus, OutboxJob

log = logging.getLogger("crm.jobs.relay")

RELAY_EVERY = timedelta(seconds=5)
GRACE = timedelta(seconds=5)  # a PENDING row younger than this is the fast path's
RECHECK_AFTER = timedelta(seconds=60)  # an ENQUEUED row is looked up in Redis this often
KEEP_DONE = timedelta(days=7)
BATCH = 500
SWEEP_EVERY = 60  # seconds
SWEEP_LOCK = "crm:job-outbox:sweep"
# Find work lost with a Redis mark or before this outbox existed; each returns a count.
SWEEPS = (
    "app.webhooks.jobs.sweep_unprocessed_events",
    "app.crm.scoring.jobs.remark_unscored_leads",
    "app.inbox.sending.sweep_stuck_sends",
)
ALIVE = ("queued", "started", "scheduled", "deferred")
GONE = ("failed", "canceled", "stopped")


# The RQ job's meta names its outbox row: an RQ job id that merely looks like a UUID (RQ makes
# them so) is not one of ours, and must not be skipped as "no outbox row".
OUTBOX_ROW = "outbox_row"


def push_rows(rows) -> int:
    """Queue these committed rows (objects with id, queue, func, args, retries) unless
    Redis already holds their job. Returns how many were queued now."""
    from app.queue import RETRY_INTERVALS, get_queue

    pushed = 0
    rows = list(rows)
    if not rows:
        return 0
    statuses = _statuses(get_queue(rows[0].queue).connection, rows)  # one round trip for a batch's rows
    for row, status in zip(rows, statuses, strict=True):
        queue = get_queue(row.queue)
        job_id = str(row.id)
        if status is not None and status in GONE:
            Job.fetch(job_id, connection=queue.connection).delete()  # a new run replaces it
        retry = Retry(max=row.retries, interval=RETRY_INTERVALS[: max(row.retries, 1)]) if row.retries else None
        args = row.args or {}
        try:
            queue.enqueue("app.queue.run_job", args=(row.func, *args.get("args", [])),
                          kwargs=args.get("kwargs") or None, job_id=job_id, retry=retry,
                          description=row.func, unique=True, meta={OUTBOX_ROW: job_id})
            pushed += 1
        except DuplicateJobError:
            pass  # already in Redis: pushed by someone else
    return pushed


def _claim(where, order_by):
    return db.session.scalars(
        select(OutboxJob).where(*where).order_by(order_by).limit(BATCH).with_for_update(skip_locked=True)
    ).all()


def _statuses(connection, rows) -> list[str | None]:
    with connection.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.hget(Job.key_for(str(row.id)), "status")
        return [s.decode() if s is not None else None for s in pipe.execute()]


def _job_error(connection, row) -> str:
    try:
        job = Job.fetch(str(row.id), connection=connection)
        info = (job.latest_result().exc_string if job.latest_result() else None) or ""
    except Exception:  # noqa: BLE001 - the reason is a courtesy
        info = ""
    last = info.strip().splitlines()[-1] if info.strip() else "abandoned or failed in RQ"
    return f"RQ gave up: {last}"[:2000]


def relay_outbox() -> dict[str, int]:
    """One pass of the relay (see the module's doc). Commits per batch; raises when Redis
    or the database is away (the next pass tries again)."""
    from app.queue import redis_connection

    connection = redis_connection()
    counts = {"pushed": 0, "seen": 0, "lost": 0, "failed": 0, "done": 0, "deleted": 0}
    now = datetime.now(UTC)
    while True:  # committed rows the fast path did not (or could not) push
        rows = _claim([OutboxJob.status == JobStatus.PENDING.value, OutboxJob.requested_at < now - GRACE],
                      OutboxJob.requested_at)
        if not rows:
            break
        statuses = _statuses(connection, rows)
        to_push = [r for r, s in zip(rows, statuses, strict=True) if s is None or s in GONE]
        counts["pushed"] += push_rows(to_push)
        stamp = datetime.now(UTC)
        for row, status in zip(rows, statuses, strict=True):
            if status == "finished":
                row.status, row.done_at, row.args = JobStatus.DONE.value, stamp, None
                counts["done"] += 1
            else:
                row.status, row.enqueued_at, row.checked_at = JobStatus.ENQUEUED.value, stamp, stamp
                counts["seen"] += status in ALIVE
        db.session.commit()
        if len(rows) < BATCH:
            break
    while True:  # queued jobs lost from Redis, or given up on by RQ
        rows = _claim([OutboxJob.status == JobStatus.ENQUEUED.value, OutboxJob.checked_at < now - RECHECK_AFTER],
                      OutboxJob.checked_at)
        if not rows:
            break
        statuses = _statuses(connection, rows)
        lost = [r for r, s in zip(rows, statuses, strict=True) if s is None]
        counts["pushed"] += push_rows(lost)
        counts["lost"] += len(lost)
        stamp = datetime.now(UTC)
        for row, status in zip(rows, statuses, strict=True):
            row.checked_at = stamp
            if status == "finished":
                row.status, row.done_at, row.args = JobStatus.DONE.value, stamp, None
                counts["done"] += 1
            elif status in GONE:
                row.status, row.last_error = JobStatus.FAILED.value, _job_error(connection, row)
                counts["failed"] += 1
        db.session.commit()
        if len(rows) < BATCH:
            break
    old = select(OutboxJob.id).where(OutboxJob.status == JobStatus.DONE.value,
                                     OutboxJob.done_at < now - KEEP_DONE).limit(5 * BATCH)
    counts["deleted"] = db.session.execute(delete(OutboxJob).where(OutboxJob.id.in_(old))).rowcount
    db.session.commit()
    return counts


def run_sweeps() -> dict[str, int]:
    """Each sweep in SWEEPS, committed on its own; one failing does not stop the others."""
    found = {}
    for path in SWEEPS:
        module, _, name = path.rpartition(".")
        try:
            found[name] = getattr(importlib.import_module(module), name)()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("sweep %s failed", path)
    return found


def relay_job() -> dict[str, int]:
    """One relay pass, and the sweeps when none ran in the last minute (any process)."""
    from app.queue import redis_connection

    counts = relay_outbox()
    if redis_connection().set(SWEEP_LOCK, "1", nx=True, ex=SWEEP_EVERY):
        counts.update(run_sweeps())
    if any(counts.values()):
        log.info("job outbox relay %s", " ".join(f"{k}={v}" for k, v in counts.items() if v))
    return counts


def start_relay() -> threading.Thread:
    """At every worker start: relay what is waiting now, then keep relaying every RELAY_EVERY
    in a thread of the worker's main process for as long as it lives. The relay lives in the
    worker, not in Redis: a Redis that comes back empty (or a dead RQ scheduler) cannot drop it,
    and it keeps trying while Redis or the database is away. Never stops the worker starting."""
    app = current_app._get_current_object()
    started = time.perf_counter()
    try:
        counts = relay_outbox()
        log.info("job outbox relay at worker start pushed=%d ms=%.0f", counts["pushed"],
                 (time.perf_counter() - started) * 1000)
    except Exception as exc:
        log.warning("job outbox relay at worker start failed (it keeps trying): %s", exc)
    finally:
        db.session.remove()
    thread = threading.Thread(target=_relay_forever, args=(app,), name="job-outbox-relay", daemon=True)
    thread.start()
    return thread


def _relay_forever(app, every: float = RELAY_EVERY.total_seconds()) -> None:
    failing = False
    while True:
        time.sleep(every)
        with app.app_context():
            try:
                relay_job()
                if failing:
                    log.info("job outbox relay works again")
                failing = False
            except Exception as exc:  # Redis or the database away: the next pass tries again
                if not failing:
                    log.warning("job outbox relay failed (trying every %.0fs): %s", every, exc)
                failing = True
            finally:
                db.session.remove()
