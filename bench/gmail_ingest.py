"""Gmail ingest at 10,000 messages: one sync of a mailbox whose history holds 10,000 new
messages, through the official Gmail client against the local Gmail server of the tests
(tests/gmail_api_fake.py: Google's documented shapes over HTTP), with no duplicates.

    python -m bench.gmail_ingest [--messages 10000]

The mailbox: messages from 2,000 customers (contacts with leads: matched by normalised
address) and from unknown senders (10 %: Unmatched), replies in the same Gmail threads
(30 %), and 5 % the same e-mail (one Message-ID) delivered twice under two Gmail ids.
Measured: the one sync (history pages, a users.messages.get per message, the ingest), its
rate, then checks: every Gmail id noted once, one row per Message-ID, the cursor at the
mailbox's history id, and a second sync that fetches nothing. A database of its own in the
bench server (`crm_bench_gmail`, emptied and migrated on every run), Redis as bench.run does.
Exits 1 when a check fails.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time

import psycopg

from bench.generate import BENCH_PGDATA, libpq_url, migrate
from bench.run import start_redis

DB_NAME = "crm_bench_gmail"
ADDRESS = "jordan.reyes@northstarfleet.example.com"
CUSTOMERS = 2_000


def fresh_database() -> str:
    from app.devservices import start_postgres

    server, url = start_postgres(BENCH_PGDATA, DB_NAME)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate(url)
    fresh_database.server = server  # keep the handle alive for the run
    return url


def fill_mailbox(fake, messages: int, seed: int = 7) -> int:
    """`messages` new messages in the mailbox's history; returns how many distinct Message-IDs."""
    rnd = random.Random(seed)
    box = fake.mailbox(ADDRESS)
    threads: list[str] = []
    distinct = 0
    for i in range(messages):
        if i and rnd.random() < 0.05:  # the same e-mail again under a new Gmail id
            again = box.messages[rnd.choice(list(box.messages))]
            headers = {h["name"]: h["value"] for h in again["payload"]["headers"]}
            box.add(from_=headers["From"], to=ADDRESS, subject=headers["Subject"], body=again["snippet"],
                    message_id=headers["Message-ID"], thread_id=again["threadId"])
            continue
        sender = customer_address(rnd.randrange(CUSTOMERS)) if rnd.random() < 0.9 else f"someone{i}@unknown.example.net"
        thread = rnd.choice(threads) if threads and rnd.random() < 0.3 else None
        full = box.add(from_=sender, to=ADDRESS, subject=f"Trackers for our fleet #{i}",
                       body=f"Hi Jordan,\n\nQuestion {i} about the GPS trackers.\n\nThanks", thread_id=thread,
                       message_id=f"<bench-{i}-{rnd.getrandbits(32):x}@mail.example.com>")
        threads.append(full["threadId"])
        distinct += 1
    return distinct


def customer_address(n: int) -> str:
    return f"customer{n}@fleet{n % 50}.example.com"


def make_customers(db) -> None:
    """2,000 contacts with a lead each, at the addresses the mailbox's customers write from."""
    import uuid

    from sqlalchemy import insert

    from app.crm.models import Company, Contact, Lead

    companies, contacts, leads = [], [], []
    for n in range(CUSTOMERS):
        company_id, contact_id = uuid.uuid4(), uuid.uuid4()
        email = customer_address(n)
        companies.append({"id": company_id, "name": f"Fleet Customer {n}", "normalized_name": f"fleet customer {n}"})
        contacts.append({"id": contact_id, "company_id": company_id, "first_name": "Pat", "last_name": f"C{n}",
                         "full_name": f"Pat C{n}", "email": email.title(), "email_normalized": email})
        leads.append({"id": uuid.uuid4(), "company_id": company_id, "contact_id": contact_id,
                      "estimated_units": 10, "estimated_revenue": 790})
    db.session.execute(insert(Company), companies)
    db.session.execute(insert(Contact), contacts)
    db.session.execute(insert(Lead), leads)
    db.session.commit()


def measure(url: str, redis_url: str, messages: int) -> tuple[dict, list[str]]:
    from sqlalchemy import func, select, text

    from app import create_app
    from app.auth.models import UserRole
    from app.auth.services import create_user
    from app.extensions import db
    from app.inbox.email.models import EmailMessageSource
    from app.inbox.email.sync import sync_account
    from app.inbox.models import EmailAccount, EmailMessage
    from app.integrations.secrets import encrypt
    from tests.gmail_api_fake import FakeGmail

    problems: list[str] = []
    with FakeGmail() as fake:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url,
                          "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1),
                          "GOOGLE_CLIENT_ID": "bench.apps.googleusercontent.com", "GOOGLE_CLIENT_SECRET": "bench",
                          "GOOGLE_TOKEN_URI": fake.url + "token", "GMAIL_API_BASE": fake.url})
        logging.getLogger("crm.gmail").setLevel(logging.WARNING)
        with app.app_context():
            rep = create_user(email="gmail-bench@example.com", first_name="Jordan", last_name="Reyes",
                              role=UserRole.REP, password="gmail bench pass")
            make_customers(db)
            refresh, access = fake.grant(ADDRESS)
            account = EmailAccount(user_id=rep.id, provider="gmail", email_address=ADDRESS,
                                   gmail_refresh_token=encrypt(refresh), gmail_access_token=encrypt(access),
                                   gmail_history_id=str(fake.mailbox(ADDRESS).history_id))
            db.session.add(account)
            db.session.commit()
            account_id = account.id
            distinct = fill_mailbox(fake, messages)

            started = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                import pstats

                profile = cProfile.Profile()
                outcome = profile.runcall(sync_account, account_id)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
            else:
                outcome = sync_account(account_id)
            seconds = time.perf_counter() - started
            gets = sum(1 for m, p in fake.requests if m == "GET" and "/messages/" in p)

            stored = db.session.scalar(select(func.count()).select_from(EmailMessage))
            noted = db.session.scalar(select(func.count()).select_from(EmailMessageSource))
            repeated = db.session.scalar(text(
                "SELECT count(*) FROM (SELECT message_id FROM email_messages GROUP BY message_id "
                "HAVING count(*) > 1) d"))
            cursor = db.session.scalar(select(EmailAccount.gmail_history_id).where(EmailAccount.id == account_id))
            unmatched = db.session.scalar(text(
                "SELECT count(*) FROM email_messages m JOIN email_threads t ON t.id = m.thread_id "
                "WHERE t.lead_id IS NULL"))
            again_started = time.perf_counter()
            again = sync_account(account_id)
            again_seconds = time.perf_counter() - again_started
    if not outcome.startswith("synced"):
        problems.append(f"the sync did not finish: {outcome}")
    if stored != distinct:
        problems.append(f"{stored} rows for {distinct} distinct Message-IDs")
    if noted != messages:
        problems.append(f"{noted} Gmail ids noted for {messages} messages")
    if repeated:
        problems.append(f"{repeated} Message-IDs stored twice")
    if cursor != str(fake.mailbox(ADDRESS).history_id):
        problems.append(f"cursor {cursor} is not the mailbox's history id")
    if "fetched 0, stored 0" not in again:
        problems.append(f"the second sync fetched again: {again}")
    return dict(seconds=seconds, gets=gets, stored=stored, noted=noted, distinct=distinct, unmatched=unmatched,
                outcome=outcome, again=again, again_seconds=again_seconds), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gmail_ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args(argv)
    url = fresh_database()
    redis = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis, redis_url = start_redis()
    try:
        result, problems = measure(url, redis_url, args.messages)
    finally:
        if redis is not None:
            from app.devservices import stop_redis

            stop_redis(redis)
    print(f"one sync of {args.messages:,} history messages: {result['seconds']:.1f} s, "
          f"{args.messages / result['seconds']:,.0f} messages/s ({result['gets']:,} messages.get)")
    print(f"  {result['outcome']}")
    print(f"  stored {result['stored']:,} e-mails for {result['distinct']:,} distinct Message-IDs "
          f"({result['unmatched']:,} unmatched), {result['noted']:,} Gmail ids noted")
    print(f"  second sync: {result['again']} in {result['again_seconds']:.2f} s")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
