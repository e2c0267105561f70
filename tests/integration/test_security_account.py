"""Issue 9, security 4: changing the password on /account needs the current one (a stolen
session must not become a stolen account), and ends the other sessions."""
from __future__ import annotations

from app.auth.passwords import verify_password
from tests.factories import PASSWORD, csrf_token, login

NEW = "brand new password"


def change(client, app, current):
    return client.post("/account", data={"current": current, "password": NEW, "confirm": NEW,
                                         "csrf_token": csrf_token(client, app)})


def test_a_wrong_or_missing_current_password_changes_nothing(app, factory, db_session):
    rep = factory.user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, rep)
    login(elsewhere, rep)
    version = rep.session_version
    for current in ("not my password", ""):
        response = change(here, app, current)
        assert response.status_code == 422
        if current:
            assert b"That is not your current password." in response.data
    db_session.refresh(rep)
    assert verify_password(rep.password_hash, PASSWORD) and not verify_password(rep.password_hash, NEW)
    assert rep.session_version == version
    assert elsewhere.get("/account").status_code == 200  # nobody was signed out


def test_the_right_current_password_changes_it_and_ends_the_other_sessions(app, factory, db_session):
    rep = factory.user()
    here, elsewhere = app.test_client(), app.test_client()
    login(here, rep)
    login(elsewhere, rep)
    assert b'autocomplete="current-password"' in here.get("/account").data
    assert change(here, app, PASSWORD).status_code == 302
    db_session.refresh(rep)
    assert verify_password(rep.password_hash, NEW)
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302


def test_guessing_the_current_password_is_throttled(app, factory, db_session):
    rep = factory.user()
    client = app.test_client()
    login(client, rep)
    for _ in range(10):
        assert change(client, app, "guess").status_code == 422
    assert change(client, app, PASSWORD).status_code == 429
    db_session.refresh(rep)
    assert verify_password(rep.password_hash, PASSWORD)
