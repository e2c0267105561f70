"""Large list exports as jobs: above the threshold the CSV link offers to prepare the file; the
job (through the outbox, run here by a real RQ SimpleWorker in this process) writes what the
streamed export would have sent; only the user who asked sees and downloads it; it expires.
Real worker processes (progress, a worker killed mid-export) are in test_export_job_workers.py."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker

from app.auth.models import UserRole
from app.crm.models import CompanyStatus, TaskPriority
from app.crm.tasks.services import create_task
from app.job_outbox.models import OutboxJob
from app.queue import get_queue, redis_connection
from app.reports import export_jobs
from app.reports.models import ExportJob
from tests.factories import csrf_token, login


@pytest.fixture(autouse=True)
def small_exports(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 3)
    monkeypatch.setitem(app.config, "EXPORT_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "EXPORT_PAGE", 2)
    return tmp_path


def work():
    SimpleWorker([get_queue("import")], connection=redis_connection()).work(burst=True)


def start(client, app, list_name: str, query: str):
    return client.post("/exports", data={"csrf_token": csrf_token(client, app), "list_name": list_name,
                                         "query": query})


def test_a_large_export_is_a_job_whose_file_is_the_streamed_csv(app, client, db_session, factory, monkeypatch,
                                                                 small_exports):
    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    for i in range(7):
        factory.company(name=f"Job Export {i}, \"Inc\"", assigned_rep_id=rep.id, status=CompanyStatus.CUSTOMER)
    factory.company(name="Job Export lead", assigned_rep_id=rep.id)  # filtered out
    login(client, rep)
    query = f"status=CUSTOMER&rep={rep.id}"
    offer = client.get(f"/export/companies.csv?{query}")
    html = offer.get_data(as_text=True)
    assert offer.status_code == 200 and offer.mimetype == "text/html"  # not streamed: offered as a job
    assert "more than 3 rows" in html and 'action="/exports"' in html
    assert f'name="query" type="hidden" value="status=CUSTOMER&amp;rep={rep.id}"' in html

    started = start(client, app, "companies", query)
    assert started.status_code == 303
    export = db_session.query(ExportJob).one()
    assert started.headers["Location"] == f"/exports/{export.id}"
    assert (export.user_id, export.list_name, export.query, export.status) == (rep.id, "companies", query, "QUEUED")
    assert db_session.query(OutboxJob).filter_by(func=export_jobs.JOB).count() == 1  # through the outbox
    waiting = client.get(f"/exports/{export.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in waiting and "Waiting for a worker" in waiting
    assert client.get(f"/exports/{export.id}/download").status_code == 404  # nothing before it is done

    work()
    db_session.expire_all()
    assert (export.status, export.rows_done, export.rows_total, export.attempts) == ("DONE", 7, 7, 1)
    assert export.expires_at - export.finished_at == timedelta(hours=24)
    done = client.get(f"/exports/{export.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' not in done and f'href="/exports/{export.id}/download"' in done
    downloaded = client.get(f"/exports/{export.id}/download")
    assert downloaded.status_code == 200 and downloaded.mimetype == "text/csv"
    assert downloaded.headers["Content-Disposition"].startswith("attachment;")
    assert list(small_exports.iterdir()) == [export_jobs.file_path(export.id)]  # no part file left

    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 1000)
    streamed = client.get(f"/export/companies.csv?{query}")
    assert streamed.mimetype == "text/csv"
    assert downloaded.get_data() == streamed.get_data()  # byte for byte what the stream sends
    assert downloaded.get_data().count(b"\r\n") == 8

    mate = app.test_client()  # another rep: the export does not exist for them
    login(mate, other)
    assert mate.get(f"/exports/{export.id}").status_code == 404
    assert mate.get(f"/exports/{export.id}/download").status_code == 404
    monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 3)
    theirs = mate.get("/export/companies.csv?status=CUSTOMER").get_data(as_text=True)
    mine = client.get("/export/companies.csv?status=CUSTOMER").get_data(as_text=True)
    assert "Prepare the CSV" in theirs and str(export.id) not in theirs  # nor among their recent exports
    assert f'href="/exports/{export.id}"' in mine  # (the owner's offer page lists it)

    # a day later the link is gone, then the file and the row
    export.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.flush()
    assert client.get(f"/exports/{export.id}/download").status_code == 404
    assert "has expired" in client.get(f"/exports/{export.id}").get_data(as_text=True)
    assert export_jobs.remove_expired_exports() == 1
    assert db_session.get(ExportJob, export.id) is None and list(small_exports.iterdir()) == []


def test_the_threshold_is_counted_per_list(app, client, db_session, factory):
    rep = factory.user(UserRole.REP)
    lead = factory.lead()
    for i in range(4):
        create_task(title=f"Big task {i}", actor=rep, lead=lead, priority=TaskPriority.HIGH)
    create_task(title="Small task", actor=rep, lead=lead, priority=TaskPriority.LOW)
    login(client, rep)
    small = client.get("/export/tasks.csv?priority=LOW")
    assert small.mimetype == "text/csv" and "Small task" in small.get_data(as_text=True)
    large = client.get("/export/tasks.csv?priority=HIGH")
    assert large.mimetype == "text/html" and 'value="tasks"' in large.get_data(as_text=True)
    started = start(client, app, "tasks", "priority=HIGH")
    work()
    export_id = re.search(r"/exports/([0-9a-f-]{36})", started.headers["Location"]).group(1)
    body = client.get(f"/exports/{export_id}/download").get_data(as_text=True)
    assert body.count("Big task") == 4 and "Small task" not in body


def test_refused_exports(app, client, db_session, factory):
    login(client, factory.user(UserRole.REP))
    assert start(client, app, "payroll", "").status_code == 422
    assert start(client, app, "leads", "q=" + "x" * 2100).status_code == 422
    assert db_session.query(ExportJob).count() == 0
    login(client, factory.user(UserRole.OPERATOR))
    assert start(client, app, "leads", "").status_code == 403


def _seed_every_list(factory, db_session, rep):
    from app.billing.models import InvoiceStatus
    from app.crm.models import LeadStage
    from app.inbox.models import ConversationChannel
    from tests.integration.inbox.queue.test_queue import conversation
    from tests.integration.reports import builders

    for i in range(5):
        company = factory.company(name=f"Every List {i}", assigned_rep_id=rep.id)
        lead = factory.lead(company=company, stage=LeadStage.HOT, source="Google Maps")
        create_task(title=f"Every task {i}", actor=rep, lead=lead, priority=TaskPriority.HIGH)
        conversation(factory, minutes_ago=i + 1, channel=ConversationChannel.EMAIL, preview=f"Every mail {i}",
                     user_id=rep.id)
        builders.invoice(db_session, company, total=f"{i}0.50", status=InvoiceStatus.SENT,
                         sent_at=datetime(2026, 2, 1, tzinfo=UTC))
    return {"leads": f"stage=HOT&rep={rep.id}", "invoices": "status=SENT&sort=total&dir=asc",
            "tasks": "priority=HIGH", "inbox": "tab=all&mine=1&channel=EMAIL", "companies": f"rep={rep.id}"}


def test_every_lists_job_file_is_its_streamed_csv(app, client, db_session, factory, monkeypatch):
    rep = factory.user(UserRole.REP)
    queries = _seed_every_list(factory, db_session, rep)
    login(client, rep)
    for list_name, query in queries.items():
        monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 3)
        path = f"/export/{list_name}.csv?{query}"
        assert client.get(path).mimetype == "text/html", list_name  # 5 rows: offered as a job
        started = start(client, app, list_name, query)
        assert started.status_code == 303, list_name
        work()
        downloaded = client.get(f"{started.headers['Location']}/download")
        monkeypatch.setitem(app.config, "EXPORT_JOB_THRESHOLD", 1000)
        streamed = client.get(path)
        assert streamed.mimetype == "text/csv", list_name
        assert downloaded.status_code == 200 and downloaded.get_data() == streamed.get_data(), list_name
        assert downloaded.get_data().count(b"\r\n") == 6, list_name


def test_an_export_rq_gave_up_on_stops_polling_and_says_so(app, client, db_session, factory):
    from app.job_outbox.models import OutboxJob

    rep = factory.user(UserRole.REP)
    login(client, rep)
    started = start(client, app, "tasks", "")
    export = db_session.query(ExportJob).one()
    assert 'hx-trigger="every 1s"' in client.get(started.headers["Location"]).get_data(as_text=True)
    row = db_session.query(OutboxJob).filter_by(job_key=f"export:{export.id}").one()
    row.status = "FAILED"  # what the relay writes once RQ gave up (its worker died on every try)
    db_session.flush()
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' not in page and "could not be finished" in page
    assert client.get(f"{started.headers['Location']}/download").status_code == 404
