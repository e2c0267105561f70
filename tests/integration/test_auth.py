"""Sign-in, sessions, invitations and roles, through real requests with CSRF on."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from app.auth.models import User, UserRole
from app.auth.services import invite_token
from tests.factories import PASSWORD, csrf_token, login


def post_login(client, app, email, password, next_url=None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password,
                                  "csrf_token": csrf_token(client, app)})


def test_login_page_renders(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert b'name="csrf_token"' in page.data and b"Sign in" in page.data


def test_sign_in_sets_last_login_and_lands_by_role(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    response = post_login(client, app, rep.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # the rep's day (app.home)
    db_session.refresh(rep)
    assert rep.last_login_at is not None
    operator = factory.user(UserRole.OPERATOR)
    client.post("/logout", data={"csrf_token": csrf_token(client, app)})
    assert post_login(client, app, operator.email, PASSWORD).headers["Location"] == "/"


def test_email_is_case_insensitive(app, client, factory):
    rep = factory.user(email="Case.Person@Example.com".lower())
    assert post_login(client, app, "  CASE.person@example.COM ", PASSWORD).status_code == 302
    assert rep.email == "case.person@example.com"


@pytest.mark.parametrize("who", ["unknown", "wrong-password", "deactivated", "agent", "invited"])
def test_one_message_for_every_failed_sign_in(app, client, factory, who):
    users = {
        "wrong-password": factory.user(),
        "deactivated": factory.user(is_active=False),
        "agent": factory.user(UserRole.AI_AGENT),
        "invited": factory.user(password_hash="!not-yet"),
    }
    email = users[who].email if who in users else "nobody@example.com"
    password = "not the password" if who == "wrong-password" else PASSWORD
    if who == "invited":
        password = "!not-yet"
    response = post_login(client, app, email, password)
    assert response.status_code == 422
    assert b"That e-mail and password do not match an active account." in response.data
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_missing_or_bad_csrf_token_is_refused(client, factory):
    rep = factory.user()
    response = client.post("/login", data={"email": rep.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"Your form expired" in response.data
    response = client.post("/login", data={"email": rep.email, "password": PASSWORD,
                                           "csrf_token": "forged"})
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_sign_in_is_throttled_per_email(app, client, factory):
    rep = factory.user()
    for _ in range(5):
        assert post_login(client, app, rep.email, "wrong").status_code == 422
    blocked = post_login(client, app, rep.email, PASSWORD)
    assert blocked.status_code == 429
    assert b"Too many" in blocked.data


def test_sign_in_is_throttled_per_ip(app, client, factory):
    for i in range(20):
        assert post_login(client, app, f"nobody{i}@example.com", "wrong").status_code == 422
    assert post_login(client, app, "another@example.com", "wrong").status_code == 429


def test_successful_sign_ins_do_not_count_against_the_limit(app, client, factory):
    rep = factory.user()
    for _ in range(7):
        assert post_login(client, app, rep.email, PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, app)})


@pytest.mark.parametrize("target,expected", [
    ("/companies", "/companies"),
    ("//evil.example.com/x", "/"),
    ("https://evil.example.com/", "/"),
    ("/\\evil.example.com", "/"),
])
def test_only_safe_next_redirects(app, client, factory, target, expected):
    rep = factory.user()
    response = post_login(client, app, rep.email, PASSWORD, next_url=target)
    assert response.headers["Location"] == expected


def test_pages_need_sign_in_and_remember_where_you_were(client):
    response = client.get("/companies?q=abc")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_deactivating_a_user_ends_their_session(app, client, factory, db_session):
    admin = factory.user(UserRole.ADMIN)
    rep = factory.user()
    login(client, rep)
    assert client.get("/pipeline").status_code == 200
    rep_cookie = client.get_cookie("crm_session").value

    admin_client = app.test_client()
    login(admin_client, admin)
    response = admin_client.post(f"/settings/users/{rep.id}/deactivate",
                                 data={"csrf_token": csrf_token(admin_client, app)})
    assert response.status_code == 302
    db_session.refresh(rep)
    assert rep.is_active is False

    client.set_cookie("crm_session", rep_cookie)
    old_session = client.get("/pipeline")
    assert old_session.status_code == 302 and "/login" in old_session.headers["Location"]
    assert b"Your session has ended" in client.get("/login").data


def test_sign_out_everywhere_invalidates_other_sessions(app, factory):
    rep = factory.user()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, rep)
    login(phone, rep)
    assert phone.get("/tasks").status_code == 200
    laptop.post("/account/sign-out-everywhere", data={"csrf_token": csrf_token(laptop, app)})
    assert phone.get("/tasks").status_code == 302


def test_roles_gate_sections(client, factory):
    login(client, factory.user(UserRole.REP))
    assert client.get("/settings/").status_code == 403
    assert client.get("/warehouse").status_code == 403
    assert client.get("/pipeline").status_code == 200
    assert client.get("/invoices").status_code == 200
    nav = client.get("/pipeline").get_data(as_text=True)
    assert "Settings" not in re.sub(r"<title>.*?</title>", "", nav)
    assert ">Warehouse<" not in nav


def test_operator_sees_only_the_warehouse(client, factory):
    login(client, factory.user(UserRole.OPERATOR))
    assert client.get("/warehouse").status_code == 200
    for path in ("/pipeline", "/inbox", "/invoices", "/settings/"):
        assert client.get(path).status_code == 403, path


def test_admin_invites_a_user_who_sets_a_password_once(app, client, factory, db_session):
    admin = factory.user(UserRole.ADMIN)
    login(client, admin)
    response = client.post("/settings/users/invite", data={
        "email": "New.Rep@example.com", "first_name": "Nora", "last_name": "New", "role": "REP",
        "csrf_token": csrf_token(client, app)})
    assert response.status_code == 200
    link = re.search(r'value="(http://[^"]+/invite/[^"]+)"', response.get_data(as_text=True)).group(1)
    invited = db_session.query(User).filter_by(email="new.rep@example.com").one()
    assert invited.invited_by_id == admin.id and invited.invited_at is not None
    assert not invited.has_password

    newcomer = app.test_client()
    assert link.startswith(app.config["APP_BASE_URL"] + "/invite/")  # never from the Host header
    path = urlsplit(link).path
    assert newcomer.get(path).status_code == 200
    short = newcomer.post(path, data={"password": "short", "confirm": "short",
                                      "csrf_token": csrf_token(newcomer, app)})
    assert short.status_code == 422 and b"at least 10" in short.data
    done = newcomer.post(path, data={"password": "a long enough pass", "confirm": "a long enough pass",
                                     "csrf_token": csrf_token(newcomer, app)})
    assert done.status_code == 302
    assert newcomer.get("/pipeline").status_code == 200
    again = app.test_client().get(path)
    assert again.status_code == 410 and b"already been used" in again.data


def test_expired_or_forged_invite_links(app, factory, db_session, monkeypatch):
    import time

    from itsdangerous.timed import TimestampSigner

    user = factory.user(password_hash="!pending")
    token = invite_token(user)
    client = app.test_client()
    assert client.get("/invite/not-a-token").status_code == 410
    ttl = app.config["INVITE_TTL_HOURS"] * 3600
    issued = int(time.time())
    # the clock the token is checked against, a minute before and a second after the TTL
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued + ttl - 60)
    assert client.get(f"/invite/{token}").status_code == 200
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: issued + ttl + 1)
    expired = client.get(f"/invite/{token}")
    assert expired.status_code == 410 and b"expired" in expired.data


def test_invite_validation_errors_rerender_with_422(app, client, factory, db_session):
    from sqlalchemy import func, select

    admin = factory.user(UserRole.ADMIN)
    existing = factory.user()
    login(client, admin)
    users = db_session.scalar(select(func.count()).select_from(User))
    response = client.post("/settings/users/invite", data={
        "email": existing.email, "first_name": "A", "last_name": "B", "role": "REP",
        "csrf_token": csrf_token(client, app)}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert b"already exists" in response.data
    bad = client.post("/settings/users/invite", data={
        "email": "not-an-email", "first_name": "", "last_name": "B", "role": "GOD",
        "csrf_token": csrf_token(client, app)})
    assert bad.status_code == 422
    assert db_session.scalar(select(func.count()).select_from(User)) == users  # nobody invited


def test_admin_cannot_deactivate_themselves(app, client, factory, db_session):
    admin = factory.user(UserRole.ADMIN)
    login(client, admin)
    client.post(f"/settings/users/{admin.id}/deactivate", data={"csrf_token": csrf_token(client, app)})
    db_session.refresh(admin)
    assert admin.is_active is True


def test_change_password_keeps_this_session_and_ends_others(app, factory):
    rep = factory.user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, rep)
    login(elsewhere, rep)
    response = here.post("/account", data={"current": PASSWORD, "password": "brand new password",
                                           "confirm": "brand new password", "csrf_token": csrf_token(here, app)})
    assert response.status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302


def test_session_cookie_flags_outside_local_dev(monkeypatch):
    import pytest

    from app import create_app
    from app.config import Config

    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = Config()
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.SECRET_KEY is None  # no built-in key outside development
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_create_user_command(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--email", "Cli@Example.com", "--first-name", "Cli",
                                 "--last-name", "User", "--role", "ADMIN", "--password", "long enough pw"])
    assert result.exit_code == 0, result.output
    assert db_session.query(User).filter_by(email="cli@example.com").one().role is UserRole.ADMIN
    again = runner.invoke(args=["create-user", "--email", "cli@example.com", "--first-name", "C",
                                "--last-name", "U", "--password", "long enough pw"])
    assert again.exit_code != 0 and "already exists" in again.output


