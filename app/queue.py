"""Background jobs on RQ through the transactional job outbox (app/job_outbox).

Jobs take ids and primitives (JSON), never ORM objects. `enqueue()` writes the job as a
`job_outbox` row in the current transaction: a rolled-back transaction leaves no job, a
committed one always gets its job, Redis or not. Right after the commit the rows are pushed
to RQ (the fast path); whatever that could not push (Redis away, a crash in between) the
relay pushes (app.job_outbox.relay). The RQ job's id is the row's id, so a row pushed twice
is queued once; `run_job` marks the row DONE (or FAILED when RQ gives up).
"""
from __future__ import annotations

import importlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue
from sqlalchemy import Integer, String, Uuid, bindparam, event, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

log = logging.getLogger("crm.jobs")

QUEUES = ("default", "mail", "sms", "billing", "import", "scoring")
DEFAULT_TIMEOUT = 600
RETRY_INTERVALS = [10, 60, 300]
PUSH_AFTER_COMMIT = "crm_jobs_to_push"
PENDING_MARKS = "crm_pending_marks"


@dataclass(frozen=True)
class OutboxRow:
    """What the fast path needs to push a committed row without reading it back."""

    id: uuid.UUID
    queue: str
    func: str
    args: dict
    retries: int


def redis_connection() -> Redis:
    app = current_app._get_current_object()
    conn = app.extensions.get("crm_redis")
    if conn is None:
        from app.extensions import redis_options

        # Timeouts of a second or two: a frozen Redis costs a request seconds, not minutes.
        # (RQ's Worker raises the read timeout of its own connection above its blocking pop.)
        conn = Redis.from_url(app.config["REDIS_URL"], **redis_options(app.config))
        app.extensions["crm_redis"] = conn
    return conn


def get_queue(name: str) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_connection(), default_timeout=DEFAULT_TIMEOUT)


def _jsonable(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "__table__"):
        raise TypeError("jobs take ids, not ORM objects")
    return value


# Written once as SQL: SQLAlchemy does not cache a compiled PostgreSQL INSERT .. ON CONFLICT
# (building and compiling it cost ~1-2 ms per job). Without a job key nothing conflicts (the
# unique index is on job_key IS NOT NULL); with one, asking again for a key whose job is pending
# changes nothing, a FAILED one is asked for again (with these arguments), a DONE one is not
# run again (no row returned).
_INSERT_JOB = text("""
INSERT INTO job_outbox (id, queue, func, args, job_key, retries, status)
VALUES (CAST(:id AS UUID), :queue, :func, :args, :job_key, :retries, 'PENDING')
ON CONFLICT (job_key) WHERE job_key IS NOT NULL DO UPDATE SET
  status = CASE WHEN job_outbox.status = 'FAILED' THEN 'PENDING' ELSE job_outbox.status END,
  args = CASE WHEN job_outbox.status = 'FAILED' THEN excluded.args ELSE job_outbox.args END,
  retries = CASE WHEN job_outbox.status = 'FAILED' THEN excluded.retries ELSE job_outbox.retries END,
  requested_at = CASE WHEN job_outbox.status = 'FAILED' THEN excluded.requested_at ELSE job_outbox.requested_at END
WHERE job_outbox.status <> 'DONE'
RETURNING job_outbox.id, job_outbox.queue, job_outbox.func, job_outbox.args, job_outbox.retries""").bindparams(
    bindparam("id", type_=Uuid()), bindparam("queue", type_=String()), bindparam("func", type_=String()),
    bindparam("args", type_=JSONB()), bindparam("job_key", type_=String()), bindparam("retries", type_=Integer()),
).columns(id=Uuid(), queue=String(), func=String(), args=JSONB(), retries=Integer())


def enqueue(queue: str, func: str, *args: Any, job_id: str | None = None, retries: int = 3,
            session: Session | None = None, **kwargs: Any) -> uuid.UUID | None:
    """Write the job `func` (a dotted path) as a job_outbox row in the session's transaction;
    it is pushed to RQ once the transaction commits. Returns the row's id.

    A `job_id` (the row's job key) makes the job unique: asking again for a key whose job is
    pending changes nothing; a FAILED one is asked for again (with these arguments); a DONE
    one is not run again (returns None)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    payload = {"args": [_jsonable(a) for a in args], "kwargs": {k: _jsonable(v) for k, v in kwargs.items()}}
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job arguments must be JSON (ids and primitives): {exc}") from exc
    from app.extensions import db

    session = session or db.session()
    row = session.execute(_INSERT_JOB, {"id": uuid.uuid4(), "queue": queue, "func": func, "args": payload,
                                        "job_key": job_id, "retries": retries}).one_or_none()
    if row is None:
        return None  # that job key is done
    rows = session.info.setdefault(PUSH_AFTER_COMMIT, {})
    rows[row.id] = OutboxRow(row.id, row.queue, row.func, row.args, row.retries)
    return row.id


def mark_after_commit(set_key: str, member, *, session: Session | None = None) -> None:
    """Add `member` to the Redis set `set_key` once the session commits.

    Cheaper than a job per change (one SADD per commit): a periodic job drains the set in
    batches (the leads whose score must be recomputed). A mark is a hint, not the truth: a
    mark lost while Redis was away is found again from the database by a sweep (lead scores:
    app.crm.scoring.jobs.remark_unscored_leads, run by the relay)."""
    from app.extensions import db

    session = session or db.session()
    session.info.setdefault(PENDING_MARKS, {}).setdefault(set_key, set()).add(str(member))


@event.listens_for(Session, "after_commit")
def _push_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released (SQLAlchemy says after_commit): not committed yet
        return
    marks = session.info.pop(PENDING_MARKS, None)
    if marks:
        try:
            with redis_connection().pipeline(transaction=False) as pipe:
                for key, members in marks.items():
                    pipe.sadd(key, *members)
                pipe.execute()
        except Exception as exc:  # a hint only: the sweep finds the work from the database
            log.warning("marking after commit failed keys=%s error=%s", list(marks), exc)
    rows = session.info.pop(PUSH_AFTER_COMMIT, None)
    if rows:
        from app.job_outbox.relay import push_rows

        try:
            push_rows(list(rows.values()))
        except Exception as exc:  # committed as outbox rows: the relay pushes them
            log.warning("push after commit failed jobs=%d (the relay will push them) error=%s",
                        len(rows), exc)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_jobs(session: Session, previous_transaction) -> None:
    # Only the outermost transaction: a rolled-back savepoint's rows are gone with it and
    # run_job skips a job whose row does not exist.
    if previous_transaction.parent is None:
        session.info.pop(PUSH_AFTER_COMMIT, None)
        session.info.pop(PENDING_MARKS, None)


_worker_app = None


def _app_for_job():
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


_pool_pid: int | None = None


def _fresh_pool_after_fork(db) -> None:
    """RQ forks a work horse per job: never reuse the parent's DB connections."""
    import os

    global _pool_pid
    if _pool_pid != os.getpid():
        db.engine.dispose(close=False)
        _pool_pid = os.getpid()


def _outbox_id(rq_job) -> uuid.UUID | None:
    """The job_outbox row of this RQ job (None for jobs not pushed from the outbox: periodic
    jobs, jobs enqueued straight into RQ)."""
    from app.job_outbox.relay import OUTBOX_ROW

    row = rq_job.meta.get(OUTBOX_ROW) if rq_job is not None else None
    return uuid.UUID(row) if row else None


def _finish_row(db, row_id: uuid.UUID, *, error: str | None, final: bool) -> None:
    """Right after the job: DONE (its arguments dropped: they may hold a customer's link), or
    the error (FAILED when RQ will not retry). Idempotent; never hides the job's own outcome."""
    from app.job_outbox.models import JobStatus, OutboxJob

    if error is None:
        values = {"status": JobStatus.DONE.value, "done_at": _now(), "last_error": None, "args": None}
    else:
        values = {"last_error": error[:2000]}
        if final:
            values["status"] = JobStatus.FAILED.value
    try:
        db.session.execute(update(OutboxJob).where(OutboxJob.id == row_id)
                           .values(attempts=OutboxJob.attempts + 1, **values))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("job_id=%s marking its outbox row failed (the relay reconciles it)", row_id)


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def last_attempt() -> bool:
    """Is this run of the current job its last? RQ counts the retries left (jobs are pushed
    with a Retry); a run outside RQ, or with no retry left, is the last. A send job marks its
    message FAILED then, instead of raising into RQ's failed registry."""
    from rq import get_current_job

    job = get_current_job()
    return job is None or not job.retries_left


def run_job(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """What RQ runs: the job in an app context, one log line, its outbox row marked, the
    session closed. A job whose row is DONE or gone (rolled back) is skipped."""
    from rq import get_current_job

    app = _app_for_job()
    rq_job = get_current_job()
    job_id = rq_job.id if rq_job else "-"
    row_id = _outbox_id(rq_job)
    started = time.perf_counter()
    with app.app_context():
        from app.extensions import db
        from app.job_outbox.models import JobStatus, OutboxJob

        _fresh_pool_after_fork(db)
        try:
            if row_id is not None:
                status = db.session.scalar(select(OutboxJob.status).where(OutboxJob.id == row_id))
                if status in (None, JobStatus.DONE.value):
                    db.session.rollback()
                    log.info("job_id=%s func=%s status=skipped (%s)", job_id, func_path,
                             "already done" if status else "no outbox row")
                    return None
            module_name, _, attr = func_path.rpartition(".")
            func = getattr(importlib.import_module(module_name), attr)
            result = func(*args, **kwargs)
        except Exception as exc:
            db.session.rollback()
            log.exception("job_id=%s func=%s status=failed ms=%.1f", job_id, func_path,
                          (time.perf_counter() - started) * 1000)
            if row_id is not None:
                final = not (rq_job.retries_left or 0)
                _finish_row(db, row_id, error=f"{type(exc).__name__}: {exc}", final=final)
            raise
        else:
            if row_id is not None:
                _finish_row(db, row_id, error=None, final=True)
            log.info("job_id=%s func=%s status=ok ms=%.1f", job_id, func_path,
                     (time.perf_counter() - started) * 1000)
            return result
        finally:
            db.session.remove()
