"""The inbox's hot reads at any size: the queue, the lead page's thread panels and the nav
badge send a constant number of statements whether there are 3 or 60 conversations / a lead
has 3 or 60 messages; and the queue's statements are written so that the indexes of
migration 0023 apply (bench.inbox measures them at 2M messages)."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from app.auth.models import UserRole
from app.inbox.models import (
    CallLog,
    CallOutcome,
    Conversation,
    ConversationChannel,
    EmailAccount,
    EmailMessage,
    EmailStatus,
    EmailThread,
    MessageDirection,
    SmsMessage,
    SmsStatus,
)
from tests.factories import login

NOW = datetime.now(UTC)


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP, first_name="Rita")


@pytest.fixture
def signed_in(app, rep):
    client = app.test_client()
    login(client, rep)
    return client


def add_conversations(factory, rep, n: int, start: int = 0) -> None:
    """n conversations of every kind the queue shows: a rep's and nobody's, each channel,
    unread, waiting, done, snoozed, and unmatched texts (their number is a subquery)."""
    for i in range(start, start + n):
        at = NOW - timedelta(minutes=i + 1)
        channel = list(ConversationChannel)[i % 3]
        if i % 4 == 3:  # unmatched: a text from an unknown number
            conversation = factory._add(Conversation(
                id=uuid.uuid4(), channel=ConversationChannel.SMS, last_message_at=at, last_message_preview="Who?",
                unread_count=1, awaiting_reply=True))
            factory._add(SmsMessage(id=uuid.uuid4(), direction=MessageDirection.INBOUND, from_number=f"+1999555{i:04d}",
                                    to_number="+12145550188", body="Who?", status=SmsStatus.DELIVERED, created_at=at,
                                    conversation_id=conversation.id, attempts=0))
            continue
        lead = factory.lead()
        factory._add(Conversation(
            id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id, user_id=rep.id if i % 2 else None,
            channel=channel, last_message_at=at, last_message_preview=f"Message {i}",
            unread_count=i % 3, awaiting_reply=i % 5 != 0, done_at=at if i % 5 == 0 else None,
            snoozed_until=NOW + timedelta(days=1) if i % 7 == 0 else None))


def add_messages(factory, lead, rep, n: int, start: int = 0) -> None:
    """n texts, n e-mails (a new thread every three) and n calls of the lead."""
    account = factory.session.query(EmailAccount).first() or factory._add(
        EmailAccount(id=uuid.uuid4(), email_address="sales@example.com"))
    thread = None
    for i in range(start, start + n):
        at = NOW - timedelta(hours=i + 1)
        inbound = i % 2 == 0
        factory._add(SmsMessage(
            id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id,
            direction=MessageDirection.INBOUND if inbound else MessageDirection.OUTBOUND,
            from_number="+12145550143", to_number="+12145550188", body=f"Text {i}", status=SmsStatus.DELIVERED,
            created_at=at, attempts=0))
        if thread is None or i % 3 == 0:
            thread = factory._add(EmailThread(id=uuid.uuid4(), lead_id=lead.id, email_account_id=account.id,
                                              subject=f"Quote {i}", last_message_at=at))
        factory._add(EmailMessage(
            id=uuid.uuid4(), thread_id=thread.id,
            direction=MessageDirection.INBOUND if inbound else MessageDirection.OUTBOUND,
            from_address="mike@example.com", to_address="sales@example.com", subject=f"Quote {i}",
            body_text=f"E-mail {i}", status=EmailStatus.RECEIVED if inbound else EmailStatus.SENT,
            message_id=f"<{uuid.uuid4()}@example.com>", created_at=at, attempts=0,
            user_id=None if inbound else rep.id))
        factory._add(CallLog(id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id,
                             direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER, duration_seconds=0,
                             created_at=at, user_id=rep.id))


def statements_of(client, db_session, count_statements, urls) -> list[int]:
    counts = []
    for url in urls:
        client.get(url)  # warm: what a first request loads once (templates, the account row) is not the point
        db_session.expire_all()
        with count_statements() as counter:
            assert client.get(url).status_code == 200, url
        counts.append(counter.count)
    return counts


QUEUE_URLS = ["/inbox", "/inbox?tab=all", "/inbox?tab=done", "/inbox?tab=snoozed", "/inbox?tab=unmatched",
              "/inbox?tab=all&mine=1&unread=1", "/inbox?tab=needs_reply&channel=SMS", "/inbox/unread-badge"]


def test_the_queue_and_the_badge_read_a_constant_few_statements(db_session, factory, rep, signed_in,
                                                                count_statements):
    add_conversations(factory, rep, 3)
    db_session.commit()
    few = statements_of(signed_in, db_session, count_statements, QUEUE_URLS)
    add_conversations(factory, rep, 57, start=3)
    db_session.commit()
    many = statements_of(signed_in, db_session, count_statements, QUEUE_URLS)
    assert few == many, dict(zip(QUEUE_URLS, zip(few, many, strict=True), strict=True))
    assert max(many[:-1]) <= 4 and many[-1] <= 2, dict(zip(QUEUE_URLS, many, strict=True))


def test_the_lead_thread_panels_read_a_constant_few_statements(db_session, factory, rep, signed_in,
                                                               count_statements):
    lead = factory.lead()
    urls = [f"/leads/{lead.id}/thread"]  # the lead's one conversation (app/inbox/thread)
    add_messages(factory, lead, rep, 3)
    db_session.commit()
    few = statements_of(signed_in, db_session, count_statements, urls)
    add_messages(factory, lead, rep, 57, start=3)
    db_session.commit()
    many = statements_of(signed_in, db_session, count_statements, urls)
    assert few == many, dict(zip(urls, zip(few, many, strict=True), strict=True))
    assert max(many) <= 8, dict(zip(urls, many, strict=True))


# --- the queue's words and the partial indexes ------------------------------------------

def plan_of(client, db_session, url: str, table_words: str, index: str) -> str:
    """The plan of the request's statement that reads `table_words`, as the app sent it, with
    `index` the only one of the conversations' own indexes left (the others dropped inside the
    test's transaction, rolled back after it) and no sequential scan. On a tiny table the
    planner picks by cost; the question here is whether the partial index applies at all:
    if it does not, the plan walks the primary key instead."""
    from app.extensions import db

    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if table_words in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert sent, f"{url} read no {table_words}"
    connection = db_session.connection()
    others = connection.exec_driver_sql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'conversations' AND indexname <> %(keep)s "
        "AND indexname NOT LIKE 'pk_%%' AND indexname NOT LIKE 'uq_%%'", {"keep": index}).scalars().all()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql(f"DROP INDEX {', '.join(others)}")
    statement, parameters = sent[-1]
    return "\n".join(r[0] for r in connection.exec_driver_sql("EXPLAIN " + statement, parameters))


@pytest.mark.parametrize(("url", "index"), [
    ("/inbox", "ix_conversations_needs_reply"),
    ("/inbox?tab=needs_reply&archived=1", "ix_conversations_needs_reply"),
    ("/inbox?tab=snoozed", "ix_conversations_snoozed"),
    ("/inbox?tab=unmatched", "ix_conversations_unmatched"),
    ("/inbox?tab=all&unread=1", "ix_conversations_unread_queue"),
    ("/inbox/unread-badge", "ix_conversations_unread"),
    ("/", "ix_conversations_rep_needs_reply"),  # the rep's home: its "Needs reply" block
])
def test_the_queue_statements_can_use_their_partial_indexes(db_session, factory, rep, signed_in, url, index):
    """A partial index applies only when the WHERE implies its predicate: `awaiting_reply IS
    true` does not imply `awaiting_reply`, and the list would walk all conversations."""
    add_conversations(factory, rep, 12)
    db_session.commit()
    words = "count(*)" if "badge" in url else "FROM conversations"
    plan = plan_of(signed_in, db_session, url, words, index)
    assert re.search(rf"{index}\b", plan), plan
