"""What the background queue holds, for Settings → Jobs: queued jobs per queue, running,
scheduled (delayed, or waiting for a retry) and failed jobs with their error, read from
RQ's queues and registries; a failed job can be retried (requeued) or deleted.

Its own Redis connection with short timeouts: an admin page must answer "the job queue
cannot be reached" within seconds when Redis is down or frozen, never hang or 500.
Nothing here cleans up registries as a side effect (read-only `cleanup=False`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from app.queue import QUEUES

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
LISTED = 50  # jobs listed per queue and registry; the counts are exact
TOKEN = re.compile(r"/(pay|invite)/[A-Za-z0-9_\-]{16,}")
RUNNER = "app.queue.run_job"  # RQ runs every job through it; the real function is its first argument


class QueueUnavailable(Exception):
    """Redis did not answer (down, frozen or refusing)."""


class JobNotFound(Exception):
    pass


@dataclass
class JobRow:
    id: str
    queue: str
    function: str
    arguments: str
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    scheduled_for: datetime | None = None
    retries_left: int | None = None
    error: str = ""  # the traceback

    @property
    def error_line(self) -> str:
        """The exception's own line (a traceback's last non-empty line)."""
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


@dataclass
class QueueCount:
    name: str
    queued: int
    jobs: list[JobRow] = field(default_factory=list)


@dataclass
class Overview:
    queues: list[QueueCount]
    running: list[JobRow]
    scheduled: list[JobRow]
    failed: list[JobRow]
    failed_total: int
    running_total: int
    scheduled_total: int

    @property
    def queued_total(self) -> int:
        return sum(q.queued for q in self.queues)


def connection() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=CONNECT_TIMEOUT,
                          socket_timeout=READ_TIMEOUT, retry_on_timeout=False)


def redact(text: str) -> str:
    """Public links carry secret tokens (only their hash is stored): never shown."""
    return TOKEN.sub(r"/\1/[token]", text)


def _summary(value, limit: int = 60) -> str:
    text = redact(repr(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(job: Job, queue: str, *, error: str = "") -> JobRow:
    try:
        function, args, kwargs = job.func_name or "?", list(job.args or ()), dict(job.kwargs or {})
    except Exception:  # data that cannot be read back (an old release's pickles)
        function, args, kwargs = job.description or "?", [], {}
    if function == RUNNER and args:
        function, args = str(args[0]), args[1:]
    arguments = ", ".join([_summary(a) for a in args] + [f"{k}={_summary(v)}" for k, v in kwargs.items()])
    return JobRow(id=job.id, queue=queue, function=function, arguments=arguments,
                  enqueued_at=job.enqueued_at, started_at=job.started_at, ended_at=job.ended_at,
                  retries_left=job.retries_left, error=redact(error))


def _jobs(conn: Redis, ids: list[str]) -> list[Job]:
    return [job for job in Job.fetch_many(ids, connection=conn) if job is not None]


def _failure(job: Job) -> str:
    try:
        result = job.latest_result()
    except Exception:
        return ""
    return (result.exc_string or "") if result is not None and result.exc_string else ""


def overview() -> Overview:
    conn = connection()
    try:
        queues, running, scheduled, failed = [], [], [], []
        totals = {"running": 0, "scheduled": 0, "failed": 0}
        for name in QUEUES:
            queue = Queue(name, connection=conn)
            queues.append(QueueCount(name, queue.count,
                                     [_row(job, name) for job in _jobs(conn, queue.get_job_ids(0, LISTED))]))
            started = StartedJobRegistry(queue=queue)
            totals["running"] += started.count
            running += [_row(job, name) for job in _jobs(conn, started.get_job_ids(0, LISTED - 1, cleanup=False))]
            delayed = ScheduledJobRegistry(queue=queue)
            totals["scheduled"] += delayed.count
            for job in _jobs(conn, delayed.get_job_ids(0, LISTED - 1, cleanup=False)):
                row = _row(job, name)  # (RQ keeps no error for an attempt it will retry)
                row.scheduled_for = delayed.get_scheduled_time(job)
                scheduled.append(row)
            broken = FailedJobRegistry(queue=queue)
            totals["failed"] += broken.count
            failed += [_row(job, name, error=_failure(job))
                       for job in _jobs(conn, broken.get_job_ids(0, LISTED - 1, desc=True, cleanup=False))]
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    finally:
        conn.close()
    failed.sort(key=lambda r: r.ended_at.timestamp() if r.ended_at else 0, reverse=True)
    scheduled.sort(key=lambda r: r.scheduled_for.timestamp() if r.scheduled_for else 0)
    return Overview(queues, running, scheduled, failed, failed_total=totals["failed"],
                    running_total=totals["running"], scheduled_total=totals["scheduled"])


def _failed_job(conn: Redis, job_id: str) -> tuple[Job, FailedJobRegistry]:
    if not job_id or len(job_id) > 200:
        raise JobNotFound(job_id)
    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError as exc:
        raise JobNotFound(job_id) from exc
    registry = FailedJobRegistry(job.origin, connection=conn)
    if job.origin not in QUEUES or job.id not in registry:
        raise JobNotFound(job_id)
    return job, registry


def retry_failed_job(job_id: str) -> JobRow:
    """Put a failed job back on its queue (RQ's requeue): a worker runs it again."""
    conn = connection()
    try:
        job, registry = _failed_job(conn, job_id)
        row = _row(job, job.origin)
        registry.requeue(job)
        return row
    except InvalidJobOperation as exc:  # gone from the registry meanwhile
        raise JobNotFound(job_id) from exc
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    finally:
        conn.close()


def delete_failed_job(job_id: str) -> JobRow:
    """Forget a failed job for good (it will not run again)."""
    conn = connection()
    try:
        job, _ = _failed_job(conn, job_id)
        row = _row(job, job.origin)
        job.delete()
        return row
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    finally:
        conn.close()
