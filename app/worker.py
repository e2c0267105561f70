"""Worker health: a dead worker's jobs and its scheduler are taken over within a minute.

RQ alone finds a dead worker's job at its ten-minute housekeeping, and a worker restarted
while the dead scheduler's lock still lives (61 s) tries again only at that housekeeping:
no scheduler, so no retries and no periodic jobs, for ten minutes. Here:

- `Worker` heartbeats every JOB_HEARTBEAT_SECONDS while a job runs (RQ's job monitoring
  interval), and its work horse dies with it (Linux PR_SET_PDEATHSIG): a job never goes on
  running with no worker heartbeating for it, so a silent heartbeat means a dead job.
- `Scheduler` is RQ's (one per queue, by RQ's lock) doing two more things for the queues
  whose lock it holds: it enqueues the periodic jobs that are due (app/schedule.py), and
  every WORKER_CHECK_SECONDS it retries the started jobs whose execution heartbeat is older
  than JOB_ABANDONED_AFTER, as RQ's housekeeping would (retried while retries are left,
  else failed). Its process gets SIGTERM when its worker dies, so it releases its locks.
- Every WORKER_CHECK_SECONDS, idle or busy, a worker whose scheduler is not running tries
  to take the scheduler locks; a lock its holder has not refreshed for SCHEDULER_DEAD_AFTER
  (a live scheduler refreshes it every second) is released first. So exactly one scheduler
  runs whatever the order of crashes and restarts.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq import Worker as RQWorker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.scheduler import RQScheduler, acquire_or_refresh_lock
from rq.scripts import release_lock
from rq.utils import parse_composite_key

log = logging.getLogger("crm.worker")

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Health:
    """How fast death is noticed (seconds); app/config.py reads them from the environment."""

    worker_ttl: int = 30  # an idle worker heartbeats every worker_ttl - 15 s
    job_heartbeat: int = 5  # a busy worker heartbeats its job this often
    abandoned_after: int = 30  # a started job whose heartbeat is older is abandoned
    scheduler_dead_after: int = 20  # a scheduler lock not refreshed for this long is free
    check_every: int = 10  # the abandoned-job check and the scheduler supervision
    periodic_result_ttl: int = 500  # how long a periodic job's record is kept after it ran

    @classmethod
    def from_config(cls, config) -> Health:
        return cls(worker_ttl=config["WORKER_TTL"], job_heartbeat=config["JOB_HEARTBEAT_SECONDS"],
                   abandoned_after=config["JOB_ABANDONED_AFTER"],
                   scheduler_dead_after=config["SCHEDULER_DEAD_AFTER"],
                   check_every=config["WORKER_CHECK_SECONDS"],
                   periodic_result_ttl=config["PERIODIC_RESULT_TTL"])


def die_with_parent(sig: int, parent_pid: int) -> None:
    """Have the kernel send this (forked) process `sig` when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent_pid:  # the parent died before the call
        os.kill(os.getpid(), sig)


class Worker(RQWorker):
    """RQ's forking worker with frequent heartbeats and a supervised scheduler."""

    def __init__(self, queues, *args, health: Health | None = None, **kwargs):
        self.health = health = health or Health()  # (RQ builds workers it reads back without one)
        self._main_pid = os.getpid()
        self._next_check = 0.0
        kwargs.setdefault("worker_ttl", health.worker_ttl)
        kwargs.setdefault("job_monitoring_interval", health.job_heartbeat)
        super().__init__(queues, *args, **kwargs)

    # -- the work horse dies with its worker ---------------------------------------------

    def main_work_horse(self, job, queue):
        die_with_parent(signal.SIGKILL, self._main_pid)
        super().main_work_horse(job, queue)

    # -- the scheduler ---------------------------------------------------------------------

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=None, log_format=None):
        """RQ's start-up of the scheduler, with `Scheduler` for RQScheduler."""
        from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT

        self.scheduler = Scheduler(
            self.queues, connection=self.connection, health=self.health, worker_pid=self._main_pid,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format or DEFAULT_LOGGING_DATE_FORMAT,
            log_format=log_format or DEFAULT_LOGGING_FORMAT, serializer=self.serializer)
        if not burst:
            take_over_dead_locks(self.connection, self.scheduler._queue_names,
                                 self.health.scheduler_dead_after)
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()
        self._next_check = time.monotonic() + self.health.check_every

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if pipeline is None:
            self.supervise_scheduler()

    def maintain_heartbeats(self, job, execution):
        super().maintain_heartbeats(job, execution)
        self.supervise_scheduler()

    def supervise_scheduler(self, force: bool = False) -> bool:
        """Start a scheduler here when none runs here and the locks are free (or their
        holder is dead). Rate-limited to one try per check_every. True if one runs here."""
        if self.scheduler is None or os.getpid() != self._main_pid:
            return False
        process = self.scheduler._process
        if process is not None and process.is_alive():
            return True
        if not force and time.monotonic() < self._next_check:
            return False
        self._next_check = time.monotonic() + self.health.check_every
        try:
            take_over_dead_locks(self.connection, self.scheduler._queue_names,
                                 self.health.scheduler_dead_after)
            if self.scheduler.acquire_locks(auto_start=True):
                log.info("worker %s runs the scheduler for %s", self.name,
                         ", ".join(sorted(self.scheduler.acquired_locks)))
        except RedisError:
            log.warning("scheduler supervision: Redis unavailable; trying again", exc_info=True)
        process = self.scheduler._process
        return process is not None and process.is_alive()


class Scheduler(RQScheduler):
    """RQ's scheduler, plus the periodic jobs and the abandoned-job check of its queues."""

    def __init__(self, queues, connection: Redis, *, health: Health, worker_pid: int, **kwargs):
        super().__init__(queues, connection, **kwargs)
        self.health = health
        self._worker_pid = worker_pid
        self._looping = False
        self._next_check = 0.0

    def acquire_locks(self, auto_start=False):
        """All of the queues' locks or none, gated by the first queue's (by name): RQ takes each
        queue's lock on its own, so two workers starting in the same instant could each take
        some and run two schedulers. Whoever holds the gate takes the rest (a dead holder's are
        freed first: take_over_dead_locks); the others take nothing and try again later."""
        gate = min(self._queue_names)
        if acquire_or_refresh_lock(self.connection, self.get_locking_key(gate), self.name,
                                   self.interval + 60) == "taken":
            self._acquired_locks = set()
            self._scheduled_job_registries = []
            return set()
        return super().acquire_locks(auto_start)

    def work(self):
        die_with_parent(signal.SIGTERM, self._worker_pid)  # SIGTERM: stop and release the locks
        self._looping = True
        super().work()

    def enqueue_scheduled_jobs(self):
        super().enqueue_scheduled_jobs()
        if not self._looping:  # a burst worker's single pass
            return
        held = set(self.acquired_locks)
        if not held:
            return
        try:
            from app.schedule import enqueue_due

            enqueue_due(self.connection, held, result_ttl=self.health.periodic_result_ttl)
            if time.monotonic() >= self._next_check:
                self._next_check = time.monotonic() + self.health.check_every
                retry_abandoned(self.connection, held, self.health.abandoned_after)
                self._take_dead_schedulers_queues()
        except Exception:  # the loop must go on: RQ's retries are scheduled here too
            log.exception("scheduler: periodic jobs or the abandoned-job check failed")


    def _take_dead_schedulers_queues(self) -> None:
        """The queues this scheduler serves but another (dead) scheduler held: take them now,
        not at RQ's fallback period (two minutes after the lock's own 61 s)."""
        missing = self._queue_names - set(self.acquired_locks)
        if missing and (take_over_dead_locks(self.connection, missing, self.health.scheduler_dead_after)
                        or any(self.connection.get(self.get_locking_key(n)) is None for n in missing)):
            self.acquire_locks()


def take_over_dead_locks(connection: Redis, queue_names, dead_after: int) -> list[str]:
    """Release the scheduler locks whose holder stopped refreshing them `dead_after` seconds
    ago (a live scheduler refreshes its locks every second, to RQ's TTL of interval + 60)."""
    released = []
    full_ttl = 1 + 60  # RQScheduler's default interval + 60
    for name in sorted(queue_names):
        key = RQScheduler.get_locking_key(name)
        holder, ttl = connection.get(key), connection.ttl(key)
        if holder is None or ttl < 0 or full_ttl - ttl <= dead_after:
            continue
        if release_lock(connection, key, holder.decode() if isinstance(holder, bytes) else holder):
            released.append(name)
    if released:
        log.warning("scheduler locks of %s released: their holder stopped %s s ago or more",
                    ", ".join(released), dead_after)
    return released


def schedulers_running(connection: Redis) -> set[str]:
    """The names of the schedulers holding a scheduler lock now (one, when all is well)."""
    from app.queue import QUEUES

    holders = connection.mget([RQScheduler.get_locking_key(n) for n in QUEUES])
    return {h.decode() for h in holders if h}


# --------------------------------------------------------------------------- abandoned jobs


def _stale_executions(connection: Redis, queue_name: str, abandoned_after: int,
                      job_id: str | None = None) -> list[str]:
    """The started registry entries (job:execution) of `queue_name` whose heartbeat is older
    than `abandoned_after` seconds, or gone."""
    registry = StartedJobRegistry(queue_name, connection=connection)
    now = time.time()
    stale = []
    for raw in connection.zrange(registry.key, 0, -1):
        composite = raw.decode() if isinstance(raw, bytes) else raw
        entry_job, _ = parse_composite_key(composite)
        if job_id is not None and entry_job != job_id:
            continue
        beat = connection.hget(Execution.from_composite_key(composite, connection).key, "last_heartbeat")
        if beat is None or now - float(beat) > abandoned_after:
            stale.append(composite)
    return stale


def _abandon(connection: Redis, queue_name: str, composites: list[str]) -> None:
    """RQ's own handling of an expired started job (retry while retries are left, else
    failed with AbandonedJobError), now: the entries are made to expire, then cleaned up.
    A heartbeat arriving in between moves its entry back into the future (a live job).
    A retry runs now, not after the retry interval: the job did not fail, its worker died."""
    registry = StartedJobRegistry(queue_name, connection=connection)
    with connection.pipeline() as pipe:
        for composite in composites:
            pipe.zadd(registry.key, {composite: 1}, xx=True)
        pipe.execute()
    registry.cleanup(timestamp=2)
    scheduled = Queue(queue_name, connection=connection).scheduled_job_registry
    for composite in composites:
        job_id = parse_composite_key(composite)[0]
        try:
            scheduled.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):
            pass  # retried right away, failed (no retry left), or not abandoned after all


def retry_abandoned(connection: Redis, queue_names, abandoned_after: int) -> list[str]:
    """Retry the jobs of `queue_names` whose worker stopped heartbeating. Returns their ids."""
    retried = []
    for name in sorted(queue_names):
        composites = _stale_executions(connection, name, abandoned_after)
        if composites:
            _abandon(connection, name, composites)
            retried += [parse_composite_key(c)[0] for c in composites]
    if retried:
        log.warning("abandoned jobs (their worker stopped heartbeating) retried, or failed when no "
                    "retry was left: %s", ", ".join(retried))
    return retried


def job_state(connection: Redis, job_id: str, abandoned_after: int) -> str:
    """RQ's status of a job, with "started" split into "running" (heartbeating) and
    "abandoned"; "missing" when Redis has no such job."""
    try:
        job = Job.fetch(job_id, connection=connection)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        return "missing"
    if status != JobStatus.STARTED:
        return str(status.value if hasattr(status, "value") else status)
    return "abandoned" if _stale_executions(connection, job.origin, abandoned_after, job_id) else "running"


def run_again(connection: Redis, job_id: str, abandoned_after: int) -> bool:
    """Make a stuck job run now (a person asked): an abandoned one is handled as above, then a
    job waiting for its retry or failed is queued. False when there is no job to run again
    (missing or finished): the caller enqueues a new one."""
    state = job_state(connection, job_id, abandoned_after)
    if state in ("queued", "running", "deferred"):
        return True
    if state in ("missing", "finished"):
        return False
    job = Job.fetch(job_id, connection=connection)
    queue = Queue(job.origin, connection=connection)
    if state == "abandoned":
        _abandon(connection, job.origin, _stale_executions(connection, job.origin, abandoned_after, job_id))
        state = str(job.get_status(refresh=True).value)
    try:
        if state == "queued":  # retried right away (a retry with no interval)
            pass
        elif state == "scheduled":
            queue.scheduled_job_registry.requeue(job)
        elif state in ("failed", "stopped", "canceled"):
            queue.failed_job_registry.requeue(job)
        else:
            return False
    except InvalidJobOperation:
        return False
    log.info("job %s run again on request (was %s)", job_id, state)
    return True
