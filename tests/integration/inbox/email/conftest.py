from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.models import UserRole
from tests.gmail_api_fake import FakeGmail

REP_ADDRESS = "jordan.reyes@northstarfleet.example.com"  # the samples' rep
CUSTOMER = "tanya@coolbreezeaz.example.com"  # the samples' customer


def gmail_config(fake: FakeGmail) -> dict:
    return {"GOOGLE_CLIENT_ID": "1234-test.apps.googleusercontent.com", "GOOGLE_CLIENT_SECRET": "GOCSPX-test",
            "GOOGLE_AUTH_URI": fake.url + "o/oauth2/auth", "GOOGLE_TOKEN_URI": fake.url + "token",
            "GMAIL_API_BASE": fake.url}


@pytest.fixture
def fake_gmail(app, monkeypatch):
    with FakeGmail() as fake:
        for key, value in gmail_config(fake).items():
            monkeypatch.setitem(app.config, key, value)
        yield fake


def connect_account(fake: FakeGmail, user, address: str = REP_ADDRESS, *, expires_in=timedelta(hours=1),
                    history_id: str | None = "current"):
    """A connected Gmail account as the OAuth callback leaves it (tokens sealed)."""
    from app.extensions import db
    from app.inbox.models import EmailAccount
    from app.integrations.secrets import encrypt

    refresh, access = fake.grant(address)
    box = fake.mailbox(address)
    account = EmailAccount(user_id=user.id, email_address=address, provider="gmail", display_name=user.full_name,
                           gmail_refresh_token=encrypt(refresh), gmail_access_token=encrypt(access),
                           gmail_token_expiry=datetime.now(UTC) + expires_in,
                           gmail_history_id=str(box.history_id) if history_id == "current" else history_id)
    db.session.add(account)
    db.session.flush()
    account.refresh_token_plain = refresh
    return account


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP, first_name="Jordan", last_name="Reyes")


@pytest.fixture
def customer_lead(factory, db_session):
    company = factory.company()
    contact = factory.contact(company, email="Tanya@CoolBreezeAZ.example.com", email_normalized=CUSTOMER)
    lead = factory.lead(company, contact)
    db_session.commit()
    return lead
