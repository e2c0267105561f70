"""The UI shell: error pages, htmx fragments, security headers, health check."""
from __future__ import annotations

from app.auth.models import UserRole
from tests.factories import login


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_no_inline_scripts_or_styles_in_the_shell(client, factory):
    login(client, factory.user(UserRole.ADMIN))
    for path in ("/pipeline", "/settings/users", "/account", "/companies"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "hx-on" not in html, path


def test_unknown_url_gets_a_404_page(client, factory):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"There is nothing at this address" in response.data
    login(client, factory.user())
    assert b"Pipeline" in client.get("/no/such/page").data  # signed in: inside the app shell


def test_htmx_errors_are_small_fragments_with_a_toast(client, factory):
    login(client, factory.user(UserRole.REP))
    response = client.get("/settings/", headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert b"<html" not in response.data
    assert response.headers["HX-Reswap"] == "none"
    assert "toast" in response.headers["HX-Trigger"]


def test_unauthenticated_htmx_request_redirects_the_page(client):
    response = client.get("/tasks", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"


def test_500_page_when_something_breaks(app, client, factory, db_session, monkeypatch):
    from app.crm.pipeline import board

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(board, "board", boom)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    user = factory.user()
    db_session.commit()  # the error handler rolls back the request's transaction
    login(client, user)
    response = client.get("/pipeline")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data and b"kaboom" not in response.data


def test_healthz_reports_database_and_redis(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_says_which_part_is_down(app, client, monkeypatch):
    class DeadRedis:
        def ping(self):
            raise ConnectionError("refused")

    monkeypatch.setattr("app.main.views.redis_connection", lambda: DeadRedis())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "redis": "down"}


def test_htmx_is_served_pinned_from_static(client):
    response = client.get("/static/vendor/htmx-4.0.1.min.js")
    assert response.status_code == 200 and b"4.0.1" in response.data
