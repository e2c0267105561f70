"""Settings → E-mail accounts: connecting Gmail through Google's OAuth (google-auth-oauthlib's
Flow against a local token endpoint: state checked, PKCE verifier sent, offline access), tokens
sealed at rest, refreshed before they expire, a dead grant (`invalid_grant`) shown as
"reconnect" with its date to the owner and admins, SMTP accounts, disconnect."""
from __future__ import annotations

import http.client
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.inbox.models import EmailAccount
from app.integrations.secrets import decrypt
from app.job_outbox.models import OutboxJob
from tests.factories import csrf_token, login
from tests.integration.inbox.email.conftest import REP_ADDRESS, connect_account
from tests.integration.test_smtp import smtp_server  # noqa: F401 (a fixture)

SHOWN = REP_ADDRESS.replace("@", "@<wbr>")  # how the page writes an address (it may break at the @)


def _follow_consent(url: str) -> str:
    """The browser at Google's consent page (the fake consents at once): where it is sent back."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", f"{parts.path}?{parts.query}")
    response = conn.getresponse()
    assert response.status == 302
    return response.getheader("Location")


def _accounts(db_session):
    return db_session.scalars(select(EmailAccount).where(EmailAccount.provider == "gmail")).all()


def test_connecting_gmail_stores_sealed_tokens_and_asks_for_the_first_sync(
        client, app, db_session, fake_gmail, rep, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the local token endpoint is plain http
    fake_gmail.consent_as = REP_ADDRESS
    login(client, rep)
    start = client.post("/settings/email-accounts/connect", data={"csrf_token": csrf_token(client, app)})
    assert start.status_code == 302
    consent = urlsplit(start.headers["Location"])
    asked = parse_qs(consent.query)
    assert consent.path == "/o/oauth2/auth" and asked["access_type"] == ["offline"]
    assert asked["redirect_uri"] == ["http://127.0.0.1:5000/settings/email-accounts/oauth/callback"]
    assert set(asked["scope"][0].split()) == {"https://www.googleapis.com/auth/gmail.send",
                                              "https://www.googleapis.com/auth/gmail.readonly"}
    assert asked["code_challenge_method"] == ["S256"] and asked["state"][0]

    back = urlsplit(_follow_consent(start.headers["Location"]))
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302 and done.headers["Location"].endswith("/settings/email-accounts")

    [account] = _accounts(db_session)
    assert account.email_address == REP_ADDRESS and account.user_id == rep.id
    assert account.gmail_refresh_token.startswith("v1:") and account.gmail_access_token.startswith("v1:")
    assert decrypt(account.gmail_refresh_token) in fake_gmail.refresh_tokens
    assert timedelta(minutes=55) < account.gmail_token_expiry - datetime.now(UTC) < timedelta(minutes=61)
    [exchange] = fake_gmail.token_requests
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    assert db_session.scalar(select(OutboxJob).where(OutboxJob.func == "app.inbox.email.sync_jobs.sync_account",
                                                     OutboxJob.job_key.startswith(f"gmail-sync-{account.id}-"))) is not None
    page = client.get("/settings/email-accounts")
    assert SHOWN in page.text and "Connected" in page.text and "Sync now" in page.text


def test_a_callback_whose_state_is_not_this_browsers_is_refused(client, app, db_session, fake_gmail, rep,
                                                                monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    fake_gmail.consent_as = REP_ADDRESS
    login(client, rep)
    start = client.post("/settings/email-accounts/connect", data={"csrf_token": csrf_token(client, app)})
    back = urlsplit(_follow_consent(start.headers["Location"]))
    forged = back.query.replace("state=", "state=x")
    response = client.get(f"{back.path}?{forged}")
    assert response.status_code == 400 and "connect again" in response.text
    assert _accounts(db_session) == [] and fake_gmail.token_requests == []
    # and a callback with no connect started in this browser
    assert client.get(f"{back.path}?{back.query}").status_code == 400


def test_a_consent_that_unticked_reading_mail_is_refused_with_what_is_missing(
        client, app, db_session, fake_gmail, rep, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    fake_gmail.consent_as = REP_ADDRESS
    fake_gmail.granted_scope = "https://www.googleapis.com/auth/gmail.send"  # Google's granular consent
    login(client, rep)
    start = client.post("/settings/email-accounts/connect", data={"csrf_token": csrf_token(client, app)})
    back = urlsplit(_follow_consent(start.headers["Location"]))
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 422 and "missing: gmail.readonly" in response.text
    assert _accounts(db_session) == []


def test_an_access_token_about_to_expire_is_refreshed_first_and_sealed_again(db_session, fake_gmail, rep):
    from app.inbox.email import gmail_client

    account = connect_account(fake_gmail, rep, expires_in=timedelta(minutes=2))
    before = account.gmail_access_token
    assert gmail_client.Mailbox(account).profile()["emailAddress"] == REP_ADDRESS
    assert [r["grant_type"] for r in fake_gmail.token_requests] == ["refresh_token"]
    assert account.gmail_access_token != before and account.gmail_access_token.startswith("v1:")
    assert account.gmail_token_expiry - datetime.now(UTC) > timedelta(minutes=55)
    # a fresh token is used as it is
    gmail_client.Mailbox(account).profile()
    assert len(fake_gmail.token_requests) == 1


def test_a_revoked_grant_shows_reconnect_with_its_date_to_the_owner_and_admins(
        client, db_session, factory, fake_gmail, rep):
    from app.inbox.email import accounts
    from app.inbox.email.sync import sync_account

    account = connect_account(fake_gmail, rep, expires_in=timedelta(seconds=30))
    fake_gmail.revoked.add(account.refresh_token_plain)
    db_session.commit()
    assert sync_account(account.id) == "reconnect"
    db_session.refresh(account)
    assert account.reconnect_needed_at is not None and "invalid_grant" in account.last_sync_error
    assert accounts.state(account) == "reconnect"
    assert accounts.sending_account(rep.id) is None  # its e-mails leave from the system sender
    since = account.reconnect_needed_at.strftime("%Y-%m-%d %H:%M UTC")

    for viewer in (rep, factory.user(UserRole.ADMIN)):
        login(client, viewer)
        page = client.get("/settings/email-accounts")
        assert "Reconnect needed" in page.text and f"since {since}" in page.text and SHOWN in page.text
    login(client, factory.user(UserRole.REP))
    assert "jordan.reyes@" not in client.get("/settings/email-accounts").text  # another rep's mailbox
    # the next poll leaves it alone: no request reaches Google until it is reconnected
    fake_gmail.token_requests.clear()
    assert sync_account(account.id) == "not connected" and fake_gmail.token_requests == []


def test_the_owner_sees_reconnect_on_the_lead_page_composer(client, db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    account.reconnect_needed_at = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    db_session.commit()
    login(client, rep)
    panel = client.get(f"/leads/{customer_lead.id}/thread")
    assert "needs reconnecting (Google refused it 2026-11-20 09:30 UTC)" in panel.text
    assert "From GPS Leaders &lt;sales@example.com&gt;" in panel.text


def test_another_rep_cannot_sync_or_disconnect_an_account(client, app, db_session, factory, fake_gmail, rep):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    login(client, factory.user(UserRole.REP))
    token = csrf_token(client, app)
    assert client.post(f"/settings/email-accounts/{account.id}/sync", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/settings/email-accounts/{account.id}/disconnect",
                       data={"csrf_token": token}).status_code == 403
    db_session.refresh(account)
    assert account.is_active and account.gmail_refresh_token


def test_sync_now_and_disconnect(client, app, db_session, fake_gmail, rep):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    login(client, rep)
    token = csrf_token(client, app)
    assert client.post(f"/settings/email-accounts/{account.id}/sync", data={"csrf_token": token}).status_code == 302
    assert db_session.scalar(select(OutboxJob).where(OutboxJob.func == "app.inbox.email.sync_jobs.sync_account"))
    assert client.post(f"/settings/email-accounts/{account.id}/disconnect",
                       data={"csrf_token": token}).status_code == 302
    db_session.refresh(account)
    assert not account.is_active and account.gmail_refresh_token is None and account.gmail_access_token is None
    assert "Disconnected" in client.get("/settings/email-accounts").text


def test_an_smtp_account_is_saved_with_its_password_sealed_and_sends_the_reps_mail(
        client, app, db_session, rep, customer_lead):
    from app.inbox.email import accounts

    login(client, rep)
    bad = client.post("/settings/email-accounts/smtp/new", data={
        "csrf_token": csrf_token(client, app), "email_address": "not an address", "smtp_host": "smtp example",
        "smtp_port": "70000"})
    assert bad.status_code == 422 and "Enter an e-mail address." in bad.text and "A port is 1 to 65535." in bad.text
    ok = client.post("/settings/email-accounts/smtp/new", data={
        "csrf_token": csrf_token(client, app), "email_address": "Jordan@NorthstarFleet.example.com",
        "display_name": "Jordan Reyes", "smtp_host": "smtp.northstarfleet.example.com", "smtp_port": "587",
        "smtp_user": "jordan", "smtp_pass": "app-password-1"})
    assert ok.status_code == 302
    [account] = db_session.scalars(select(EmailAccount).where(EmailAccount.provider == "smtp")).all()
    assert account.email_address == "jordan@northstarfleet.example.com" and account.user_id == rep.id
    assert account.smtp_pass.startswith("v1:") and decrypt(account.smtp_pass) == "app-password-1"
    assert accounts.sending_account(rep.id) == account
    page = client.get("/settings/email-accounts")
    assert "Sends only" in page.text and "smtp.northstarfleet.example.com:587" in page.text


@pytest.mark.parametrize("config, problem", [
    ({"MAIL_BACKEND": "gmail"}, "MAIL_BACKEND=gmail needs GOOGLE_CLIENT_ID"),
    ({"MAIL_BACKEND": "gmail", "GOOGLE_CLIENT_ID": "id"}, "MAIL_BACKEND=gmail needs GOOGLE_CLIENT_SECRET"),
    ({"GOOGLE_CLIENT_ID": "id"}, "GOOGLE_CLIENT_ID (Gmail) is set without GOOGLE_CLIENT_SECRET"),
])
def test_production_refuses_gmail_without_its_secrets(config, problem):
    from app.config import production_problems

    base = {"SECRET_KEY": "k", "SECRETS_KEY": "k", "APP_BASE_URL": "https://crm.example.com",
            "MAIL_BACKEND": "smtp", "SMTP_HOST": "smtp", "MAIL_FROM": "a@b.c", "PAYMENTS_BACKEND": "stripe",
            "STRIPE_SECRET_KEY": "k", "STRIPE_WEBHOOK_SECRET": "k", "SESSION_COOKIE_SECURE": True,
            "SMS_BACKEND": "none"}
    assert problem in production_problems({**base, **config})
    assert production_problems({**base, **config, "GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "s"}) == []


def test_a_reps_smtp_account_sends_through_its_own_server_with_its_sealed_password(
        client, app, db_session, rep, customer_lead, smtp_server, monkeypatch):  # noqa: F811
    from email import message_from_bytes
    from email.policy import default as default_policy

    from app.inbox.email import accounts, jobs
    from app.inbox.models import EmailMessage, EmailStatus

    inbox, port, _ = smtp_server(tls=False)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", "false")  # the local test server has no TLS
    accounts.save_smtp_account(rep.id, email_address="jordan@northstarfleet.example.com", display_name="Jordan Reyes",
                               host="127.0.0.1", port=port, username="crm", password="s3cret")
    db_session.commit()
    login(client, rep)
    client.post(f"/leads/{customer_lead.id}/email", headers={"HX-Request": "true"}, data={
        "subject": "Trackers", "body": "Hi Tanya", "csrf_token": csrf_token(client, app)})
    message = db_session.scalar(select(EmailMessage))
    assert jobs.send_email(str(message.id)) == "sent"
    db_session.refresh(message)
    assert message.status is EmailStatus.SENT
    [(_, _, raw)] = inbox.received  # the account's password was accepted by the server (crm / s3cret)
    sent = message_from_bytes(raw, policy=default_policy)
    assert sent["From"] == "Jordan Reyes <jordan@northstarfleet.example.com>"
    assert sent["Message-ID"] == message.message_id == f"<{message.id}@northstarfleet.example.com>"
