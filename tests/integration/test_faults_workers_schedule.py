"""Issue 16, the parts of worker health that need no process to kill: the periodic jobs'
schedule (app/schedule.py), a dead scheduler's locks, and telling abandoned jobs from live
ones by their heartbeats (app/worker.py). Real Redis, real RQ objects."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from rq import Retry, SimpleWorker
from rq.executions import Execution
from rq.job import JobStatus
from rq.scheduler import RQScheduler

from app import schedule
from app.queue import QUEUES, get_queue, redis_connection
from app.worker import job_state, retry_abandoned, run_again, take_over_dead_locks

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_register_books_each_periodic_job_once_and_drops_what_older_releases_booked(app, db_session):
    redis = redis_connection()
    queue = get_queue("scoring")
    queue.enqueue_at(T0 + timedelta(hours=1), "app.queue.run_job", "app.crm.jobs.score_all_leads",
                     job_id="crm-nightly-lead-scores")  # how a release before this one booked it
    redis.hset(schedule.NEXT_KEY, "a-job-no-longer-defined", T0.timestamp())
    assert schedule.register_periodic_jobs(redis, QUEUES, now=T0) == ["score-marked-leads", "nightly-lead-scores",
                                                                      "gmail-sync", "gmail-watch", "sequence-tick",
                                                                      "quickbooks-sync", "export-cleanup"]
    booked = schedule.next_runs(redis)
    assert booked == {"score-marked-leads": T0, "nightly-lead-scores": datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
                      "gmail-sync": T0, "gmail-watch": T0, "sequence-tick": T0, "quickbooks-sync": T0,
                      "export-cleanup": T0}
    assert queue.scheduled_job_registry.get_job_ids() == [] and queue.fetch_job("crm-nightly-lead-scores") is None
    schedule.register_periodic_jobs(redis, QUEUES, now=T0 + timedelta(minutes=5))  # the next worker start
    assert schedule.next_runs(redis) == booked  # kept, not moved


def test_a_due_job_is_enqueued_once_per_slot_and_never_piles_up(app, db_session):
    redis = redis_connection()
    queue = get_queue("scoring")
    schedule.register_periodic_jobs(redis, QUEUES, now=T0)
    assert schedule.enqueue_due(redis, {"import"}, now=T0) == []  # not this scheduler's queue
    first = schedule.enqueue_due(redis, {"scoring"}, now=T0)
    assert first == [f"periodic-score-marked-leads-{int(T0.timestamp())}"] and queue.count == 1
    assert schedule.enqueue_due(redis, {"scoring"}, now=T0 + timedelta(seconds=5)) == []  # not due yet
    # due again while the previous run still waits: that slot is skipped, the next one booked
    assert schedule.enqueue_due(redis, {"scoring"}, now=T0 + timedelta(seconds=16)) == [] and queue.count == 1
    assert schedule.next_runs(redis)["score-marked-leads"] == T0 + timedelta(seconds=31)
    SimpleWorker([queue], connection=redis).work(burst=True)
    assert queue.fetch_job(first[0]).get_status() == JobStatus.FINISHED
    assert len(schedule.enqueue_due(redis, {"scoring"}, now=T0 + timedelta(seconds=31))) == 1


def test_a_lost_schedule_is_recomputed_not_dropped(app, db_session):
    redis = redis_connection()
    redis.delete(schedule.NEXT_KEY)  # Redis lost it (or nobody ever registered)
    assert len(schedule.enqueue_due(redis, {"scoring"}, now=T0)) == 1  # the 15-second job: right away
    assert schedule.next_runs(redis)["nightly-lead-scores"] == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    # a night missed while no scheduler ran is caught up once, then the next night is booked
    later = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    enqueued = schedule.enqueue_due(redis, {"scoring"}, now=later)
    assert any(job_id.startswith("periodic-nightly-lead-scores-") for job_id in enqueued)
    assert schedule.next_runs(redis)["nightly-lead-scores"] == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_two_schedulers_overlapping_take_a_slot_once(app, db_session, monkeypatch):
    redis = redis_connection()
    schedule.register_periodic_jobs(redis, QUEUES, now=T0)
    stale = redis.hgetall(schedule.NEXT_KEY)  # what the second one read before the first wrote
    assert len(schedule.enqueue_due(redis, {"scoring"}, now=T0)) == 1
    monkeypatch.setattr(type(redis), "hgetall", lambda self, key: stale)
    assert schedule.enqueue_due(redis, {"scoring"}, now=T0) == []
    assert get_queue("scoring").count == 1


def test_only_a_lock_its_holder_stopped_refreshing_is_taken_over(app, db_session):
    redis = redis_connection()
    alive, dead = RQScheduler.get_locking_key("mail"), RQScheduler.get_locking_key("scoring")
    redis.set(alive, "live-scheduler", ex=61 - 3)  # refreshed 3 s ago
    redis.set(dead, "dead-scheduler", ex=61 - 25)  # silent for 25 s
    assert take_over_dead_locks(redis, ["mail", "scoring"], dead_after=20) == ["scoring"]
    assert redis.get(alive) == b"live-scheduler" and redis.get(dead) is None


def started(queue, *, heartbeat_age: float, retries: int = 1):
    """A job as a worker leaves it in the started registry, heartbeating `heartbeat_age` s ago."""
    job = queue.enqueue("app.queue.run_job", "nothing.at.all", retry=Retry(max=retries, interval=60) if retries else None)
    redis = queue.connection
    with redis.pipeline() as pipe:
        execution = Execution.create(job, ttl=65, pipeline=pipe, worker_name="gone")
        job.set_status(JobStatus.STARTED, pipeline=pipe)
        pipe.lrem(queue.key, 0, job.id)
        pipe.execute()
    redis.hset(execution.key, "last_heartbeat", time.time() - heartbeat_age)
    return job


def test_a_job_whose_heartbeat_stopped_is_retried_and_a_live_one_left_alone(app, db_session):
    redis = redis_connection()
    queue = get_queue("import")
    dead = started(queue, heartbeat_age=45)
    alive = started(queue, heartbeat_age=2)
    spent = started(queue, heartbeat_age=45, retries=0)
    assert job_state(redis, dead.id, 30) == "abandoned" and job_state(redis, alive.id, 30) == "running"
    assert sorted(retry_abandoned(redis, ["import"], abandoned_after=30)) == sorted([dead.id, spent.id])
    assert dead.get_status(refresh=True) == JobStatus.QUEUED and dead.id in queue.job_ids  # retried now
    assert spent.get_status(refresh=True) == JobStatus.FAILED  # no retry left: failed, visible
    assert alive.get_status(refresh=True) == JobStatus.STARTED
    assert queue.started_job_registry.get_job_ids(cleanup=False) == [alive.id]


def test_run_again_queues_an_abandoned_job_now(app, db_session):
    redis = redis_connection()
    queue = get_queue("import")
    job = started(queue, heartbeat_age=45, retries=3)
    assert run_again(redis, job.id, abandoned_after=30)
    assert job.get_status(refresh=True) == JobStatus.QUEUED and job.id in queue.job_ids
    assert run_again(redis, "no-such-job", abandoned_after=30) is False


def test_a_running_scheduler_takes_the_queues_a_dead_one_held(app, db_session):
    """Workers on different queues: when the one scheduling `scoring` dies, the scheduler that
    serves `mail` and `scoring` but held only `mail` takes `scoring` at its next check."""
    from app.worker import Health, Scheduler

    redis = redis_connection()
    redis.set(RQScheduler.get_locking_key("scoring"), "dead-scheduler", ex=61 - 25)  # silent 25 s
    scheduler = Scheduler(["mail", "scoring"], redis, health=Health(), worker_pid=0)
    live_lock = scheduler.acquire_locks()
    assert live_lock == {"mail"}
    scheduler._take_dead_schedulers_queues()
    assert scheduler.acquired_locks == {"mail", "scoring"}
    assert redis.get(RQScheduler.get_locking_key("scoring")).decode() == scheduler.name


def test_two_workers_starting_together_never_split_the_queues_between_two_schedulers(app, db_session):
    """RQ takes each queue's lock on its own: a worker starting while another has taken only the
    first lock would take the rest and run a second scheduler. The first queue's lock gates them
    all: the second worker takes none (and the first, at its next try, the rest)."""
    from app.worker import Health, Scheduler

    redis = redis_connection()
    first = Scheduler(["default", "mail", "scoring"], redis, health=Health(), worker_pid=0)
    second = Scheduler(["default", "mail", "scoring"], redis, health=Health(), worker_pid=0)
    redis.set(RQScheduler.get_locking_key("default"), first.name, ex=61)  # the first is mid-way
    assert second.acquire_locks() == set() and second.acquired_locks == set()
    assert redis.get(RQScheduler.get_locking_key("mail")) is None
    assert first.acquire_locks() == {"default", "mail", "scoring"}
