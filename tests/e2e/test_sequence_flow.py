"""In a real browser, issue 11's "done when": an admin builds a sequence for a disposition tag
(Settings → Sequences: e-mail, wait 2 business days, SMS, wait 1 business day, task), a rep
applies the tag on the lead page, the first e-mail is in the outbox at once, the wait is
skipped by moving the engine's clock (engine.tick(now=...) in the test, no sleeping), the SMS
step sends, the customer replies (the development "reply as the customer" action: a signed
gateway event posted to /webhooks/sms) and the run stops with the reason on the lead page.
The live server has no worker: the test runs the jobs with a burst SimpleWorker."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.e2e.test_pay_flow import SHOTS, run_jobs, shot

pytestmark = pytest.mark.e2e

PASSWORD = "browser pass 123"


@pytest.fixture
def sequence_world(live_app, live_server):
    from app.auth.services import create_user
    from app.crm.models import Tag, TagCategory
    from app.extensions import db
    from app.inbox.sms.services import save_gateway
    from tests.factories import Factory
    from tests.integration.sequences.conftest import make_templates

    old_base = live_app.config.get("APP_BASE_URL")
    live_app.config["APP_BASE_URL"] = live_server  # the reply job posts to this server
    suffix = uuid.uuid4().hex[:6]
    with live_app.app_context():
        admin = create_user(email=f"e2e-seq-admin-{suffix}@example.com", first_name="Nina", last_name="Admin",
                            role=UserRole.ADMIN, password=PASSWORD)
        rep = create_user(email=f"e2e-seq-rep-{suffix}@example.com", first_name="Sarah", last_name="Jones",
                          role=UserRole.REP, password=PASSWORD)
        save_gateway(None, user_id=rep.id, label="Pixel", gateway_url="https://api.sms-gate.app/3rdparty/v1",
                     username="sarah", password="pw", from_number="+14085550122", is_active=True)
        db.session.add(Tag(slug=f"demo-booked-{suffix}", name=f"Demo wanted {suffix}", category=TagCategory.DISPOSITION))
        make_templates(admin)
        factory = Factory(db.session)
        company = factory.company(name=f"Gulf Coast Towing {suffix}", assigned_rep_id=rep.id)
        number = f"+1214555{uuid.uuid4().int % 10000:04d}"
        contact = factory.contact(company, first_name="Mike", phone=number, phone_e164=number, phone_type="mobile",
                                  is_sms_eligible=True, timezone="America/Chicago")
        lead = factory.lead(company, contact)
        db.session.commit()
        ids = dict(admin=admin.email, rep=rep.email, lead=lead.id, tag=f"Demo wanted {suffix}", suffix=suffix,
                   number=number)
        db.session.remove()
    yield ids
    live_app.config["APP_BASE_URL"] = old_base


def _step(page, n: int, kind: str, **fields):
    page.locator(f"#steps-{n}-type").select_option(kind)
    for name, value in fields.items():
        locator = page.locator(f"#steps-{n}-{name}")
        if name in ("template_id", "unit", "task_type", "priority"):
            locator.select_option(label=value) if name == "template_id" else locator.select_option(value)
        else:
            locator.fill(value)


def test_admin_builds_a_sequence_a_tag_starts_it_and_a_reply_stops_it(live_app, live_server, browser,
                                                                      sequence_world):
    from app.sequences import engine

    w = sequence_world
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    sign_in(page, live_server, w["admin"], PASSWORD)
    page.goto(f"{live_server}/settings")
    page.get_by_role("link", name="Sequences").click()
    page.get_by_role("link", name="New sequence").first.click()
    page.get_by_label("Name").fill(f"Demo follow-up {w['suffix']}")
    page.get_by_label("Started by the tag").select_option(label=w["tag"])
    for day in ("Sat", "Sun"):  # every day, all day: "at once" whatever the hour of the test run
        page.get_by_label(day, exact=True).check()
    page.get_by_label("From").fill("00:00")
    page.get_by_label("To").fill("23:59")
    _step(page, 0, "email", template_id="E-mail: Intro e-mail")
    _step(page, 1, "wait", amount="2", unit="business_days")
    _step(page, 2, "sms", template_id="SMS: Follow-up text")
    page.get_by_role("button", name="Save").click()  # three rows: saved, two blank rows appear
    expect(page.locator(".alert--error")).to_have_count(0)
    _step(page, 3, "wait", amount="1", unit="business_days")
    _step(page, 4, "task", task_type="FOLLOW_UP", priority="HIGH", text="Call Mike about the demo")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#preview-title")).to_be_visible()
    expect(page.locator(".seq-timeline__item")).to_have_count(5)
    shot(page, "sequences-settings.png")
    page.get_by_role("link", name="Sequences").first.click()
    expect(page.locator(".sequences-table")).to_contain_text(f"Demo follow-up {w['suffix']}")
    context.clear_cookies()

    sign_in(page, live_server, w["rep"], PASSWORD)
    page.goto(f"{live_server}/leads/{w['lead']}")
    page.get_by_label("Tag to add").select_option(label=w["tag"])
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator("#lead-sequences")).to_contain_text(f"Demo follow-up {w['suffix']}")  # the run started
    run_jobs(live_app)  # the kick: the tick fires the e-mail (and the wait), then the e-mail's send job
    run_jobs(live_app)
    page.goto(f"{live_server}/outbox")
    expect(page.locator("body")).to_contain_text(f"Trackers for Gulf Coast Towing {w['suffix']}")

    with live_app.app_context():  # the engine's clock moves three days on: the wait is over
        engine.tick(datetime.now(UTC) + timedelta(days=4))
    run_jobs(live_app)  # the SMS's send job
    page.goto(f"{live_server}/outbox/customers")
    row = page.locator("tr", has_text="did you see my e-mail").first
    expect(row).to_be_visible()
    row.get_by_label("Reply as the customer").fill("Yes, call me tomorrow")
    row.get_by_role("button", name="Reply").click()
    run_jobs(live_app)  # the reply's delivery to /webhooks/sms, then the event's apply job
    run_jobs(live_app)

    page.goto(f"{live_server}/leads/{w['lead']}")
    panel = page.locator("#lead-sequences")
    expect(panel).to_contain_text("Stopped: The customer replied by SMS")
    expect(panel.locator(".seq-timeline__item--done")).to_have_count(4)  # e-mail, wait, SMS, the next wait begun
    expect(panel).to_contain_text("not done")
    SHOTS.mkdir(exist_ok=True)
    page.locator("#lead-sequences-card").screenshot(path=str(SHOTS / "sequences-lead-panel.png"))

    page.goto("about:blank")  # no lead page polling (the badge) while signed out: a 401 in the console
    context.clear_cookies()  # the admin's list: one run, stopped by a reply
    sign_in(page, live_server, w["admin"], PASSWORD)
    page.goto(f"{live_server}/settings/sequences")
    row = page.locator("tr", has_text=f"Demo follow-up {w['suffix']}")
    expect(row).to_contain_text("100 %")  # reply rate: 1 of 1
    shot(page, "sequences-list.png")
    assert errors == []
    context.close()
