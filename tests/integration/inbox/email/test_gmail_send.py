"""Sending through the Gmail API from the rep's own account: our Message-ID, In-Reply-To /
References and the mailbox's threadId on a reply (asserted on what the Gmail server received);
the reconciler searches Sent by `rfc822msgid:` before anything is sent again."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.inbox import sending
from app.inbox.email import outbound
from app.inbox.email.models import EmailMessageSource
from app.inbox.email.sync import sync_account
from app.inbox.models import EmailMessage, EmailStatus, EmailThread
from tests.factories import csrf_token, login
from tests.integration.inbox.email.conftest import CUSTOMER, REP_ADDRESS, connect_account
from tests.integration.test_payments import work_all


def _send(client, app, lead, subject="GPS for your vans", body="Hi Tanya, 22 trackers at $79 each.", **extra):
    return client.post(f"/leads/{lead.id}/email", headers={"HX-Request": "true"},
                       data={"subject": subject, "body": body, "csrf_token": csrf_token(client, app), **extra})


def _ours(db_session, lead):
    return db_session.scalars(select(EmailMessage).join(EmailThread).where(
        EmailThread.lead_id == lead.id, EmailMessage.direction == "OUTBOUND").order_by(EmailMessage.created_at)).all()


def test_a_new_email_and_its_reply_leave_from_the_reps_gmail_in_one_gmail_thread(
        client, app, db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    login(client, rep)
    panel = client.get(f"/leads/{customer_lead.id}/thread")
    assert f"From Jordan Reyes &lt;{REP_ADDRESS}&gt;" in panel.text
    assert _send(client, app, customer_lead).status_code == 200
    [first] = _ours(db_session, customer_lead)
    assert first.email_account_id == account.id and first.message_id == f"<{first.id}@northstarfleet.example.com>"
    work_all()
    db_session.expire_all()
    assert first.status is EmailStatus.SENT
    box = fake_gmail.mailbox(REP_ADDRESS)
    [sent] = box.sent
    assert sent["threadId"] is None  # a new conversation: Gmail starts the thread
    assert sent["headers"]["Message-ID"] == first.message_id and "In-Reply-To" not in sent["headers"]
    assert sent["headers"]["From"] == f"Jordan Reyes <{REP_ADDRESS}>" and sent["headers"]["To"] == customer_lead.contact.email
    source = db_session.scalar(select(EmailMessageSource).where(EmailMessageSource.email_message_id == first.id))
    assert (source.email_account_id, source.gmail_message_id) == (account.id, sent["id"])

    # the customer answers in Gmail's thread; it is synced into ours
    reply = box.add(from_=f"Tanya Brooks <{CUSTOMER}>", to=REP_ADDRESS, subject="Re: GPS for your vans",
                    body="Can we pay by ACH?", message_id="<ach@coolbreezeaz.example.com>",
                    in_reply_to=first.message_id, references=first.message_id)
    assert reply["threadId"] == source.gmail_thread_id
    sync_account(account.id)
    inbound = db_session.scalar(select(EmailMessage).where(EmailMessage.message_id == "<ach@coolbreezeaz.example.com>"))
    assert inbound.thread_id == first.thread_id

    # the rep answers from the lead page: same Gmail thread, threading headers for every mail client
    panel = client.get(f"/leads/{customer_lead.id}/thread")
    assert f'name="thread_id" type="hidden" value="{first.thread_id}"' in panel.text
    assert _send(client, app, customer_lead, subject="Re: GPS for your vans", body="Yes, ACH works.",
                 thread_id=str(first.thread_id)).status_code == 200
    work_all()
    second = _ours(db_session, customer_lead)[-1]
    db_session.expire_all()
    assert second.status is EmailStatus.SENT and second.thread_id == first.thread_id
    last = box.sent[-1]
    assert last["threadId"] == reply["threadId"]
    assert last["headers"]["In-Reply-To"] == "<ach@coolbreezeaz.example.com>"
    assert last["headers"]["References"] == f"{first.message_id} <ach@coolbreezeaz.example.com>"
    assert last["headers"]["Message-ID"] == second.message_id
    # our sent copies come back through the history: not stored twice
    sync_account(account.id)
    assert len(db_session.scalars(select(EmailMessage)).all()) == 3


def test_a_rep_without_an_account_sends_from_the_system_sender(client, app, db_session, fake_gmail, rep,
                                                               customer_lead):
    login(client, rep)
    _send(client, app, customer_lead)
    [message] = _ours(db_session, customer_lead)
    assert message.email_account_id is None and message.from_address == "GPS Leaders <sales@example.com>"
    work_all()
    db_session.expire_all()
    assert message.status is EmailStatus.SENT and fake_gmail.requests == []  # the outbox, not Gmail


def test_a_grant_that_died_before_the_send_fails_the_email_with_the_reason_and_marks_the_account(
        client, app, db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep, expires_in=timedelta(seconds=10))
    db_session.commit()
    login(client, rep)
    _send(client, app, customer_lead)
    fake_gmail.revoked.add(account.refresh_token_plain)
    work_all()
    [message] = _ours(db_session, customer_lead)
    db_session.expire_all()
    assert message.status is EmailStatus.FAILED and "needs reconnecting" in message.error
    assert account.reconnect_needed_at is not None
    assert fake_gmail.mailbox(REP_ADDRESS).sent == []


def _left_sending(db_session, message):
    db_session.execute(update(EmailMessage).where(EmailMessage.id == message.id).values(
        status=EmailStatus.SENDING, claimed_at=datetime.now(UTC) - timedelta(minutes=10), attempts=1))
    db_session.commit()


def test_the_reconciler_finds_a_sent_email_in_gmail_and_does_not_send_it_again(
        client, app, db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    login(client, rep)
    _send(client, app, customer_lead)
    [message] = _ours(db_session, customer_lead)
    outbound.send_through_gmail(account.id, message.id)  # Gmail has it; the worker died before its commit
    _left_sending(db_session, message)
    assert [row[0] for row in outbound.stuck_sends()] == [message.id]
    assert sending.reconcile_send("email", str(message.id)) == "sent"
    db_session.expire_all()
    assert message.status is EmailStatus.SENT and len(fake_gmail.mailbox(REP_ADDRESS).sent) == 1
    [search] = [path for method, path in fake_gmail.requests if "q=rfc822msgid" in path]
    assert message.message_id.strip("<>").replace("@", "%40") in search


def test_the_reconciler_sends_an_email_gmail_never_got_once(client, app, db_session, fake_gmail, rep, customer_lead):
    account = connect_account(fake_gmail, rep)
    db_session.commit()
    login(client, rep)
    _send(client, app, customer_lead)
    [message] = _ours(db_session, customer_lead)
    _left_sending(db_session, message)  # claimed, then the worker died before Gmail heard of it
    assert sending.reconcile_send("email", str(message.id)) == "requeued"
    db_session.expire_all()
    assert message.status is EmailStatus.QUEUED
    work_all()
    db_session.expire_all()
    assert message.status is EmailStatus.SENT
    assert [s["headers"]["Message-ID"] for s in fake_gmail.mailbox(REP_ADDRESS).sent] == [message.message_id]
    assert db_session.scalar(select(EmailMessageSource.email_account_id).where(
        EmailMessageSource.email_message_id == message.id)) == account.id
