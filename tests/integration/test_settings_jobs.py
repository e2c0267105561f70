"""Settings → Jobs: an admin sees queued, running, scheduled and failed jobs (with their
error) from RQ's real registries on the real Redis, retries or deletes a failed one; a rep
may not; a Redis that is down or frozen gives a clear message within seconds, not a 500."""
from __future__ import annotations

import socket
import time

import pytest
from rq import Queue, Retry, SimpleWorker
from rq.registry import FailedJobRegistry

from app.auth.models import UserRole
from app.queue import QUEUES, redis_connection
from tests.factories import csrf_token, login
from tests.integration.test_smtp import free_port

SECRET = "Zq3xv8Jk2LmN4pQr6StUv8WxYz0AbCdEfGhIjKlMnOp"


def explode(n: int, link: str = "") -> None:
    """A job that fails."""
    raise RuntimeError(f"boom {n}: the printer is on fire")


def queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection())


def fail_a_job(n: int = 7) -> str:
    """A job as the app enqueues it (through app.queue.run_job), failed for good on a real worker."""
    job = queue().enqueue("app.queue.run_job", args=("tests.integration.test_settings_jobs.explode", n),
                          kwargs={"link": f"https://crm.example.com/pay/{SECRET}"},
                          description="tests.integration.test_settings_jobs.explode")
    SimpleWorker([queue()], connection=redis_connection()).work(burst=True)
    assert job.id in FailedJobRegistry(queue=queue())
    return job.id


@pytest.fixture
def admin(factory, client, db_session):
    user = factory.user(UserRole.ADMIN)
    db_session.commit()  # (a failing job rolls its session back: it must not take the admin with it)
    login(client, user)
    return user


def test_an_admin_sees_a_failed_job_with_its_error_and_retries_it(app, client, db_session, admin):
    job_id = fail_a_job()
    response = client.get("/settings/jobs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'id="job-{job_id}"' in page
    assert "tests.integration.test_settings_jobs.explode" in page and "app.queue.run_job" not in page
    assert "<summary>RuntimeError: boom 7: the printer is on fire</summary>" in page  # the error's last line
    assert "Traceback (most recent call last)" in page  # the whole traceback, folded
    assert SECRET not in page and "/pay/[token]" in page  # a customer's link is not shown
    assert "No failed jobs" not in page

    token = csrf_token(client, app)
    response = client.post(f"/settings/jobs/{job_id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Queued again: tests.integration.test_settings_jobs.explode" in page
    assert "No failed jobs" in page
    assert job_id in queue().get_job_ids() and FailedJobRegistry(queue=queue()).count == 0

    # It runs (and fails) again; Delete forgets it.
    SimpleWorker([queue()], connection=redis_connection()).work(burst=True)
    assert job_id in FailedJobRegistry(queue=queue())
    response = client.post(f"/settings/jobs/{job_id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "No failed jobs" in response.get_data(as_text=True)
    assert queue().fetch_job(job_id) is None

    # A job no longer there: a message, no 500.
    response = client.post(f"/settings/jobs/{job_id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "no longer among the failed jobs" in response.get_data(as_text=True)


def test_queued_running_and_scheduled_jobs_are_listed(app, client, db_session, admin):
    from datetime import timedelta

    page = client.get("/settings/jobs").get_data(as_text=True)
    assert "No failed jobs" in page and "Nothing running" in page and "Nothing scheduled" in page

    queue("mail").enqueue("app.queue.run_job", args=("app.billing.jobs.send_invoice_email", "abc"))
    queue("import").enqueue_in(timedelta(hours=1), "app.queue.run_job",
                               args=("app.crm.importing.jobs.run_import", "tok"))
    # a job failing with retries left waits in the scheduled registry with its error
    queue().enqueue("app.queue.run_job", args=("tests.integration.test_settings_jobs.explode", 3),
                    retry=Retry(max=2, interval=[600]))
    SimpleWorker([queue()], connection=redis_connection()).work(burst=True)

    page = client.get("/settings/jobs").get_data(as_text=True)
    assert "app.billing.jobs.send_invoice_email" in page and "app.crm.importing.jobs.run_import" in page
    assert "A retry: the attempt of" in page and "1 more after this one" in page and "Delayed" in page
    assert "No failed jobs" in page and "Nothing scheduled" not in page
    for name in QUEUES:
        assert f"<td>{name}</td>" in page


def test_a_rep_may_not_see_or_retry_jobs_and_is_never_linked_to_them(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    db_session.commit()
    job_id = fail_a_job()
    login(client, rep)
    assert client.get("/settings/jobs").status_code == 403
    assert client.post(f"/settings/jobs/{job_id}/retry",
                       data={"csrf_token": csrf_token(client, app)}).status_code == 403
    assert client.post(f"/settings/jobs/{job_id}/delete",
                       data={"csrf_token": csrf_token(client, app)}).status_code == 403
    assert job_id in FailedJobRegistry(queue=queue())
    for path in ("/pipeline", "/tasks", "/invoices", "/account"):
        response = client.get(path)
        assert response.status_code == 200 and "/settings/jobs" not in response.get_data(as_text=True)


def test_settings_links_to_jobs_for_an_admin(client, db_session, admin):
    assert 'href="/settings/jobs"' in client.get("/settings/").get_data(as_text=True)


def test_redis_down_is_a_clear_message_not_a_500(app, client, db_session, admin, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nobody there
    started = time.monotonic()
    response = client.get("/settings/jobs")
    assert response.status_code == 503
    assert "The job queue cannot be reached" in response.get_data(as_text=True)
    assert time.monotonic() - started < 10
    response = client.post("/settings/jobs/some-job/retry", data={"csrf_token": csrf_token(client, app)},
                           follow_redirects=True)
    assert "The job queue cannot be reached" in response.get_data(as_text=True)


def test_a_frozen_redis_costs_seconds_not_minutes(app, client, db_session, admin, monkeypatch):
    """A server that accepts the connection and never answers (as a SIGSTOPped Redis)."""
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(16)
        monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{frozen.getsockname()[1]}/0")
        started = time.monotonic()
        response = client.get("/settings/jobs")
        elapsed = time.monotonic() - started
    assert response.status_code == 503 and "The job queue cannot be reached" in response.get_data(as_text=True)
    assert elapsed < 15  # the read timeout is 2 s
