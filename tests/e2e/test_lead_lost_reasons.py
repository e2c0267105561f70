"""In a real browser: the lead page's stage form suggests the lost-reason pick-list (Settings →
Lost reasons) as the board's lost dialog does; a click fills the reason (still free text), and
the suggestions show only with the reason field (Lost or Bogus picked)."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_the_lead_page_suggests_the_lost_reasons(live_app, live_server, page):
    from app.auth.services import create_user
    from app.extensions import db
    from app.reports.settings import set_lost_reasons
    from tests.factories import Factory

    with live_app.app_context():
        tag = uuid.uuid4().hex[:6]
        rep = create_user(email=f"lost-{tag}@example.com", first_name="Lo", last_name="St", role=UserRole.REP,
                          password="lost pass 1234")
        factory = Factory(db.session)
        lead_id = factory.lead(company=factory.company(name=f"Lost Fleet {tag}")).id
        set_lost_reasons(["Too expensive", f"Chose Samsara {tag}"], actor=rep)
        db.session.commit()
    sign_in(page, live_server, f"lost-{tag}@example.com", "lost pass 1234")
    page.goto(f"{live_server}/leads/{lead_id}")
    picks = page.get_by_role("group", name="Common reasons")
    expect(picks).to_be_hidden()  # no reason asked for a move to an open stage
    page.select_option("#lead-stage", "LOST")
    expect(picks).to_be_visible()
    picks.get_by_role("button", name=f"Chose Samsara {tag}").click()
    expect(page.locator("#lead-lost-reason")).to_have_value(f"Chose Samsara {tag}")
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#lead-summary")).to_contain_text(f"Chose Samsara {tag}")
    page.select_option("#lead-stage", "QUOTED")
    expect(picks).to_be_hidden()
