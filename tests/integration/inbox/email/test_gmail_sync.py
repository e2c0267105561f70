"""Receiving Gmail: incremental users.history.list from the stored history id, a 404 on a stale
id → resync of the recent window, the cursor held on a failed fetch, one copy of an e-mail in
two reps' mailboxes, threading by Gmail thread id, and POST /webhooks/gmail (Pub/Sub push)."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.inbox.email.models import EmailMessageSource
from app.inbox.email.sync import parse_message, sync_account
from app.inbox.models import EmailMessage, EmailThread
from app.webhooks.models import WebhookEvent
from tests.gmail_api_fake import sample
from tests.integration.inbox.email.conftest import CUSTOMER, REP_ADDRESS, connect_account
from tests.integration.test_payments import work_all


def _customer_writes(fake, address=REP_ADDRESS, n=1, **kw):
    return [fake.mailbox(address).add(from_=f"Tanya Brooks <{CUSTOMER}>", to=address, subject=kw.get(
        "subject", f"Question {i}"), body=kw.get("body", f"Hi Jordan, question {i}?"),
        message_id=kw.get("message_id", f"<q{i}-{id(fake)}@coolbreezeaz.example.com>"),
        in_reply_to=kw.get("in_reply_to")) for i in range(n)]


def _stored(db_session):
    return db_session.scalars(select(EmailMessage).order_by(EmailMessage.created_at)).all()


def _gets(fake) -> int:
    return sum(1 for method, path in fake.requests if method == "GET" and "/messages/" in path)


def test_the_sample_full_message_is_read_as_gmail_documents_it():
    fields = parse_message(sample("message-get-full-reply.json"))
    assert fields["from_address"] == "Tanya Brooks <tanya@coolbreezeaz.example.com>"
    assert fields["message_id"] == "<CAH9x7Lq2vRf8K3mWz0pT5yQbN1cJ4eD6uA@mail.coolbreezeaz.example.com>"
    assert fields["in_reply_to"] == "<20261109172205.4F7C2A91E3@northstarfleet.example.com>"
    assert fields["gmail_thread_id"] == "19a6e91d4c2a8b53" and fields["gmail_message_id"] == "19a6f3c2b8e4d701"
    assert fields["body"].startswith("Hi Jordan,\n\nYes, it's 22 vans.") and "\r" not in fields["body"]
    assert fields["received_at"].isoformat() == "2026-11-10T16:14:22+00:00"
    assert fields["labels"] == {"UNREAD", "IMPORTANT", "CATEGORY_PERSONAL", "INBOX"}


def test_incremental_sync_stores_new_inbox_messages_once_and_moves_the_cursor(
        db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    start = account.gmail_history_id
    first, second = _customer_writes(fake_gmail, n=2)
    fake_gmail.mailbox(REP_ADDRESS).label_change(first["id"])  # read in Gmail: no new message
    assert sync_account(account.id).startswith("synced (fetched 2, stored 2")
    assert fake_gmail.batches == 1 and _gets(fake_gmail) == 2  # both fetched in one batch request
    db_session.refresh(account)
    assert account.gmail_history_id == str(fake_gmail.mailbox(REP_ADDRESS).history_id) != start
    assert account.last_synced_at is not None and account.last_sync_error is None and account.sync_started_at is None
    stored = _stored(db_session)
    assert [m.gmail_message_id for m in stored] == [first["id"], second["id"]]
    assert {m.thread.lead_id for m in stored} == {customer_lead.id}  # matched by the normalised address
    # nothing new: no message fetched again
    gets = _gets(fake_gmail)
    assert sync_account(account.id).startswith("synced (fetched 0, stored 0")
    assert _gets(fake_gmail) == gets and len(_stored(db_session)) == 2


def test_a_reply_in_the_same_gmail_thread_joins_the_thread_without_any_header(db_session, fake_gmail, rep,
                                                                             customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    [first] = _customer_writes(fake_gmail, subject="Pricing")
    sync_account(account.id)
    box = fake_gmail.mailbox(REP_ADDRESS)
    box.add(from_=CUSTOMER, to=REP_ADDRESS, subject="more", body="One more thing", message_id="<more@cb.example.com>",
            thread_id=first["threadId"])
    sync_account(account.id)
    a, b = _stored(db_session)
    assert a.thread_id == b.thread_id
    assert db_session.get(EmailThread, a.thread_id).gmail_thread_id == first["threadId"]


def test_a_stale_history_id_resyncs_the_recent_window_without_an_error(db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep, history_id="12")
    box = fake_gmail.mailbox(REP_ADDRESS)
    old = box.add(from_=CUSTOMER, to=REP_ADDRESS, subject="Old", body="from last month", message_id="<old@cb.example>",
                  internal_ms=1_700_000_000_000)
    recent = _customer_writes(fake_gmail, n=2)
    box.add(from_=REP_ADDRESS, to=CUSTOMER, subject="Sent", body="ours", message_id="<s@n.example>", labels=("SENT",))
    box.oldest_history_id = 1000  # Gmail no longer has history id 12
    db_session.commit()
    outcome = sync_account(account.id)
    assert outcome.startswith("synced (resync: fetched 2, stored 2"), outcome
    db_session.refresh(account)
    assert account.gmail_history_id == str(box.history_id) and account.last_sync_error is None
    assert {m.gmail_message_id for m in _stored(db_session)} == {m["id"] for m in recent}
    assert old["id"] not in {m.gmail_message_id for m in _stored(db_session)}  # outside the window
    # incremental again from the re-seeded cursor
    _customer_writes(fake_gmail, n=1, message_id="<later@cb.example>")
    assert sync_account(account.id).startswith("synced (fetched 1, stored 1")


def test_a_failed_fetch_keeps_the_cursor_and_the_next_sync_loses_nothing(db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    cursor = account.gmail_history_id
    messages = _customer_writes(fake_gmail, n=3)
    fake_gmail.failing_gets[messages[1]["id"]] = -1  # Gmail answers 500 for it, every time
    outcome = sync_account(account.id)
    assert outcome.startswith("failed, cursor kept (fetched 1, stored 1") and "500" in outcome
    db_session.refresh(account)
    assert account.gmail_history_id == cursor  # never past the failed fetch
    assert "Gmail answered 500" in account.last_sync_error and account.last_sync_error_at is not None
    assert account.sync_started_at is None
    assert sync_account(account.id).startswith("failed, cursor kept (fetched 0, stored 0, duplicates 1)")

    fake_gmail.failing_gets.clear()
    assert sync_account(account.id).startswith("synced (fetched 2, stored 2, duplicates 1)")
    db_session.refresh(account)
    assert account.gmail_history_id == str(fake_gmail.mailbox(REP_ADDRESS).history_id)
    assert account.last_sync_error is None
    assert sorted(m.gmail_message_id for m in _stored(db_session)) == sorted(m["id"] for m in messages)


def test_one_email_in_two_reps_mailboxes_is_stored_once(db_session, factory, fake_gmail, rep, customer_lead):
    other = factory.user(UserRole.REP)
    mine = connect_account(fake_gmail, rep)
    theirs = connect_account(fake_gmail, other, "sam.ortiz@northstarfleet.example.com")
    db_session.commit()
    for address in (REP_ADDRESS, "sam.ortiz@northstarfleet.example.com"):  # cc'd to both: one Message-ID
        _customer_writes(fake_gmail, address, message_id="<both@coolbreezeaz.example.com>", subject="To you both")
    assert sync_account(mine.id).startswith("synced (fetched 1, stored 1")
    assert sync_account(theirs.id).startswith("synced (fetched 1, stored 0, duplicates 1)")
    [stored] = _stored(db_session)
    sources = db_session.scalars(select(EmailMessageSource).where(EmailMessageSource.email_message_id == stored.id))
    assert {s.email_account_id for s in sources} == {mine.id, theirs.id}  # each mailbox's copy noted
    gets = _gets(fake_gmail)
    sync_account(theirs.id)
    assert _gets(fake_gmail) == gets  # and not fetched again


def test_mail_from_the_rep_drafts_and_spam_are_not_stored(db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    box = fake_gmail.mailbox(REP_ADDRESS)
    box.add(from_=CUSTOMER, to=REP_ADDRESS, subject="spam", body="x", message_id="<sp@x>", labels=("SPAM", "INBOX"))
    box.add(from_=REP_ADDRESS, to=REP_ADDRESS, subject="note to self", body="x", message_id="<me@x>")
    assert sync_account(account.id).startswith("synced (fetched 1, stored 0")
    assert _stored(db_session) == []


# --- POST /webhooks/gmail -----------------------------------------------------------------

SECRET = "push-token-7f3a"


def push(client, address=REP_ADDRESS, history_id="99999999", message_id="1730000000001", token=SECRET):
    data = base64.b64encode(json.dumps({"emailAddress": address, "historyId": history_id}).encode()).decode()
    body = {"message": {"data": data, "messageId": message_id, "publishTime": "2026-11-27T17:00:00.000Z"},
            "subscription": "projects/gps-crm/subscriptions/gmail-push"}
    query = f"?token={token}" if token is not None else ""
    return client.post(f"/webhooks/gmail{query}", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def secret(app, monkeypatch):
    monkeypatch.setitem(app.config, "GMAIL_PUSH_SECRET", SECRET)
    return SECRET


def _events(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.provider == "gmail"))


def test_a_push_is_stored_once_acknowledged_and_syncs_the_mailbox(client, db_session, secret, fake_gmail, rep,
                                                                  customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    _customer_writes(fake_gmail, n=1)
    response = push(client)
    assert response.status_code == 200 and response.json == {"received": True, "duplicate": False,
                                                              "requeued": False}
    assert _stored(db_session) == []  # acknowledged before anything is fetched
    again = push(client)
    assert again.status_code == 200 and again.json["duplicate"] is True and _events(db_session) == 1
    work_all()  # the apply job asks for the sync, the sync job fetches
    db_session.expire_all()
    assert len(_stored(db_session)) == 1 and account.last_synced_at is not None
    assert db_session.scalar(select(WebhookEvent.processed_at).where(WebhookEvent.provider == "gmail")) is not None


def test_a_push_already_behind_the_cursor_asks_for_nothing(client, db_session, secret, fake_gmail, rep):
    from app.inbox.email.sync_jobs import apply_gmail_push

    account = connect_account(fake_gmail, rep)
    db_session.commit()
    push(client, history_id=str(int(account.gmail_history_id) - 1))
    event_id = db_session.scalar(select(WebhookEvent.id).where(WebhookEvent.provider == "gmail"))
    assert apply_gmail_push(str(event_id)) == "already synced"


@pytest.mark.parametrize("token", [None, "", "wrong-token", SECRET + "x"])
def test_a_push_without_the_right_token_is_400_and_stores_nothing(client, db_session, secret, token):
    assert push(client, token=token).status_code == 400
    assert _events(db_session) == 0


def test_a_push_that_is_no_gmail_notification_is_400(client, db_session, secret):
    response = client.post(f"/webhooks/gmail?token={SECRET}", data=json.dumps({"message": {"messageId": "1"}}),
                           content_type="application/json")
    assert response.status_code == 400 and _events(db_session) == 0


def test_production_without_the_push_secret_refuses_and_stores_nothing(app, redis_url, db_session, monkeypatch):
    from app.webhooks.secrets import DEVELOPMENT_SECRETS
    from tests.integration.security_env import production_app

    monkeypatch.delenv("GMAIL_PUSH_SECRET", raising=False)
    prod = production_app(app, redis_url, monkeypatch)
    assert prod.config["ENV"] == "production" and not prod.config["GMAIL_PUSH_SECRET"]
    response = push(prod.test_client(), token=DEVELOPMENT_SECRETS["gmail"])
    assert response.status_code == 400 and response.json == {"error": "not configured"}
    assert _events(db_session) == 0
