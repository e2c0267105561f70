"""Issue 9, security 1: production refuses to start without the secrets of its backends,
never runs a development stand-in, and no webhook falls back to a development secret."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.integrations.sandbox_checkout import encode_event, stripe_signature
from app.webhooks.models import WebhookEvent
from app.webhooks.secrets import WEBHOOK_SECRET_SETTINGS, WebhookSecretMissing, webhook_secret
from tests.conftest import make_app
from tests.integration.security_env import production_app, production_env


def start(app, redis_url):
    return make_app(app.config["SQLALCHEMY_DATABASE_URI"], redis_url)


@pytest.mark.parametrize("changes, message", [
    ({"SECRETS_KEY": None}, "SECRETS_KEY must be set"),
    ({"APP_BASE_URL": None}, "APP_BASE_URL must be set"),
    ({"APP_BASE_URL": "crm.example.com"}, "APP_BASE_URL must be set"),
    ({"STRIPE_WEBHOOK_SECRET": None}, "PAYMENTS_BACKEND=stripe needs STRIPE_WEBHOOK_SECRET"),
    ({"STRIPE_SECRET_KEY": None}, "PAYMENTS_BACKEND=stripe needs STRIPE_SECRET_KEY"),
    ({"PAYMENTS_BACKEND": None, "STRIPE_SECRET_KEY": None}, "needs STRIPE_SECRET_KEY"),  # stripe by default
    ({"PAYMENTS_BACKEND": "sandbox"}, "PAYMENTS_BACKEND=sandbox is a development stand-in"),
    ({"MAIL_BACKEND": "outbox"}, "MAIL_BACKEND=outbox is a development stand-in"),
    ({"SMS_BACKEND": "outbox"}, "SMS_BACKEND=outbox is a development stand-in"),
    ({"SMTP_HOST": None}, "MAIL_BACKEND=smtp needs SMTP_HOST"),
    ({"MAIL_BACKEND": None, "SMTP_HOST": None}, "MAIL_BACKEND=smtp needs SMTP_HOST"),
    ({"QBO_CLIENT_ID": "qbo-id", "QBO_CLIENT_SECRET": "x"}, "needs QBO_WEBHOOK_VERIFIER"),
])
def test_production_refuses_to_start(app, redis_url, monkeypatch, changes, message):
    production_env(monkeypatch, **changes)
    with pytest.raises(RuntimeError, match=message):
        start(app, redis_url)


def test_production_starts_with_its_secrets_and_no_stand_ins(app, redis_url, monkeypatch, db_session):
    prod = production_app(app, redis_url, monkeypatch)
    assert prod.config["PAYMENTS_BACKEND"] == "stripe"
    rules = {rule.rule for rule in prod.url_map.iter_rules()}
    assert not any(rule.startswith("/outbox") for rule in rules)
    client = prod.test_client()
    assert client.get("/outbox").status_code == 404
    assert client.get("/pay/some-token/sandbox-checkout").status_code == 404


def test_development_keeps_its_stand_ins(app):
    assert app.config["PAYMENTS_BACKEND"] == "sandbox"
    assert any(rule.rule.startswith("/outbox") for rule in app.url_map.iter_rules())


def _stripe_event() -> tuple[bytes, str]:
    body = encode_event({"id": "evt_forged_prod", "object": "event", "type": "payment_intent.succeeded",
                         "data": {"object": {"id": "pi_forged", "amount_received": 100}}})
    return body, stripe_signature(body, "whsec_dev_sandbox")


def test_a_webhook_without_its_secret_refuses_in_production(app, redis_url, monkeypatch, db_session):
    prod = production_app(app, redis_url, monkeypatch)
    monkeypatch.setitem(prod.config, "STRIPE_WEBHOOK_SECRET", "")  # lost after start
    before = db_session.scalar(select(func.count()).select_from(WebhookEvent))
    body, signature = _stripe_event()  # signed with the development secret
    response = prod.test_client().post("/webhooks/stripe", data=body, headers={
        "Stripe-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(WebhookEvent)) == before


@pytest.mark.parametrize("provider", sorted(WEBHOOK_SECRET_SETTINGS))
def test_every_webhook_secret_has_no_fallback_in_production(app, redis_url, monkeypatch, provider):
    prod = production_app(app, redis_url, monkeypatch)
    with prod.app_context():
        monkeypatch.setitem(prod.config, WEBHOOK_SECRET_SETTINGS[provider], "")
        with pytest.raises(WebhookSecretMissing):
            webhook_secret(provider)
        monkeypatch.setitem(prod.config, WEBHOOK_SECRET_SETTINGS[provider], "real-secret")
        assert webhook_secret(provider) == "real-secret"
    with app.app_context():  # development and tests: a fixed development secret
        assert webhook_secret(provider)


def test_compose_requires_the_secrets_and_has_no_sandbox_default():
    from tests.conftest import ROOT

    compose = (ROOT / "compose.yaml").read_text()
    assert "sandbox" not in compose and "outbox" not in compose
    for key in ("SECRET_KEY", "SECRETS_KEY", "APP_BASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
                "SMTP_HOST"):
        assert f"{key}: ${{{key}:?" in compose, key
