"""A large export in real worker processes (`flask --app wsgi worker`, on a database of its own):
its progress advances page by page while the page polls it; a worker SIGKILLed mid-export is
taken over, the job runs again and the file is complete and equal to the streamed CSV; the
half-written file of the killed run is never served; another user cannot download it.
Time bounds are several times the expected: the machine is shared."""
from __future__ import annotations

import os
import re
import signal
import time
import uuid

import pytest
from redis import Redis
from sqlalchemy import insert

from tests.conftest import committing_app
from tests.integration.test_faults_workers import Workers, descendants, running, wait_for

ROWS = 12_000


@pytest.fixture
def export_app(databases, redis_url, tmp_path):
    with committing_app(databases, redis_url, "crm_export_workers", EXPORT_DIR=str(tmp_path),
                        EXPORT_JOB_THRESHOLD=100) as app:
        yield app


@pytest.fixture
def workers(export_app, redis_url, tmp_path):
    made: list[Workers] = []

    def make() -> Workers:
        # quick takeover of a dead worker's job (production: 30 s), small progress pages
        made.append(Workers(export_app, redis_url, EXPORT_DIR=str(tmp_path), EXPORT_JOB_THRESHOLD=100,
                            EXPORT_PAGE=200, JOB_ABANDONED_AFTER=6, JOB_HEARTBEAT_SECONDS=1,
                            WORKER_CHECK_SECONDS=2, SCHEDULER_DEAD_AFTER=5))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


def _state(app, export_id):
    """The export's row as the page reads it (an app context of its own: requests made by the
    test clients must not share one, or Flask-Login's cached user would leak between them)."""
    from app.extensions import db
    from app.reports.models import ExportJob

    with app.app_context():
        row = db.session.get(ExportJob, export_id)
        return row.status, row.rows_done, row.rows_total, row.attempts


def test_progress_advances_and_a_worker_killed_mid_export_is_retried_to_a_complete_file(
        export_app, workers, redis_url, tmp_path, capsys):
    from app.auth.models import UserRole
    from app.crm.models import Company, CompanyStatus
    from app.extensions import db
    from app.worker import schedulers_running
    from tests.factories import Factory, csrf_token, login

    redis = Redis.from_url(redis_url)
    group = workers()
    with export_app.app_context():
        factory = Factory(db.session)
        owner, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
        db.session.execute(insert(Company), [
            {"id": uuid.uuid4(), "name": f"Worker Export {i:05d}", "normalized_name": f"worker export {i:05d}",
             "status": CompanyStatus.CUSTOMER, "assigned_rep_id": owner.id, "fleet_size": i}
            for i in range(ROWS)])
        db.session.commit()
        owner_id = owner.id
        login(client := export_app.test_client(), owner)
        login(mate := export_app.test_client(), other)
    query = f"status=CUSTOMER&rep={owner_id}"
    offer = client.get(f"/export/companies.csv?{query}")
    assert offer.mimetype == "text/html" and b"Prepare the CSV" in offer.data
    started = client.post("/exports", data={"csrf_token": csrf_token(client, export_app), "list_name": "companies",
                                            "query": query})
    assert started.status_code == 303
    export_id = uuid.UUID(re.search(r"/exports/([0-9a-f-]{36})", started.headers["Location"]).group(1))
    worker = group.start()

    # progress: the page polls it, and it advances page by page
    seen: list[int] = []

    def three_points_in():
        status, done, total, _ = _state(export_app, export_id)
        if status == "RUNNING" and total:
            seen.append(done)
        return status == "RUNNING" and len(set(seen)) >= 3

    assert wait_for(three_points_in, timeout=180, step=0.02), (seen, group.log_tail())
    page = client.get(f"/exports/{export_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and f"of {ROWS:,} rows written" in page
    assert re.search(r'<progress class="export-job__bar" max="12000" value="\d+"', page)

    # SIGKILL the worker (and its work horse and scheduler) mid-export
    children = descendants(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = time.monotonic()
    assert wait_for(lambda: not any(map(running, children)), timeout=30)
    assert wait_for(lambda: not schedulers_running(redis), timeout=30)
    status, at_kill, total, attempts = _state(export_app, export_id)
    assert status == "RUNNING" and 0 < at_kill < ROWS and (total, attempts) == (ROWS, 1), (status, at_kill)
    assert seen == sorted(seen) and all(n % 200 == 0 for n in seen)  # advanced a page at a time
    # the half-written file is nobody's download
    assert list(tmp_path.glob("*.part")) and not (tmp_path / f"{export_id}.csv").exists()
    assert client.get(f"/exports/{export_id}/download").status_code == 404

    group.start()  # a new worker: it takes the abandoned job over, the job runs again
    done = wait_for(lambda: _state(export_app, export_id)[0] == "DONE", timeout=240, step=0.5)
    recovery = time.monotonic() - killed_at
    assert done, group.log_tail()
    status, rows_done, total, attempts = _state(export_app, export_id)
    assert (rows_done, total, attempts) == (ROWS, ROWS, 2)
    assert not list(tmp_path.glob("*.part"))  # the killed run's part file is gone

    downloaded = client.get(f"/exports/{export_id}/download")
    assert downloaded.status_code == 200
    export_app.config["EXPORT_JOB_THRESHOLD"] = 10**9
    streamed = client.get(f"/export/companies.csv?{query}")
    assert streamed.mimetype == "text/csv"
    assert downloaded.get_data() == streamed.get_data()  # complete: every row, once, as streamed
    assert downloaded.get_data().count(b"\r\n") == ROWS + 1

    assert mate.get(f"/exports/{export_id}/download").status_code == 404
    assert mate.get(f"/exports/{export_id}").status_code == 404
    with capsys.disabled():
        print(f"\nexport: {ROWS} rows, worker SIGKILLed at row {at_kill}, file complete {recovery:.1f} s after "
              f"the kill (progress seen at {len(set(seen))} points)")
    assert recovery < 180
