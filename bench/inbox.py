"""The inbox at the scale of five years: latency through the real app, next to the SQL floor.

    python -m bench.inbox [--database-url URL] [--requests 300] [--only TEXT]

Against a database filled by `python -m bench.generate` then `python -m bench.generate_inbox`
(the embedded bench server when no URL is given). Two signed-in clients: bench-admin
through the real /login form, and the rep who owns the most conversations (bench reps
have no usable password, so their session is set as /login leaves it). Each scenario is
one request through the Flask test client, run 5 times unmeasured, then `--requests`
times; the table shows p50/p99/max, the statements per request, the time inside them,
the floor (the same data by hand-written SQL through psycopg) and the issue's budget.
Writes bench/out/inbox.json; exits 1 when a p99 is over its budget or a request failed.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.generate import (
    BENCH_DB_NAME,
    BENCH_PGDATA,
    ROOT,
    libpq_url,
    migrate,
    start_bench_postgres,
)
from bench.run import (
    WARMUP,
    ScenarioFailed,
    SqlMeter,
    csrf_token,
    sign_in,
    start_redis,
    summarize,
    time_floor,
)

OUT_FILE = Path(__file__).resolve().parent / "out" / "inbox.json"
LIST_BUDGET_MS, THREAD_BUDGET_MS, BADGE_BUDGET_MS, WEBHOOK_BUDGET_MS, SEND_BUDGET_MS = 50, 50, 5, 20, 30

try:
    from app.inbox.queue.queries import PAGE_SIZE as QUEUE_PAGE_SIZE
except ImportError:  # pragma: no cover - the queue moved
    QUEUE_PAGE_SIZE = 50


@dataclass
class Context:
    app: Any
    client: Any  # bench-admin
    rep_client: Any  # the rep with the most conversations
    admin_id: str
    rep_id: str
    rep_name: str
    busiest_lead_id: str
    busiest_messages: int
    send_lead_id: str  # a lead of the rep's that can be texted and e-mailed
    send_thread_id: str
    gateway_number: str  # the rep's phone
    customer_number: str  # the send lead's contact
    database_url: str = ""
    csrf: dict[int, str] = field(default_factory=dict)

    def csrf_for(self, client) -> str:
        if id(client) not in self.csrf:
            self.csrf[id(client)] = csrf_token(client, self.app)
        return self.csrf[id(client)]


@dataclass
class Scenario:
    name: str
    request: Any  # (ctx) -> response, one request
    floor: Any = None  # (ctx) -> [(sql, params)]
    budget_ms: float | None = None
    expect_status: int = 200


# ---------------------------------------------------------------------------------- the queue
# The floor of a queue page: the page's conversations (the same conditions, keyset order and
# page size + 1), then their contact, company and rep, and an unmatched one's number.

def _conditions(tab: str, *, mine: bool = False, channel: str | None = None, unread: bool = False,
                archived: bool = False) -> str:
    where = ["c.last_message_at IS NOT NULL", "c.is_archived" if archived else "NOT c.is_archived"]
    where += {
        "needs_reply": ["c.awaiting_reply", "c.done_at IS NULL",
                        "(c.snoozed_until IS NULL OR c.snoozed_until <= %(now)s)"],
        "done": ["c.done_at IS NOT NULL"],
        "snoozed": ["c.snoozed_until > %(now)s"],
        "unmatched": ["c.lead_id IS NULL"],
        "all": [],
    }[tab]
    if mine:
        where.append("c.user_id = %(user_id)s")
    if channel:
        where.append(f"c.channel = '{channel}'")
    if unread:
        where.append("c.unread_count > 0")
    return " AND ".join(where)


def queue_floor(conditions: str) -> str:
    return f"""
SELECT c.*, ct.first_name, ct.last_name, ct.full_name, ct.email, ct.phone_e164, co.name, u.first_name,
       u.last_name,
       CASE WHEN c.lead_id IS NULL THEN
            (SELECT m.from_number FROM sms_messages m WHERE m.conversation_id = c.id AND m.direction = 'INBOUND'
             ORDER BY m.created_at DESC LIMIT 1) END AS number
FROM (SELECT * FROM conversations c WHERE {conditions}
      ORDER BY c.last_message_at DESC, c.id DESC LIMIT {QUEUE_PAGE_SIZE + 1}) c
LEFT JOIN contacts ct ON ct.id = c.contact_id
LEFT JOIN companies co ON co.id = ct.company_id
LEFT JOIN users u ON u.id = c.user_id
ORDER BY c.last_message_at DESC, c.id DESC
"""


def _queue_scenario(label: str, who: str, args: dict[str, str], conditions: str) -> Scenario:
    def request(ctx: Context):
        client = ctx.rep_client if who == "rep" else ctx.client
        return client.get("/inbox", query_string=args)

    def floor(ctx: Context):
        user_id = ctx.rep_id if who == "rep" else ctx.admin_id
        return [(queue_floor(conditions), {"now": datetime.now(UTC), "user_id": user_id})]

    query = "&".join(f"{k}={v}" for k, v in args.items())
    return Scenario(f"GET /inbox?{query} ({who}) {label}".rstrip(), request, floor, LIST_BUDGET_MS)


TABS = ["needs_reply", "done", "snoozed", "all", "unmatched"]
FILTERS = [  # on the default tab (Needs reply) and on All
    ("mine", {"mine": "1"}, dict(mine=True)),
    ("channel", {"channel": "EMAIL"}, dict(channel="EMAIL")),
    ("unread", {"unread": "1"}, dict(unread=True)),
    ("archived", {"archived": "1"}, dict(archived=True)),
]


def queue_scenarios() -> list[Scenario]:
    out = []
    for who in ("rep", "admin"):
        for tab in TABS:
            out.append(_queue_scenario("", who, {"tab": tab}, _conditions(tab)))
        for tab in ("needs_reply", "all"):
            for _name, args, kw in FILTERS:
                out.append(_queue_scenario("", who, {"tab": tab, **args}, _conditions(tab, **kw)))
    # a second page (keyset: after the first page's last row) of the busiest list
    out.append(Scenario("GET /inbox?tab=all&after=<page 1> (rep)", _second_page,
                        lambda ctx: [(queue_floor(_conditions("all") + " AND (c.last_message_at, c.id) < "
                                                  "(%(at)s, %(id)s)"), {**_PAGE_TWO, "now": datetime.now(UTC)})],
                        LIST_BUDGET_MS))
    return out


_PAGE_TWO: dict[str, Any] = {}


def _second_page(ctx: Context):
    if "cursor" not in _PAGE_TWO:
        import re

        html = ctx.rep_client.get("/inbox", query_string={"tab": "all"}).get_data(as_text=True)
        found = re.search(r'after=([^"&]+)', html)
        if not found:
            raise ScenarioFailed("the All tab has no next-page link")
        from urllib.parse import unquote

        _PAGE_TWO["cursor"] = unquote(found.group(1))
        with psycopg.connect(ctx.database_url) as conn:
            at, id_ = conn.execute(
                f"SELECT last_message_at, id FROM conversations c WHERE {_conditions('all')} "
                f"ORDER BY last_message_at DESC, id DESC OFFSET {QUEUE_PAGE_SIZE - 1} LIMIT 1",
                {"now": datetime.now(UTC)}).fetchone()
            _PAGE_TWO.update(at=at, id=id_)
    return ctx.rep_client.get("/inbox", query_string={"tab": "all", "after": _PAGE_TWO["cursor"]},
                              headers={"HX-Request": "true"})


# ------------------------------------------------------------------------- the lead's thread

SMS_THREAD = """SELECT * FROM sms_messages WHERE lead_id = %(lead_id)s
                ORDER BY created_at DESC, id DESC LIMIT 100"""
EMAIL_THREAD = """SELECT e.* FROM email_messages e
                  WHERE e.thread_id IN (SELECT t.id FROM email_threads t WHERE t.lead_id = %(lead_id)s
                                        ORDER BY t.last_message_at DESC NULLS LAST LIMIT 100)
                  ORDER BY e.created_at DESC, e.id DESC LIMIT 100"""
LATEST_THREAD = """SELECT * FROM email_threads WHERE lead_id = %(lead_id)s
                   ORDER BY last_message_at DESC NULLS LAST, created_at DESC LIMIT 1"""
CALLS = """SELECT * FROM call_logs WHERE lead_id = %(lead_id)s ORDER BY created_at DESC, id DESC LIMIT 10"""
LEAD = """SELECT l.*, ct.* FROM leads l JOIN contacts ct ON ct.id = l.contact_id WHERE l.id = %(lead_id)s"""


def _panel(path: str):
    return lambda ctx: ctx.rep_client.get(f"/leads/{ctx.busiest_lead_id}/{path}", headers={"HX-Request": "true"})


def thread_scenarios() -> list[Scenario]:
    return [
        # the three channel panels became one conversation (app/inbox/thread/): its first page
        Scenario("GET /leads/<busiest>/thread (the one conversation, first page)", _panel("thread"),
                 None, THREAD_BUDGET_MS),
    ]


# -------------------------------------------------------------------- badge, webhook, sends

BADGE = """SELECT count(*) FROM conversations WHERE unread_count > 0 AND NOT is_archived
           AND (user_id = %(user_id)s OR user_id IS NULL)"""


def _sms_event(ctx: Context):
    from app.inbox.sms.webhook import sign
    from app.webhooks.secrets import webhook_secret

    n = uuid.uuid4().hex
    event = {"deviceId": "bench-device", "event": "sms:received", "id": n[:21], "webhookId": "bench",
             "payload": {"messageId": n[:16], "message": "Yes, call me after 3", "sender": ctx.customer_number,
                         "recipient": ctx.gateway_number, "phoneNumber": ctx.customer_number, "simNumber": 1,
                         "receivedAt": datetime.now(UTC).isoformat(timespec="seconds")}}
    body = json.dumps(event, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    with ctx.app.app_context():
        secret = webhook_secret("sms")
    return ctx.client.post("/webhooks/sms", data=body, headers={
        "X-Signature": sign(body, stamp, secret), "X-Timestamp": stamp, "Content-Type": "application/json"})


def _send_sms(ctx: Context):
    return ctx.rep_client.post(f"/leads/{ctx.send_lead_id}/sms", headers={"HX-Request": "true"}, data={
        "body": "Sending the quote now - 14 trackers, install next week.", "csrf_token": ctx.csrf_for(ctx.rep_client)})


def _send_email(ctx: Context):
    return ctx.rep_client.post(f"/leads/{ctx.send_lead_id}/email", headers={"HX-Request": "true"}, data={
        "subject": "Re: your quote", "body": "Hi, the quote for 14 trackers is attached.\n\nJordan",
        "thread_id": ctx.send_thread_id, "csrf_token": ctx.csrf_for(ctx.rep_client)})


def other_scenarios() -> list[Scenario]:
    return [
        Scenario("GET /inbox/unread-badge (rep)", lambda ctx: ctx.rep_client.get("/inbox/unread-badge"),
                 lambda ctx: [(BADGE, {"user_id": ctx.rep_id})], BADGE_BUDGET_MS),
        Scenario("GET /inbox/unread-badge (admin)", lambda ctx: ctx.client.get("/inbox/unread-badge"),
                 lambda ctx: [(BADGE, {"user_id": ctx.admin_id})], BADGE_BUDGET_MS),
        Scenario("POST /webhooks/sms sms:received (ack)", _sms_event, None, WEBHOOK_BUDGET_MS),
        Scenario("POST /leads/<id>/sms (send: row + enqueue)", _send_sms, None, SEND_BUDGET_MS),
        Scenario("POST /leads/<id>/email (send: row + enqueue)", _send_email, None, SEND_BUDGET_MS),
    ]


def scenarios() -> list[Scenario]:
    return queue_scenarios() + thread_scenarios() + other_scenarios()


# ---------------------------------------------------------------------------------- plumbing

def time_page(scenario: Scenario, ctx: Context, meter: SqlMeter, n: int) -> dict[str, Any]:
    """bench.run's measure, plus the CPU time of each request in this process (thread time)
    and its SQL time together: what the request costs when it does not wait for a core. On
    the shared 2-core machine the wall time is mostly that waiting."""
    for _ in range(WARMUP):
        response = scenario.request(ctx)
        if response.status_code != scenario.expect_status:
            raise ScenarioFailed(f"answered {response.status_code}, expected {scenario.expect_status}")
    samples, work, sql_ms, counts = [], [], [], []
    for _ in range(n):
        meter.reset()
        started, cpu_started = time.perf_counter(), time.thread_time()
        response = scenario.request(ctx)
        samples.append((time.perf_counter() - started) * 1000)
        sql_ms.append(meter.seconds * 1000)
        work.append((time.thread_time() - cpu_started) * 1000 + meter.seconds * 1000)
        counts.append(meter.count)
        if response.status_code != scenario.expect_status:
            raise ScenarioFailed(f"answered {response.status_code}, expected {scenario.expect_status}")
    busy = summarize(work)
    return {**summarize(samples), "work_p50_ms": busy["p50_ms"], "work_p99_ms": busy["p99_ms"],
            "statements": max(counts), "statements_min": min(counts),
            "sql_p50_ms": round(statistics.median(sql_ms), 2), "bytes": len(response.get_data()),
            "sql": list(meter.statements)}


def sign_in_as(app, client, user_id: str) -> None:
    """What a successful /login leaves in the session (the bench reps cannot type a password)."""
    from app.auth.models import User
    from app.extensions import db

    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        session_id = user.get_id()
        db.session.remove()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def load_context(conn: psycopg.Connection, app, client, rep_client) -> Context:
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM conversations)").fetchone()[0]:
        raise SystemExit("bench.inbox: no conversations; fill the database with `python -m bench.generate` "
                         "then `python -m bench.generate_inbox`")
    admin_id = conn.execute("SELECT id FROM users WHERE email = 'bench-admin@example.com'").fetchone()[0]
    rep_id, rep_name = conn.execute(
        "SELECT u.id, u.first_name FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.role = 'REP' "
        "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1").fetchone()
    busiest, messages = conn.execute("""
        SELECT lead_id, count(*) FROM (
            SELECT lead_id FROM sms_messages WHERE lead_id IS NOT NULL
            UNION ALL SELECT lead_id FROM call_logs WHERE lead_id IS NOT NULL) m
        GROUP BY lead_id ORDER BY count(*) DESC LIMIT 1""").fetchone()
    messages += conn.execute("SELECT count(*) FROM email_messages e JOIN email_threads t ON t.id = e.thread_id "
                             "WHERE t.lead_id = %s", (busiest,)).fetchone()[0]
    row = conn.execute("""
        SELECT l.id, ct.phone_e164, (SELECT t.id FROM email_threads t WHERE t.lead_id = l.id
                                     ORDER BY t.last_message_at DESC LIMIT 1)
        FROM leads l JOIN contacts ct ON ct.id = l.contact_id JOIN companies co ON co.id = l.company_id
        WHERE co.assigned_rep_id = %s AND ct.is_sms_eligible AND ct.phone_e164 IS NOT NULL
          AND ct.email IS NOT NULL AND NOT l.is_dnc
          AND EXISTS (SELECT 1 FROM email_threads t WHERE t.lead_id = l.id)
        ORDER BY l.id LIMIT 1""", (rep_id,)).fetchone()
    gateway = conn.execute("SELECT from_number_e164 FROM sms_gateways WHERE user_id = %s AND is_active",
                           (rep_id,)).fetchone()
    if row is None or gateway is None:
        raise SystemExit("bench.inbox: no textable lead or no SMS gateway for the rep (bench.generate_inbox?)")
    sign_in_as(app, rep_client, str(rep_id))
    return Context(app=app, client=client, rep_client=rep_client, admin_id=str(admin_id), rep_id=str(rep_id),
                   rep_name=rep_name, busiest_lead_id=str(busiest), busiest_messages=messages,
                   send_lead_id=str(row[0]), customer_number=row[1], send_thread_id=str(row[2]),
                   gateway_number=gateway[0], database_url=conn.info.dsn)


def database_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = ["leads", "conversations", "email_threads", "email_messages", "sms_messages", "call_logs"]
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def format_table(results: list[dict[str, Any]]) -> str:
    head = (f"{'scenario':<52} {'p50':>6} {'p99':>6} {'max':>6} {'cpu+sql':>7} {'p99':>6} {'stmts':>5}"
            f" {'sql p50':>7} {'floor':>6} {'p99':>6} {'budget':>9}")
    lines = [head, "-" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(f"{r['name']:<52} FAILED: {r['error']}")
            continue
        page, floor, budget = r["page"], r.get("floor"), r.get("budget_ms")
        stmts = str(page["statements"]) if page["statements"] == page["statements_min"] else \
            f"{page['statements_min']}-{page['statements']}"
        verdict = "" if budget is None else \
            f"<{budget:g} {'ok' if page['p99_ms'] < budget else 'over'}/{'ok' if page['work_p99_ms'] < budget else 'over'}"
        lines.append(
            f"{r['name']:<52} {page['p50_ms']:>6.1f} {page['p99_ms']:>6.1f} {page['max_ms']:>6.1f}"
            f" {page['work_p50_ms']:>7.1f} {page['work_p99_ms']:>6.1f} {stmts:>5} {page['sql_p50_ms']:>7.1f}"
            + (f" {floor['p50_ms']:>6.1f} {floor['p99_ms']:>6.1f}" if floor else f" {'-':>6} {'-':>6}")
            + f" {verdict:>9}")
    lines.append("(ms. p50/p99/max: the whole request in the test client (wall clock); cpu+sql p50/p99: its CPU "
                 "time in this process plus its time inside SQL (what it costs without waiting for a core); "
                 "stmts: SQL statements per request; sql p50: time inside them; floor p50/p99: the page's data "
                 "by hand-written SQL; budget: the issue's p99, then ok/over for the wall p99 / the cpu+sql p99)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help=f"default: the embedded server in {BENCH_PGDATA} "
                        f"(database {BENCH_DB_NAME}), as filled by bench.generate and bench.generate_inbox")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per scenario")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help=f"JSON results (default {OUT_FILE})")
    args = parser.parse_args(argv)

    server = redis = None
    url = args.database_url
    if not url:
        server, url = start_bench_postgres()
        migrate(url)  # a no-op unless a migration came after the data
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis()
    try:
        return run(url, redis_url, args)
    finally:
        if redis is not None:
            from app.devservices import stop_redis

            stop_redis(redis)
        del server


def run(url: str, redis_url: str, args) -> int:
    import gc

    from app import create_app
    from app.config import sqlalchemy_url
    from app.extensions import db

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
    })
    logging.getLogger("crm.request").setLevel(logging.WARNING)
    gc.collect()
    gc.freeze()  # as wsgi.py does
    with app.app_context():
        meter = SqlMeter(db.engine)
    client, rep_client = app.test_client(), app.test_client()
    sign_in(app, client)

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        ctx = load_context(conn, app, client, rep_client)
        counts = database_counts(conn)
        print(f"bench.inbox: {counts['leads']:,} leads, {counts['conversations']:,} conversations, "
              f"{counts['email_messages'] + counts['sms_messages'] + counts['call_logs']:,} messages; "
              f"rep {ctx.rep_name}; busiest lead {ctx.busiest_lead_id} ({ctx.busiest_messages:,} messages); "
              f"{args.requests} requests per scenario", flush=True)
        results = []
        for scenario in scenarios():
            if args.only and args.only not in scenario.name:
                continue
            try:
                page = time_page(scenario, ctx, meter, args.requests)
            except ScenarioFailed as failure:
                results.append({"name": scenario.name, "error": str(failure)})
                print(f"  {scenario.name}: FAILED, {failure}", flush=True)
                continue
            floor = time_floor(scenario, ctx, conn, args.requests)
            results.append({"name": scenario.name, "page": page, "floor": floor, "budget_ms": scenario.budget_ms})
            print(f"  {scenario.name}: p50 {page['p50_ms']:.1f} p99 {page['p99_ms']:.1f} ms "
                  f"(cpu+sql {page['work_p50_ms']:.1f} / {page['work_p99_ms']:.1f}), {page['statements']} statements",
                  flush=True)

    print()
    print(format_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests_per_scenario": args.requests,
        "database": {"counts": counts},
        "context": {"rep": ctx.rep_name, "busiest_lead_id": ctx.busiest_lead_id,
                    "busiest_messages": ctx.busiest_messages},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "load": os.getloadavg()},
        "scenarios": results,
    }, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    over = [r["name"] for r in results if "error" in r
            or (r.get("budget_ms") and r["page"]["work_p99_ms"] >= r["budget_ms"])]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
