"""Deterministic benchmark data at the scale of a real pipeline.

    python -m bench.generate [--database-url URL] [--scale 1] [--seed 42]

Scale 1: 100k companies, 130k contacts, 150k leads, 1M activities (plus users, tags,
lead tags, lead scores and tasks). `--scale 10` is the stress size (1.5M leads, 10M
activities). Without `--database-url` a dedicated embedded PostgreSQL is started in
instance/bench-pgdata (database `crm_bench`) and migrated to head first.

Every row is computed inside PostgreSQL by `INSERT ... SELECT ... FROM generate_series`:
each random choice is a hash of (row number, purpose, seed) (`hashint8extended`), and
every primary key is a hash-derived UUID, so one seed always gives the same rows,
whatever the order or the plan. The only value that differs between runs is the
admin's argon2 hash (salted). "Now" of the generated world is the fixed ANCHOR below.
The target database must be migrated and empty: the generator refuses anything else.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
# BENCH_PGDATA=instance/bench10-pgdata keeps a second embedded server (e.g. the 10x data) apart.
BENCH_PGDATA = Path(os.environ.get("BENCH_PGDATA") or ROOT / "instance" / "bench-pgdata").resolve()
BENCH_DB_NAME = "crm_bench"

# "Now" in the generated world: everything happens in the two years before it.
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
SPAN_SECONDS = 730 * 86400

BASE_COUNTS = {"companies": 100_000, "contacts": 130_000, "leads": 150_000, "activities": 1_000_000}
ACTIVITY_CHUNK = 1_000_000  # rows per INSERT statement (progress lines at scale 10)

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-pass"
REP_PASSWORD_HASH = "!bench"  # the "!" prefix: an unusable password, reps cannot sign in
# (first name, last name, share of the assigned companies in percent); 15 % stay unassigned.
REPS = [("Jordan", "Reyes", 28), ("Priya", "Shah", 22), ("Sam", "Okafor", 17),
        ("Elena", "Marsh", 11), ("Theo", "Lindqvist", 7)]

# Row kinds: the first argument of pg_temp.uid(), so ids of different tables never collide.
K_USER, K_COMPANY, K_CONTACT, K_LEAD, K_TAG, K_LEAD_TAG, K_SCORE, K_ACTIVITY, K_PLACE, K_TASK = range(1, 11)

# (value, weight) lists: weights are integers, a choice is an index into the expanded array.
STAGES = [("NEW_LEAD", 38), ("HOT", 7), ("QUALIFIED", 9), ("QUOTED", 7), ("BUY_PERIOD_30", 4),
          ("BUY_PERIOD_60", 3), ("BUY_PERIOD_90", 3), ("WON", 9), ("LOST", 15), ("BOGUS", 5)]
STAGE_LABELS = ["New lead", "Hot", "Qualified", "Quoted", "Buying in 30 days",
                "Buying in 60 days", "Buying in 90 days", "Won", "Lost", "Bogus"]
COMPANY_STATUSES = [("LEAD", 70), ("CUSTOMER", 12), ("PARTNER", 2), ("CONTACT", 4),
                    ("INACTIVE", 7), ("DEAD", 5)]
# (industry, weight, three name suffixes)
INDUSTRIES = [
    ("Towing", 16, ("Towing", "Towing & Recovery", "Wrecker Service")),
    ("HVAC", 14, ("Heating & Air", "HVAC", "Air Conditioning")),
    ("Plumbing", 12, ("Plumbing", "Plumbing & Drain", "Rooter")),
    ("Landscaping", 10, ("Landscaping", "Lawn Care", "Tree Service")),
    ("Trucking", 10, ("Trucking", "Freight", "Transport")),
    ("Construction", 8, ("Construction", "Builders", "Contracting")),
    ("Delivery", 8, ("Delivery", "Courier", "Logistics")),
    ("Equipment Rental", 5, ("Equipment Rental", "Rentals", "Equipment")),
    ("Electrical", 5, ("Electric", "Electrical Services", "Electricians")),
    ("Pest Control", 4, ("Pest Control", "Exterminators", "Termite & Pest")),
    ("Roofing", 3, ("Roofing", "Roofing & Gutters", "Roofers")),
    ("Waste Management", 2, ("Disposal", "Waste Services", "Dumpster Rental")),
    ("Moving & Storage", 2, ("Moving", "Movers", "Moving & Storage")),
    ("Pool Service", 1, ("Pool Service", "Pools & Spas", "Pool Care")),
]
# (city, area code, time zone, weight)
CITIES = [
    ("Dallas", "214", "America/Chicago", 8), ("Fort Worth", "817", "America/Chicago", 5),
    ("Houston", "713", "America/Chicago", 6), ("Austin", "512", "America/Chicago", 4),
    ("San Antonio", "210", "America/Chicago", 4), ("Phoenix", "602", "America/Phoenix", 7),
    ("Mesa", "480", "America/Phoenix", 3), ("Tucson", "520", "America/Phoenix", 3),
    ("Denver", "303", "America/Denver", 5), ("Las Vegas", "702", "America/Los_Angeles", 3),
    ("Los Angeles", "213", "America/Los_Angeles", 6), ("San Diego", "619", "America/Los_Angeles", 4),
    ("Sacramento", "916", "America/Los_Angeles", 4), ("Fresno", "559", "America/Los_Angeles", 3),
    ("San Jose", "408", "America/Los_Angeles", 3), ("Riverside", "951", "America/Los_Angeles", 3),
    ("Atlanta", "404", "America/New_York", 4), ("Orlando", "407", "America/New_York", 3),
    ("Tampa", "813", "America/New_York", 3), ("Jacksonville", "904", "America/New_York", 2),
    ("Charlotte", "704", "America/New_York", 3), ("Columbus", "614", "America/New_York", 3),
    ("Nashville", "615", "America/Chicago", 3), ("Memphis", "901", "America/Chicago", 2),
    ("Oklahoma City", "405", "America/Chicago", 2), ("Tulsa", "918", "America/Chicago", 2),
    ("Albuquerque", "505", "America/Denver", 2), ("Salt Lake City", "801", "America/Denver", 2),
    ("Boise", "208", "America/Boise", 1), ("Kansas City", "816", "America/Chicago", 2),
]
NAME_PREFIXES = [
    "ABC", "Ace", "All Star", "Alpine", "Apex", "Bayshore", "Big Sky", "Blue Ridge", "Canyon State",
    "Cardinal", "Cascade", "Coastal", "Copper State", "Eagle", "Evergreen", "Express", "Front Range",
    "Frontier", "Golden State", "Granite", "Gulf Coast", "Harbor", "Heartland", "Heritage",
    "Hill Country", "Iron Horse", "Keystone", "Lakeside", "Liberty", "Lone Star", "Magnolia",
    "Metro", "Mile High", "Monarch", "Northside", "Pacific", "Patriot", "Peachtree", "Pioneer",
    "Prairie", "Precision", "Quality", "Rapid", "Red River", "Redwood", "Reliable", "Rocky Mountain",
    "Saguaro", "Silver Creek", "Southern", "Summit", "Sun Country", "Suncoast", "Tidewater", "Titan",
    "Trinity", "Tri-County", "True North", "Valley", "Westside",
]
FIRST_NAMES = [
    "Mike", "Tanya", "Luis", "Rick", "Anita", "Dwayne", "Carlos", "Jessica", "Tom", "Maria", "Kevin",
    "Sarah", "Jose", "Brandon", "Linda", "Hector", "Amy", "Travis", "Nicole", "Ray", "Gloria", "Derek",
    "Heather", "Miguel", "Karen", "Jason", "Rosa", "Cody", "Angela", "Darnell", "Megan", "Tyler",
    "Sandra", "Victor", "Crystal", "Wes", "Monica", "Greg", "Tiffany", "Ahmed", "Lauren", "Dustin",
    "Erica", "Andre", "Paula", "Trent", "Vanessa", "Shawn", "Denise", "Raj", "Kim", "Bobby",
    "Yolanda", "Chad", "Mei", "Frank", "Brenda", "Eddie", "Natalie", "Omar",
]
LAST_NAMES = [
    "Delgado", "Brooks", "Pena", "Garza", "Natarajan", "Whitaker", "Knox", "Prewitt", "Gaines",
    "Bell", "Holloway", "Simmons", "Tran", "Mendez", "Kowalski", "Larkin", "Haddad", "O'Connor",
    "Ferris", "Vogel", "Jordan", "Sutton", "Hollis", "Garcia", "Miller", "Johnson", "Nguyen",
    "Patel", "Martinez", "Williams", "Anderson", "Thompson", "Hernandez", "Lopez", "Clark", "Lewis",
    "Walker", "Young", "Hall", "Allen", "Wright", "Scott", "Torres", "Ramirez", "Flores", "Rivera",
    "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Reed", "Bailey", "Kaur", "Novak",
]
TITLES = [("Owner", 30), ("Operations Manager", 12), ("Fleet Manager", 12), ("Dispatch Manager", 8),
          ("General Manager", 10), ("Office Manager", 10), ("Service Manager", 6), ("President", 5),
          ("Controller", 3), ("VP Operations", 4)]
SOURCES = [("Google Maps", 40), ("Plusvibe", 25), ("Referral", 10), ("Website", 10),
           ("Trade Show", 5), ("Cold Call", 10)]
CAMPAIGNS = ["Towing Q3 outreach", "HVAC fleet spring", "Plumbing vans 2026", "Trucking ELD switch",
             "Landscaping crews", "Construction equipment theft"]
VENDORS = ["Queclink", "CalAmp", "Teltonika", "Suntech", "Concox"]
LOST_REASONS = [("Price too high", 30), ("Went with a competitor", 25), ("No budget this year", 15),
                ("No response", 15), ("Not a fit", 10), ("Out of business", 5)]
# (slug, name, category, color)
TAGS = [
    ("interested", "Interested", "DISPOSITION", "#16a34a"),
    ("not-interested", "Not interested", "DISPOSITION", "#dc2626"),
    ("callback", "Callback", "DISPOSITION", "#f59e0b"),
    ("voicemail", "Voicemail", "DISPOSITION", "#6366f1"),
    ("demo-booked", "Demo booked", "DISPOSITION", "#0ea5e9"),
    ("quote-sent", "Quote sent", "DISPOSITION", "#8b5cf6"),
    ("no-answer", "No answer", "DISPOSITION", "#94a3b8"),
    ("wrong-number", "Wrong number", "DISPOSITION", "#78716c"),
    ("icp-fleet-10-plus", "Fleet 10+", "ICP", "#0d9488"),
    ("icp-small-fleet", "Small fleet", "ICP", "#65a30d"),
    ("icp-high-value", "High value", "ICP", "#ca8a04"),
    ("icp-multi-location", "Multi-location", "ICP", "#0891b2"),
]
ACTIVITY_TYPES = [("email.sent", 28), ("call.logged", 20), ("email.received", 12), ("sms.sent", 10),
                  ("note.added", 8), ("sequence.step_sent", 9), ("lead.stage_changed", 6),
                  ("task.completed", 4), ("lead.tag_added", 3)]
EMAIL_SUBJECTS = [
    "GPS tracking for your fleet", "Quick question about your trucks", "Following up on our call",
    "Your quote for {n} trackers", "Pricing for GPS devices", "Demo link for tomorrow",
    "Theft recovery with live tracking", "Checking in", "Cut fuel costs with GPS",
    "Re: install schedule", "Invoice and next steps", "Spring promotion on trackers",
]
CALL_OUTCOMES = [("connected", 35), ("no answer", 30), ("left voicemail", 25), ("busy", 5),
                 ("wrong number", 5)]
SMS_TEXTS = ["Hi, this is {rep} from GPS Leaders - got a minute today?", "Sent you the quote by e-mail",
             "Are you still interested in tracking your vans?", "Thanks! Talk tomorrow.",
             "Can we schedule the install for next week?", "Following up on the demo"]
NOTES = ["Owner wants pricing for the whole fleet", "Call back after the busy season",
         "Uses spreadsheets for dispatch today", "Had two trucks stolen last year",
         "Comparing with a competitor quote", "Needs hardwired installs", "Asked about annual prepay",
         "Decision maker is the son, not the owner"]
SEQUENCES = ["New lead nurture", "Quote follow-up", "Win-back", "Trade show follow-up"]
TASK_TYPES = [("CALL", 40), ("EMAIL", 25), ("SMS", 10), ("FOLLOW_UP", 20), ("GENERAL", 5)]
TASK_PRIORITIES = [("URGENT", 5), ("HIGH", 20), ("NORMAL", 60), ("LOW", 15)]
TASK_TITLES = ["Call back about the quote", "Send pricing sheet", "Follow up on the demo",
               "Confirm fleet size", "Check in after install", "Send the agreement"]


@dataclass(frozen=True)
class Plan:
    seed: int
    scale: float
    companies: int
    contacts: int
    leads: int
    activities: int

    @classmethod
    def for_scale(cls, scale: float, seed: int) -> Plan:
        n = {k: max(10, round(v * scale)) for k, v in BASE_COUNTS.items()}
        return cls(seed=seed, scale=scale, **n)

    @property
    def busy_leads(self) -> int:
        """The 1 % of leads that attract 30 % of the activities (some with thousands)."""
        return max(1, self.leads // 100)


# ---------------------------------------------------------------- SQL building blocks

def lit(value) -> str:
    """A SQL literal for a str / int / float (strings quoted, quotes doubled)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def array(values) -> str:
    return "ARRAY[" + ",".join(lit(v) for v in values) + "]"


def pick(values, u: str) -> str:
    """One element of `values`, chosen by the uniform [0, 1) SQL expression `u`."""
    return f"({array(values)})[1 + floor(({u}) * {len(values)})::int]"


def weighted(pairs, u: str) -> str:
    """One value of (value, weight) `pairs`, by weight, chosen by the SQL expression `u`."""
    expanded = [value for value, weight in pairs for _ in range(weight)]
    return pick(expanded, u)


def between(start: str, end: str, u: str) -> str:
    return f"({start}) + ({u}) * (({end}) - ({start}))"


ANCHOR_SQL = f"timestamptz '{ANCHOR.isoformat()}'"


def session_functions(plan: Plan) -> str:
    """Session-local (pg_temp) functions: pure functions of a row number, inlined by the planner."""
    s = plan.seed
    rep_shares = [(0, 100 - sum(w for *_, w in REPS))] + [(i, w) for i, (*_, w) in enumerate(REPS, 1)]
    return f"""
CREATE FUNCTION pg_temp.u(i bigint, k integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (hashint8extended(i, {s}::bigint * 1000 + k) & 9007199254740991)::double precision
           / 9007199254740992.0
$$;
CREATE FUNCTION pg_temp.uid(kind integer, i bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT overlay(overlay(
        lpad(to_hex(hashint8extended(i, {s}::bigint * 1000 + 900 + kind)), 16, '0')
        || lpad(to_hex(hashint8extended(i, {s}::bigint * 1000 + 950 + kind)), 16, '0')
        placing '4' from 13) placing '8' from 17)::uuid
$$;
-- contacts 1..companies belong to the company of the same number (every company has one);
-- the rest to a random company, or to none (15 %).
CREATE FUNCTION pg_temp.contact_company(j bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN j <= {plan.companies} THEN j
                WHEN pg_temp.u(j, 11) < 0.85 THEN 1 + floor(pg_temp.u(j, 12) * {plan.companies})::bigint
           END
$$;
-- leads 1..contacts belong to the contact of the same number; the rest are repeat leads.
CREATE FUNCTION pg_temp.lead_contact(l bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN l <= {plan.contacts} THEN l
                ELSE 1 + floor(pg_temp.u(l, 21) * {plan.contacts})::bigint END
$$;
-- over two years, more of them recent
CREATE FUNCTION pg_temp.lead_created(l bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT {ANCHOR_SQL} - (pow(pg_temp.u(l, 22), 1.3) * {SPAN_SECONDS}) * interval '1 second'
$$;
-- 0 = unassigned, else the rep number (1..{len(REPS)})
CREATE FUNCTION pg_temp.company_rep(c bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT {weighted(rep_shares, "pg_temp.u(c, 31)")}
$$;
"""


def company_name_keys(conn: psycopg.Connection) -> tuple[str, tuple[list[str], list[str]]]:
    """The UPDATE that gives every company its `normalized_name`, computed by the app's one
    normalisation (a SQL copy of it would disagree: "&" and "and", legal suffixes)."""
    from app.crm.records.normalize import normalize_company_name

    names = [name for (name,) in conn.execute("SELECT DISTINCT name FROM companies")]
    keys = [normalize_company_name(name) or name.casefold() for name in names]
    return ("UPDATE companies c SET normalized_name = k.key "
            "FROM unnest(%s::text[], %s::text[]) AS k(name, key) WHERE c.name = k.name", (names, keys))


def users_sql() -> str:
    rows = []
    for i, (first, last, _) in enumerate(REPS, 1):
        rows.append(f"(pg_temp.uid({K_USER}, {i}), {lit(f'bench-rep{i}@example.com')}, "
                    f"{lit(REP_PASSWORD_HASH)}, {lit(first)}, {lit(last)}, 'REP')")
    return f"""
INSERT INTO users (id, email, password_hash, first_name, last_name, role, is_active,
                   created_at, updated_at)
SELECT id, email, password_hash, first_name, last_name, role::user_role, true,
       {ANCHOR_SQL} - interval '800 days', {ANCHOR_SQL} - interval '800 days'
FROM (VALUES (pg_temp.uid({K_USER}, 0), {lit(ADMIN_EMAIL)}, %(admin_hash)s, 'Bench', 'Admin', 'ADMIN'),
             {", ".join(rows)}) AS v(id, email, password_hash, first_name, last_name, role)
"""


def tags_sql() -> str:
    rows = ", ".join(
        f"(pg_temp.uid({K_TAG}, {i}), {lit(slug)}, {lit(name)}, {lit(cat)}, {lit(color)}, {i})"
        for i, (slug, name, cat, color) in enumerate(TAGS, 1)
    )
    return f"""
INSERT INTO tags (id, slug, name, category, color, is_system, is_active, sort_order,
                  created_at, updated_at)
SELECT id, slug, name, category::tag_category, color, true, true, sort_order,
       {ANCHOR_SQL} - interval '800 days', {ANCHOR_SQL} - interval '800 days'
FROM (VALUES {rows}) AS v(id, slug, name, category, color, sort_order)
"""


def companies_sql(plan: Plan) -> str:
    industries = [(i, w) for i, (_, w, _) in enumerate(INDUSTRIES, 1)]
    suffixes = [s for _, _, three in INDUSTRIES for s in three]
    cities = [(i, w) for i, (*_, w) in enumerate(CITIES, 1)]
    suffix = f"({array(suffixes)})[(ind - 1) * 3 + sfx]"
    city = f"({array([c for c, *_ in CITIES])})[ci]"
    base = f"""CASE WHEN p < 0.35 THEN {pick(NAME_PREFIXES, "pg_temp.u(c, 5)")} || ' ' || {suffix}
                    WHEN p < 0.60 THEN {pick(LAST_NAMES, "pg_temp.u(c, 6)")} || ' ' || {suffix}
                    WHEN p < 0.75 THEN {pick(LAST_NAMES, "pg_temp.u(c, 6)")} || ' & Sons ' || {suffix}
                    ELSE {city} || ' ' || {suffix} END"""
    return f"""
INSERT INTO companies (id, name, normalized_name, website, phone, industry, icp_tag, fleet_size,
                       google_rating, google_review_count, google_place_id, source, vendor,
                       assigned_rep_id, status, created_at, updated_at)
SELECT pg_temp.uid({K_COMPANY}, c), name,
       '',  -- the match key: app.crm.records.normalize, filled in by company_name_keys()
       CASE WHEN pg_temp.u(c, 40) < 0.8
            THEN 'https://' || regexp_replace(lower(base), '[^a-z0-9]', '', 'g') || '.example.com' END,
       '+1 (' || area || ') 555-' || lpad(floor(pg_temp.u(c, 41) * 10000)::int::text, 4, '0'),
       ({array([name for name, *_ in INDUSTRIES])})[ind],
       CASE WHEN pg_temp.u(c, 42) < 0.2 THEN NULL
            WHEN fleet >= 40 THEN 'icp-high-value'
            WHEN fleet >= 10 THEN 'icp-fleet-10-plus' ELSE 'icp-small-fleet' END,
       fleet,
       CASE WHEN pg_temp.u(c, 43) < 0.85 THEN round((3 + 2 * pg_temp.u(c, 44))::numeric, 1) END,
       CASE WHEN pg_temp.u(c, 43) < 0.85 THEN floor(pow(pg_temp.u(c, 45), 2) * 900)::int END,
       CASE WHEN pg_temp.u(c, 46) < 0.6
            THEN 'ChIJ' || replace(pg_temp.uid({K_PLACE}, c)::text, '-', '') END,
       {weighted(SOURCES, "pg_temp.u(c, 47)")},
       CASE WHEN pg_temp.u(c, 48) < 0.3 THEN {pick(VENDORS, "pg_temp.u(c, 49)")} END,
       pg_temp.uid({K_USER}, nullif(pg_temp.company_rep(c), 0)),
       status::company_status, created,
       {between("created", ANCHOR_SQL, "pg_temp.u(c, 50)")}
FROM (
    SELECT c, ind, ci, fleet, status, created, area, base,
           base || CASE WHEN p < 0.75 AND pg_temp.u(c, 7) < 0.3
                        THEN ' of ' || {city} ELSE '' END || legal AS name
    FROM (
        SELECT c, ind, ci, fleet, status, created, p, legal,
               ({array([a for _, a, *_ in CITIES])})[ci] AS area, {base} AS base
        FROM (
            SELECT c,
                   {weighted(industries, "pg_temp.u(c, 1)")} AS ind,
                   {weighted(cities, "pg_temp.u(c, 2)")} AS ci,
                   pg_temp.u(c, 3) AS p,
                   1 + floor(pg_temp.u(c, 4) * 3)::int AS sfx,
                   {weighted([("", 60), (" LLC", 25), (" Inc.", 10), (" Co.", 5)], "pg_temp.u(c, 8)")}
                       AS legal,
                   CASE WHEN pg_temp.u(c, 9) < 0.5 THEN 2 + floor(pg_temp.u(c, 10) * 8)::int
                        WHEN pg_temp.u(c, 9) < 0.85 THEN 10 + floor(pg_temp.u(c, 10) * 21)::int
                        ELSE 31 + floor(pg_temp.u(c, 10) * 90)::int END AS fleet,
                   {weighted(COMPANY_STATUSES, "pg_temp.u(c, 13)")} AS status,
                   {ANCHOR_SQL} - (pg_temp.u(c, 14) * {SPAN_SECONDS}) * interval '1 second' AS created
            FROM generate_series(1, {plan.companies}) AS c
            OFFSET 0
        ) a
        OFFSET 0
    ) b
    OFFSET 0
) s
"""


def contacts_sql(plan: Plan) -> str:
    return f"""
INSERT INTO contacts (id, company_id, first_name, last_name, full_name, title, email,
                      email_normalized, email_status, phone, phone_e164, phone_type,
                      is_sms_eligible, timezone, source, created_at, updated_at)
SELECT pg_temp.uid({K_CONTACT}, j), company_id, fn, ln, fn || ' ' || ln, title,
       email, lower(email),
       {weighted([("valid", 70), ("unknown", 20), ("bounced", 5), ("risky", 5)], "pg_temp.u(j, 60)")},
       '(' || area || ') 555-' || digits, '+1' || area || '555' || digits,
       CASE WHEN mobile THEN 'mobile' ELSE 'landline' END,
       mobile AND pg_temp.u(j, 61) < 0.7,
       tz, {weighted(SOURCES, "pg_temp.u(j, 62)")},
       created, {between("created", ANCHOR_SQL, "pg_temp.u(j, 63)")}
FROM (
    SELECT j, co.id AS company_id,
           s.fn, s.ln, s.title, s.area, s.digits, s.mobile, s.tz,
           s.fn || '.' || regexp_replace(s.ln, '[^A-Za-z]', '', 'g') || '.' || j || '@'
               || coalesce(substring(co.website from 9), 'gmail.example.com') AS email,
           CASE WHEN co.id IS NULL
                THEN {ANCHOR_SQL} - (pg_temp.u(j, 64) * {SPAN_SECONDS}) * interval '1 second'
                ELSE {between("co.created_at", ANCHOR_SQL, "pg_temp.u(j, 64) * 0.3")} END AS created
    FROM (
        SELECT j, pg_temp.contact_company(j) AS cc,
               {pick(FIRST_NAMES, "pg_temp.u(j, 1)")} AS fn,
               {pick(LAST_NAMES, "pg_temp.u(j, 2)")} AS ln,
               {weighted(TITLES, "pg_temp.u(j, 3)")} AS title,
               {pick([a for _, a, *_ in CITIES], "pg_temp.u(j, 4)")} AS area,
               lpad(floor(pg_temp.u(j, 5) * 10000)::int::text, 4, '0') AS digits,
               pg_temp.u(j, 6) < 0.65 AS mobile,
               {pick(sorted({tz for *_, tz, _ in CITIES}), "pg_temp.u(j, 7)")} AS tz
        FROM generate_series(1, {plan.contacts}) AS j
        OFFSET 0
    ) s
    LEFT JOIN companies co ON co.id = pg_temp.uid({K_COMPANY}, s.cc)
    OFFSET 0
) r
"""


def leads_sql(plan: Plan, has_stage_changed_at: bool) -> str:
    closed = "stage IN ('WON', 'LOST', 'BOGUS')"
    extra_col = ", stage_changed_at" if has_stage_changed_at else ""
    extra_val = (f", CASE WHEN {closed} THEN updated "
                 f"ELSE {between('created', 'updated', 'pg_temp.u(l, 48)')} END") if has_stage_changed_at else ""
    return f"""
INSERT INTO leads (id, company_id, contact_id, stage, source, source_campaign, estimated_units,
                   estimated_revenue, lost_reason, won_at, lost_at, plusvibe_paused, is_dnc,
                   created_at, updated_at{extra_col})
SELECT pg_temp.uid({K_LEAD}, l), pg_temp.uid({K_COMPANY}, pg_temp.contact_company(ct)),
       pg_temp.uid({K_CONTACT}, ct), stage::lead_stage, source,
       CASE WHEN source = 'Plusvibe' THEN {pick(CAMPAIGNS, "pg_temp.u(l, 41)")} END,
       units, round(units * 378.40, 2),
       CASE WHEN stage IN ('LOST', 'BOGUS') THEN {weighted(LOST_REASONS, "pg_temp.u(l, 42)")} END,
       CASE WHEN stage = 'WON' THEN updated END,
       CASE WHEN stage IN ('LOST', 'BOGUS') THEN updated END,
       source = 'Plusvibe' AND stage <> 'NEW_LEAD' AND pg_temp.u(l, 43) < 0.5,
       pg_temp.u(l, 44) < 0.02,
       created, updated{extra_val}
FROM (
    SELECT l, ct, stage, source, units, created,
           {between("created", ANCHOR_SQL, "pg_temp.u(l, 45)")} AS updated
    FROM (
        SELECT l, pg_temp.lead_contact(l) AS ct, pg_temp.lead_created(l) AS created,
               {weighted(STAGES, "pg_temp.u(l, 1)")} AS stage,
               {weighted(SOURCES, "pg_temp.u(l, 2)")} AS source,
               CASE WHEN pg_temp.u(l, 3) < 0.5 THEN 2 + floor(pg_temp.u(l, 4) * 8)::int
                    WHEN pg_temp.u(l, 3) < 0.85 THEN 10 + floor(pg_temp.u(l, 4) * 21)::int
                    ELSE 31 + floor(pg_temp.u(l, 4) * 90)::int END AS units
        FROM generate_series(1, {plan.leads}) AS l
        OFFSET 0
    ) a
    OFFSET 0
) b
"""


def lead_tags_sql(plan: Plan) -> str:
    # Up to three distinct tags per lead: (start + k * step) mod 12 with a step coprime to 12.
    applied_by = ["nick", "system"] + [f"bench-rep{i}@example.com" for i in range(1, len(REPS) + 1)]
    return f"""
INSERT INTO lead_tags (id, lead_id, tag_slug, applied_at, applied_by, removed_at)
SELECT pg_temp.uid({K_LEAD_TAG}, t), pg_temp.uid({K_LEAD}, l), slug, applied,
       {pick(applied_by, "pg_temp.u(t, 3)")},
       CASE WHEN pg_temp.u(t, 4) < 0.1 THEN {between("applied", ANCHOR_SQL, "pg_temp.u(t, 5)")} END
FROM (
    SELECT l, t, ({array([slug for slug, *_ in TAGS])})[1 + (st + k * step) % {len(TAGS)}] AS slug,
           {between("created", ANCHOR_SQL, "pg_temp.u(t, 2)")} AS applied
    FROM (
        SELECT l, pg_temp.lead_created(l) AS created,
               floor(pg_temp.u(l, 51) * {len(TAGS)})::int AS st,
               {pick([1, 5, 7, 11], "pg_temp.u(l, 52)")} AS step,
               1 + floor(pg_temp.u(l, 53) * 3)::int AS n
        FROM generate_series(1, {plan.leads}) AS l
        WHERE pg_temp.u(l, 50) < 0.4
        OFFSET 0
    ) a
    CROSS JOIN LATERAL generate_series(0, a.n - 1) AS k
    CROSS JOIN LATERAL (SELECT l * 4 + k AS t) AS tk
    OFFSET 0
) s
"""


def lead_scores_sql(plan: Plan) -> str:
    return f"""
INSERT INTO lead_scores (id, lead_id, quality_score, engagement_score, deal_risk,
                         last_interaction_at, days_since_contact, updated_at)
SELECT pg_temp.uid({K_SCORE}, l), pg_temp.uid({K_LEAD}, l),
       floor(pow(pg_temp.u(l, 61), 0.8) * 101)::int,
       floor(pow(pg_temp.u(l, 62), 1.5) * 101)::int,
       {weighted([("LOW", 35), ("MEDIUM", 30), ("HIGH", 15), ("UNKNOWN", 20)], "pg_temp.u(l, 63)")}
           ::deal_risk,
       last, extract(day from {ANCHOR_SQL} - last)::int, last
FROM (
    SELECT l, {between("pg_temp.lead_created(l)", ANCHOR_SQL, "pow(pg_temp.u(l, 64), 0.5)")} AS last
    FROM generate_series(1, {plan.leads}) AS l
    WHERE pg_temp.u(l, 60) < 0.8
    OFFSET 0
) s
"""


def tasks_sql(plan: Plan) -> str:
    # One task for ~15 % of the leads: the company's rep's, some the admin's; 60 % done.
    return f"""
INSERT INTO tasks (id, lead_id, company_id, assigned_to_id, title, task_type, priority, due_at,
                   is_completed, completed_at, created_at, updated_at)
SELECT pg_temp.uid({K_TASK}, l), pg_temp.uid({K_LEAD}, l), pg_temp.uid({K_COMPANY}, cc),
       CASE WHEN pg_temp.u(l, 73) < 0.1 OR rep = 0 THEN pg_temp.uid({K_USER}, 0)
            ELSE pg_temp.uid({K_USER}, rep) END,
       {pick(TASK_TITLES, "pg_temp.u(l, 74)")},
       {weighted(TASK_TYPES, "pg_temp.u(l, 75)")}::task_type,
       {weighted(TASK_PRIORITIES, "pg_temp.u(l, 76)")}::task_priority,
       due, done, CASE WHEN done THEN due END, created, CASE WHEN done THEN due ELSE created END
FROM (
    SELECT l, cc, coalesce(pg_temp.company_rep(cc), 0) AS rep, created,
           created + (pg_temp.u(l, 71) * 45) * interval '1 day' AS due,
           pg_temp.u(l, 72) < 0.6 AS done
    FROM (
        SELECT l, pg_temp.contact_company(pg_temp.lead_contact(l)) AS cc,
               pg_temp.lead_created(l) AS created
        FROM generate_series(1, {plan.leads}) AS l
        WHERE pg_temp.u(l, 70) < 0.15
        OFFSET 0
    ) a
    OFFSET 0
) s
"""


def activities_sql(plan: Plan, first: int, last: int) -> str:
    stages = [s for s, _ in STAGES]
    subjects = [s.replace("{n}", "%N%") for s in EMAIL_SUBJECTS]
    subject = f"replace({pick(subjects, 'pg_temp.u(a, 80)')}, '%N%', (1 + floor(pg_temp.u(a, 81) * 40))::text)"
    rep_first = array(["GPS Leaders"] + [f for f, *_ in REPS])
    return f"""
INSERT INTO activities (id, lead_id, company_id, contact_id, user_id, activity_type, summary,
                        detail, occurred_at, created_at)
SELECT pg_temp.uid({K_ACTIVITY}, a), pg_temp.uid({K_LEAD}, l), pg_temp.uid({K_COMPANY}, cc),
       pg_temp.uid({K_CONTACT}, ct), pg_temp.uid({K_USER}, actor), typ,
       CASE typ
         WHEN 'email.sent' THEN 'E-mail sent: ' || subj
         WHEN 'email.received' THEN 'E-mail received: Re: ' || subj
         WHEN 'call.logged' THEN 'Call, ' || outcome || ' (' || (secs / 60 + 1) || ' min)'
         WHEN 'sms.sent' THEN 'SMS sent: ' || replace({pick(SMS_TEXTS, "pg_temp.u(a, 82)")}, '{{rep}}',
                                                      ({rep_first})[coalesce(actor, 0) + 1])
         WHEN 'note.added' THEN 'Note: ' || {pick(NOTES, "pg_temp.u(a, 82)")}
         WHEN 'sequence.step_sent' THEN 'Sequence "' || {pick(SEQUENCES, "pg_temp.u(a, 82)")}
                                        || '": step ' || (1 + floor(pg_temp.u(a, 83) * 6)) || ' sent'
         WHEN 'lead.stage_changed' THEN 'Stage changed from ' || ({array(STAGE_LABELS)})[st]
                                        || ' to ' || ({array(STAGE_LABELS)})[st + 1]
         WHEN 'task.completed' THEN 'Task completed: ' || {pick(TASK_TITLES, "pg_temp.u(a, 82)")}
         ELSE 'Tag added: ' || {pick([name for _, name, *_ in TAGS], "pg_temp.u(a, 82)")}
       END,
       CASE typ
         WHEN 'email.sent' THEN jsonb_build_object('subject', subj)
         WHEN 'email.received' THEN jsonb_build_object('subject', 'Re: ' || subj)
         WHEN 'call.logged' THEN jsonb_build_object('outcome', outcome, 'duration_s', secs)
         WHEN 'lead.stage_changed' THEN jsonb_build_object('from', ({array(stages)})[st],
                                                           'to', ({array(stages)})[st + 1])
       END,
       occurred, occurred
FROM (
    SELECT a, l, ct, cc, typ,
           CASE WHEN pg_temp.u(a, 73) < 0.05 THEN 0
                WHEN pg_temp.u(a, 73) < 0.80 THEN nullif(pg_temp.company_rep(cc), 0) END AS actor,
           {between("created", ANCHOR_SQL, "pg_temp.u(a, 74)")} AS occurred,
           {subject} AS subj,
           {weighted(CALL_OUTCOMES, "pg_temp.u(a, 75)")} AS outcome,
           floor(pow(pg_temp.u(a, 76), 2) * 1800)::int AS secs,
           1 + floor(pg_temp.u(a, 77) * 9)::int AS st
    FROM (
        SELECT a, l, ct, pg_temp.contact_company(ct) AS cc, created, typ
        FROM (
            SELECT a, l, pg_temp.lead_contact(l) AS ct, pg_temp.lead_created(l) AS created,
                   {weighted(ACTIVITY_TYPES, "pg_temp.u(a, 72)")} AS typ
            FROM (
                SELECT a, CASE WHEN pg_temp.u(a, 70) < 0.3
                               THEN 1 + floor({plan.busy_leads} * pow(pg_temp.u(a, 71), 2))::bigint
                               ELSE 1 + floor({plan.leads} * pg_temp.u(a, 71))::bigint END AS l
                FROM generate_series({first}, {last}) AS a
                OFFSET 0
            ) x
            OFFSET 0
        ) y
        OFFSET 0
    ) z
    OFFSET 0
) s
"""


# ---------------------------------------------------------------- database plumbing

def libpq_url(url: str) -> str:
    """psycopg wants postgresql://; accept SQLAlchemy's postgresql+psycopg:// and postgres://."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if scheme.startswith("postgres"):
        scheme = "postgresql"
    return f"{scheme}://{rest}"


def start_bench_postgres():
    """Start (or join) the embedded bench server; return (server handle, SQLAlchemy URL)."""
    from app.devservices import start_postgres

    return start_postgres(BENCH_PGDATA, BENCH_DB_NAME)


def migrate(url: str) -> None:
    """Upgrade the database to head through the app's own Alembic setup."""
    import flask_migrate

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        flask_migrate.upgrade()


FILLED_TABLES = ["users", "tags", "companies", "contacts", "leads", "lead_tags", "lead_scores",
                 "tasks", "activities"]


def check_empty(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT to_regclass('public.leads')").fetchone()[0] is None:
        raise SystemExit("bench.generate: the database has no `leads` table: migrate it to head "
                         "first (flask --app wsgi db upgrade).")
    found = {}
    for table in FILLED_TABLES:
        (n,) = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1000) t").fetchone()
        if n:
            found[table] = n
    if found:
        listing = ", ".join(f"{t}: {'1000+' if n >= 1000 else n}" for t, n in found.items())
        raise SystemExit(
            f"bench.generate: refusing to fill a database that already has data ({listing}).\n"
            "It only fills an empty, migrated database, so that a seed always gives the same data.\n"
            f"For the embedded bench database, delete {BENCH_PGDATA} and run it again; "
            "otherwise point --database-url at a fresh database."
        )


def has_column(conn: psycopg.Connection, table: str, column: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = %s AND column_name = %s", (table, column)).fetchone()
    return row is not None


def skip_row_triggers(conn: psycopg.Connection) -> bool:
    """Skip the per-row foreign-key triggers for this session, when allowed.

    `session_replication_role = replica` lasts for this session only and needs superuser
    (or the SET privilege on it). Checking 1M activity rows against four tables one row
    at a time costs more than generating them; `check_foreign_keys()` verifies every
    foreign key of the filled tables afterwards with one anti-join each instead. No
    trigger is touched: activities' append-only trigger only fires on UPDATE/DELETE.
    """
    try:
        conn.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        conn.rollback()
        return False
    return True


REFRESH_STAGE_TOTALS = """
UPDATE lead_stage_totals t SET lead_count = c.n, revenue = c.revenue
FROM (SELECT s.stage, count(l.id) AS n, COALESCE(sum(l.estimated_revenue), 0) AS revenue
      FROM unnest(enum_range(NULL::lead_stage)) AS s(stage)
      LEFT JOIN leads l ON l.stage = s.stage GROUP BY s.stage) c
WHERE t.stage = c.stage
"""


# ...and the trigger that moves a lead's last_activity_at with each activity: set once.
# (One GROUP BY over the activities, not a probe per lead: at scale 10 that is 1.5M probes.)
REFRESH_LAST_ACTIVITY = """
UPDATE leads l SET last_activity_at = GREATEST(l.created_at, a.latest)
FROM (SELECT lead_id, max(occurred_at) AS latest FROM activities WHERE lead_id IS NOT NULL GROUP BY lead_id) a
WHERE a.lead_id = l.id
"""
SET_LAST_ACTIVITY_TO_CREATION = "UPDATE leads SET last_activity_at = created_at"
# ...and the per-rep totals (a board filtered by a rep): counted once
REFRESH_REP_TOTALS = """
INSERT INTO lead_stage_rep_totals (stage, rep_id, lead_count, revenue)
SELECT l.stage, c.assigned_rep_id, count(*), COALESCE(sum(l.estimated_revenue), 0)
  FROM leads l JOIN companies c ON c.id = l.company_id
 WHERE c.assigned_rep_id IS NOT NULL
 GROUP BY l.stage, c.assigned_rep_id
"""


def has_table(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]


def check_foreign_keys(conn: psycopg.Connection) -> None:
    """Every single-column foreign key of the filled tables, checked set-wise (hash anti-joins)."""
    fks = conn.execute("""
        SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, ra.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
          AND c.conrelid::regclass::text = ANY(%s)
        ORDER BY 1""", (FILLED_TABLES,)).fetchall()
    for name, table, column, ref_table, ref_column in fks:
        (bad,) = conn.execute(
            f'SELECT count(*) FROM {table} t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM {ref_table} r WHERE r."{ref_column}" = t."{column}")').fetchone()
        if bad:
            raise RuntimeError(f"bench.generate bug: {bad} rows of {table} break {name}; nothing was kept")


def generate(url: str, plan: Plan, *, out=sys.stdout, companies_only: bool = False) -> dict[str, tuple[int, float]]:
    """Fill the database at `url`; return {table: (rows, seconds)}. `companies_only`: the
    users, tags and companies only (the company search at 1M companies, in minutes)."""
    from app.auth.passwords import hash_password

    timings: dict[str, tuple[int, float]] = {}

    def step(table: str, sql: str, params=None) -> None:
        started = time.perf_counter()
        rows = conn.execute(sql, params).rowcount
        took = time.perf_counter() - started
        done, before = timings.get(table, (0, 0.0))
        timings[table] = (done + rows, before + took)
        print(f"  {table:<12} {rows:>12,} rows {took:8.1f} s", file=out, flush=True)

    total_started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn:  # one transaction: all or nothing
        check_empty(conn)
        deferred_fk_check = skip_row_triggers(conn)
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '64MB'")
        conn.execute(session_functions(plan))
        print(f"bench.generate: scale {plan.scale:g}, seed {plan.seed}, anchor {ANCHOR:%Y-%m-%d}",
              file=out, flush=True)
        step("users", users_sql(), {"admin_hash": hash_password(ADMIN_PASSWORD)})
        step("tags", tags_sql())
        step("companies", companies_sql(plan))
        step("name keys", *company_name_keys(conn))
        if has_table(conn, "company_words"):  # replica mode skipped the trigger that keeps them
            step("company words", "INSERT INTO company_words (word) SELECT DISTINCT unnest(name_words(name)) "
                                  "FROM companies ON CONFLICT DO NOTHING")
        if companies_only:
            if deferred_fk_check:
                check_foreign_keys(conn)
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM (ANALYZE) users, tags, companies")
            return timings
        step("contacts", contacts_sql(plan))
        step("leads", leads_sql(plan, has_column(conn, "leads", "stage_changed_at")))
        step("lead_tags", lead_tags_sql(plan))
        step("lead_scores", lead_scores_sql(plan))
        step("tasks", tasks_sql(plan))
        for first in range(1, plan.activities + 1, ACTIVITY_CHUNK):
            step("activities", activities_sql(plan, first, min(plan.activities, first + ACTIVITY_CHUNK - 1)))
        if has_table(conn, "lead_stage_totals"):
            # replica mode also skipped the trigger that keeps the board's totals: recount once
            step("lead_stage_totals", REFRESH_STAGE_TOTALS)
        if has_table(conn, "lead_stage_rep_totals"):
            step("rep totals", REFRESH_REP_TOTALS)
        if has_column(conn, "leads", "last_activity_at"):
            step("last activity", SET_LAST_ACTIVITY_TO_CREATION)  # the leads no activity names
            step("last activity", REFRESH_LAST_ACTIVITY)
        if has_column(conn, "leads", "rep_id"):  # the trigger that keeps it from the company (0030)
            step("lead reps", "UPDATE leads l SET rep_id = c.assigned_rep_id FROM companies c "
                              "WHERE c.id = l.company_id AND c.assigned_rep_id IS NOT NULL")
        if has_table(conn, "report_daily_work"):
            # ...and the one that keeps the reports' rollups of the activity log (0026_reports)
            step("report rollups", "SELECT report_rollups_rebuild()")
        if deferred_fk_check:
            started = time.perf_counter()
            check_foreign_keys(conn)
            timings["fk check"] = (0, time.perf_counter() - started)
            print(f"  {'fk check':<12} {'':>12}      {timings['fk check'][1]:8.1f} s", file=out)
        started = time.perf_counter()
        conn.commit()
        timings["commit"] = (0, time.perf_counter() - started)
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        # VACUUM sets the visibility map and hint bits now, so the first benchmark reads
        # do not pay for them; ANALYZE gives the planner real statistics.
        rollups = [t for t in ("report_stage_changes", "report_daily_work", "report_lead_funnel", "report_stage_days",
                                  "report_rep_open_days")
                   if has_table(conn, t)]
        conn.execute(f"VACUUM (ANALYZE) {', '.join(FILLED_TABLES + rollups)}")
    timings["vacuum analyze"] = (0, time.perf_counter() - started)
    timings["total"] = (sum(n for n, _ in timings.values()), time.perf_counter() - total_started)
    print(f"  {'commit':<12} {'':>12}      {timings['commit'][1]:8.1f} s", file=out)
    print(f"  {'vacuum/analyze':<12} {'':>10}      {timings['vacuum analyze'][1]:8.1f} s", file=out)
    print(f"  {'total':<12} {timings['total'][0]:>12,} rows {timings['total'][1]:8.1f} s", file=out)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an empty database migrated to head "
                        "(default: the embedded server in instance/bench-pgdata, migrated here)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1 = 150k leads and 1M activities (default); 10 = the stress size")
    parser.add_argument("--seed", type=int, default=42, help="same seed, same data (default 42)")
    parser.add_argument("--companies-only", action="store_true",
                        help="users, tags and companies only (the company search benchmark)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if not 0 <= args.seed < 2**40:
        parser.error("--seed must be between 0 and 2**40")
    plan = Plan.for_scale(args.scale, args.seed)

    server = None
    url = args.database_url
    if not url:
        server, url = start_bench_postgres()
        with psycopg.connect(libpq_url(url)) as conn:
            if conn.execute("SELECT to_regclass('public.leads')").fetchone()[0] is not None:
                check_empty(conn)  # refuse before migrating a filled database
        print(f"bench.generate: embedded PostgreSQL in {BENCH_PGDATA}; migrating {BENCH_DB_NAME} to head")
        started = time.perf_counter()
        migrate(url)
        print(f"  {'migrate':<12} {'':>12}      {time.perf_counter() - started:8.1f} s")
    try:
        generate(url, plan, companies_only=args.companies_only)
    finally:
        del server  # the embedded server stops when its last handle goes
    return 0


if __name__ == "__main__":
    sys.exit(main())
