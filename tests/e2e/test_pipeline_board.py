"""In a real browser: drag a lead across the board, the counts update without a
reload; a lost move asks for the reason; the keyboard stage menu moves a card."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def seed(app):
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead, LeadStage
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        user = create_user(email=f"board-{tag}@example.com", first_name="Bo", last_name="Ard",
                           role=UserRole.REP, password="board pass 123")
        leads = {}
        for name, stage in (("Drag Towing", LeadStage.NEW_LEAD), ("Lost Plumbing", LeadStage.HOT),
                            ("Keyboard HVAC", LeadStage.QUALIFIED)):
            company = Company(name=f"{name} {tag}", normalized_name=f"{name} {tag}".lower(),
                              assigned_rep_id=user.id)
            db.session.add(company)
            db.session.flush()
            contact = Contact(company_id=company.id, full_name=f"Pat {name}",
                              email_normalized=f"{name.split()[0].lower()}-{tag}@example.com")
            db.session.add(contact)
            db.session.flush()
            lead = Lead(company_id=company.id, contact_id=contact.id, stage=stage,
                        estimated_units=10, estimated_revenue=Decimal("1000.00"))
            db.session.add(lead)
            db.session.flush()
            leads[name] = str(lead.id)
        db.session.commit()
        return user.email, leads


def count(page, stage):
    return int(page.locator(f"#col-head-{stage} [data-count]").inner_text())


def test_drag_keyboard_and_lost_reason(live_app, live_server, page):
    email, leads = seed(live_app)
    sign_in(page, live_server, email, "board pass 123")
    page.goto(f"{live_server}/pipeline?mine=1")  # only this test's leads
    assert count(page, "NEW_LEAD") == 1 and count(page, "HOT") == 1

    # 1. drag the new lead onto the Hot column
    page.locator(f"#lead-{leads['Drag Towing']}").drag_to(page.locator("#cards-HOT"))
    page.locator(f"#cards-HOT #lead-{leads['Drag Towing']}").wait_for()
    expect(page.locator("#col-head-HOT [data-count]")).to_have_text("2")
    assert count(page, "NEW_LEAD") == 0
    assert "$2,000.00" in page.locator("#col-head-HOT").inner_text()
    page.screenshot(path=str(_shot("board-after-drag.png")))

    # 2. drag a lead to Lost: a dialog asks why; cancel puts it back
    lost = f"#lead-{leads['Lost Plumbing']}"
    page.get_by_label("Stage of Lost Plumbing", exact=False).select_option("LOST")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    page.screenshot(path=str(_shot("board-lost-dialog.png")))
    dialog.get_by_role("button", name="Cancel").click()
    page.locator(f"#cards-HOT {lost}").wait_for()
    assert count(page, "LOST") == 0

    # ...and this time drag it there and give the reason (a wide screen shows
    # every column; synthetic drags across a scrolling board are unreliable)
    page.set_viewport_size({"width": 2700, "height": 900})
    page.locator(lost).drag_to(page.locator("#cards-LOST"))
    page.get_by_label("Reason", exact=True).fill("Chose a cheaper competitor")
    page.get_by_role("button", name="Move to Lost").click()
    page.locator(f"#cards-LOST {lost}").wait_for()
    expect(page.locator("#col-head-LOST [data-count]")).to_have_text("1")
    expect(page.get_by_role("dialog")).to_be_hidden()

    # 3. the keyboard: focus the stage menu of a card and pick Quoted
    menu = page.get_by_label("Stage of Keyboard HVAC", exact=False)
    menu.focus()
    menu.select_option("QUOTED")
    page.locator(f"#cards-QUOTED #lead-{leads['Keyboard HVAC']}").wait_for()
    assert count(page, "QUALIFIED") == 0 and count(page, "QUOTED") == 1
    # the focus stays on the moved card's menu: the rep keeps their place
    expect(page.get_by_label("Stage of Keyboard HVAC", exact=False)).to_be_focused()

    # the server agrees after a reload
    page.reload()
    assert count(page, "HOT") == 1 and count(page, "LOST") == 1 and count(page, "QUOTED") == 1


def _shot(name: str):
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "test-results"
    out.mkdir(exist_ok=True)
    return out / name


def test_the_lead_page_timeline_follows_what_the_rep_does(live_app, live_server, page):
    """Stage menu, note and tag on the lead page: each shows in the timeline at once."""
    from app.crm.models import Tag, TagCategory
    from app.extensions import db

    email, leads = seed(live_app)
    with live_app.app_context():
        if db.session.query(Tag).filter_by(slug="e2e-callback").first() is None:
            db.session.add(Tag(slug="e2e-callback", name="E2E callback", category=TagCategory.CUSTOM))
            db.session.commit()
    sign_in(page, live_server, email, "board pass 123")
    page.goto(f"{live_server}/leads/{leads['Drag Towing']}")
    timeline = page.locator(".timeline li")
    expect(page.locator(".timeline")).not_to_contain_text("Loading activity")  # loaded after the page

    reason = page.get_by_placeholder("Reason (for Lost or Bogus)")
    expect(reason).to_be_hidden()  # asked for only when it is needed
    page.get_by_label("Move to").select_option("LOST")
    expect(reason).to_be_visible()
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Say why this lead is lost.")
    expect(reason).to_be_visible()
    page.get_by_label("Move to").select_option("QUOTED")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(timeline.first).to_contain_text("from New lead to Quoted")
    expect(page.locator("#lead-summary .badge").first).to_have_text("Quoted")

    page.get_by_label("Note", exact=True).fill("Wants three trucks on trial first")
    page.get_by_role("button", name="Add note").click()
    expect(timeline.first).to_contain_text("Note: Wants three trucks on trial first")
    expect(page.get_by_label("Note", exact=True)).to_have_value("")

    page.get_by_label("Tag to add").select_option("e2e-callback")
    page.get_by_role("button", name="Add tag").click()
    expect(timeline.first).to_contain_text("Tagged E2E callback")
    page.screenshot(path=str(_shot("lead-page-live-timeline.png")), full_page=True)
