"""Real Chromium (Debian's package) driven by Playwright against a live server.

The server runs the app in a thread on its own committed database (browser
requests cannot share the per-test rolled-back transaction).
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import make_app

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def live_app(databases, redis_url):
    from flask_migrate import upgrade

    # generous limits, not RATELIMIT_ENABLED=False: the limiter is shared by every app in the run
    app = make_app(databases.create("crm_e2e"), redis_url, LOGIN_LIMIT_PER_IP="1000 per minute",
                   LOGIN_LIMIT_PER_EMAIL="1000 per minute", LOGIN_LIMIT_PER_EMAIL_IP="1000 per minute")
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run must install Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page, live_server: str, email: str, password: str, *, lands_on: str = "/") -> None:
    """Through the real sign-in form, as a person would (Enter in the password field)."""
    import re

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(live_server + lands_on) + r"(\?.*)?$"))
