"""In a real browser: a rep makes a call list from their board ("Call these") and runs the
power dialer over its 3 leads with the keyboard (C, N, V), the timer filling the duration."""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def seed(app):
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        user = create_user(email=f"dialer-{tag}@example.com", first_name="Di", last_name="Aler",
                           role=UserRole.REP, password="dialer pass 123")
        names = {}
        for n, name in enumerate(("Alpha Towing", "Bravo Plumbing", "Charlie HVAC")):
            company = Company(name=f"{name} {tag}", normalized_name=f"{name} {tag}".lower(), assigned_rep_id=user.id)
            db.session.add(company)
            db.session.flush()
            contact = Contact(company_id=company.id, full_name=f"Pat {name}", phone=f"(512) 555-01{n:02d}",
                              phone_e164=f"+151255501{n:02d}",
                              is_sms_eligible=True)
            db.session.add(contact)
            db.session.flush()
            lead = Lead(company_id=company.id, contact_id=contact.id, estimated_units=5,
                        estimated_revenue=Decimal("500.00"))
            db.session.add(lead)
            db.session.flush()
            names[company.name] = lead.id
        db.session.commit()
        return user.email, names


def test_a_rep_runs_the_dialer_over_three_leads_with_hotkeys(live_app, live_server, page):
    from sqlalchemy import select

    from app.extensions import db
    from app.inbox.models import CallLog

    email, leads = seed(live_app)
    sign_in(page, live_server, email, "dialer pass 123")
    page.goto(f"{live_server}/pipeline?mine=1")
    page.get_by_role("button", name="Call these").click()
    page.wait_for_url(re.compile(r"/calls/lists/[0-9a-f-]+/dial$"))
    expect(page.get_by_text("0 of 3 done")).to_be_visible()
    page.get_by_role("button", name="Start calling").click()

    seen = []
    for key in ("c", "n", "v"):
        heading = page.locator("[data-dialer-lead]")
        expect(heading).to_be_visible()
        name = heading.inner_text()
        assert name in leads and name not in seen
        seen.append(name)
        assert page.locator("a[data-call-start]").get_attribute("href").startswith("tel:+1512555")
        if key == "c":
            page.get_by_role("button", name="Start timer").click()
            expect(page.locator("[data-call-timer]")).not_to_have_text("0:00", timeout=5000)
            expect(page.locator("[data-call-duration]")).not_to_have_value("")
            page.screenshot(path=str(_shot("dialer.png")), full_page=True)
        if key == "v":
            page.get_by_label("Notes").fill("Left a message about the fleet")
            page.keyboard.press("Escape")  # out of the notes: keys are hotkeys again
        page.keyboard.press(key)
        page.wait_for_load_state("load")
        if key != "v":
            expect(page.locator("[data-dialer-lead]")).not_to_have_text(name)

    expect(page.get_by_text("Nothing left to call")).to_be_visible()
    expect(page.get_by_text("3 of 3 done")).to_be_visible()

    # the lead's conversation shows the call, and its composer logs another one
    page.goto(f"{live_server}/leads/{leads[seen[0]]}")
    panel = page.locator("#lead-thread")
    expect(panel.locator("[data-kind=call]")).to_contain_text("Connected")
    panel.get_by_role("tab", name="Log call").click()
    panel.get_by_label("Outcome").select_option("BUSY")
    panel.get_by_label("Duration").fill("0:45")
    panel.get_by_label("Notes").press("Control+Enter")  # the keyboard sends
    expect(panel.locator("[data-kind=call]").last).to_contain_text("Busy")
    expect(panel.locator("[data-kind=call]").last).to_contain_text("0:45")
    page.screenshot(path=str(_shot("lead-calls.png")), full_page=True)

    with live_app.app_context():
        calls = {c.lead_id: c for c in db.session.scalars(select(CallLog).where(
            CallLog.lead_id.in_(list(leads.values()))).order_by(CallLog.created_at.desc()))}
        outcomes = [calls[leads[name]].outcome.value for name in seen]
        assert outcomes == ["CONNECTED", "NO_ANSWER", "VOICEMAIL"]
        assert calls[leads[seen[0]]].duration_seconds >= 1  # the timer filled the duration
        assert calls[leads[seen[2]]].notes == "Left a message about the fleet"
        db.session.remove()


def _shot(name: str):
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "test-results"
    out.mkdir(exist_ok=True)
    return out / name
