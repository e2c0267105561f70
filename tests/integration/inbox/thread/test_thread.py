"""A lead's one conversation: texts, e-mails, calls and bookings in one time order (newest
last), paged by keyset ("Load older") with one statement per page whatever the count; the
contact's thread over all its leads; the composer's tabs post to each channel's route and get
the thread back (the new QUEUED item) or the errors (422); do-not-contact disables e-mail and
SMS with the reason; each branch of the UNION reads its index in time order."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.auth.models import UserRole
from app.inbox.models import (
    Booking,
    CallLog,
    CallOutcome,
    EmailAccount,
    EmailMessage,
    EmailStatus,
    EmailThread,
    MessageDirection,
    SmsMessage,
    SmsStatus,
)
from app.inbox.thread import queries
from tests.factories import csrf_token, login

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = "+12145550143"


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP)


@pytest.fixture
def lead(factory, db_session):
    company = factory.company()
    contact = factory.contact(company, phone="(214) 555-0143", phone_e164=CUSTOMER, phone_type="mobile",
                              is_sms_eligible=True)
    made = factory.lead(company, contact)
    db_session.commit()
    return made


def sms(db_session, lead, at, body="hi", direction=MessageDirection.INBOUND, status=SmsStatus.DELIVERED, **kw):
    row = SmsMessage(id=kw.pop("id", uuid.uuid4()), lead_id=lead.id, contact_id=lead.contact_id, direction=direction,
                     from_number=CUSTOMER, to_number="+12145550188", body=body, status=status, created_at=at, **kw)
    db_session.add(row)
    return row


def email_thread(db_session, lead):
    account = EmailAccount(id=uuid.uuid4(), email_address=f"rep-{uuid.uuid4().hex[:6]}@example.com", provider="outbox")
    thread = EmailThread(id=uuid.uuid4(), lead_id=lead.id, email_account=account, subject="Trackers")
    db_session.add_all([account, thread])
    return thread


def email(db_session, thread, at, body="Hello", direction=MessageDirection.OUTBOUND, status=EmailStatus.SENT, **kw):
    row = EmailMessage(id=kw.pop("id", uuid.uuid4()), thread=thread, direction=direction, from_address="a@example.com",
                       to_address="mike@abc-towing.example.com", subject="Trackers", body_text=body, status=status,
                       created_at=at, **kw)
    db_session.add(row)
    return row


def call(db_session, lead, at, outcome=CallOutcome.CONNECTED, notes=None):
    row = CallLog(id=uuid.uuid4(), lead_id=lead.id, contact_id=lead.contact_id, direction=MessageDirection.OUTBOUND,
                  outcome=outcome, duration_seconds=125, notes=notes, created_at=at)
    db_session.add(row)
    return row


def booking(db_session, lead, at):
    row = Booking(id=uuid.uuid4(), cal_booking_uid=uuid.uuid4().hex, lead_id=lead.id, contact_id=lead.contact_id,
                  attendee_email="mike@abc-towing.example.com", attendee_name="Mike", event_type_slug="demo",
                  event_type_title="Fleet demo", start_at=at, end_at=at + timedelta(minutes=30))
    db_session.add(row)
    return row


def mixed(db_session, lead, n):
    """n of each kind, interleaved a minute apart: sms, email, call, booking, sms, ..."""
    thread = email_thread(db_session, lead)
    made = []
    for i in range(n):
        at = T0 + timedelta(minutes=4 * i)
        made += [sms(db_session, lead, at, body=f"text {i}"), email(db_session, thread, at + timedelta(minutes=1)),
                 call(db_session, lead, at + timedelta(minutes=2)), booking(db_session, lead, at + timedelta(minutes=3))]
    db_session.flush()
    return made


def open_tab(html):
    """The composer's selected tab, and whether its panel is shown."""
    [tab] = re.findall(r'aria-selected="true"\s+tabindex="0" data-tab="(\w+)"', html)
    shown = re.search(rf'id="composer-{tab}" aria-labelledby="composer-tab-{tab}">', html) is not None
    return tab, shown


def ids_in(html):
    return re.findall(r'data-id="([0-9a-f-]{36})"', html)


# --- order and paging ---------------------------------------------------------------------

def test_every_channel_in_one_time_order_newest_last(db_session, lead):
    made = mixed(db_session, lead, 3)
    page = queries.lead_thread(lead.id)
    assert [i.id for i in page.items] == [m.id for m in made]
    assert [i.kind for i in page.items[:4]] == ["sms", "email", "call", "booking"]
    assert page.older is None


def test_keyset_pages_cover_everything_once_even_when_times_tie(db_session, lead):
    made = mixed(db_session, lead, 5)
    # four more at one instant, across tables: the ids break the tie
    same = T0 + timedelta(hours=5)
    thread = email_thread(db_session, lead)
    tied = [sms(db_session, lead, same), sms(db_session, lead, same), email(db_session, thread, same),
            call(db_session, lead, same)]
    db_session.flush()
    seen, before, pages = [], None, 0
    while True:
        page = queries.lead_thread(lead.id, before, size=3)
        pages += 1
        seen = [i.id for i in page.items] + seen
        if page.older is None:
            break
        before = page.older
    everything = made + tied
    assert len(seen) == len(set(seen)) == len(everything) and set(seen) == {m.id for m in everything}
    assert pages == -(-len(everything) // 3)
    assert seen[-4:] == [m.id for m in sorted(tied, key=lambda m: str(m.id))]


def test_load_older_fragment_through_the_route(client, db_session, rep, lead):
    made = mixed(db_session, lead, 10)  # 40 items, a page is 30
    db_session.commit()
    login(client, rep)
    panel = client.get(f"/leads/{lead.id}/thread")
    first = ids_in(panel.text)
    assert first == [str(m.id) for m in made[10:]]
    older_url = re.search(r'hx-get="([^"]+before=[^"]+)"', panel.text).group(1).replace("&amp;", "&")
    older = client.get(older_url)
    assert older.status_code == 200 and ids_in(older.text) == [str(m.id) for m in made[:10]]
    assert "Load older" not in older.text and "composer" not in older.text
    assert client.get(f"/leads/{lead.id}/thread?before=yesterday").status_code == 400
    assert client.get(f"/leads/{lead.id}/thread?before=2026-03-02T09:00:00_{uuid.uuid4()}").status_code == 400


def test_statements_stay_constant_as_messages_grow(app, client, db_session, rep, lead, count_statements):
    login(client, rep)

    def measure():
        db_session.commit()
        url = f"/leads/{lead.id}/thread"
        client.get(url)
        counts = []
        for u in (url, f"/contacts/{lead.contact_id}/thread"):
            db_session.expire_all()
            with count_statements() as counter:
                assert client.get(u).status_code == 200
            counts.append(counter.count)
        return counts

    mixed(db_session, lead, 1)
    few = measure()
    mixed(db_session, lead, 40)
    many = measure()
    assert few == many, (few, many)
    assert max(many) <= 10, many
    print(f"statements: lead card {many[0]}, contact card {many[1]}")


# --- the contact's thread -----------------------------------------------------------------

def test_the_contact_page_shows_all_its_leads_in_one_thread(client, db_session, factory, rep, lead):
    other = factory.lead(lead.company, lead.contact)
    stranger = factory.lead()
    a = sms(db_session, lead, T0, body="on the first lead")
    b = call(db_session, other, T0 + timedelta(minutes=1), notes="on the second lead")
    sms(db_session, stranger, T0 + timedelta(minutes=2), body="someone else")
    db_session.commit()
    login(client, rep)
    page = client.get(f"/contacts/{lead.contact_id}")
    assert f'hx-get="/contacts/{lead.contact_id}/thread"' in page.text
    thread = client.get(f"/contacts/{lead.contact_id}/thread")
    assert ids_in(thread.text) == [str(a.id), str(b.id)]
    assert f"/leads/{other.id}" in thread.text and "someone else" not in thread.text
    assert "data-composer" not in thread.text  # the composer is on each lead's page


# --- the composer -------------------------------------------------------------------------

@pytest.fixture
def gateway(rep, db_session):
    from app.inbox.sms.services import save_gateway

    made = save_gateway(None, user_id=rep.id, label="Pixel", gateway_url="http://127.0.0.1:9/3rdparty/v1",
                        username="jordan", password="s3cret-gateway-pass", from_number="+12145550188", is_active=True)
    db_session.commit()
    return made


def test_each_tab_posts_to_its_route_and_gets_the_thread_back(app, client, db_session, rep, gateway, lead):
    login(client, rep)
    sms(db_session, lead, T0, body="Do you ship to Texas?")
    db_session.commit()
    panel = client.get(f"/leads/{lead.id}/thread").text
    for route in ("email", "sms", "calls"):
        assert f'hx-post="/leads/{lead.id}/{route}" hx-target="#lead-thread"' in panel
    token = csrf_token(client, app)
    hx = {"HX-Request": "true"}
    sent = client.post(f"/leads/{lead.id}/sms", data={"body": "Yes, we do.", "csrf_token": token}, headers=hx)
    assert sent.status_code == 200 and "Do you ship to Texas?" in sent.text and "Yes, we do." in sent.text
    assert "Queued" in sent.text and open_tab(sent.text) == ("sms", True)
    mailed = client.post(f"/leads/{lead.id}/email", headers=hx,
                         data={"subject": "Pricing", "body": "14 trackers at $79.", "csrf_token": token})
    assert mailed.status_code == 200 and "14 trackers at $79." in mailed.text and "Yes, we do." in mailed.text
    logged = client.post(f"/leads/{lead.id}/calls", headers=hx, data={
        "direction": "OUTBOUND", "outcome": "CONNECTED", "duration": "2:05", "notes": "Wants a demo",
        "csrf_token": token})
    assert logged.status_code == 200 and "Wants a demo" in logged.text and "2:05" in logged.text
    kinds = re.findall(r'data-kind="(\w+)"', logged.text)
    assert kinds == ["sms", "sms", "email", "call"]


def test_errors_rerender_the_composer_on_its_tab_with_422(app, client, db_session, rep, gateway, lead):
    login(client, rep)
    token = csrf_token(client, app)
    hx = {"HX-Request": "true"}
    bad_sms = client.post(f"/leads/{lead.id}/sms", data={"body": "  ", "csrf_token": token}, headers=hx)
    assert bad_sms.status_code == 422 and "Write a message first." in bad_sms.text
    assert open_tab(bad_sms.text) == ("sms", True)
    bad_call = client.post(f"/leads/{lead.id}/calls", headers=hx, data={
        "direction": "OUTBOUND", "outcome": "CONNECTED", "duration": "soon", "csrf_token": token})
    assert bad_call.status_code == 422 and open_tab(bad_call.text) == ("call", True)


def test_do_not_contact_disables_email_and_sms_with_the_reason(client, db_session, rep, gateway, lead):
    lead.is_dnc = True
    db_session.commit()
    login(client, rep)
    panel = client.get(f"/leads/{lead.id}/thread").text
    assert panel.count("Do not contact: this lead asked not to be contacted.") >= 2
    assert 'id="sms-body" name="body" rows="3" disabled' in panel
    assert 'id="email-body" name="body" rows="5" disabled' in panel
    assert "is-refused" in panel
    # logging a call stays possible and is the open tab
    assert open_tab(panel) == ("call", True)


def test_a_failed_send_shows_its_reason(client, db_session, rep, lead):
    sms(db_session, lead, T0, body="Hello?", direction=MessageDirection.OUTBOUND, status=SmsStatus.FAILED,
        error="gateway offline")
    db_session.commit()
    login(client, rep)
    panel = client.get(f"/leads/{lead.id}/thread").text
    assert "Failed" in panel and "Not sent: gateway offline" in panel


# --- the plan -----------------------------------------------------------------------------

def test_each_branch_reads_its_index_in_time_order(db_session, factory, lead):
    """Each branch walks its index backwards from the cursor (no branch reads and sorts all of
    the lead's rows). The test tables are tiny, so the planner is told to avoid what a big table
    would make too costly for it anyway (scanning everything, bitmap scans, full sorts). Other
    leads' rows and fresh statistics keep it from preferring a time-only index with a lead
    filter, which on a near-empty table costs the same (the choice then depends on leftovers)."""
    mixed(db_session, lead, 5)
    other = factory.lead(factory.company())
    mixed(db_session, other, 150)
    db_session.execute(text("ANALYZE sms_messages; ANALYZE email_messages; ANALYZE call_logs; ANALYZE bookings"))
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        db_session.execute(text(f"SET LOCAL {setting} = off"))
    for paged in (False, True):
        sql = queries._sql(queries._LEAD, paged)
        params = {"lead_id": lead.id, "n": 31, "before_at": T0 + timedelta(hours=1), "before_id": uuid.uuid4()}
        plan = "\n".join(r[0] for r in db_session.execute(text("EXPLAIN " + sql), params))
        for scan in ("Index Scan using ix_sms_messages_lead_thread",  # (lead_id, created_at DESC, id DESC)
                     "Index Scan Backward using ix_email_messages_thread_id_created_at",
                     "Index Scan Backward using ix_call_logs_lead_id_created_at",
                     "Index Scan Backward using ix_bookings_lead_id_start_at"):
            assert scan in plan, plan
        if paged:  # the cursor is where each index range starts
            assert plan.count("created_at <= ") + plan.count("start_at <= ") >= 4, plan


def _timed(fn, *args):
    import time

    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_the_busiest_lead_pages_fast(db_session, lead):
    """5,000 items on one lead (the bench's busiest) among other leads' rows: a page, first or
    deep, stays a few milliseconds (the issue's p99 < 50 ms for this page; a wide margin here
    for a loaded test machine) and reads about a page of rows per branch, not the lead's 5,000."""
    import time

    thread = email_thread(db_session, lead)
    db_session.flush()
    params = {"lead": lead.id, "contact": lead.contact_id, "thread": thread.id, "t0": T0}
    db_session.execute(text("""
        INSERT INTO sms_messages (id, lead_id, contact_id, direction, from_number, to_number, body, status, created_at)
        SELECT gen_random_uuid(), :lead, :contact, (CASE WHEN i % 2 = 0 THEN 'INBOUND' ELSE 'OUTBOUND' END)::message_direction,
               '+12145550143', '+12145550188', 'text ' || i, 'DELIVERED', :t0 + i * interval '1 minute'
        FROM generate_series(1, 2000) i"""), params)
    db_session.execute(text("""
        INSERT INTO email_messages (id, thread_id, direction, from_address, to_address, subject, body_text, status, created_at)
        SELECT gen_random_uuid(), :thread, 'OUTBOUND', 'a@example.com', 'b@example.com', 's', 'mail ' || i, 'SENT',
               :t0 + i * interval '1 minute' + interval '20 seconds'
        FROM generate_series(1, 2000) i"""), params)
    db_session.execute(text("""
        INSERT INTO call_logs (id, lead_id, contact_id, direction, outcome, duration_seconds, created_at)
        SELECT gen_random_uuid(), :lead, :contact, 'OUTBOUND', 'CONNECTED', 60, :t0 + i * interval '2 minute'
        FROM generate_series(1, 1000) i"""), params)
    db_session.execute(text("ANALYZE sms_messages; ANALYZE email_messages; ANALYZE call_logs; ANALYZE bookings"))
    first = queries.lead_thread(lead.id)
    deep = first
    for _ in range(60):  # 60 pages back
        deep = queries.lead_thread(lead.id, deep.older)
    assert deep.older is not None and len(deep.items) == queries.PAGE_SIZE

    def timed(before):
        start = time.perf_counter()
        queries.lead_thread(lead.id, before)
        return time.perf_counter() - start

    samples = sorted(timed(before) for _ in range(50) for before in (None, first.older, deep.older))
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(f"thread page over 5,000 items: p50 {samples[len(samples) // 2] * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    assert p99 < 0.25, samples[-5:]
    # the contact's thread (all its leads: here the one) pages the same rows
    contact_samples = sorted(_timed(queries.contact_thread, lead.contact_id, before)
                             for _ in range(20) for before in (None, deep.older))
    print(f"contact thread: p99 {contact_samples[int(len(contact_samples) * 0.99) - 1] * 1000:.1f} ms")
    assert [i.id for i in queries.contact_thread(lead.contact_id, deep.older).items] == \
        [i.id for i in queries.lead_thread(lead.id, deep.older).items]
    assert contact_samples[int(len(contact_samples) * 0.99) - 1] < 0.5, contact_samples[-5:]

    sql = queries._sql(queries._LEAD, True)
    plan = "\n".join(r[0] for r in db_session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), {
        "lead_id": lead.id, "n": 31, "before_at": deep.older.at, "before_id": deep.older.id}))
    # texts: a forward scan of (lead_id, created_at DESC, id DESC); e-mail and calls: backward
    rows = [int(m) for m in re.findall(r"Index Scan (?:Backward )?using \w+ on \w+ \w+ .*?actual time=\S+ rows=(\d+)", plan)]
    assert len(rows) >= 3 and max(rows) <= 32, plan  # texts, e-mail, calls (no bookings here)


def test_the_open_tab_is_the_channel_the_customer_last_wrote_on(client, db_session, rep, gateway, lead):
    login(client, rep)
    assert open_tab(client.get(f"/leads/{lead.id}/thread").text) == ("email", True)  # nothing yet: e-mail
    sms(db_session, lead, T0, body="Call me?")
    db_session.commit()
    assert open_tab(client.get(f"/leads/{lead.id}/thread").text) == ("sms", True)
    email(db_session, email_thread(db_session, lead), T0 + timedelta(minutes=1), direction=MessageDirection.INBOUND,
          status=EmailStatus.RECEIVED)
    db_session.commit()
    assert open_tab(client.get(f"/leads/{lead.id}/thread").text) == ("email", True)
    assert open_tab(client.get(f"/leads/{lead.id}/thread?tab=call").text) == ("call", True)


def test_a_send_runs_a_constant_small_number_of_statements(app, client, db_session, rep, gateway, lead,
                                                            count_statements):
    """POST /leads/<id>/email and /sms (the row, its job, the conversation, the activity, then
    the thread card): the same few statements with 1 or 40 of each kind on the lead (bench.inbox
    measures their time under load; issue 10's p99 < 30 ms)."""
    login(client, rep)
    token = csrf_token(client, app)
    hx = {"HX-Request": "true"}

    def measure(i):
        db_session.commit()
        counts = []
        for route, data in (("email", {"subject": f"Pricing {i}", "body": "14 trackers at $79."}),
                            ("sms", {"body": f"Yes, we do ({i})."})):
            db_session.expire_all()
            with count_statements() as counter:
                sent = client.post(f"/leads/{lead.id}/{route}", data={**data, "csrf_token": token}, headers=hx)
            assert sent.status_code == 200, sent.text
            counts.append(counter.count)
        return counts

    mixed(db_session, lead, 1)
    measure(0)  # the first e-mail makes the lead's conversation rows
    few = measure(1)
    mixed(db_session, lead, 40)
    many = measure(2)
    assert few == many, (few, many)
    print(f"statements: POST e-mail {many[0]}, POST SMS {many[1]}")
    # e-mail: the lead, the rep, the contact, the sending account (2 + the system sender's lock),
    # the thread, the message, the conversation, the job; then the card (5). SMS: no thread nor
    # account, the gateway read once for the send. After the commit nothing is read again.
    assert many[0] <= 15 and many[1] <= 12, many
