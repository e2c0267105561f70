"""In a real browser: a rep connects their Gmail under Settings → E-mail accounts through
Google's OAuth (the local Google server's consent page answers at once and sends the browser
back to the callback), the account shows as connected; an admin sees every rep's mailbox with
its sync state, and a mailbox whose grant Google refused as "Reconnect needed" with the date."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.e2e.conftest import sign_in
from tests.e2e.test_pay_flow import shot
from tests.gmail_api_fake import FakeGmail
from tests.integration.inbox.email.conftest import gmail_config

pytestmark = pytest.mark.e2e

PASSWORD = "browser pass 123"


@pytest.fixture
def google(live_app, live_server, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the local token endpoint is plain http
    with FakeGmail() as fake:
        for key, value in {**gmail_config(fake), "APP_BASE_URL": live_server}.items():
            monkeypatch.setitem(live_app.config, key, value)
        yield fake


def _user(role, first, last):
    from app.auth.services import create_user

    return create_user(email=f"e2e-gmail-{uuid.uuid4().hex[:8]}@example.com", first_name=first, last_name=last,
                       role=role, password=PASSWORD)


def test_a_rep_connects_gmail_and_an_admin_sees_every_mailbox_state(live_app, live_server, browser, google):
    from app.extensions import db
    from app.inbox.models import EmailAccount
    from app.integrations.secrets import encrypt

    suffix = uuid.uuid4().hex[:6]
    rep_address = f"jordan.{suffix}@northstarfleet.example.com"
    with live_app.app_context():
        rep = _user(UserRole.REP, "Jordan", "Reyes")
        sam = _user(UserRole.REP, "Sam", "Ortiz")
        admin = _user(UserRole.ADMIN, "Nick", "Admin")
        now = datetime.now(UTC)
        db.session.add_all([
            EmailAccount(user_id=sam.id, provider="gmail", email_address=f"sam.{suffix}@northstarfleet.example.com",
                         display_name="Sam Ortiz", gmail_refresh_token=encrypt("1//dead"),
                         reconnect_needed_at=now - timedelta(days=2), last_synced_at=now - timedelta(days=2),
                         last_sync_error="Google refused the account's access (reconnect it): invalid_grant: "
                                         "Token has been expired or revoked.", last_sync_error_at=now - timedelta(days=2)),
            EmailAccount(user_id=sam.id, provider="smtp", email_address=f"sam.{suffix}@ortiz-sales.example.com",
                         smtp_host="smtp.office365.com", smtp_port=587, smtp_user="sam", smtp_pass=encrypt("pw")),
        ])
        from tests.factories import Factory

        factory = Factory(db.session)
        company = factory.company(name="Cool Breeze Heating & Air")
        lead = factory.lead(company, factory.contact(company, email="tanya@coolbreezeaz.example.com",
                                                      email_normalized="tanya@coolbreezeaz.example.com"))
        db.session.commit()
        rep_email, admin_email, lead_id = rep.email, admin.email, lead.id
        db.session.remove()
    google.consent_as = rep_address

    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, rep_email, PASSWORD)
    page.goto(f"{live_server}/settings/email-accounts")
    expect(page.get_by_text("No mailbox connected")).to_be_visible()
    page.get_by_role("button", name="Connect Gmail").click()  # Google's consent, then the callback
    expect(page.get_by_text(f"{rep_address} is connected")).to_be_visible(timeout=20_000)
    assert page.url == f"{live_server}/settings/email-accounts"
    row = page.locator("tr", has_text=rep_address)
    expect(row.get_by_text("Connected")).to_be_visible()
    expect(row.get_by_role("button", name="Sync now")).to_be_visible()
    expect(page.get_by_text(f"sam.{suffix}")).to_have_count(0)  # another rep's mailboxes
    shot(page, "gmail-accounts-rep.png")
    page.goto(f"{live_server}/leads/{lead_id}")  # the composer sends from the rep's own Gmail now
    composer = page.locator(".email-composer")
    expect(composer.get_by_text(f"From Jordan Reyes <{rep_address}>")).to_be_visible()
    composer.scroll_into_view_if_needed()
    shot(page, "gmail-lead-composer.png")
    context.close()

    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, admin_email, PASSWORD)
    page.goto(f"{live_server}/settings")
    page.get_by_role("link", name="E-mail accounts").click()
    sam_row = page.locator("tr", has_text=f"sam.{suffix}@northstarfleet.example.com")
    expect(sam_row.get_by_text("Reconnect needed")).to_be_visible()
    expect(sam_row.get_by_text("since ")).to_be_visible()
    expect(page.locator("tr", has_text=f"sam.{suffix}@ortiz-sales.example.com").get_by_text("Sends only")).to_be_visible()
    expect(page.locator("tr", has_text=rep_address).get_by_text("Jordan Reyes")).to_be_visible()
    shot(page, "gmail-accounts-admin.png")
    context.close()
    assert errors == []
