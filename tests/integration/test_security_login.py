"""Issue 9, security 3: sign-in throttling a stranger cannot turn into a lockout.
Failures count per (e-mail, client address) and per client address; the per-e-mail limit
is reached only from many places, and then the owner gets an e-mailed unlock link. Behind
TRUSTED_PROXY_COUNT proxies the client address is the forwarded one (ProxyFix)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.auth.views import LOCKED_EVERYWHERE
from app.integrations.models import OutboxMessage
from tests.conftest import make_app
from tests.factories import PASSWORD, csrf_token
from tests.integration.test_payments import work_all


def attempt(client, app, email, password, ip="10.0.0.1", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/login", headers=headers, environ_base={"REMOTE_ADDR": ip},
                       data={"email": email, "password": password, "csrf_token": csrf_token(client, app)})


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(app, factory):
    rep = factory.user()
    stranger, owner = app.test_client(), app.test_client()
    for _ in range(5):
        assert attempt(stranger, app, rep.email, "guess", ip="203.0.113.9").status_code == 422
    assert attempt(stranger, app, rep.email, "guess", ip="203.0.113.9").status_code == 429
    assert attempt(stranger, app, rep.email, PASSWORD, ip="203.0.113.9").status_code == 429
    assert attempt(owner, app, rep.email, PASSWORD, ip="198.51.100.7").status_code == 302


def test_one_address_guessing_many_accounts_is_stopped(app, factory):
    rep = factory.user()
    client = app.test_client()
    for i in range(20):
        assert attempt(client, app, f"nobody{i}@example.com", "guess", ip="203.0.113.10").status_code == 422
    assert attempt(client, app, rep.email, PASSWORD, ip="203.0.113.10").status_code == 429
    assert attempt(client, app, rep.email, PASSWORD, ip="203.0.113.11").status_code == 302


@pytest.fixture
def low_email_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_EMAIL", "8 per hour")


def test_a_distributed_attack_pauses_the_account_and_mails_an_unlock_link(
        app, factory, db_session, low_email_limit):
    rep = factory.user()
    botnet = app.test_client()
    for i in range(8):
        assert attempt(botnet, app, rep.email, "guess", ip=f"192.0.2.{i + 1}").status_code == 422
    owner = app.test_client()
    paused = attempt(owner, app, rep.email, PASSWORD, ip="198.51.100.7")
    assert paused.status_code == 429
    assert LOCKED_EVERYWHERE.split(",")[0] in paused.get_data(as_text=True)
    assert attempt(botnet, app, rep.email, "guess", ip="192.0.2.99").status_code == 429
    work_all()
    [mail] = db_session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == rep.email)).all()
    link = re.search(r"https?://\S+/login/unlock/\S+", mail.body_text).group(0)
    assert link.startswith(app.config["APP_BASE_URL"])

    assert owner.get(urlsplit(link).path).status_code == 302
    assert attempt(owner, app, rep.email, PASSWORD, ip="198.51.100.7").status_code == 302
    # the link unlocks the owner's browser only
    assert attempt(app.test_client(), app, rep.email, PASSWORD, ip="198.51.100.8").status_code == 429
    assert app.test_client().get("/login/unlock/forged").status_code == 302  # a warning, nothing more


def test_an_unknown_email_gets_the_same_answer_and_no_mail(app, factory, db_session, low_email_limit):
    client = app.test_client()
    for i in range(8):
        attempt(client, app, "nobody@example.com", "guess", ip=f"192.0.2.{i + 1}")
    paused = attempt(client, app, "nobody@example.com", "guess", ip="192.0.2.50")
    assert paused.status_code == 429 and LOCKED_EVERYWHERE.split(",")[0] in paused.get_data(as_text=True)
    work_all()
    assert db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == "nobody@example.com")).all() == []


def test_behind_a_trusted_proxy_the_client_address_counts(app, redis_url, factory, db_session):
    proxied = make_app(app.config["SQLALCHEMY_DATABASE_URI"], redis_url, TRUSTED_PROXY_COUNT=1)
    client = proxied.test_client()
    for i in range(20):  # all through the proxy at 10.0.0.254
        response = attempt(client, proxied, f"nobody{i}@example.com", "guess", ip="10.0.0.254",
                           forwarded=f"spoofed-{i}, 203.0.113.20")
        assert response.status_code == 422
    # the client at 203.0.113.20 is stopped, whatever it puts before its address ...
    assert attempt(client, proxied, "x@example.com", "guess", ip="10.0.0.254",
                   forwarded="198.51.100.1, 203.0.113.20").status_code == 429
    # ... another client behind the same proxy is not
    assert attempt(client, proxied, "x@example.com", "guess", ip="10.0.0.254",
                   forwarded="203.0.113.21").status_code == 422


def test_without_a_trusted_proxy_forwarded_for_is_ignored(app, factory):
    client = app.test_client()
    for i in range(20):
        assert attempt(client, app, f"nobody{i}@example.com", "guess", ip="10.0.0.9",
                       forwarded=f"203.0.113.{i}").status_code == 422
    assert attempt(client, app, "x@example.com", "guess", ip="10.0.0.9",
                   forwarded="198.51.100.99").status_code == 429
