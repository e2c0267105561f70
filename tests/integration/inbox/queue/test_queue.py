"""The inbox queue (/inbox): tabs, filters, keyset pages, the actions on one or many
conversations, Unmatched attach, and the nav's polled unread badge."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.extensions import db
from app.inbox.conversations import upsert_conversation
from app.inbox.models import (
    Conversation,
    ConversationChannel,
    MessageDirection,
    SmsMessage,
    SmsStatus,
)
from app.inbox.queue import queries
from app.inbox.queue.services import snooze_until
from tests.factories import csrf_token, login

NOW = datetime.now(UTC)


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP, first_name="Rita")


@pytest.fixture
def other(factory):
    return factory.user(UserRole.REP, first_name="Omar")


def signed_in(app, user):
    client = app.test_client()
    login(client, user)
    return client


def conversation(factory, *, minutes_ago=1, lead=True, channel=ConversationChannel.SMS, preview="Hi there",
                 **kw) -> Conversation:
    values = dict(channel=channel, last_message_at=NOW - timedelta(minutes=minutes_ago),
                  last_message_preview=preview, unread_count=1, awaiting_reply=True)
    if lead:
        lead_row = factory.lead()
        values.update(lead_id=lead_row.id, contact_id=lead_row.contact_id)
    values.update(kw)
    return factory._add(Conversation(id=uuid.uuid4(), **values))


def ids_in(html: str) -> list[str]:
    return re.findall(r'id="conversation-([0-9a-f-]{36})"', html)


def listed(app, user, query="") -> list[str]:
    response = signed_in(app, user).get(f"/inbox{query}")
    assert response.status_code == 200
    return ids_in(response.get_data(as_text=True))


def post_action(app, user, action, ids, **extra):
    client = signed_in(app, user)
    data = {"csrf_token": csrf_token(client, app), "action": action, "ids": [str(i) for i in ids], **extra}
    return client.post("/inbox/actions", data=data)


# tabs and filters ---------------------------------------------------------------------

def test_needs_reply_is_unanswered_not_done_not_snoozed_newest_first(app, db_session, factory, rep):
    older = conversation(factory, minutes_ago=30)
    newer = conversation(factory, minutes_ago=2)
    answered = conversation(factory, awaiting_reply=False, unread_count=0)
    done = conversation(factory, done_at=NOW, awaiting_reply=False)
    snoozed = conversation(factory, snoozed_until=NOW + timedelta(hours=3))
    woke = conversation(factory, minutes_ago=40, snoozed_until=NOW - timedelta(minutes=1))
    archived = conversation(factory, is_archived=True)
    assert listed(app, rep) == [str(newer.id), str(older.id), str(woke.id)]
    assert listed(app, rep, "?tab=done") == [str(done.id)]
    assert listed(app, rep, "?tab=snoozed") == [str(snoozed.id)]
    assert set(listed(app, rep, "?tab=all")) == {str(c.id) for c in (older, newer, answered, done, snoozed, woke)}
    assert listed(app, rep, "?tab=all&archived=1") == [str(archived.id)]


def test_filters_mine_channel_unread(app, db_session, factory, rep, other):
    mine = conversation(factory, user_id=rep.id, minutes_ago=1)
    theirs = conversation(factory, user_id=other.id, minutes_ago=2)
    read = conversation(factory, user_id=rep.id, unread_count=0, minutes_ago=3)
    call = conversation(factory, channel=ConversationChannel.CALL, minutes_ago=4)
    assert listed(app, rep, "?mine=1") == [str(mine.id), str(read.id)]
    assert listed(app, rep, "?unread=1") == [str(mine.id), str(theirs.id), str(call.id)]
    assert listed(app, rep, "?channel=CALL") == [str(call.id)]
    assert listed(app, rep, "?channel=SMS&mine=1&unread=1") == [str(mine.id)]
    # a parameter that does not read is the default, not an error
    assert listed(app, rep, "?channel=FAX&tab=nope") == [str(c.id) for c in (mine, theirs, read, call)]


def test_unmatched_tab_shows_the_number(app, db_session, factory, rep):
    unmatched = conversation(factory, lead=False)
    factory._add(SmsMessage(id=uuid.uuid4(), conversation_id=unmatched.id, direction=MessageDirection.INBOUND,
                            from_number="+15125550199", to_number="+15125550100", body="Who is this?",
                            status=SmsStatus.DELIVERED))
    conversation(factory)
    html = signed_in(app, rep).get("/inbox?tab=unmatched").get_data(as_text=True)
    assert ids_in(html) == [str(unmatched.id)]
    assert "+15125550199" in html and "Unmatched" in html


def test_empty_state(app, db_session, rep):
    html = signed_in(app, rep).get("/inbox").get_data(as_text=True)
    assert "Nothing needs you" in html
    assert ids_in(html) == []


def test_htmx_filter_answers_only_the_list(app, db_session, factory, rep):
    c = conversation(factory)
    response = signed_in(app, rep).get("/inbox?unread=1", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert ids_in(html) == [str(c.id)]
    assert "<html" not in html and 'class="sidebar"' not in html


def test_keyset_paging(app, db_session, factory, rep, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    same_time = NOW - timedelta(minutes=5)
    rows = [conversation(factory, last_message_at=same_time) for _ in range(3)]
    rows.append(conversation(factory, minutes_ago=1))
    expected = [str(rows[3].id)] + sorted((str(r.id) for r in rows[:3]), reverse=True)
    client = signed_in(app, rep)
    seen, url = [], "/inbox"
    for _ in range(5):
        html = client.get(url, headers={"HX-Request": "true"} if seen else {}).get_data(as_text=True)
        seen += ids_in(html)
        more = re.search(r'hx-get="(/inbox\?after=[^"]+)"', html)
        if not more:
            break
        url = more.group(1).replace("&amp;", "&")
    assert seen == expected


def test_the_list_reads_a_constant_few_statements(app, db_session, factory, rep, other, count_statements):
    client = signed_in(app, rep)
    counts = []
    for n in (2, 12):
        while db_session.scalar(select(db.func.count()).select_from(Conversation)) < n:
            conversation(factory, user_id=other.id)
        with count_statements() as counter:
            assert client.get("/inbox?tab=all").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


# actions -------------------------------------------------------------------------------

def test_mark_done_one(app, db_session, factory, rep):
    c, untouched = conversation(factory), conversation(factory)
    assert post_action(app, rep, "done", [c.id]).status_code == 302
    db_session.expire_all()
    assert c.done_at is not None and not c.awaiting_reply and c.unread_count == 0
    assert untouched.done_at is None and untouched.awaiting_reply
    assert listed(app, rep) == [str(untouched.id)]


def test_bulk_done_archive_assign_snooze(app, db_session, factory, rep, other):
    a, b, c = conversation(factory), conversation(factory), conversation(factory)
    response = post_action(app, rep, "archive", [a.id, b.id])
    assert response.status_code == 302
    db_session.expire_all()
    assert (a.is_archived, b.is_archived, c.is_archived) == (True, True, False)
    assert post_action(app, rep, "assign", [b.id, c.id], assignee_id=str(other.id)).status_code == 302
    db_session.expire_all()
    assert (a.user_id, b.user_id, c.user_id) == (None, other.id, other.id)
    assert post_action(app, rep, "snooze_week", [c.id]).status_code == 302
    db_session.expire_all()
    assert c.snoozed_until > NOW and c.snoozed_until.weekday() == 0 and c.snoozed_until.hour == 9
    assert post_action(app, rep, "done", [a.id, b.id, c.id]).status_code == 302
    db_session.expire_all()
    assert all(x.done_at is not None for x in (a, b, c))


def test_htmx_action_answers_the_list_and_the_badge_event(app, db_session, factory, rep):
    c = conversation(factory)
    client = signed_in(app, rep)
    response = client.post("/inbox/actions?tab=needs_reply", headers={"HX-Request": "true"},
                           data={"csrf_token": csrf_token(client, app), "action": "done", "ids": [str(c.id)]})
    assert response.status_code == 200
    assert "queueChanged" in response.headers["HX-Trigger"]
    assert ids_in(response.get_data(as_text=True)) == []


def test_snooze_tomorrow_is_nine_the_next_day():
    now = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # a Friday
    assert snooze_until("snooze_tomorrow", now) == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert snooze_until("snooze_week", now) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("data", [
    {"action": "explode"},
    {"action": "done", "ids": []},
    {"action": "done", "ids": ["not-a-uuid"]},
    {"action": "assign", "assignee_id": "not-a-uuid"},
    {"action": "assign", "assignee_id": str(uuid.uuid4())},
])
def test_bad_input_is_422_and_changes_nothing(app, db_session, factory, rep, data):
    c = conversation(factory)
    data = {"ids": [str(c.id)], **data}
    client = signed_in(app, rep)
    response = client.post("/inbox/actions", data={"csrf_token": csrf_token(client, app), **data})
    assert response.status_code == 422
    db_session.expire_all()
    assert c.done_at is None and c.user_id is None


def test_an_inbound_text_brings_a_done_conversation_back(app, db_session, factory, rep):
    lead = factory.lead()
    first = upsert_conversation(lead_id=lead.id, contact_id=lead.contact_id, user_id=None, at=NOW - timedelta(hours=1),
                                preview="Hello", inbound=True)
    c = db_session.get(Conversation, first)
    assert c.awaiting_reply
    assert post_action(app, rep, "done", [c.id]).status_code == 302
    upsert_conversation(lead_id=lead.id, contact_id=lead.contact_id, user_id=None, at=NOW, preview="Still there?",
                        inbound=True)
    db_session.expire_all()
    assert c.awaiting_reply and c.done_at is None
    upsert_conversation(lead_id=lead.id, contact_id=lead.contact_id, user_id=None, at=NOW + timedelta(seconds=5),
                        preview="Yes!", inbound=False)
    db_session.expire_all()
    assert not c.awaiting_reply


# unmatched attach ----------------------------------------------------------------------

def test_attach_an_unmatched_conversation_to_a_contact(app, db_session, factory, rep):
    lead = factory.lead()
    unmatched = conversation(factory, lead=False)
    text = factory._add(SmsMessage(id=uuid.uuid4(), conversation_id=unmatched.id, direction=MessageDirection.INBOUND,
                                   from_number="+15125550199", to_number="+15125550100", body="Hi",
                                   status=SmsStatus.DELIVERED))
    client = signed_in(app, rep)
    response = client.post(f"/inbox/conversations/{unmatched.id}/attach",
                           data={"csrf_token": csrf_token(client, app), "contact_id": str(lead.contact_id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead.id}")
    db_session.expire_all()
    assert unmatched.lead_id == lead.id and unmatched.contact_id == lead.contact_id
    assert text.lead_id == lead.id and text.contact_id == lead.contact_id


def test_attach_joins_the_leads_existing_conversation(app, db_session, factory, rep):
    existing = conversation(factory, minutes_ago=60, unread_count=0, awaiting_reply=False)
    unmatched = conversation(factory, lead=False, preview="New number, who dis")
    text = factory._add(SmsMessage(id=uuid.uuid4(), conversation_id=unmatched.id, direction=MessageDirection.INBOUND,
                                   from_number="+15125550199", to_number="+15125550100", body="Hi",
                                   status=SmsStatus.DELIVERED))
    client = signed_in(app, rep)
    response = client.post(f"/inbox/conversations/{unmatched.id}/attach",
                           data={"csrf_token": csrf_token(client, app), "contact_id": str(existing.contact_id)})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Conversation, unmatched.id) is None
    assert text.conversation_id == existing.id
    assert existing.awaiting_reply and existing.unread_count == 1
    assert existing.last_message_preview == "New number, who dis"


def test_attach_refuses_bad_input(app, db_session, factory, rep):
    unmatched = conversation(factory, lead=False)
    contact_without_lead = factory.contact()
    client = signed_in(app, rep)
    token = csrf_token(client, app)
    url = f"/inbox/conversations/{unmatched.id}/attach"
    assert client.post(url, data={"csrf_token": token, "contact_id": "nope"}).status_code == 422
    assert client.post(url, data={"csrf_token": token, "contact_id": str(contact_without_lead.id)}).status_code == 409
    db_session.expire_all()
    assert unmatched.lead_id is None


def test_contact_search_for_an_unmatched_conversation(app, db_session, factory, rep):
    unmatched = conversation(factory, lead=False)
    contact = factory.contact(first_name="Zelda", last_name="Quarry", full_name="Zelda Quarry")
    html = signed_in(app, rep).get(f"/inbox/conversations/{unmatched.id}/contacts?q=Zelda").get_data(as_text=True)
    assert contact.display_name in html and f'/inbox/conversations/{unmatched.id}/attach' in html


# the unread badge ----------------------------------------------------------------------

def test_the_nav_loads_the_badge(app, db_session, rep):
    html = signed_in(app, rep).get("/inbox").get_data(as_text=True)
    assert 'hx-get="/inbox/unread-badge"' in html


def test_unread_badge_counts_mine_and_unassigned_in_one_statement(app, db_session, factory, rep, other,
                                                                   count_statements):
    client = signed_in(app, rep)
    counts = []
    for extra in (0, 5):
        for _ in range(extra):
            conversation(factory, user_id=rep.id)
            conversation(factory, user_id=other.id)
        with count_statements() as counter:
            html = client.get("/inbox/unread-badge").get_data(as_text=True)
        counts.append(counter.count)
    assert 'hx-trigger="every 10s' in html
    assert '>5</span>' in html
    conversation(factory)  # unassigned
    conversation(factory, user_id=rep.id, unread_count=0)  # read
    conversation(factory, user_id=rep.id, is_archived=True)  # archived
    assert '>6</span>' in client.get("/inbox/unread-badge").get_data(as_text=True)
    assert counts[0] == counts[1]
