"""In a real browser: a rep imports the Google Maps scrape (upload -> mapping ->
dry run -> run with progress), then imports the same file again and nothing new
is created.

The live server has no RQ worker: the test runs the queued import job itself with
a burst SimpleWorker in the live app's context, and the page's polling picks up
the finished state.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).resolve().parents[1] / "samples"  # copies of ../shared/samples
MAPS = SAMPLES / "google-maps-scrape.csv"
PASSWORD = "import pass 123"


def create_rep(app) -> str:
    from app.auth.services import create_user
    from app.extensions import db

    with app.app_context():
        user = create_user(email=f"import-{uuid.uuid4().hex[:8]}@example.com", first_name="Ima",
                           last_name="Porter", role=UserRole.REP, password=PASSWORD)
        db.session.commit()
        return user.email


def company_count(app) -> int:
    from sqlalchemy import func, select

    from app.crm.models import Company
    from app.extensions import db

    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Company))
        finally:
            db.session.remove()


def run_queued_imports(app) -> None:
    from rq import SimpleWorker

    from app.queue import get_queue, redis_connection

    with app.app_context():
        queue = get_queue("import")
        assert queue.count == 1, "the run should have queued exactly one import job"
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)


def table_number(page, row: str) -> int:
    """The first number column ("Would create" / "Created") of a row of the counts table."""
    cells = page.locator("#import-status table tbody tr", has_text=row).locator("td")
    return int(cells.nth(1).inner_text())


def import_once(page, live_server, live_app, shot_prefix: str | None = None) -> dict:
    page.goto(f"{live_server}/companies/import")
    expect(page.get_by_role("heading", name="Upload a CSV file")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(str(MAPS))
    page.get_by_role("button", name="Upload and map columns").click()

    # the mapping screen: source detected, the columns already mapped
    page.wait_for_url(re.compile(r".*/companies/import/[^/]+$"))
    expect(page.get_by_text("detected as a Google Maps export")).to_be_visible()
    expect(page.get_by_text("60 rows", exact=False).first).to_be_visible()
    expect(page.get_by_label("Company name")).to_have_value("name")
    page.get_by_role("button", name="Preview the import").click()

    # the dry run: counts, nothing saved yet
    page.wait_for_url(re.compile(r".*/preview$"))
    expect(page.get_by_text("Dry run of 60 rows")).to_be_visible()
    preview = {row: table_number(page, row) for row in ("Companies", "Contacts", "Leads")}
    if shot_prefix:
        page.screenshot(path=str(_shot(f"{shot_prefix}-preview.png")), full_page=True)

    page.get_by_role("button", name="Run import").click()
    page.wait_for_url(re.compile(r".*/run$"))
    expect(page.get_by_text("waiting for a worker")).to_be_visible()  # no worker in the live server
    run_queued_imports(live_app)
    # the page polls every second and stops once the job is done
    expect(page.get_by_text("Import finished")).to_be_visible(timeout=15_000)
    expect(page.locator("#import-status")).not_to_have_attribute("hx-trigger", re.compile("every"))
    created = {row: table_number(page, row) for row in ("Companies", "Contacts", "Leads")}
    if shot_prefix:
        page.screenshot(path=str(_shot(f"{shot_prefix}-done.png")), full_page=True)
    return {"preview": preview, "created": created}


def test_import_the_scrape_twice_creates_nothing_the_second_time(live_app, live_server, page):
    email = create_rep(live_app)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server, email, PASSWORD)

    before = company_count(live_app)
    first = import_once(page, live_server, live_app, shot_prefix="import-first")
    after_first = company_count(live_app)
    assert first["created"]["Companies"] > 0
    assert first["created"] == first["preview"]  # the dry run predicted the run
    assert after_first - before == first["created"]["Companies"]

    second = import_once(page, live_server, live_app)
    assert second["preview"] == {"Companies": 0, "Contacts": 0, "Leads": 0}
    assert second["created"] == {"Companies": 0, "Contacts": 0, "Leads": 0}
    assert company_count(live_app) == after_first
    assert errors == []  # no CSP violation or script error on the way


def _shot(name: str):
    out = Path(__file__).resolve().parents[2] / "test-results"
    out.mkdir(exist_ok=True)
    return out / name
