"""Deterministic inbox data on top of bench.generate: five years of e-mail, texts and calls.

    python -m bench.generate_inbox [--database-url URL] [--scale 1] [--seed 42]

Run it after `python -m bench.generate` on the same database with the same --scale and
--seed (it rebuilds that run's lead, contact, company and rep numbering). Scale 1:
2,000,000 messages over the 150,000 leads (e-mail in threads, SMS, calls), the busiest
lead (lead number 1, also the one with the most activities) with 5,000 of them, a few
thousand from unknown numbers and addresses (Unmatched), one conversation per lead and
channel with a realistic inbox state, a mailbox and an SMS gateway per user.

Same style as bench.generate: every row computed in PostgreSQL by INSERT ... SELECT from
generate_series, each random choice a hash of (row number, purpose, seed), every primary
key a hash-derived UUID; one transaction, replica mode (no per-row foreign-key triggers)
when allowed, then every foreign key checked set-wise. "Now" is bench.generate's ANCHOR.
The message tables must be empty: it refuses anything else.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import psycopg

from bench.generate import (
    ANCHOR,
    ANCHOR_SQL,
    BENCH_PGDATA,
    EMAIL_SUBJECTS,
    K_CONTACT,
    K_LEAD,
    K_USER,
    REPS,
    Plan,
    array,
    has_column,
    libpq_url,
    pick,
    session_functions,
    skip_row_triggers,
    start_bench_postgres,
    weighted,
)

# Row kinds for pg_temp.uid(), after bench.generate's 1..10.
K_MAILBOX, K_GATEWAY, K_THREAD, K_EMAIL, K_SMS, K_CALL, K_CONVERSATION, K_UNMATCHED = range(11, 19)

BASE_MESSAGES = 2_000_000  # all channels, matched and unmatched
BUSIEST_LEAD_MESSAGES = 5_000  # lead number 1
BASE_UNKNOWN_NUMBERS = 3_000  # senders of texts nobody knows (1-4 texts each)
BASE_UNKNOWN_SENDERS = 1_500  # ...and of e-mails (1-3 each)
BUSY_SHARE = 0.25  # of the other messages, over the busiest 1 % of leads (skewed)
THREAD_SIZE = 4  # e-mails per thread (a lead's e-mails in time order, four at a time)
RECENT_DAYS = 7  # an inbound last message this recent is usually still waiting for a reply

CHANNELS = [(1, 45), (2, 35), (3, 20)]  # 1 e-mail, 2 SMS, 3 call (by share of the messages)
CHANNEL_NAMES = ["EMAIL", "SMS", "CALL"]
INBOUND_SHARE = [0.35, 0.40, 0.25]  # per channel

SMS_OUT = ["Hi {first}, this is {rep} from GPS Leaders - got a minute today?",
           "Sent you the quote by e-mail, {first}.", "Are you still interested in tracking your vans?",
           "Thanks! Talk tomorrow.", "Can we schedule the install for next week?",
           "Following up on the demo - any questions?", "Your trackers shipped today."]
SMS_IN = ["Yes, call me after 3", "How much per truck?", "Not right now, maybe next month",
          "Who is this?", "Send me the pricing", "We have 12 trucks, 3 trailers", "Ok sounds good",
          "Can you do Tuesday?", "Got it, thanks"]
EMAIL_OUT = ["Hi {first},\n\nthanks for your time today. As promised, here is the pricing for "
             "the trackers and the monthly plan.\n\nBest,\n{rep}",
             "Hi {first},\n\njust following up on my last e-mail. Do you have a few minutes this week?"
             "\n\n{rep}",
             "Hi {first},\n\nattached is the agreement. Sign it online and we ship the same day.\n\n{rep}"]
EMAIL_IN = ["Thanks, we will look at it this week.", "Can you send the price for 20 units?",
            "We are already using another vendor, but send me the details.",
            "Please call me tomorrow morning.", "Looks good. What are the next steps?"]
CALL_OUT = [("CONNECTED", 35), ("NO_ANSWER", 30), ("VOICEMAIL", 25), ("BUSY", 5), ("WRONG_NUMBER", 5)]
CALL_IN = [("CONNECTED", 70), ("NO_ANSWER", 30)]  # an inbound NO_ANSWER is a missed call
CALL_NOTES = ["Wants a callback next week", "Asked for the fleet pricing", "Talked to dispatch, owner out",
              "Interested, send the quote", "Not the decision maker"]
CALL_LABELS = {"CONNECTED": "connected", "NO_ANSWER": "no answer", "VOICEMAIL": "voicemail",
               "BUSY": "busy", "WRONG_NUMBER": "wrong number"}


@dataclass(frozen=True)
class InboxPlan:
    base: Plan
    messages: int
    busiest: int
    unknown_numbers: int
    unknown_senders: int

    @classmethod
    def for_scale(cls, scale: float, seed: int) -> InboxPlan:
        base = Plan.for_scale(scale, seed)
        return cls(base=base, messages=max(100, round(BASE_MESSAGES * scale)),
                   busiest=min(BUSIEST_LEAD_MESSAGES, round(BASE_MESSAGES * scale) // 20),
                   unknown_numbers=max(3, round(BASE_UNKNOWN_NUMBERS * scale)),
                   unknown_senders=max(3, round(BASE_UNKNOWN_SENDERS * scale)))


def _rep_email(rep: str) -> str:
    """The address of rep number `rep` (0 = the admin), as bench.generate named the users."""
    return f"CASE WHEN {rep} = 0 THEN 'bench-admin@example.com' ELSE 'bench-rep' || {rep} || '@example.com' END"


def _rep_first(rep: str) -> str:
    return f"({array(['Bench'] + [f for f, *_ in REPS])})[{rep} + 1]"


def _gateway_number(rep: str) -> str:
    return f"'+1555010' || lpad(({rep})::text, 4, '0')"


def _fill(texts: list[str], u: str, first: str, rep: str) -> str:
    return f"replace(replace({pick(texts, u)}, '{{first}}', {first}), '{{rep}}', {_rep_first(rep)})"


# ------------------------------------------------------------------------------- statements

def mailboxes_sql() -> str:
    rows = ", ".join(f"({i})" for i in range(len(REPS) + 1))
    return f"""
INSERT INTO email_accounts (id, user_id, email_address, display_name, provider, is_active,
                            last_synced_at, created_at, updated_at)
SELECT pg_temp.uid({K_MAILBOX}, r), pg_temp.uid({K_USER}, r), {_rep_email('r')}, {_rep_first('r')},
       'gmail', true, {ANCHOR_SQL}, {ANCHOR_SQL} - interval '800 days', {ANCHOR_SQL} - interval '800 days'
FROM (VALUES {rows}) AS v(r)
"""


def gateways_sql() -> str:
    rows = ", ".join(f"({i})" for i in range(len(REPS) + 1))
    return f"""
INSERT INTO sms_gateways (id, user_id, label, gateway_url, username, password_encrypted, from_number,
                          from_number_e164, is_active, last_seen_at, created_at, updated_at)
SELECT pg_temp.uid({K_GATEWAY}, r), pg_temp.uid({K_USER}, r), {_rep_first('r')} || '''s phone',
       'https://gateway.invalid/' || r, 'bench', %(password)s, {_gateway_number('r')}, {_gateway_number('r')},
       true, {ANCHOR_SQL}, {ANCHOR_SQL} - interval '800 days', {ANCHOR_SQL} - interval '800 days'
FROM (VALUES {rows}) AS v(r)
"""


def messages_table_sql(plan: InboxPlan, matched: int) -> str:
    """inbox_msgs: every matched message's number, lead, channel, direction and time (a temp
    table the message tables and the conversations are made from)."""
    b = plan.base
    inbound = array(INBOUND_SHARE)
    return f"""
CREATE TEMP TABLE inbox_msgs ON COMMIT DROP AS
SELECT m, l, ct, pg_temp.contact_company(ct) AS cc, coalesce(pg_temp.company_rep(pg_temp.contact_company(ct)), 0)
       AS rep, ch, pg_temp.u(m, 203) < ({inbound})[ch] AS inbound,
       created + pow(pg_temp.u(m, 204), 0.7) * ({ANCHOR_SQL} - created) AS occurred
FROM (
    SELECT m, l, pg_temp.lead_contact(l) AS ct, pg_temp.lead_created(l) AS created,
           {weighted(CHANNELS, "pg_temp.u(m, 202)")} AS ch
    FROM (
        SELECT m, CASE WHEN m <= {plan.busiest} THEN 1
                       WHEN pg_temp.u(m, 200) < {BUSY_SHARE}
                       THEN 2 + floor({max(1, b.busy_leads - 1)} * pow(pg_temp.u(m, 201), 1.5))::bigint
                       ELSE 2 + floor({b.leads - 1} * pg_temp.u(m, 201))::bigint END AS l
        FROM generate_series(1, {matched}) AS m
        OFFSET 0
    ) a
    OFFSET 0
) s
"""


def unknown_sms_sql(plan: InboxPlan) -> str:
    """Texts from numbers no contact has: 1-4 each (the last ones recent), some answered,
    each number in its own lead-less conversation."""
    return f"""
INSERT INTO sms_messages (id, lead_id, contact_id, direction, from_number, to_number, body, provider,
                          status, sent_at, created_at, gateway_id, conversation_id, attempts, inbound_key)
SELECT pg_temp.uid({K_SMS}, -(n * 10 + k)), NULL, NULL, dir::message_direction,
       CASE WHEN dir = 'INBOUND' THEN number ELSE {_gateway_number('rep')} END,
       CASE WHEN dir = 'INBOUND' THEN {_gateway_number('rep')} ELSE number END,
       CASE WHEN dir = 'INBOUND' THEN {pick(SMS_IN, "pg_temp.u(n * 10 + k, 230)")}
            ELSE 'Hi, this is GPS Leaders - who am I texting with?' END,
       'android_gateway', 'DELIVERED'::sms_status, at, at, pg_temp.uid({K_GATEWAY}, rep),
       pg_temp.uid({K_UNMATCHED}, n), 0,
       CASE WHEN dir = 'INBOUND' THEN 'bench-unknown:' || n || ':' || k END
FROM (
    SELECT n, k, number, rep,
           CASE WHEN k = 2 AND pg_temp.u(n, 225) < 0.3 THEN 'OUTBOUND' ELSE 'INBOUND' END AS dir,
           last - (cnt - k) * (pg_temp.u(n * 10 + k, 226) * 3) * interval '1 day' AS at
    FROM (
        SELECT n, '+1999' || lpad(n::text, 7, '0') AS number, 1 + floor(pg_temp.u(n, 221) * 4)::int AS cnt,
               floor(pg_temp.u(n, 222) * {len(REPS) + 1})::int AS rep,
               {ANCHOR_SQL} - pow(pg_temp.u(n, 223), 2) * interval '365 days' AS last
        FROM generate_series(1, {plan.unknown_numbers}) AS n
        OFFSET 0
    ) a
    CROSS JOIN LATERAL generate_series(1, a.cnt) AS k
    OFFSET 0
) s
"""


def unknown_email_sql(plan: InboxPlan) -> tuple[str, str]:
    """E-mails from addresses no contact has: a lead-less thread each (1-3 messages)."""
    senders = f"""
        SELECT n, 1 + floor(pg_temp.u(n, 241) * 3)::int AS cnt,
               floor(pg_temp.u(n, 242) * {len(REPS) + 1})::int AS rep,
               {ANCHOR_SQL} - pow(pg_temp.u(n, 243), 2) * interval '365 days' AS last,
               {pick(EMAIL_SUBJECTS[:3] + EMAIL_SUBJECTS[6:9], "pg_temp.u(n, 244)")} AS subject
        FROM generate_series(1, {plan.unknown_senders}) AS n"""
    threads = f"""
INSERT INTO email_threads (id, lead_id, email_account_id, gmail_thread_id, subject, last_message_at,
                           created_at, updated_at)
SELECT pg_temp.uid({K_THREAD}, -n), NULL, pg_temp.uid({K_MAILBOX}, rep),
       lpad(to_hex(hashint8extended(-n, {plan.base.seed}::bigint * 1000 + 245)), 16, '0'),
       'Re: ' || subject, last, last - (cnt - 1) * interval '1 day', last
FROM ({senders}) s
"""
    messages = f"""
INSERT INTO email_messages (id, thread_id, gmail_message_id, direction, from_address, to_address, subject,
                            body_text, sent_at, created_at, status, message_id, attempts)
SELECT pg_temp.uid({K_EMAIL}, -(n * 10 + k)), pg_temp.uid({K_THREAD}, -n),
       lpad(to_hex(hashint8extended(-(n * 10 + k), {plan.base.seed}::bigint * 1000 + 246)), 16, '0'),
       'INBOUND'::message_direction, 'someone' || n || '@unknown.example.net', {_rep_email('rep')},
       'Re: ' || subject, {pick(EMAIL_IN, "pg_temp.u(n * 10 + k, 247)")},
       last - (cnt - k) * interval '1 day', last - (cnt - k) * interval '1 day', 'RECEIVED'::email_status,
       '<bench-unknown-' || n || '-' || k || '@mail.example.net>', 0
FROM ({senders}) s
CROSS JOIN LATERAL generate_series(1, s.cnt) AS k
"""
    return threads, messages


SMS_STATUS = [("DELIVERED", 85), ("SENT", 10), ("FAILED", 5)]


def sms_sql() -> str:
    first = "ctc.first_name"
    return f"""
INSERT INTO sms_messages (id, lead_id, contact_id, direction, from_number, to_number, body, provider,
                          status, sent_at, created_at, gateway_id, conversation_id, attempts, inbound_key)
SELECT pg_temp.uid({K_SMS}, m), pg_temp.uid({K_LEAD}, l), ctc.id,
       CASE WHEN inbound THEN 'INBOUND' ELSE 'OUTBOUND' END::message_direction,
       CASE WHEN inbound THEN ctc.phone_e164 ELSE {_gateway_number('rep')} END,
       CASE WHEN inbound THEN {_gateway_number('rep')} ELSE ctc.phone_e164 END,
       CASE WHEN inbound THEN {pick(SMS_IN, "pg_temp.u(m, 210)")}
            ELSE {_fill(SMS_OUT, "pg_temp.u(m, 210)", first, "rep")} END,
       'android_gateway',
       (CASE WHEN inbound THEN 'DELIVERED' ELSE {weighted(SMS_STATUS, "pg_temp.u(m, 211)")} END)::sms_status,
       occurred, occurred, pg_temp.uid({K_GATEWAY}, rep), pg_temp.uid({K_CONVERSATION}, l * 4 + 2),
       CASE WHEN inbound THEN 0 ELSE 1 END,
       CASE WHEN inbound THEN 'bench:' || m END
FROM inbox_msgs i
JOIN contacts ctc ON ctc.id = pg_temp.uid({K_CONTACT}, i.ct)
WHERE i.ch = 2
"""


def emails_table_sql() -> str:
    """inbox_emails: each e-mail's thread (the lead's e-mails four at a time, in time order)
    and the message it answers."""
    return f"""
CREATE TEMP TABLE inbox_emails ON COMMIT DROP AS
SELECT m, l, ct, rep, inbound, occurred, t,
       lag(m) OVER (PARTITION BY l, t ORDER BY occurred, m) AS prev,
       row_number() OVER (PARTITION BY l, t ORDER BY occurred, m) AS pos
FROM (
    SELECT m, l, ct, rep, inbound, occurred,
           (row_number() OVER (PARTITION BY l ORDER BY occurred, m) - 1) / {THREAD_SIZE} AS t
    FROM inbox_msgs WHERE ch = 1
) e
"""


def threads_sql(plan: InboxPlan) -> str:
    subjects = [s.replace("{n}", "%N%") for s in EMAIL_SUBJECTS]
    return f"""
INSERT INTO email_threads (id, lead_id, email_account_id, gmail_thread_id, subject, last_message_at,
                           created_at, updated_at)
SELECT pg_temp.uid({K_THREAD}, l * 100000 + t), pg_temp.uid({K_LEAD}, l), pg_temp.uid({K_MAILBOX}, rep),
       lpad(to_hex(hashint8extended(l * 100000 + t, {plan.base.seed}::bigint * 1000 + 250)), 16, '0'),
       replace({pick(subjects, "pg_temp.u(l * 100000 + t, 251)")}, '%N%',
               (1 + floor(pg_temp.u(l * 100000 + t, 252) * 40))::text),
       max(occurred), min(occurred), max(occurred)
FROM inbox_emails
GROUP BY l, t, rep
"""


def email_messages_sql(plan: InboxPlan) -> str:
    first = "ctc.first_name"
    key = "'<bench-' || {m} || '@mail.example.com>'"
    return f"""
INSERT INTO email_messages (id, thread_id, gmail_message_id, direction, from_address, to_address, subject,
                            body_text, sent_at, created_at, status, message_id, in_reply_to, "references",
                            attempts, user_id)
SELECT pg_temp.uid({K_EMAIL}, e.m), th.id,
       lpad(to_hex(hashint8extended(e.m, {plan.base.seed}::bigint * 1000 + 253)), 16, '0'),
       CASE WHEN e.inbound THEN 'INBOUND' ELSE 'OUTBOUND' END::message_direction,
       CASE WHEN e.inbound THEN ctc.email ELSE {_rep_email('e.rep')} END,
       CASE WHEN e.inbound THEN {_rep_email('e.rep')} ELSE ctc.email END,
       CASE WHEN e.pos = 1 THEN th.subject ELSE 'Re: ' || th.subject END,
       CASE WHEN e.inbound THEN {pick(EMAIL_IN, "pg_temp.u(e.m, 254)")}
            ELSE {_fill(EMAIL_OUT, "pg_temp.u(e.m, 254)", first, "e.rep")} END,
       e.occurred, e.occurred,
       (CASE WHEN e.inbound THEN 'RECEIVED' ELSE 'SENT' END)::email_status,
       {key.format(m='e.m')}, {key.format(m='e.prev')}, {key.format(m='e.prev')},
       CASE WHEN e.inbound THEN 0 ELSE 1 END,
       CASE WHEN NOT e.inbound THEN pg_temp.uid({K_USER}, e.rep) END
FROM inbox_emails e
JOIN email_threads th ON th.id = pg_temp.uid({K_THREAD}, e.l * 100000 + e.t)
JOIN contacts ctc ON ctc.id = pg_temp.uid({K_CONTACT}, e.ct)
"""


def calls_sql() -> str:
    return f"""
INSERT INTO call_logs (id, lead_id, contact_id, direction, duration_seconds, outcome, notes,
                       voicemail_dropped, provider, created_at, user_id)
SELECT pg_temp.uid({K_CALL}, m), pg_temp.uid({K_LEAD}, l), pg_temp.uid({K_CONTACT}, ct),
       CASE WHEN inbound THEN 'INBOUND' ELSE 'OUTBOUND' END::message_direction,
       CASE WHEN outcome = 'CONNECTED' THEN 30 + floor(pow(pg_temp.u(m, 262), 2) * 1500)::int
            WHEN outcome = 'VOICEMAIL' THEN 20 + floor(pg_temp.u(m, 262) * 40)::int ELSE 0 END,
       outcome::call_outcome,
       CASE WHEN outcome = 'CONNECTED' AND pg_temp.u(m, 263) < 0.6 THEN {pick(CALL_NOTES, "pg_temp.u(m, 264)")} END,
       outcome = 'VOICEMAIL' AND NOT inbound AND pg_temp.u(m, 265) < 0.3,
       'manual', occurred, pg_temp.uid({K_USER}, rep)
FROM (
    SELECT m, l, ct, rep, inbound, occurred,
           CASE WHEN inbound THEN {weighted(CALL_IN, "pg_temp.u(m, 261)")}
                ELSE {weighted(CALL_OUT, "pg_temp.u(m, 261)")} END AS outcome
    FROM inbox_msgs WHERE ch = 3
    OFFSET 0
) c
"""


def conversations_sql(has_last_kind: bool) -> str:
    """One conversation per lead and channel, from its last message; the inbox state:
    - a recent inbound last message (RECENT_DAYS): waiting for a reply (30 % marked done), 60 %
      of those unread (1-3), 3 % snoozed;
    - an older inbound one: done (99 %) or forgotten (still waiting, read);
    - an outbound one: answered; half of them marked done;
    - archived: 15 % of those older than 90 days; snoozed (until after the anchor): 1 %."""
    kind_col = ", last_kind" if has_last_kind else ""
    kind_val = (", CASE WHEN c.ch = 3 AND c.inbound AND cl.outcome = 'NO_ANSWER' THEN 'missed_call' "
                f"ELSE lower(({array(CHANNEL_NAMES)})[c.ch]) END") if has_last_kind else ""
    labels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in CALL_LABELS.items())
    return f"""
INSERT INTO conversations (id, lead_id, contact_id, user_id, channel, last_message_at, last_message_preview,
                           unread_count, is_archived, awaiting_reply, done_at, snoozed_until,
                           created_at, updated_at{kind_col})
SELECT pg_temp.uid({K_CONVERSATION}, c.l * 4 + c.ch), pg_temp.uid({K_LEAD}, c.l), pg_temp.uid({K_CONTACT}, c.ct),
       CASE WHEN c.rep > 0 THEN pg_temp.uid({K_USER}, c.rep) END,
       (({array(CHANNEL_NAMES)})[c.ch])::conversation_channel, c.occurred,
       left(CASE c.ch WHEN 1 THEN em.subject || ': ' || em.body_text
                      WHEN 2 THEN sm.body
                      ELSE CASE WHEN c.inbound AND cl.outcome = 'NO_ANSWER' THEN 'Missed call'
                                ELSE 'Call, ' || CASE cl.outcome::text {labels} END
                                     || ' (' || (cl.duration_seconds / 60 + 1) || ' min)' END END, 200),
       CASE WHEN waiting AND NOT archived AND pg_temp.u(c.l * 4 + c.ch, 273) < 0.6
            THEN 1 + floor(pg_temp.u(c.l * 4 + c.ch, 274) * 3)::int ELSE 0 END,
       archived, waiting,
       CASE WHEN done THEN c.occurred + (1 + pg_temp.u(c.l * 4 + c.ch, 275) * 71) * interval '1 hour' END,
       CASE WHEN snoozed AND NOT done THEN {ANCHOR_SQL} + (1 + pg_temp.u(c.l * 4 + c.ch, 276) * 400) * interval '1 day' END,
       c.first_at, c.occurred{kind_val}
FROM (
    SELECT c.*, recent, old,
           CASE WHEN c.inbound AND recent THEN pg_temp.u(c.l * 4 + c.ch, 271) >= 0.3
                WHEN c.inbound THEN pg_temp.u(c.l * 4 + c.ch, 271) < 0.01 ELSE false END AS waiting,
           CASE WHEN c.inbound AND recent THEN pg_temp.u(c.l * 4 + c.ch, 271) < 0.3
                WHEN c.inbound THEN pg_temp.u(c.l * 4 + c.ch, 271) >= 0.01
                ELSE pg_temp.u(c.l * 4 + c.ch, 271) < 0.5 END AS done,
           old AND pg_temp.u(c.l * 4 + c.ch, 272) < 0.15 AS archived,
           CASE WHEN c.inbound AND recent THEN pg_temp.u(c.l * 4 + c.ch, 277) < 0.03
                ELSE pg_temp.u(c.l * 4 + c.ch, 277) < 0.01 END AS snoozed
    FROM (
        SELECT DISTINCT ON (l, ch) l, ch, ct, rep, m, inbound, occurred,
               min(occurred) OVER (PARTITION BY l, ch) AS first_at
        FROM inbox_msgs
        ORDER BY l, ch, occurred DESC, m DESC
    ) c
    CROSS JOIN LATERAL (SELECT c.occurred > {ANCHOR_SQL} - interval '{RECENT_DAYS} days' AS recent,
                               c.occurred < {ANCHOR_SQL} - interval '90 days' AS old) AS age
) c
LEFT JOIN email_messages em ON c.ch = 1 AND em.id = pg_temp.uid({K_EMAIL}, c.m)
LEFT JOIN sms_messages sm ON c.ch = 2 AND sm.id = pg_temp.uid({K_SMS}, c.m)
LEFT JOIN call_logs cl ON c.ch = 3 AND cl.id = pg_temp.uid({K_CALL}, c.m)
"""


def unmatched_conversations_sql(has_unmatched_address: bool, has_last_kind: bool) -> str:
    """The unknown numbers' conversations (no lead): from their texts."""
    extra_col = (", unmatched_address" if has_unmatched_address else "") + (", last_kind" if has_last_kind else "")
    extra_val = (", number" if has_unmatched_address else "") + (", 'sms'" if has_last_kind else "")
    return f"""
INSERT INTO conversations (id, lead_id, contact_id, user_id, channel, last_message_at, last_message_preview,
                           unread_count, is_archived, awaiting_reply, done_at, snoozed_until,
                           created_at, updated_at{extra_col})
SELECT conversation_id, NULL, NULL, NULL, 'SMS', last_at, left(body, 200),
       CASE WHEN inbound AND last_at > {ANCHOR_SQL} - interval '30 days' THEN 1 ELSE 0 END,
       false, inbound, CASE WHEN NOT inbound THEN last_at END, NULL, first_at, last_at{extra_val}
FROM (
    SELECT DISTINCT ON (conversation_id) conversation_id, created_at AS last_at, body,
           direction = 'INBOUND' AS inbound,
           min(created_at) OVER (PARTITION BY conversation_id) AS first_at,
           CASE WHEN direction = 'INBOUND' THEN from_number ELSE to_number END AS number
    FROM sms_messages WHERE lead_id IS NULL
    ORDER BY conversation_id, created_at DESC, id DESC
) s
"""


FILLED_TABLES = ["email_accounts", "sms_gateways", "email_threads", "email_messages", "sms_messages",
                 "call_logs", "conversations"]


def check_empty(conn: psycopg.Connection, plan: InboxPlan) -> None:
    leads = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
    if leads != plan.base.leads or conn.execute(
            f"SELECT NOT EXISTS (SELECT 1 FROM leads WHERE id = pg_temp.uid({K_LEAD}, 1))").fetchone()[0]:
        raise SystemExit(
            f"bench.generate_inbox: the database has {leads:,} leads, not the {plan.base.leads:,} of "
            f"`python -m bench.generate --scale {plan.base.scale:g} --seed {plan.base.seed}`: run that first "
            "(with the same --scale and --seed).")
    found = [t for t in FILLED_TABLES if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]]
    if found:
        raise SystemExit(
            f"bench.generate_inbox: refusing to fill tables that already have rows ({', '.join(found)}).\n"
            "It only fills empty message tables, so that a seed always gives the same data.\n"
            f"Start over: delete {BENCH_PGDATA} and run bench.generate and bench.generate_inbox again.")


def check_foreign_keys(conn: psycopg.Connection) -> None:
    """Every single-column foreign key of the filled tables, checked set-wise (hash anti-joins)."""
    fks = conn.execute("""
        SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, ra.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND c.conrelid::regclass::text = ANY(%s)
        ORDER BY 1""", (FILLED_TABLES,)).fetchall()
    for name, table, column, ref_table, ref_column in fks:
        (bad,) = conn.execute(
            f'SELECT count(*) FROM {table} t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM {ref_table} r WHERE r."{ref_column}" = t."{column}")').fetchone()
        if bad:
            raise RuntimeError(f"bench.generate_inbox bug: {bad} rows of {table} break {name}; nothing was kept")


def gateway_password(url: str) -> str:
    """The gateways' password, encrypted as the app stores it (random nonce: the one value
    that differs between runs)."""
    from app import create_app
    from app.config import sqlalchemy_url
    from app.integrations.secrets import encrypt

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        return encrypt("bench-gateway-password")


def generate(url: str, plan: InboxPlan, *, out=sys.stdout) -> dict[str, tuple[int, float]]:
    timings: dict[str, tuple[int, float]] = {}

    def step(table: str, sql: str, params=None) -> int:
        started = time.perf_counter()
        rows = conn.execute(sql, params).rowcount
        took = time.perf_counter() - started
        done, before = timings.get(table, (0, 0.0))
        timings[table] = (done + max(rows, 0), before + took)
        print(f"  {table:<22} {rows:>12,} rows {took:8.1f} s", file=out, flush=True)
        return rows

    password = gateway_password(url)
    total_started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn:  # one transaction: all or nothing
        deferred_fk_check = skip_row_triggers(conn)
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '128MB'")
        conn.execute(session_functions(plan.base))
        check_empty(conn, plan)
        has_last_kind = has_column(conn, "conversations", "last_kind")
        has_unmatched_address = has_column(conn, "conversations", "unmatched_address")
        print(f"bench.generate_inbox: scale {plan.base.scale:g}, seed {plan.base.seed}, "
              f"anchor {ANCHOR:%Y-%m-%d}", file=out, flush=True)
        step("email_accounts", mailboxes_sql())
        step("sms_gateways", gateways_sql(), {"password": password})
        unknown = step("sms_messages (unknown)", unknown_sms_sql(plan))
        threads, messages = unknown_email_sql(plan)
        step("email_threads (unknown)", threads)
        unknown += step("email_messages (unknown)", messages)
        step("inbox_msgs (temp)", messages_table_sql(plan, plan.messages - unknown))
        step("sms_messages", sms_sql())
        step("inbox_emails (temp)", emails_table_sql())
        step("email_threads", threads_sql(plan))
        step("email_messages", email_messages_sql(plan))
        step("call_logs", calls_sql())
        step("conversations", conversations_sql(has_last_kind))
        step("conversations (unknown)", unmatched_conversations_sql(has_unmatched_address, has_last_kind))
        if deferred_fk_check:
            started = time.perf_counter()
            check_foreign_keys(conn)
            timings["fk check"] = (0, time.perf_counter() - started)
            print(f"  {'fk check':<22} {'':>12}      {timings['fk check'][1]:8.1f} s", file=out)
        started = time.perf_counter()
        conn.commit()
        timings["commit"] = (0, time.perf_counter() - started)
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(FILLED_TABLES)}")
    timings["vacuum analyze"] = (0, time.perf_counter() - started)
    total = time.perf_counter() - total_started
    rows = sum(n for t, (n, _) in timings.items() if "temp" not in t)
    timings["total"] = (rows, total)
    print(f"  {'commit':<22} {'':>12}      {timings['commit'][1]:8.1f} s", file=out)
    print(f"  {'vacuum/analyze':<22} {'':>12}      {timings['vacuum analyze'][1]:8.1f} s", file=out)
    print(f"  {'total':<22} {rows:>12,} rows {total:8.1f} s", file=out)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate_inbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a database filled by bench.generate "
                        "(default: the embedded server in instance/bench-pgdata)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="the --scale bench.generate ran with (1 = 2M messages over 150k leads)")
    parser.add_argument("--seed", type=int, default=42, help="the --seed bench.generate ran with (default 42)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if not 0 <= args.seed < 2**40:
        parser.error("--seed must be between 0 and 2**40")
    plan = InboxPlan.for_scale(args.scale, args.seed)
    server = None
    url = args.database_url
    if not url:
        server, url = start_bench_postgres()
        from bench.generate import migrate

        migrate(url)  # a no-op unless a migration came after bench.generate
    try:
        generate(url, plan)
    finally:
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
