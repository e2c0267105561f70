"""In a real browser (issue 13): a saved view of the pipeline board is created, shared and
opened by another rep (the board filtered as saved); the inbox saves and exports the filters
it changed in place; a large export (the threshold lowered) shows its progress bar advancing,
then downloads the file.

The live server has no RQ worker: the test runs a real RQ SimpleWorker on a thread of its own
(no signal handlers off the main thread; a timer for the job's timeout) while the page polls the export's progress."""
from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e
PASSWORD = "views pass 1234"


def seed(app, companies: int = 0):
    from app.auth.services import create_user
    from app.crm.models import Company, CompanyStatus, Contact, Lead
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        rep = create_user(email=f"views-{tag}@example.com", first_name="Vera", last_name=f"Views{tag}",
                          role=UserRole.REP, password=PASSWORD)
        mate = create_user(email=f"mate-{tag}@example.com", first_name="Mateo", last_name=f"Mate{tag}",
                           role=UserRole.REP, password=PASSWORD)
        for name, source in (("Maps Towing", "Google Maps"), ("Referral Haulers", "Referral")):
            company = Company(name=f"{name} {tag}", normalized_name=f"{name} {tag}".lower(), assigned_rep_id=rep.id)
            db.session.add(company)
            db.session.flush()
            contact = Contact(company_id=company.id, full_name=f"Pat {name}")
            db.session.add(contact)
            db.session.flush()
            db.session.add(Lead(company_id=company.id, contact_id=contact.id, source=source))
        if companies:
            db.session.execute(insert(Company), [
                {"id": uuid.uuid4(), "name": f"Export Fleet {tag} {i:05d}", "normalized_name": f"export fleet {tag} {i}",
                 "status": CompanyStatus.CUSTOMER, "assigned_rep_id": rep.id} for i in range(companies)])
        db.session.commit()
        return tag, rep.email, str(rep.id), mate.email


def test_a_saved_board_view_is_shared_and_opened_by_another_rep(live_app, live_server, page, browser):
    tag, rep_email, rep_id, mate_email = seed(live_app)
    sign_in(page, live_server, rep_email, PASSWORD)
    page.goto(f"{live_server}/pipeline?rep={rep_id}&source=Google+Maps")
    expect(page.get_by_role("link", name=f"Maps Towing {tag}")).to_be_visible()
    page.get_by_text("Save view").click()
    page.get_by_label("Name").fill(f"Maps {tag}")
    page.get_by_text("Share with the team").click()
    page.get_by_role("button", name="Save the current filters").click()
    page.wait_for_url(lambda url: "view=" in url)
    expect(page.get_by_role("link", name=f"Maps {tag}")).to_have_attribute("aria-current", "page")
    page.screenshot(path="/tmp/views-board-saved.png", full_page=False)

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    mate = context.new_page()
    sign_in(mate, live_server, mate_email, PASSWORD)
    mate.goto(f"{live_server}/pipeline?rep={rep_id}")
    expect(mate.get_by_role("link", name=f"Referral Haulers {tag}")).to_be_visible()  # the whole board first
    mate.get_by_role("link", name=f"Maps {tag}").click()
    mate.wait_for_url(lambda url: "source=Google+Maps" in url and f"rep={rep_id}" in url)
    expect(mate.get_by_role("link", name=f"Maps Towing {tag}")).to_be_visible()
    expect(mate.get_by_role("link", name=f"Referral Haulers {tag}")).to_have_count(0)
    expect(mate.get_by_role("button", name="Delete view")).to_have_count(0)  # not theirs to change
    mate.screenshot(path="/tmp/views-board-teammate.png", full_page=False)
    context.close()


class ThreadWorker:
    """A real RQ SimpleWorker draining the import queue on a thread (RQ installs signal
    handlers, which only the main thread may do: skipped here)."""

    def __init__(self, app):
        from rq import SimpleWorker
        from rq.timeouts import TimerDeathPenalty

        class Worker(SimpleWorker):
            death_penalty_class = TimerDeathPenalty  # SIGALRM is the main thread's too

            def _install_signal_handlers(self):
                pass

        self.app, self.worker_class = app, Worker
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from app.queue import get_queue, redis_connection

        with self.app.app_context():
            deadline = time.monotonic() + 60
            queue = get_queue("import")
            while queue.count == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.worker_class([queue], connection=redis_connection()).work(burst=True)


def test_a_large_export_shows_progress_and_downloads(live_app, live_server, page, tmp_path, monkeypatch):
    from app.reports import export_jobs

    rows = 1500
    tag, rep_email, rep_id, _ = seed(live_app, companies=rows)
    monkeypatch.setitem(live_app.config, "EXPORT_JOB_THRESHOLD", 100)
    monkeypatch.setitem(live_app.config, "EXPORT_PAGE", 100)
    monkeypatch.setitem(live_app.config, "EXPORT_DIR", str(tmp_path))
    real_progress = export_jobs._report_progress

    def slow_progress(export_id, rows_done):  # a slow export: each page takes a moment
        real_progress(export_id, rows_done)
        time.sleep(0.3)

    monkeypatch.setattr(export_jobs, "_report_progress", slow_progress)
    sign_in(page, live_server, rep_email, PASSWORD)
    page.goto(f"{live_server}/companies?status=CUSTOMER&rep={rep_id}")
    page.get_by_role("link", name="Download CSV").click()
    expect(page.get_by_text("more than 100 rows")).to_be_visible()
    page.screenshot(path="/tmp/views-export-offer.png", full_page=False)
    page.get_by_role("button", name="Prepare the CSV").click()
    page.wait_for_url(lambda url: "/exports/" in url)
    expect(page.get_by_text("Waiting for a worker")).to_be_visible()

    worker = ThreadWorker(live_app)
    worker.thread.start()
    progress = page.locator("[data-export-progress]")
    page.wait_for_function(
        "() => { const p = document.querySelector('[data-export-progress]');"
        f" const n = p && Number(p.dataset.exportProgress); return n > 0 && n < {rows}; }}", timeout=60_000)
    expect(progress).to_contain_text(f"of {rows:,} rows written")
    expect(page.locator("progress.export-job__bar")).to_have_attribute("max", str(rows))
    page.screenshot(path="/tmp/views-export-progress.png", full_page=False)

    link = page.get_by_role("link", name="Download CSV")
    expect(link).to_be_visible(timeout=60_000)
    page.screenshot(path="/tmp/views-export-ready.png", full_page=False)
    with page.expect_download() as download:
        link.click()
    body = open(download.value.path(), encoding="utf-8").read()
    worker.thread.join(timeout=30)
    table = list(csv.reader(io.StringIO(body)))
    assert table[0][0] == "Company" and len(table) == rows + 1
    assert sum(1 for r in table[1:] if r[0].startswith(f"Export Fleet {tag}")) == rows
    assert download.value.suggested_filename.startswith("companies-")


def test_the_inbox_saves_and_exports_the_filters_it_changed_in_place(live_app, live_server, page):
    """The inbox's filters change without a page load (htmx, hx-push-url): "Save view" and the
    CSV link take the filters from the address bar, not those the page was served with."""
    from app.extensions import db
    from app.inbox.models import Conversation, ConversationChannel
    from app.reports.models import SavedView

    tag, rep_email, rep_id, _ = seed(live_app)
    with live_app.app_context():
        from app.crm.models import Lead

        for lead in db.session.query(Lead).filter(Lead.company.has(assigned_rep_id=uuid.UUID(rep_id))):
            db.session.add(Conversation(
                id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id, user_id=uuid.UUID(rep_id),
                channel=ConversationChannel.EMAIL if lead.source == "Google Maps" else ConversationChannel.SMS,
                last_message_at=datetime.now(UTC), last_message_preview=f"Inbox {lead.source} {tag}",
                unread_count=1, awaiting_reply=True))
        db.session.commit()
    sign_in(page, live_server, rep_email, PASSWORD)
    page.goto(f"{live_server}/inbox?tab=all")
    page.get_by_label("Mine").check()
    page.wait_for_url(lambda url: "mine=1" in url)
    page.get_by_label("Channel").select_option("EMAIL")
    page.wait_for_url(lambda url: "channel=EMAIL" in url)
    expect(page.get_by_text(f"Inbox Google Maps {tag}")).to_be_visible()
    expect(page.get_by_text(f"Inbox Referral {tag}")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    body = open(download.value.path(), encoding="utf-8").read()
    assert f"Inbox Google Maps {tag}" in body and f"Inbox Referral {tag}" not in body
    page.get_by_text("Save view").click()
    page.get_by_label("Name").fill(f"My mail {tag}")
    page.get_by_role("button", name="Save the current filters").click()
    page.wait_for_url(lambda url: "view=" in url)
    with live_app.app_context():
        view = db.session.query(SavedView).filter_by(name=f"My mail {tag}").one()
        assert view.list_name == "inbox" and view.query == "channel=EMAIL&mine=1&tab=all"
    expect(page.get_by_text(f"Inbox Referral {tag}")).to_have_count(0)
