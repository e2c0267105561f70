"""Issue 16: abandoned jobs come back within a minute, exactly one scheduler runs whatever the
order of crashes and restarts, and the periodic jobs cannot drop out.

Real processes: `flask --app wsgi worker` (app/commands.py) on a database of its own and the
test Redis, SIGKILLed as a machine dies (the worker, its work horse and its scheduler at once).
The settings are the production defaults (app/config.py) except where a test says otherwise.
Time bounds are several times the expected recovery: the machine is shared.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from redis import Redis
from sqlalchemy import func, select

from tests.conftest import ROOT, committing_app

FLASK = str(Path(sys.executable).with_name("flask"))


class Workers:
    """Worker processes of one test; every process they started is killed at the end."""

    def __init__(self, app, redis_url: str, **settings):
        self.env = {**os.environ, "CRM_ENV": "test", "REDIS_URL": redis_url,
                    "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "LOG_LEVEL": "INFO", **{k: str(v) for k, v in settings.items()}}
        self.processes: list[subprocess.Popen] = []
        self.logs = Path(tempfile.mkdtemp(prefix="crm-workers-"))

    def start(self) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.processes)}.log", "wb")
        process = subprocess.Popen([FLASK, "--app", "wsgi", "worker"], cwd=ROOT, env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def kill_everything(self, process: subprocess.Popen) -> list[int]:
        """SIGKILL a worker and every process under it at once, as when its machine dies."""
        pids = [process.pid, *descendants(process.pid)]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=10)
        return pids

    def stop_all(self) -> None:
        pids = []
        for process in self.processes:
            pids += [process.pid, *descendants(process.pid)]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in self.processes:
            process.wait(timeout=10)

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.logs.glob("*.log")))


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


@pytest.fixture
def faults_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_faults_workers") as app:
        yield app


@pytest.fixture
def workers(faults_app, redis_url):
    made: list[Workers] = []

    def make(**settings) -> Workers:
        made.append(Workers(faults_app, redis_url, **settings))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


def unique_maps_csv(rows: int) -> bytes:
    """Google-Maps-shaped rows, every one a company of its own with a phone: the import must
    end with exactly `rows` companies and `rows` leads."""
    header = "name,phone,category,city,state,place_id\r\n"
    lines = [f"Resume Fleet {i},+1 214-{555 + i // 10000:03d}-{i % 10000:04d},towing services,Dallas,Texas,"
             f"ChIJresume{i:08d}\r\n" for i in range(rows)]
    return (header + "".join(lines)).encode()


def test_a_worker_killed_mid_import_is_taken_over_and_the_import_completes_once(faults_app, workers, redis_url,
                                                                                   capsys):
    from app.auth.models import UserRole
    from app.crm.importing import services as importing
    from app.crm.models import Company, Lead
    from app.extensions import db
    from app.worker import schedulers_running
    from tests.factories import Factory

    redis = Redis.from_url(redis_url)
    rows = 6000
    group = workers()
    with faults_app.app_context():
        user = Factory(db.session).user(UserRole.REP)
        db.session.commit()
        store = importing.UploadStore()
        meta = store.save(importing.read_upload(unique_maps_csv(rows)), filename="resume.csv", size=1,
                          user_id=user.id)
        token = meta.token
        worker = group.start()
        assert importing.start_import(meta, store, actor=user)
        db.session.commit()  # the job reaches Redis with the commit

        def progress():
            return (store.state(token, "run") or {}).get("processed", 0)

        # SIGKILL the worker process once two batches are in
        assert wait_for(lambda: progress() >= 1000, timeout=180, step=0.02), group.log_tail()
        children = descendants(worker.pid)  # its scheduler, and the work horse running the import
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        # they die with it: no orphan goes on with the import, or holds the scheduler's locks
        assert len(children) >= 2 and wait_for(lambda: not any(map(running, children)), timeout=30)
        assert wait_for(lambda: not schedulers_running(redis), timeout=30)
        at_kill = progress()
        assert 1000 <= at_kill < rows, at_kill
        assert store.state(token, "run")["status"] == "running"  # frozen: nobody works on it

        group.start()  # what a supervisor does: a new worker, seconds after the kill
        done = wait_for(lambda: (store.state(token, "run") or {}).get("status") == "done", timeout=240, step=0.5)
        recovery = time.monotonic() - killed_at
        assert done, group.log_tail()
        state = store.state(token, "run")
        db.session.rollback()
        companies = db.session.scalar(select(func.count()).select_from(Company)
                                      .where(Company.source == meta.source_label))
        leads = db.session.scalar(select(func.count()).select_from(Lead).where(Lead.source == meta.source_label))
        assert (companies, leads) == (rows, rows)  # nothing twice, nothing lost
        assert state["processed"] == rows and state["companies_new"] == rows and state["leads_new"] == rows
        assert state["companies_matched"] == 0 and state["companies_in_file"] == 0
        assert len(state["resumed_at"]) == 1 and at_kill - 500 <= state["resumed_at"][0] <= at_kill
        assert store.checkpoint(token) is None
    with capsys.disabled():
        print(f"\nimport: worker SIGKILLed at row {at_kill}/{rows}, resumed at row {state['resumed_at'][0]}, "
              f"done {recovery:.1f} s after the kill")
    assert recovery < 180


def test_a_stuck_import_runs_again_from_its_last_batch_when_asked(faults_app, workers, redis_url, capsys):
    """No watchdog here (no worker runs): "Run it again" on the status page is what brings the
    import back; it goes on from its checkpoint and the page says where it resumed."""
    from app.auth.models import UserRole
    from app.crm.importing import services as importing
    from app.crm.models import Company
    from app.extensions import db
    from tests.factories import Factory, csrf_token, login

    rows = 1200
    with faults_app.app_context():
        user = Factory(db.session).user(UserRole.REP)
        db.session.commit()
        store = importing.UploadStore()
        meta = store.save(importing.read_upload(unique_maps_csv(rows)), filename="stuck.csv", size=1,
                          user_id=user.id)
        token = meta.token
        assert importing.start_import(meta, store, actor=user)
        db.session.commit()
        group = workers()
        worker = group.start()
        assert wait_for(lambda: (store.state(token, "run") or {}).get("processed", 0) >= 500, timeout=180,
                        step=0.02), group.log_tail()
        group.kill_everything(worker)
        killed_at = time.monotonic()
        at_kill = store.state(token, "run")["processed"]
        assert at_kill < rows
        user_id = user.get_id()
        signed_in = SimpleNamespace(get_id=lambda: user_id)
    client = faults_app.test_client()
    login(client, signed_in)
    # The job's heartbeat stops: after JOB_ABANDONED_AFTER the page says the run stopped and offers "Run it again"
    page = wait_for(lambda: (lambda r: r if b"Run it again" in r.data else None)(
        client.get(f"/companies/import/{token}/run")), timeout=120, step=2)
    assert page, "the stuck import never offered to run again"
    offered = time.monotonic() - killed_at
    assert b"went away" in page.data and b'hx-trigger="every 1s"' not in page.data
    answer = client.post(f"/companies/import/{token}/run", data={"csrf_token": csrf_token(client, faults_app)})
    assert answer.status_code == 303
    with faults_app.app_context():
        state = store.state(token, "run")
        assert state["status"] == "queued"
        group.start()
        assert wait_for(lambda: store.state(token, "run")["status"] == "done", timeout=180, step=0.5), group.log_tail()
        done = time.monotonic() - killed_at
        assert db.session.scalar(select(func.count()).select_from(Company)
                                 .where(Company.source == meta.source_label)) == rows
        state = store.state(token, "run")
        assert state["companies_new"] == rows and state["resumed_at"][0] >= 500
    page = client.get(f"/companies/import/{token}/run")
    assert f"Resumed after an interruption at row {state['resumed_at'][0]}".encode() in page.data
    with capsys.disabled():
        print(f"\nstuck import (no worker left): 'Run it again' offered {offered:.1f} s after the kill, "
              f"done {done:.1f} s after it")


def fresh_schedulers(redis: Redis, within: float = 4.0) -> set[str]:
    """The schedulers that heartbeated within the last `within` seconds (RQ's scheduler hashes)."""
    from datetime import UTC, datetime

    from rq.utils import utcparse

    alive = set()
    for key in redis.scan_iter("rq:scheduler:*"):
        if b"scheduler-lock" in key:
            continue
        beat = redis.hget(key, "last_heartbeat")
        if beat and (datetime.now(UTC) - utcparse(beat.decode()).replace(tzinfo=UTC)).total_seconds() < within:
            alive.add(key.decode().rsplit(":", 1)[1])
    return alive


def test_periodic_jobs_come_back_on_their_own_and_one_scheduler_runs(faults_app, workers, redis_url, capsys):
    from app.activity.services import record
    from app.crm.models import LeadScore
    from app.extensions import db
    from app.schedule import next_runs
    from app.worker import schedulers_running
    from tests.factories import Factory

    redis = Redis.from_url(redis_url)
    # the periodic jobs' records expire 2 s after they ran (RQ's default: 500 s); the schedule
    # must not depend on them
    group = workers(PERIODIC_RESULT_TTL=2)
    with faults_app.app_context():
        first, second = Factory(db.session).lead(), Factory(db.session).lead()
        db.session.commit()

        def scored(lead) -> bool:
            db.session.rollback()
            return db.session.scalar(select(func.count()).select_from(LeadScore)
                                     .where(LeadScore.lead_id == lead.id)) == 1

        worker = group.start()
        record("call.logged", "Called", lead=first)
        db.session.commit()
        assert wait_for(lambda: scored(first), timeout=120, step=0.5), group.log_tail()
        dead = schedulers_running(redis)
        assert len(dead) == 1

        group.kill_everything(worker)  # the worker and its scheduler, SIGKILLed together
        killed_at = time.monotonic()
        record("call.logged", "Called", lead=second)  # marked while no scheduler runs
        db.session.commit()
        time.sleep(6)  # past the periodic jobs' records (2 s); the dead scheduler's lock lives on (61 s)
        assert not scored(second)

        # two workers start at the same moment, within a minute of the kill
        group.start()
        group.start()
        assert wait_for(lambda: scored(second), timeout=150, step=0.5), group.log_tail()
        recovery = time.monotonic() - killed_at
        holders = schedulers_running(redis)
        assert len(holders) == 1 and holders.isdisjoint(dead), holders
        # one scheduler, over several seconds, not two (the second worker runs none)
        for _ in range(10):
            assert fresh_schedulers(redis, within=10) <= holders
            time.sleep(0.5)
        assert fresh_schedulers(redis, within=10) == holders
        assert set(next_runs(redis)) == {"score-marked-leads", "nightly-lead-scores", "gmail-sync", "gmail-watch",
                                         "sequence-tick", "quickbooks-sync", "export-cleanup"}
    with capsys.disabled():
        print(f"\nperiodic rescoring back {recovery:.1f} s after its worker and scheduler were killed "
              f"(two workers restarted 6 s after the kill)")
    assert recovery < 150
