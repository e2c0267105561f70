"""Issue 9, security 9: every absolute URL comes from APP_BASE_URL, never from the
request's Host header (invite links, the checkout's return URLs, the sandbox's webhook)."""
from __future__ import annotations

import re

from app.auth.models import UserRole
from app.integrations.sandbox_checkout import load_session
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice, work_all
from tests.integration.test_public_page import page_csrf, sign

EVIL = {"Host": "evil.example"}
BASE = "https://crm.example.com"


def to_evil_host(client, app) -> None:
    """Send the session (and its CSRF token) to the forged host too, as a browser would
    when the attacker's DNS points evil.example at the app."""
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, client.get_cookie(name).value, domain="evil.example")


def test_invite_links_ignore_the_host_header(app, client, factory, monkeypatch):
    monkeypatch.setitem(app.config, "APP_BASE_URL", BASE)
    login(client, factory.user(UserRole.ADMIN))
    csrf = csrf_token(client, app)
    to_evil_host(client, app)
    response = client.post("/settings/users/invite", headers=EVIL, data={
        "email": "host.test@example.com", "first_name": "Hal", "last_name": "Host", "role": "REP",
        "csrf_token": csrf})
    assert response.status_code == 200
    links = re.findall(r'value="(https?://[^"]+/invite/[^"]+)"', response.get_data(as_text=True))
    assert links and all(link.startswith(f"{BASE}/invite/") for link in links)
    assert "evil.example" not in response.get_data(as_text=True)


def test_the_sandbox_posts_its_events_to_app_base_url(app, client, factory, db_session, monkeypatch):
    from app.integrations import sandbox_checkout

    monkeypatch.setitem(app.config, "APP_BASE_URL", BASE)
    posted: list[str] = []
    monkeypatch.setattr(sandbox_checkout, "post_event",
                        lambda url, payload, signature, timeout=10.0: posted.append(url) or 200)
    _, token = make_invoice(factory)
    sign(client, token)
    csrf = page_csrf(client, token)
    to_evil_host(client, app)
    started = client.post(f"/pay/{token}/checkout", data={"csrf_token": csrf}, headers=EVIL)
    blob = started.location.split("session=")[1]
    with app.test_request_context():
        session = load_session(blob)
    assert session["success_url"] == f"{BASE}/pay/{token}/thanks"
    assert session["cancel_url"].startswith(f"{BASE}/pay/{token}?")
    done = client.post(f"/pay/{token}/sandbox-checkout", headers=EVIL,
                       data={"csrf_token": csrf, "session": blob})
    assert done.status_code == 303
    work_all()
    assert posted and set(posted) == {f"{BASE}/webhooks/stripe"}
