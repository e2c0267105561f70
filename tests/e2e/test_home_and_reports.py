"""In a real browser (issue 13): a rep signs in, lands on their day and completes a task
there; an owner opens the reports, changes the range, clicks a funnel bar and lands on the
leads behind it."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def seed(app):
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead, LeadStage, Task
    from app.crm.pipeline.moves import move_lead_to_stage
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        rep = create_user(email=f"day-{tag}@example.com", first_name="Day", last_name=f"Rep{tag}",
                          role=UserRole.REP, password="day pass 1234")
        owner = create_user(email=f"owner-{tag}@example.com", first_name="Own", last_name="Er",
                            role=UserRole.NICK, password="owner pass 1234")
        leads = {}
        for name in ("Quoted Towing", "New Plumbing"):
            company = Company(name=f"{name} {tag}", normalized_name=f"{name} {tag}".lower(), assigned_rep_id=rep.id)
            db.session.add(company)
            db.session.flush()
            contact = Contact(company_id=company.id, full_name=f"Pat {name}",
                              email_normalized=f"{name.split()[0].lower()}-{tag}@example.com")
            db.session.add(contact)
            db.session.flush()
            lead = Lead(company_id=company.id, contact_id=contact.id, estimated_units=5,
                        estimated_revenue=Decimal("500.00"))
            db.session.add(lead)
            db.session.flush()
            leads[name] = lead
        move_lead_to_stage(leads["Quoted Towing"].id, LeadStage.QUOTED, actor=rep)
        db.session.add(Task(title=f"Call Pat back {tag}", assigned_to_id=rep.id, lead_id=leads["New Plumbing"].id,
                            due_at=datetime.now(UTC) - timedelta(hours=1)))
        db.session.commit()
        return tag, rep.email, str(rep.id), owner.email, {k: str(v.id) for k, v in leads.items()}


def test_rep_day_and_owner_reports(live_app, live_server, page, browser):
    tag, rep_email, rep_id, owner_email, leads = seed(live_app)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server, rep_email, "day pass 1234")
    expect(page.get_by_role("heading", name="Tasks due")).to_be_visible()
    task = page.locator("#home-tasks li.task", has_text=f"Call Pat back {tag}")
    task.get_by_role("button", name=f"Mark “Call Pat back {tag}” done").click()
    expect(page.locator("#home-tasks li.task.is-done", has_text=f"Call Pat back {tag}")).to_be_visible()
    page.reload()
    expect(page.locator("#home-tasks")).not_to_contain_text(f"Call Pat back {tag}")

    owner_context = browser.new_context(viewport={"width": 1366, "height": 900})
    owner = owner_context.new_page()
    owner.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(owner, live_server, owner_email, "owner pass 1234")
    expect(owner.get_by_role("heading", name="Won this month")).to_be_visible()
    owner.get_by_role("link", name="Reports", exact=True).first.click()
    owner.wait_for_url(f"{live_server}/reports")
    owner.get_by_label("Dates").select_option("this_year")
    owner.get_by_label("Rep", exact=True).select_option(rep_id)
    owner.get_by_role("button", name="Show").click()
    owner.wait_for_url(lambda url: "range=this_year" in url and f"rep={rep_id}" in url)
    funnel = owner.locator("#table-funnel")
    expect(funnel.locator("svg")).to_be_visible()
    funnel.locator("svg a", has_text="Quoted").click()
    owner.wait_for_url(lambda url: "/reports/leads?" in url and "value=QUOTED" in url and "range=this_year" in url)
    expect(owner.get_by_text(f"Quoted Towing {tag}")).to_be_visible()
    expect(owner.get_by_text(f"New Plumbing {tag}")).to_have_count(0)
    with owner.expect_download() as download:
        owner.get_by_role("link", name="Download CSV").click()
    body = open(download.value.path(), encoding="utf-8").read()
    assert f"Quoted Towing {tag}" in body and f"New Plumbing {tag}" not in body
    owner_context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_shared_view_is_opened_by_another_rep_and_exported(live_app, live_server, page, browser):
    tag, rep_email, rep_id, owner_email, leads = seed(live_app)
    from app.auth.services import create_user

    with live_app.app_context():
        from app.extensions import db

        teammate = create_user(email=f"mate-{tag}@example.com", first_name="Mate", last_name=tag, role=UserRole.REP,
                               password="mate pass 1234")
        db.session.commit()
        mate_email = teammate.email
    sign_in(page, live_server, rep_email, "day pass 1234")
    page.goto(f"{live_server}/leads?stage=QUOTED&rep={rep_id}")
    page.get_by_text("Save view").click()
    page.get_by_label("Name").fill(f"Quoted {tag}")
    page.get_by_text("Share with the team").click()
    page.get_by_role("button", name="Save the current filters").click()
    page.wait_for_url(lambda url: "view=" in url)

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    mate = context.new_page()
    sign_in(mate, live_server, mate_email, "mate pass 1234")
    mate.goto(f"{live_server}/leads")
    mate.get_by_role("link", name=f"Quoted {tag}").click()
    mate.wait_for_url(lambda url: "stage=QUOTED" in url and f"rep={rep_id}" in url)
    expect(mate.get_by_role("link", name=f"Quoted Towing {tag}")).to_be_visible()
    with mate.expect_download() as download:
        mate.get_by_role("link", name="Download CSV").click()
    body = open(download.value.path(), encoding="utf-8").read()
    assert f"Quoted Towing {tag}" in body and f"New Plumbing {tag}" not in body
    context.close()
