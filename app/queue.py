"""Background jobs on RQ: named queues, enqueue after the request's commit.

Jobs take ids and primitives, never ORM objects. `enqueue()` only remembers the
job on the current SQLAlchemy session; it reaches Redis when that session
commits (a rolled-back transaction enqueues nothing, and a job never runs
before the rows it needs are visible).
"""
from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("crm.jobs")

QUEUES = ("default", "mail", "sms", "billing", "import", "scoring")
DEFAULT_TIMEOUT = 600
PENDING_KEY = "crm_pending_jobs"
PENDING_MARKS = "crm_pending_marks"


@dataclass
class PendingJob:
    queue: str
    func: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    job_id: str | None = None
    retries: int = 3


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


def enqueue(queue: str, func: str, *args: Any, job_id: str | None = None, retries: int = 3,
            session: Session | None = None, **kwargs: Any) -> PendingJob:
    """Schedule `func` (a dotted path) to run after the session commits.

    A `job_id` makes the job unique: enqueueing the same id twice runs it once.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    for value in (*args, *kwargs.values()):
        if hasattr(value, "__table__"):
            raise TypeError("jobs take ids, not ORM objects")
    from app.extensions import db

    session = session or db.session()
    pending = session.info.setdefault(PENDING_KEY, [])
    if job_id and any(p.job_id == job_id for p in pending):
        return next(p for p in pending if p.job_id == job_id)  # already coming with this commit
    job = PendingJob(queue, func, tuple(str(a) if _is_uuid(a) else a for a in args), kwargs, job_id, retries)
    pending.append(job)
    return job


def _is_uuid(value) -> bool:
    import uuid

    return isinstance(value, uuid.UUID)


def enqueue_now(job: PendingJob):
    queue = get_queue(job.queue)
    if job.job_id:
        existing = queue.fetch_job(job.job_id)
        if existing is not None and existing.get_status(refresh=True) not in ("failed", "canceled"):
            return existing
    retry = Retry(max=job.retries, interval=[10, 60, 300][: max(job.retries, 1)]) if job.retries else None
    return queue.enqueue(
        "app.queue.run_job", args=(job.func, *job.args), kwargs=job.kwargs or None,
        job_id=job.job_id, retry=retry, description=job.func,
    )


def mark_after_commit(set_key: str, member, *, session: Session | None = None) -> None:
    """Add `member` to the Redis set `set_key` once the session commits.

    Cheaper than a job per change (one SADD per commit): a periodic job drains
    the set in batches (e.g. the leads whose score must be recomputed)."""
    from app.extensions import db

    session = session or db.session()
    session.info.setdefault(PENDING_MARKS, {}).setdefault(set_key, set()).add(str(member))


@event.listens_for(Session, "after_commit")
def _flush_pending_jobs(session: Session) -> None:
    marks = session.info.pop(PENDING_MARKS, None)
    if marks:
        try:
            with redis_connection().pipeline(transaction=False) as pipe:
                for key, members in marks.items():
                    pipe.sadd(key, *members)
                pipe.execute()
        except Exception:  # committed data stays right; the nightly job catches up
            log.exception("marking after commit failed keys=%s", list(marks))
    jobs = session.info.pop(PENDING_KEY, None)
    if not jobs:
        return
    for job in jobs:
        try:
            enqueue_now(job)
        except Exception:  # the data is committed; a lost enqueue must be visible
            log.exception("enqueue failed func=%s args=%s", job.func, job.args)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending_jobs(session: Session, previous_transaction) -> None:
    # Only the outermost transaction: a rolled-back savepoint inside a unit of
    # work does not cancel the jobs that unit of work will still commit.
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
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


def run_job(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """What RQ runs: the job in an app context, one log line, the session closed."""
    from rq import get_current_job

    module_name, _, attr = func_path.rpartition(".")
    func = getattr(importlib.import_module(module_name), attr)
    app = _app_for_job()
    rq_job = get_current_job()
    job_id = rq_job.id if rq_job else "-"
    started = time.perf_counter()
    with app.app_context():
        from app.extensions import db

        _fresh_pool_after_fork(db)
        try:
            result = func(*args, **kwargs)
            log.info("job_id=%s func=%s status=ok ms=%.1f", job_id, func_path,
                     (time.perf_counter() - started) * 1000)
            return result
        except Exception:
            db.session.rollback()
            log.exception("job_id=%s func=%s status=failed ms=%.1f", job_id, func_path,
                          (time.perf_counter() - started) * 1000)
            raise
        finally:
            db.session.remove()
