"""Connecting: the OAuth round trip through intuit-oauth (state checked), sealed storage,
disconnect revokes, a dead grant asks for a reconnect with its date; the settings page."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from app.auth.models import UserRole
from app.extensions import db
from app.quickbooks.models import ConnectionStatus, QuickBooksConnection
from tests.factories import csrf_token, login
from tests.integration.quickbooks.fake_qbo import REALM


def _connect_through_the_pages(client, app, fake):
    answer = client.post("/settings/quickbooks/connect", data={"csrf_token": csrf_token(client, app)})
    assert answer.status_code == 303, (answer.status_code, answer.headers.get("Location"))
    authorize = urlsplit(answer.headers["Location"])
    assert authorize.netloc == urlsplit(fake.url).netloc and authorize.path == "/authorize"
    query = parse_qs(authorize.query)
    assert query["redirect_uri"] == ["http://crm.test/settings/quickbooks/callback"]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    return query["state"][0]


def test_connect_checks_the_state_and_stores_realm_and_tokens_sealed(app, client, db_session, factory, qbo_config):
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()  # a view that rolls back a refused answer must not undo the fixture
    login(client, admin)
    state = _connect_through_the_pages(client, app, qbo_config)
    forged = client.get(f"/settings/quickbooks/callback?code={qbo_config.grant()}&state=forged&realmId={REALM}")
    assert forged.status_code == 303
    assert db.session.scalar(select(QuickBooksConnection)) is None  # a forged state connects nothing

    state = _connect_through_the_pages(client, app, qbo_config)
    answer = client.get(f"/settings/quickbooks/callback?code={qbo_config.grant()}&state={state}&realmId={REALM}")
    assert answer.status_code == 303
    connection = db.session.scalar(select(QuickBooksConnection))
    assert connection.status is ConnectionStatus.CONNECTED and connection.connected_by_id == admin.id
    raw = db.session.execute(select(QuickBooksConnection.__table__)).mappings().one()
    assert REALM not in raw["realm_id_sealed"] and raw["realm_id_sealed"].startswith("v1:")
    assert raw["refresh_token_sealed"].startswith("v1:") and "refresh-" not in raw["refresh_token_sealed"]
    from app.integrations.secrets import decrypt

    assert decrypt(raw["refresh_token_sealed"]) in qbo_config.refresh_tokens
    # the state is used once
    again = client.get(f"/settings/quickbooks/callback?code={qbo_config.grant()}&state={state}&realmId={REALM}")
    assert again.status_code == 303
    assert db.session.scalar(select(QuickBooksConnection).where(
        QuickBooksConnection.status == ConnectionStatus.CONNECTED)).id == connection.id

    page = client.get("/settings/quickbooks")
    assert page.status_code == 200 and b"Connected" in page.data and b"Sync now" in page.data

    refresh_token = decrypt(raw["refresh_token_sealed"])
    answer = client.post("/settings/quickbooks/disconnect", data={"csrf_token": csrf_token(client, app)})
    assert answer.status_code == 303
    assert qbo_config.revoked == [refresh_token]
    db.session.refresh(connection)
    assert connection.status is ConnectionStatus.DISCONNECTED and connection.refresh_token_sealed is None


def test_a_refused_refresh_marks_the_grant_dead_with_its_date(app, client, db_session, factory, connected, fake_qbo):
    from app.quickbooks.tokens import GrantDead, fresh_access_token

    admin = factory.user(UserRole.ADMIN)
    connected.access_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    fake_qbo.refresh_tokens.clear()  # Intuit no longer knows our refresh token
    db.session.commit()
    try:
        fresh_access_token(connected.id)
    except GrantDead:
        pass
    else:
        raise AssertionError("a dead grant must raise")
    db.session.refresh(connected)
    assert connected.status is ConnectionStatus.DEAD and connected.dead_at is not None
    login(client, admin)
    page = client.get("/settings/quickbooks")
    assert b"Reconnect QuickBooks." in page.data
    assert connected.dead_at.strftime("%Y").encode() in page.data
    from app.crm.models import Task

    assert db.session.scalar(select(Task).where(Task.title.like("Reconnect QuickBooks%"))) is not None


def test_an_expired_access_token_is_refreshed_and_the_rotated_token_stored(db_session, connected, fake_qbo):
    from app.integrations.secrets import decrypt
    from app.quickbooks.tokens import fresh_access_token

    old_refresh = decrypt(connected.refresh_token_sealed)
    connected.access_expires_at = datetime.now(UTC) + timedelta(minutes=2)  # inside the 5-minute margin
    db.session.commit()
    realm, token = fresh_access_token(connected.id)
    assert realm == REALM and fake_qbo.refresh_calls == 1
    db.session.refresh(connected)
    assert decrypt(connected.refresh_token_sealed) != old_refresh
    assert decrypt(connected.refresh_token_sealed) in fake_qbo.refresh_tokens
    assert decrypt(connected.access_token_sealed) == token
    assert fresh_access_token(connected.id) == (realm, token)
    assert fake_qbo.refresh_calls == 1  # valid: not refreshed again


def test_the_page_says_what_to_configure_when_quickbooks_is_off(app, client, db_session, factory, monkeypatch):
    monkeypatch.setitem(app.config, "QBO_CLIENT_ID", "")
    monkeypatch.setitem(app.config, "QBO_CLIENT_SECRET", "")
    login(client, factory.user(UserRole.ADMIN))
    page = client.get("/settings/quickbooks")
    assert page.status_code == 200
    assert b"QuickBooks is off" in page.data and b"QBO_CLIENT_ID" in page.data
    answer = client.post("/settings/quickbooks/connect", data={"csrf_token": csrf_token(client, app)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/settings/quickbooks")


def test_reps_cannot_open_or_change_quickbooks(app, client, db_session, factory, qbo_config):
    login(client, factory.user(UserRole.REP))
    assert client.get("/settings/quickbooks").status_code == 403
    assert client.post("/settings/quickbooks/connect",
                       data={"csrf_token": csrf_token(client, app)}).status_code == 403


def test_production_refuses_quickbooks_without_its_secrets_or_with_the_test_server():
    from app.config import production_problems

    base = {"SECRET_KEY": "k", "SECRETS_KEY": "k", "APP_BASE_URL": "https://crm.example.com",
            "SESSION_COOKIE_SECURE": True, "MAIL_BACKEND": "smtp", "SMTP_HOST": "smtp", "SMS_BACKEND": "android_sms_gateway",
            "PAYMENTS_BACKEND": "stripe", "STRIPE_SECRET_KEY": "sk", "STRIPE_WEBHOOK_SECRET": "wh"}
    assert not [p for p in production_problems(base) if "QBO" in p]
    problems = production_problems({**base, "QBO_CLIENT_ID": "id", "QBO_ENVIRONMENT": "production"})
    assert any("QBO_CLIENT_SECRET" in p for p in problems) and any("QBO_WEBHOOK_VERIFIER" in p for p in problems)
    problems = production_problems({**base, "QBO_CLIENT_ID": "id", "QBO_CLIENT_SECRET": "s",
                                    "QBO_WEBHOOK_VERIFIER": "v", "QBO_ENVIRONMENT": "prod"})
    assert any("QBO_ENVIRONMENT" in p for p in problems)
    assert any("QBO_BASE_URL" in p for p in production_problems({**base, "QBO_BASE_URL": "http://127.0.0.1:9"}))
