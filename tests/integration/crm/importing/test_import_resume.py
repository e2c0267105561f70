"""Issue 16: an import whose worker died resumes from its last committed batch, counts as if
it had never stopped, says so on its status page, and "Run it again" works on a stuck one.

In-process (a real RQ SimpleWorker, the test's rolled-back transaction); the run in real
worker processes SIGKILLed mid-import is in tests/integration/test_faults_workers.py.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.crm.importing import jobs as import_jobs
from app.crm.importing import services as importing
from app.crm.models import Company, Lead
from app.queue import get_queue
from tests.factories import csrf_token, login
from tests.integration.crm.importing.test_import import generated_csv, run, work


@pytest.fixture
def rep(client, factory):
    user = factory.user(UserRole.REP)
    login(client, user)
    return user


def count(model) -> int:
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def killed_after(monkeypatch, batches: int) -> None:
    """The work horse dies (SystemExit: nothing catches it, as nothing runs after SIGKILL)
    when it starts batch number `batches` + 1."""
    real = importing.Importer.process
    calls = {"n": 0}

    def process(self, rows):
        calls["n"] += 1
        if calls["n"] > batches:
            raise SystemExit("killed")
        return real(self, rows)

    monkeypatch.setattr(importing.Importer, "process", process)


def test_a_killed_run_resumes_from_its_last_committed_batch_and_counts_as_one_run(
        app, db_session, rep, client, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 7)
    data = generated_csv(80, seed=5)
    store = importing.UploadStore()
    meta = store.save(importing.read_upload(data), filename="x.csv", size=len(data), user_id=rep.id)
    whole = import_jobs.preview_import(meta.token)  # what one uninterrupted run counts

    killed_after(monkeypatch, 3)
    with pytest.raises(SystemExit):
        import_jobs.run_import(meta.token)
    monkeypatch.undo()
    monkeypatch.setattr(importing, "BATCH_SIZE", 7)
    frozen = store.state(meta.token, "run")
    assert frozen["status"] == "running" and frozen["processed"] == 21
    assert store.checkpoint(meta.token)["batches"] == 3
    page = client.get(f"/companies/import/{meta.token}/run")
    assert b"21 of 80 rows" in page.data

    state = import_jobs.run_import(meta.token)  # the retry
    assert state["status"] == "done" and state["resumed_at"] == [21]
    for key in ("processed", "companies_new", "companies_matched", "companies_in_file", "contacts_new",
                "leads_new", "leads_existing", "rejected", "no_lead"):
        assert state[key] == whole[key], key
    assert count(Company) == whole["companies_new"] and count(Lead) == whole["leads_new"]
    assert store.checkpoint(meta.token) is None
    page = client.get(f"/companies/import/{meta.token}/run")
    assert b"Import finished" in page.data
    assert b"Resumed after an interruption at row 21" in page.data


def test_run_on_a_stuck_import_runs_it_again_and_creates_nothing_twice(app, db_session, rep, client, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 7)
    data = generated_csv(40, seed=8)
    store = importing.UploadStore()
    meta = store.save(importing.read_upload(data), filename="x.csv", size=len(data), user_id=rep.id)
    whole = import_jobs.preview_import(meta.token)
    run(client, app, meta.token)
    queue = get_queue("import")
    assert queue.count == 1
    queue.empty()  # the job is lost with its worker: Redis has none, the page still says "queued"
    killed_after(monkeypatch, 2)
    with pytest.raises(SystemExit):
        import_jobs.run_import(meta.token)
    monkeypatch.undo()
    monkeypatch.setattr(importing, "BATCH_SIZE", 7)

    page = client.get(f"/companies/import/{meta.token}/run")
    assert b"Run it again" not in page.data  # a job may reach Redis a moment after the page
    state = store.state(meta.token, "run")
    store.set_state(meta.token, "run", {**state, "at": time.time() - importing.MISSING_GRACE_SECONDS - 1})
    page = client.get(f"/companies/import/{meta.token}/run")
    assert b"This import stopped at row 14 of 40" in page.data and b"Run it again" in page.data
    assert b'hx-trigger="every 1s"' not in page.data  # no polling under the button

    answer = client.post(f"/companies/import/{meta.token}/run", data={"csrf_token": csrf_token(client, app)})
    assert answer.status_code == 303
    assert store.state(meta.token, "run")["status"] == "queued" and queue.count == 1
    work()
    state = store.state(meta.token, "run")
    assert state["status"] == "done" and state["resumed_at"] == [14]
    assert (state["companies_new"], state["leads_new"]) == (whole["companies_new"], whole["leads_new"])
    assert count(Company) == whole["companies_new"] and count(Lead) == whole["leads_new"]
    # a finished import is not run again
    client.post(f"/companies/import/{meta.token}/run", data={"csrf_token": csrf_token(client, app)})
    assert queue.count == 0 and store.state(meta.token, "run")["status"] == "done"


def test_a_running_import_is_not_offered_to_run_again(app, db_session, rep, client):
    data = generated_csv(20, seed=9)
    store = importing.UploadStore()
    meta = store.save(importing.read_upload(data), filename="x.csv", size=len(data), user_id=rep.id)
    run(client, app, meta.token)  # queued, its job in Redis: on its way
    page = client.get(f"/companies/import/{meta.token}/run")
    assert b"Run it again" not in page.data and b'hx-trigger="every 1s"' in page.data
    run(client, app, meta.token)  # a second click changes nothing
    assert get_queue("import").count == 1
