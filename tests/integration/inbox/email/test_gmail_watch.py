"""Gmail push kept alive: each connected mailbox is watched into the Pub/Sub topic (users.watch,
INBOX only) when it connects and renewed before the watch's end, since Gmail stops notifying
silently after at most 7 days. A refusal is shown on the account; without a topic nothing is
watched (the mailbox is polled) and production refuses a topic without the push secret."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.config import production_problems
from app.inbox.email import watch
from app.inbox.models import EmailAccount
from app.job_outbox.models import OutboxJob
from tests.factories import csrf_token, login
from tests.integration.inbox.email.conftest import REP_ADDRESS, connect_account
from tests.integration.inbox.email.test_gmail_accounts import _follow_consent
from tests.integration.test_payments import work_all

TOPIC = "projects/northstar-crm/topics/gmail-push"


@pytest.fixture
def topic(app, monkeypatch):
    monkeypatch.setitem(app.config, "GMAIL_PUBSUB_TOPIC", TOPIC)
    return TOPIC


def _watch_jobs(db_session, account_id):
    return db_session.scalars(select(OutboxJob).where(OutboxJob.func == "app.inbox.email.watch.renew_watch",
                                                      OutboxJob.job_key.startswith(f"gmail-watch-{account_id}-"))).all()


def test_connecting_a_mailbox_starts_its_watch_through_a_job(client, app, db_session, fake_gmail, rep, topic,
                                                             monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    fake_gmail.consent_as = REP_ADDRESS
    login(client, rep)
    start = client.post("/settings/email-accounts/connect", data={"csrf_token": csrf_token(client, app)})
    back = urlsplit(_follow_consent(start.headers["Location"]))
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    account = db_session.scalar(select(EmailAccount).where(EmailAccount.email_address == REP_ADDRESS))
    assert len(_watch_jobs(db_session, account.id)) == 1
    assert "Push starting" in client.get("/settings/email-accounts").text

    work_all()
    assert fake_gmail.watches[REP_ADDRESS]["topicName"] == TOPIC
    assert fake_gmail.watches[REP_ADDRESS]["labelIds"] == ["INBOX"]
    db_session.refresh(account)
    assert timedelta(days=6, hours=23) < account.gmail_watch_expires_at - datetime.now(UTC) <= timedelta(days=7)
    assert account.gmail_watch_error is None
    assert "New mail arrives at once" in client.get("/settings/email-accounts").text


def test_the_periodic_renewal_asks_only_for_watches_ending_within_a_day(db_session, fake_gmail, factory, topic):
    from app.auth.models import UserRole

    now = datetime.now(UTC)
    owners = [factory.user(UserRole.REP) for _ in range(4)]
    fresh, ending, never, revoked = (connect_account(fake_gmail, u, f"rep{i}@northstarfleet.example.com")
                                     for i, u in enumerate(owners))
    fresh.gmail_watch_expires_at = now + timedelta(days=5)
    ending.gmail_watch_expires_at = now + timedelta(hours=20)
    revoked.reconnect_needed_at = now
    db_session.commit()

    assert watch.renew_due_watches(now) == 2
    assert watch.renew_due_watches(now + timedelta(minutes=5)) == 2  # asked again: queued once per day
    asked = {a.id: len(_watch_jobs(db_session, a.id)) for a in (fresh, ending, never, revoked)}
    assert asked == {fresh.id: 0, ending.id: 1, never.id: 1, revoked.id: 0}
    work_all()
    assert set(fake_gmail.watches) == {ending.email_address, never.email_address}
    for account in (ending, never):
        db_session.refresh(account)
        assert account.gmail_watch_expires_at > now + timedelta(days=6)
    assert watch.renew_due_watches(now) == 0  # all renewed: nothing to ask for


def test_a_refused_watch_is_shown_and_retried_next_day_and_a_dead_grant_asks_to_reconnect(
        client, db_session, fake_gmail, rep, topic):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    fake_gmail.unauthorized_topics.add(TOPIC)
    assert watch.renew_watch(account.id).startswith("failed")
    db_session.refresh(account)
    assert "User not authorized" in account.gmail_watch_error and account.gmail_watch_expires_at is None
    login(client, rep)
    assert "Gmail refused the push subscription" in client.get("/settings/email-accounts").text
    assert watch.renew_due_watches() == 1  # a failed watch is asked for again

    fake_gmail.unauthorized_topics.clear()
    fake_gmail.revoked.add(account.refresh_token_plain)
    account.gmail_token_expiry = datetime.now(UTC) - timedelta(minutes=1)  # the refresh is refused
    db_session.commit()
    assert watch.renew_watch(account.id) == "reconnect"
    db_session.refresh(account)
    assert account.reconnect_needed_at is not None


def test_without_a_topic_nothing_is_watched_and_the_mailbox_is_polled(client, db_session, fake_gmail, rep):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    assert watch.renew_due_watches() == 0 and watch.renew_watch(account.id) == "push not configured"
    assert fake_gmail.watches == {}
    login(client, rep)
    assert "New mail checked every 2 min" in client.get("/settings/email-accounts").text


def test_production_refuses_a_topic_without_the_push_secret():
    config = {"GMAIL_PUBSUB_TOPIC": TOPIC, "GMAIL_PUSH_SECRET": ""}
    assert any("GMAIL_PUBSUB_TOPIC" in p for p in production_problems(config))
    assert not any("GMAIL_PUBSUB_TOPIC" in p for p in production_problems({**config, "GMAIL_PUSH_SECRET": "s3"}))
