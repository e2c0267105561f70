"""Issue 9, security 11: signed-in pages and the customer's invoice pages are never
cached (Cache-Control: no-store); in production the session cookie is a __Host- cookie."""
from __future__ import annotations

import re

from app.auth.models import UserRole
from tests.factories import PASSWORD, login
from tests.integration.security_env import production_app
from tests.integration.test_payments import make_invoice


def test_signed_in_pages_are_not_stored(client, factory):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(client, factory.user(UserRole.ADMIN))
    for path in ("/pipeline", "/companies", "/settings/", "/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_public_invoice_pages_are_not_stored(client, factory):
    _, token = make_invoice(factory)
    for path in (f"/pay/{token}", "/pay/unknown-token"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_production_session_cookie_is_a_host_cookie(app, redis_url, monkeypatch, factory, db_session):
    prod = production_app(app, redis_url, monkeypatch)
    user = factory.user(UserRole.REP)
    client = prod.test_client()
    base = "https://crm.example.com"
    page = client.get("/login", base_url=base)
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-crm_session=")
    attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
    assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
    assert not any(a.startswith("domain") for a in attributes)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    signed_in = client.post("/login", base_url=base, headers={"Referer": f"{base}/login"}, data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code == 302
    assert client.get("/pipeline", base_url=base).status_code == 200
