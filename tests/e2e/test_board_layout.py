"""Issue 9, in Chromium: the board page scrolled sideways into blank space (the move forms'
absolutely positioned labels sat far right of the viewport) and a stale card's stage menu
was squeezed to a cut-off label ("New lea")."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def seed(app) -> str:
    from app.auth.services import create_user
    from app.crm.models import Company, Contact, Lead, LeadStage
    from app.extensions import db

    with app.app_context():
        tag = uuid.uuid4().hex[:6]
        user = create_user(email=f"layout-{tag}@example.com", first_name="Lay", last_name="Out",
                           role=UserRole.REP, password="layout pass 123")
        stale = datetime.now(UTC) - timedelta(days=40)
        for stage in LeadStage:  # a card in every column, each stale: the longest card foot
            company = Company(name=f"Column {stage.value} {tag}", normalized_name=f"column {stage.value} {tag}".lower(),
                              assigned_rep_id=user.id)
            db.session.add(company)
            db.session.flush()
            contact = Contact(company_id=company.id, full_name="Pat Layout")
            db.session.add(contact)
            db.session.flush()
            db.session.add(Lead(company_id=company.id, contact_id=contact.id, stage=stage, estimated_units=3,
                                estimated_revenue=Decimal("300.00"), stage_changed_at=stale))
        db.session.commit()
        return user.email


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
def test_the_board_scrolls_inside_itself_and_stage_menus_are_whole(live_app, live_server, browser, width, height):
    email = seed(live_app)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        sign_in(page, live_server, email, "layout pass 123")
        page.goto(f"{live_server}/pipeline?mine=1")
        page.locator(".move-form__select").first.wait_for()
        sizes = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                        viewport: document.documentElement.clientWidth,
                                        board: document.querySelector('.board').scrollWidth,
                                        boardBox: document.querySelector('.board').clientWidth})""")
        assert sizes["page"] == sizes["viewport"], sizes  # no sideways page scroll
        assert sizes["board"] > sizes["boardBox"]  # ten columns: the board itself scrolls
        cut = page.evaluate("""() => [...document.querySelectorAll('.move-form__select')]
            .filter(s => s.scrollWidth > s.clientWidth + 1 || s.getBoundingClientRect().width < 90)
            .map(s => s.id)""")
        assert cut == []
    finally:
        context.close()
