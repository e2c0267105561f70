"""Jobs: enqueued only after the commit, run by a real RQ worker on the real Redis."""
from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.queue import QUEUES, enqueue, get_queue, redis_connection
from app.settings.models import Setting


def remember(key: str, value: int) -> None:
    """A job: writes a setting (idempotent: the same key is written once)."""
    from app.extensions import db

    existing = db.session.scalar(select(Setting).where(Setting.key == key))
    if existing is None:
        db.session.add(Setting(key=key, value={"v": value}))
        db.session.commit()


def work_all():
    worker = SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection())
    worker.work(burst=True)
    return worker


def test_job_waits_for_the_commit_then_runs_on_a_real_worker(app, db_session):
    enqueue("default", "tests.integration.test_queue.remember", "job.ran", 7)
    assert get_queue("default").count == 0  # nothing reaches Redis before the commit
    db_session.commit()
    assert get_queue("default").count == 1
    work_all()
    assert db_session.scalar(select(Setting).where(Setting.key == "job.ran")).value == {"v": 7}


def test_rolled_back_work_enqueues_nothing(app, db_session, factory):
    factory.user()  # some work in the transaction
    enqueue("default", "tests.integration.test_queue.remember", "never", 1)
    db_session.rollback()
    db_session.commit()
    assert get_queue("default").count == 0


def test_job_id_makes_a_job_unique(app, db_session):
    for _ in range(3):
        enqueue("mail", "tests.integration.test_queue.remember", "once", 1, job_id="send-once")
        db_session.commit()
    assert get_queue("mail").count == 1


def test_jobs_take_ids_not_objects(app, db_session, factory):
    with pytest.raises(TypeError):
        enqueue("default", "tests.integration.test_queue.remember", factory.user())
    with pytest.raises(ValueError):
        enqueue("nope", "tests.integration.test_queue.remember")


def fail() -> None:
    """A job that always fails."""
    raise RuntimeError("this job always fails")


def test_a_failed_job_is_scheduled_for_retry_not_lost(app, db_session):
    enqueue("scoring", "tests.integration.test_queue.fail", retries=2)
    db_session.commit()
    work_all()
    queue = get_queue("scoring")
    job = queue.fetch_job(queue.scheduled_job_registry.get_job_ids()[0])
    assert job.description == "tests.integration.test_queue.fail"
    assert job.retries_left == 1  # one of its two retries used, the next one scheduled
    assert queue.failed_job_registry.count == 0


def test_a_job_without_retries_fails_at_once(app, db_session):
    enqueue("scoring", "tests.integration.test_queue.fail", retries=0)
    db_session.commit()
    work_all()
    queue = get_queue("scoring")
    assert queue.scheduled_job_registry.count == 0
    assert queue.failed_job_registry.count == 1
