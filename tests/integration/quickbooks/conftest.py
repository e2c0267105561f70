"""QuickBooks tests: a local QuickBooks (tests/integration/quickbooks/fake_qbo.py) the app is
pointed at through QBO_BASE_URL, and a connection made through the real OAuth calls."""
from __future__ import annotations

import pytest

from tests.integration.quickbooks.fake_qbo import CLIENT_ID, CLIENT_SECRET, FakeQuickBooks

VERIFIER = "qbo-verifier-token-for-tests"


def qbo_settings(fake_url: str) -> dict:
    return {"QBO_CLIENT_ID": CLIENT_ID, "QBO_CLIENT_SECRET": CLIENT_SECRET, "QBO_ENVIRONMENT": "sandbox",
            "QBO_BASE_URL": fake_url, "QBO_WEBHOOK_VERIFIER": VERIFIER, "APP_BASE_URL": "http://crm.test"}


@pytest.fixture
def fake_qbo():
    with FakeQuickBooks() as fake:
        yield fake


@pytest.fixture
def qbo_config(app, fake_qbo, monkeypatch):
    for key, value in qbo_settings(fake_qbo.url).items():
        monkeypatch.setitem(app.config, key, value)
    return fake_qbo


def connect(fake, admin=None):
    """A connection made as the callback makes it (state checked, code traded for tokens)."""
    from app.extensions import db
    from app.quickbooks.connection import finish_connect

    connection = finish_connect(code=fake.grant(), realm_id="9341455123456789", state="s", expected_state="s",
                                error=None, actor=admin)
    db.session.commit()
    return connection


@pytest.fixture
def connected(db_session, qbo_config):
    return connect(qbo_config)


@pytest.fixture(autouse=True)
def _fresh_buckets(request):
    """Each test starts with the realm's buckets full and no back-off."""
    if "app" not in request.fixturenames and "db_session" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        from app.queue import redis_connection

        conn = redis_connection()
        for key in conn.scan_iter("crm:qbo:*"):
            conn.delete(key)
