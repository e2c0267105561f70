"""The periodic jobs: defined here in code, enqueued by whichever scheduler holds their queue.

A periodic job is not a booking that could be lost (RQ's scheduled job expiring with its
record, a worker killed between a run and the booking of the next): its definition lives
in code, and Redis keeps only when it is next due (`crm:schedule:next`, name -> epoch).
The scheduler holding the job's queue lock (app/worker.py, exactly one) looks every second
and enqueues the due ones; a missing due time is re-computed from the definition. Every
worker start re-registers them (`register_periodic_jobs`): the due times of the jobs
defined here, nothing for names no longer defined, no booking of an older release.

A run is skipped while the previous run of the same job is still queued or running, and a
slot is enqueued once even if two schedulers overlapped during a takeover (compare-and-set).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

log = logging.getLogger("crm.schedule")

NEXT_KEY = "crm:schedule:next"  # name -> epoch seconds of the next run
LAST_KEY = "crm:schedule:last"  # name -> the RQ job id of the last run
# Book the next run only if the due time is still the one read: a slot is taken once.
_ADVANCE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""
# Bookings of the releases that booked each run as an RQ scheduled job (removed at start).
LEGACY_JOB_IDS = ("crm-nightly-lead-scores", "crm-score-marked-leads")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str  # a dotted path, run through app.queue.run_job
    queue: str
    next_after: Callable[[datetime], datetime]  # the next run strictly after a moment
    first_run: Callable[[datetime], datetime]  # when a job with no due time runs first
    description: str
    timeout: int = 3600


def every(interval: timedelta) -> Callable[[datetime], datetime]:
    return lambda moment: moment + interval


def right_away(moment: datetime) -> datetime:
    return moment


def _nightly(moment: datetime) -> datetime:
    from app.crm.scoring.jobs import next_nightly_run

    return next_nightly_run(moment)


MARKED_SCORING = PeriodicJob(
    "score-marked-leads", "app.crm.scoring.jobs.score_marked_leads", "scoring",
    next_after=every(timedelta(seconds=15)), first_run=right_away,
    description="rescore leads with new activity", timeout=600)
NIGHTLY_SCORING = PeriodicJob(
    "nightly-lead-scores", "app.crm.scoring.jobs.score_all_leads", "scoring",
    next_after=_nightly, first_run=_nightly, description="nightly lead scores")

GMAIL_SYNC = PeriodicJob(
    "gmail-sync", "app.inbox.email.sync_jobs.sync_all_accounts", "mail",
    next_after=every(timedelta(seconds=60)), first_run=right_away,
    description="ask for a sync of every connected Gmail account", timeout=300)

GMAIL_WATCH = PeriodicJob(
    "gmail-watch", "app.inbox.email.watch.renew_due_watches", "mail",
    next_after=every(timedelta(hours=1)), first_run=right_away,
    description="renew Gmail push (users.watch) of mailboxes whose watch ends within a day", timeout=300)

SEQUENCE_TICK = PeriodicJob(
    "sequence-tick", "app.sequences.jobs.tick", "default",
    next_after=every(timedelta(seconds=5)), first_run=right_away,
    description="advance due sequence runs", timeout=120)

QUICKBOOKS_SYNC = PeriodicJob(
    "quickbooks-sync", "app.quickbooks.jobs.periodic_sync", "default",
    next_after=every(timedelta(minutes=1)), first_run=right_away,
    description="QuickBooks: products by CDC, due and stuck ledger pushes", timeout=600)

EXPORT_CLEANUP = PeriodicJob(
    "export-cleanup", "app.reports.export_jobs.remove_expired_exports", "default",
    next_after=every(timedelta(hours=1)), first_run=right_away,
    description="remove expired list exports and their files", timeout=300)

PERIODIC_JOBS: tuple[PeriodicJob, ...] = (MARKED_SCORING, NIGHTLY_SCORING, GMAIL_SYNC, GMAIL_WATCH, SEQUENCE_TICK,
                                           QUICKBOOKS_SYNC, EXPORT_CLEANUP)


def register_periodic_jobs(connection: Redis, queues=None, now: datetime | None = None) -> list[str]:
    """At every worker start: a due time for every periodic job defined (kept when set), none
    for a name no longer defined, and the RQ bookings older releases made removed. Idempotent."""
    now = now or datetime.now(UTC)
    jobs = [j for j in PERIODIC_JOBS if queues is None or j.queue in queues]
    with connection.pipeline() as pipe:
        for job in jobs:
            pipe.hsetnx(NEXT_KEY, job.name, job.first_run(now).timestamp())
        pipe.execute()
    defined = {j.name for j in PERIODIC_JOBS}
    gone = [n.decode() for n in connection.hkeys(NEXT_KEY) if n.decode() not in defined]
    if gone:
        connection.hdel(NEXT_KEY, *gone)
    for job_id in LEGACY_JOB_IDS:
        try:
            legacy = Job.fetch(job_id, connection=connection)
        except NoSuchJobError:
            continue
        Queue(legacy.origin, connection=connection).scheduled_job_registry.remove(legacy)
        legacy.delete()
    return [j.name for j in jobs]


def next_runs(connection: Redis) -> dict[str, datetime]:
    return {k.decode(): datetime.fromtimestamp(float(v), UTC)
            for k, v in connection.hgetall(NEXT_KEY).items()}


def enqueue_due(connection: Redis, queues_held, *, result_ttl: int = 500,
                now: datetime | None = None) -> list[str]:
    """Enqueue the periodic jobs of `queues_held` that are due; book each one's next run.
    What the scheduler holding those queues calls every second. Returns the job ids."""
    now = now or datetime.now(UTC)
    due_times = connection.hgetall(NEXT_KEY)
    enqueued = []
    for job in PERIODIC_JOBS:
        if job.queue not in queues_held:
            continue
        raw = due_times.get(job.name.encode())
        if raw is None:  # never registered, or lost: re-computed, never dropped
            connection.hsetnx(NEXT_KEY, job.name, job.first_run(now).timestamp())
            raw = connection.hget(NEXT_KEY, job.name)
        slot = float(raw)
        if slot > now.timestamp():
            continue
        if not connection.eval(_ADVANCE, 1, NEXT_KEY, job.name, raw, job.next_after(now).timestamp()):
            continue  # another scheduler took this slot (two overlapped during a takeover)
        if _still_busy(connection, connection.hget(LAST_KEY, job.name)):
            log.info("periodic job %s skipped: its previous run is not done", job.name)
            continue
        job_id = f"periodic-{job.name}-{int(slot)}"
        Queue(job.queue, connection=connection).enqueue(
            "app.queue.run_job", args=(job.func,), job_id=job_id, description=job.description,
            job_timeout=job.timeout, result_ttl=result_ttl, failure_ttl=7 * 24 * 3600)
        connection.hset(LAST_KEY, job.name, job_id)
        enqueued.append(job_id)
    return enqueued


def _still_busy(connection: Redis, job_id) -> bool:
    if not job_id:
        return False
    try:
        status = Job.fetch(job_id.decode() if isinstance(job_id, bytes) else job_id,
                           connection=connection).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return str(getattr(status, "value", status)) in ("queued", "started", "deferred", "scheduled")
