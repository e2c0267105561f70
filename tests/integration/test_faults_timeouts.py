"""Timeouts everywhere a request waits (issue 16), on real processes: a Redis server of the
test's own that is frozen (SIGSTOP) or stopped, a row lock held by another PostgreSQL
connection, a database that refuses connections or drops the request's connection.

Every answer comes within seconds, says "try again" (409/503) and is never a 500 or a
hang; pages that do not need Redis, sign-in and the customer's pay page keep working.
Bounds are several times the configured timeouts (the machine is shared).
"""
from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.auth.models import UserRole
from app.crm.models import LeadStage
from tests.conftest import committing_app, make_app
from tests.factories import PASSWORD, login

FROZEN_REDIS_BOUND = 5.0  # the Redis timeouts are 1 s (connect) and 1.5 s (read)
SERVING_BOUND = 1.0


@pytest.fixture(scope="module")
def seeded(databases, redis_url):
    """A database of its own with a rep, a lead on the board and a sent invoice."""
    from app.extensions import db
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    with committing_app(databases, redis_url, "crm_faults_timeouts") as app, app.app_context():
        factory = Factory(db.session)
        rep = factory.user(UserRole.REP, email="faults-rep@example.com")
        lead = factory.lead(stage=LeadStage.QUALIFIED)
        invoice, token = make_invoice(factory, company_name="Frozen Lake Haulage", actor=rep)
        db.session.commit()
        seeded = {"database_url": app.config["SQLALCHEMY_DATABASE_URI"], "rep_id": rep.id,
                  "email": rep.email, "lead_id": lead.id, "token": token}
        db.session.remove()
        yield seeded


@pytest.fixture
def restore_limiter():
    """Flask-Limiter is one object bound to the last app created: put back the session
    app's storage after a test app on a Redis of its own."""
    from app.extensions import limiter

    saved = dict(vars(limiter))
    saved["_storage_options"] = dict(limiter._storage_options)
    yield
    vars(limiter).clear()
    vars(limiter).update(saved)


@pytest.fixture
def own_redis(restore_limiter):
    """A Redis server for this test only: (its pid, its url, stop())."""
    from app.devservices import start_redis, stop_redis

    client, url = start_redis(Path(tempfile.mkdtemp(prefix="crm-faults-redis-")) / "faults.rdb")
    pid = client.pid
    stopped = []

    def stop():
        os.kill(pid, signal.SIGCONT)
        stop_redis(client)
        stopped.append(True)

    yield pid, url, stop
    if not stopped:
        os.kill(pid, signal.SIGCONT)
        stop_redis(client)


GIVE_UP_AFTER = 20.0  # a fault ends on its own then: without the timeouts, a test fails, not hangs


@contextmanager
def frozen(pid: int):
    os.kill(pid, signal.SIGSTOP)
    thaw = threading.Timer(GIVE_UP_AFTER, os.kill, (pid, signal.SIGCONT))
    thaw.start()
    try:
        yield
    finally:
        thaw.cancel()
        os.kill(pid, signal.SIGCONT)


def app_on(seeded, redis_url: str, **overrides):
    app = make_app(seeded["database_url"], redis_url, WTF_CSRF_ENABLED=False, **overrides)
    return app


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


# ------------------------------------------------------------------ Redis frozen / stopped

def test_frozen_redis_costs_seconds_and_the_rest_keeps_serving(seeded, own_redis):
    pid, url, _ = own_redis
    app = app_on(seeded, url)
    rep = app.test_client()
    assert sign_in(rep, seeded["email"]).status_code == 302
    assert rep.get("/pipeline").status_code == 200
    assert rep.get("/healthz").status_code == 200

    with frozen(pid):
        health, health_s = timed(lambda: rep.get("/healthz"))
        # an import's status page reads the import's state from Redis
        status_page, status_s = timed(lambda: rep.get("/companies/import/some-import-token/run"))
        poll, poll_s = timed(lambda: rep.get("/companies/import/some-import-token/progress/run",
                                             headers={"HX-Request": "true"}))
        boards = [timed(lambda: rep.get("/pipeline")) for _ in range(3)]
        newcomer = app.test_client()
        wrong, wrong_s = timed(lambda: sign_in(newcomer, seeded["email"], "not the password"))
        right, right_s = timed(lambda: sign_in(newcomer, seeded["email"]))
        board_after, board_after_s = timed(lambda: newcomer.get("/pipeline"))
        customer, customer_s = timed(lambda: app.test_client().get(f"/pay/{seeded['token']}"))

    print(f"\nfrozen Redis: healthz {health.status_code} in {health_s:.2f}s; import status page "
          f"{status_page.status_code} in {status_s:.2f}s, its htmx poll {poll.status_code} in {poll_s:.2f}s; board "
          f"{[round(s, 3) for _, s in boards]}s; wrong password {wrong.status_code} in {wrong_s:.2f}s; "
          f"sign-in {right.status_code} in {right_s:.2f}s; board after {board_after_s:.3f}s; "
          f"/pay {customer.status_code} in {customer_s:.2f}s")
    assert health.status_code == 503 and health.get_json()["checks"] == {"database": "ok", "redis": "down"}
    assert health_s < FROZEN_REDIS_BOUND
    assert status_page.status_code == 503 and status_s < FROZEN_REDIS_BOUND
    assert b"Temporarily unavailable" in status_page.data and status_page.headers["Retry-After"]
    assert poll.status_code == 503 and poll_s < FROZEN_REDIS_BOUND
    assert poll.headers["HX-Reswap"] == "none" and "Temporarily unavailable" in poll.headers["HX-Trigger"]
    for board, seconds in boards:
        assert board.status_code == 200 and seconds < SERVING_BOUND
    assert wrong.status_code == 422 and wrong_s < FROZEN_REDIS_BOUND
    assert right.status_code == 302 and right_s < FROZEN_REDIS_BOUND
    assert board_after.status_code == 200 and board_after_s < SERVING_BOUND
    assert customer.status_code == 200 and customer_s < FROZEN_REDIS_BOUND

    # Redis answers again: so does the page that needs it.
    deadline = time.monotonic() + 30
    while rep.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "healthz did not recover after SIGCONT"
        time.sleep(0.2)


def test_redis_stopped_sign_in_and_the_pay_page_work(seeded, own_redis):
    pid, url, stop = own_redis
    app = app_on(seeded, url)
    stop()

    customer, customer_s = timed(lambda: app.test_client().get(f"/pay/{seeded['token']}"))
    client = app.test_client()
    wrong, wrong_s = timed(lambda: sign_in(client, seeded["email"], "not the password"))
    right, right_s = timed(lambda: sign_in(client, seeded["email"]))
    board, board_s = timed(lambda: client.get("/pipeline"))
    health = client.get("/healthz")
    print(f"\nRedis stopped: /pay {customer.status_code} in {customer_s:.2f}s; wrong password "
          f"{wrong.status_code} in {wrong_s:.2f}s; sign-in {right.status_code} in {right_s:.2f}s; "
          f"board {board.status_code} in {board_s:.3f}s")
    assert customer.status_code == 200 and b"Frozen Lake Haulage" in customer.data
    assert customer_s < FROZEN_REDIS_BOUND
    assert wrong.status_code == 422 and right.status_code == 302
    assert wrong_s < FROZEN_REDIS_BOUND and right_s < FROZEN_REDIS_BOUND
    assert board.status_code == 200 and board_s < SERVING_BOUND
    assert health.status_code == 503


def test_sign_in_stays_limited_while_redis_is_away(seeded, own_redis):
    """Failing open must not mean unlimited: the limits count in memory meanwhile."""
    pid, url, stop = own_redis
    app = app_on(seeded, url, LOGIN_LIMIT_PER_EMAIL_IP="3 per 5 minutes")
    stop()
    client = app.test_client()
    statuses = [sign_in(client, seeded["email"], "not the password").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


def test_the_per_email_lock_fails_open_for_its_unlock_mail_while_redis_is_away(seeded, own_redis, caplog):
    """The per-e-mail limit's breach mails the owner an unlock link, once per window, which
    it remembers in Redis: with Redis away the limit still answers 429, and the skipped
    e-mail is a logged warning, not an error."""
    pid, url, stop = own_redis
    app = app_on(seeded, url, LOGIN_LIMIT_PER_EMAIL="2 per 5 minutes")
    stop()
    client = app.test_client()
    with caplog.at_level("WARNING", logger="crm.auth"):
        statuses = [sign_in(client, seeded["email"], "not the password").status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    assert "unlock link not sent, Redis unavailable" in caplog.text


# ------------------------------------------------------------------ PostgreSQL: locks, timeouts

def admin_dsn(seeded) -> str:
    return make_url(seeded["database_url"]).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def lead_row_locked(seeded):
    """Another connection holds the lead's row lock (an open transaction)."""
    with psycopg.connect(admin_dsn(seeded)) as other:
        other.execute("SELECT id FROM leads WHERE id = %s FOR UPDATE", (seeded["lead_id"],))
        release = threading.Timer(GIVE_UP_AFTER, other.rollback)  # lets go then, timeout or not
        release.start()
        try:
            yield other
        finally:
            release.cancel()
            other.rollback()


def move(client, seeded, stage: str, *, htmx: bool):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/pipeline/leads/{seeded['lead_id']}/move", data={"stage": stage}, headers=headers)


def test_a_held_row_lock_makes_a_move_answer_busy_within_the_lock_timeout(seeded, redis_url):
    app = app_on(seeded, redis_url)  # the default timeouts: lock 3 s, statement 10 s
    assert app.config["DB_LOCK_TIMEOUT_MS"] == 3000
    client = app.test_client()
    with app.app_context():
        from app.auth.models import User
        from app.extensions import db

        login(client, db.session.get(User, seeded["rep_id"]))
        db.session.remove()

    with lead_row_locked(seeded):
        toast, toast_s = timed(lambda: move(client, seeded, "HOT", htmx=True))
        page, page_s = timed(lambda: move(client, seeded, "HOT", htmx=False))
        board, board_s = timed(lambda: client.get("/pipeline"))  # reading needs no lock
    print(f"\nrow lock held: htmx move {toast.status_code} in {toast_s:.2f}s; form move "
          f"{page.status_code} in {page_s:.2f}s; board {board.status_code} in {board_s:.3f}s")

    assert toast.status_code == 409 and 2.5 < toast_s < 15
    assert toast.headers["HX-Reswap"] == "none"
    assert "Busy, try again" in toast.headers["HX-Trigger"]
    assert toast.headers["Retry-After"]
    assert page.status_code == 409 and 2.5 < page_s < 15
    assert b"Busy, try again" in page.data and b"Nothing was saved." in page.data
    assert board.status_code == 200

    moved = move(client, seeded, "HOT", htmx=True)  # the lock is gone: the move goes through
    assert moved.status_code == 200
    assert move(client, seeded, "QUALIFIED", htmx=True).status_code == 200


def test_a_statement_stopped_by_statement_timeout_answers_503(seeded, redis_url):
    """No lock_timeout, a 1 s statement_timeout: the wait for the lock is cancelled as a
    slow statement (QueryCanceled), which is "busy, try again" too."""
    app = app_on(seeded, redis_url, DB_LOCK_TIMEOUT_MS=0, DB_STATEMENT_TIMEOUT_MS=1000)
    client = app.test_client()
    with app.app_context():
        from app.auth.models import User
        from app.extensions import db

        login(client, db.session.get(User, seeded["rep_id"]))
        db.session.remove()
    with lead_row_locked(seeded):
        page, seconds = timed(lambda: move(client, seeded, "HOT", htmx=False))
    print(f"\nstatement_timeout 1 s: move {page.status_code} in {seconds:.2f}s")
    assert page.status_code == 503 and seconds < 10
    assert b"took too long" in page.data


def session_timeouts() -> tuple:
    """What a job (or a request) of this app sees: PostgreSQL's three session timeouts."""
    from app.extensions import db

    return tuple(db.session.execute(db.text(
        "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), "
        "current_setting('idle_in_transaction_session_timeout')")).one())


def test_a_job_gets_the_longer_timeouts_and_the_cli_the_servers_defaults(seeded, redis_url):
    from rq import Queue, SimpleWorker

    from app.extensions import db
    from app.queue import redis_connection

    app = app_on(seeded, redis_url)
    with app.test_request_context("/"):
        in_request = session_timeouts()
        db.session.remove()
    with app.app_context():
        queue = Queue("default", connection=redis_connection())
        job = queue.enqueue("app.queue.run_job", f"{__name__}.session_timeouts")
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        in_job = tuple(job.return_value())
        outside = session_timeouts()  # a CLI command (migrations, backups): the server's own
        db.session.remove()
        db.engine.dispose()
    assert in_request == ("3s", "10s", "30s")
    assert in_job == ("30s", "5min", "10min")
    assert outside == ("0", "0", "0")


@pytest.mark.parametrize(("sqlstate", "method", "status", "says"), [
    ("40P01", "POST", 409, b"Someone else is changing this"),  # deadlock_detected
    ("40001", "GET", 503, b"Someone else is changing this"),  # serialization_failure
    ("57014", "POST", 503, b"took too long"),  # query_canceled
    ("57P01", "GET", 503, b"database cannot be reached"),  # admin_shutdown (a restart)
])
def test_each_kind_of_database_trouble_reads_as_try_again(seeded, redis_url, sqlstate, method, status, says):
    """The errors PostgreSQL itself raises (RAISE ... USING ERRCODE), as a view would meet them."""
    from sqlalchemy.exc import OperationalError

    from app import errors
    from app.extensions import db

    app = app_on(seeded, redis_url)
    with app.test_request_context("/pipeline", method=method):
        with pytest.raises(OperationalError) as raised:
            db.session.execute(db.text(
                f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$"))
        response = errors.unavailable(raised.value)
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == status
    assert says in response.get_data()


# ------------------------------------------------------------------ PostgreSQL away

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_a_database_that_refuses_connections_gives_a_503_page_without_the_database(seeded, redis_url):
    from app.extensions import db

    down_url = f"postgresql+psycopg://crm:crm@127.0.0.1:{closed_port()}/crm"
    app = make_app(down_url, redis_url, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    with client.session_transaction() as session:  # a signed-in browser's cookie
        session["_user_id"] = f"{seeded['rep_id']}:1"
        session["_fresh"] = True

    page, page_s = timed(lambda: client.get("/pipeline"))
    toast = client.get("/pipeline", headers={"HX-Request": "true"})
    missing = client.get("/no-such-page")
    sign_in_page = app.test_client().get("/login")  # needs no database
    print(f"\ndatabase refusing connections: board {page.status_code} in {page_s:.2f}s; "
          f"404 page {missing.status_code}; /login {sign_in_page.status_code}")
    assert page.status_code == 503 and page_s < 10
    assert page.headers["Retry-After"]
    assert b"Temporarily unavailable" in page.data and b"Try again" in page.data
    assert b"Internal Server Error" not in page.data
    assert toast.status_code == 503 and "Temporarily unavailable" in toast.headers["HX-Trigger"]
    assert missing.status_code == 404 and b"Not found" in missing.data  # rendered without the user
    assert sign_in_page.status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_a_request_whose_connection_is_killed_gets_a_503_page(seeded, redis_url):
    """A PostgreSQL restart as the request in flight sees it: its backend is terminated
    (pg_terminate_backend) while it waits on a row lock."""
    app = app_on(seeded, redis_url, DB_LOCK_TIMEOUT_MS=30000)
    client = app.test_client()
    with app.app_context():
        from app.auth.models import User
        from app.extensions import db

        login(client, db.session.get(User, seeded["rep_id"]))
        db.session.remove()

    killed = []

    def kill_the_waiting_backend(admin):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not killed:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()").fetchall()
            for (backend,) in rows:
                admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
                killed.append(backend)
            time.sleep(0.1)

    with lead_row_locked(seeded), psycopg.connect(admin_dsn(seeded), autocommit=True) as admin:
        killer = threading.Thread(target=kill_the_waiting_backend, args=(admin,))
        killer.start()
        page, seconds = timed(lambda: move(client, seeded, "HOT", htmx=False))
        killer.join()
    print(f"\nbackend terminated mid-request: move {page.status_code} in {seconds:.2f}s")
    assert killed
    assert page.status_code == 503 and seconds < 25
    assert b"Temporarily unavailable" in page.data

    # The next request gets a fresh connection (pool_pre_ping) and works.
    assert client.get("/pipeline").status_code == 200
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
