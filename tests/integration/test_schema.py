"""The schema: built by the migrations, equal to the models, faithful to the spec."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import make_app
from tests.spec_schema import (
    SPEC_DESC_INDEX_COLUMNS,
    SPEC_ENUMS,
    SPEC_FOREIGN_KEYS,
    SPEC_INDEXES,
    SPEC_TABLES,
    SPEC_UNIQUE_NAMES,
    SPEC_UNIQUES,
)


@pytest.fixture(scope="module")
def engine(app):
    from app.extensions import db

    with app.app_context():
        yield db.engine


def live_columns(engine) -> dict[str, dict[str, dict]]:
    rows = sa.text(
        """
        SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
               numeric_precision, numeric_scale
        FROM information_schema.columns WHERE table_schema = 'public'
        """
    )
    tables: dict[str, dict[str, dict]] = {}
    with engine.connect() as conn:
        for r in conn.execute(rows).mappings():
            tables.setdefault(r["table_name"], {})[r["column_name"]] = dict(r)
    return tables


def pg_type(col: dict) -> str:
    if col["data_type"] == "USER-DEFINED":
        return f"enum:{col['udt_name']}"
    if col["data_type"] == "numeric":
        return f"numeric({col['numeric_precision']},{col['numeric_scale']})"
    return col["data_type"]


def normalize_default(raw: str | None) -> str | None:
    if raw is None:
        return None
    match = re.fullmatch(r"(.*?)::([a-z_ ]+)(\[\])?", raw)
    if not match:
        return raw
    value, cast = match.group(1), match.group(2)
    if cast not in ("text", "character varying") and not match.group(3):
        return value.strip("'")  # 'LEAD'::company_status -> LEAD
    return value


def test_upgrade_downgrade_upgrade_on_an_empty_database(databases, redis_url):
    from flask_migrate import downgrade, upgrade

    app = make_app(databases.create("crm_migrations"), redis_url)
    with app.app_context():
        from app.extensions import db

        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        # every model's table (42 spec tables and our own), nothing else
        assert tables - {"alembic_version"} == set(db.metadata.tables)
        assert set(SPEC_TABLES) <= tables
        downgrade(revision="base")
        db.engine.dispose()
        left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        with db.engine.connect() as conn:
            enums = conn.execute(sa.text("SELECT typname FROM pg_type WHERE typtype = 'e'")).scalars().all()
        assert enums == []
        upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"} == set(db.metadata.tables)
        db.engine.dispose()


def test_models_and_migrated_schema_do_not_differ(engine):
    from app.extensions import db

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_every_spec_table_and_column_exists_as_specified(engine):
    live = live_columns(engine)
    problems = []
    for table, columns in SPEC_TABLES.items():
        if table not in live:
            problems.append(f"missing table {table}")
            continue
        for name, spec in columns.items():
            col = live[table].get(name)
            if col is None:
                problems.append(f"missing column {table}.{name}")
                continue
            if pg_type(col) != spec.pg_type:
                problems.append(f"{table}.{name}: type {pg_type(col)} != {spec.pg_type}")
            if (col["is_nullable"] == "YES") != spec.nullable:
                problems.append(f"{table}.{name}: nullable {col['is_nullable']} != {spec.nullable}")
            if normalize_default(col["column_default"]) != spec.default:
                problems.append(
                    f"{table}.{name}: default {col['column_default']!r} != {spec.default!r}")
    assert problems == []
    assert len(SPEC_TABLES) == 42


def test_only_known_extra_columns(engine):
    live = live_columns(engine)
    extras = {
        f"{t}.{c}" for t, cols in live.items() if t in SPEC_TABLES for c in cols
        if c not in SPEC_TABLES[t]
    }
    assert extras == {"users.session_version", "leads.stage_changed_at", "leads.last_activity_at",
                      "leads.rep_id",  # 0030_report_funnel
                      # 0015_inbox_sms
                      *(f"sms_messages.{c}" for c in ("gateway_id", "conversation_id", "error", "attempts",
                                                       "claimed_at", "inbound_key")),
                      # 0018_inbox_calls
                      "call_logs.user_id", "call_lists.created_by_id", "voicemail_drops.file_name",
                      # 0019_inbox_queue
                      "conversations.awaiting_reply", "conversations.done_at", "conversations.snoozed_until",
                      # 0020_inbox_email
                      *(f"email_messages.{c}" for c in ("status", "message_id", "in_reply_to", "references",
                                                         "error", "attempts", "claimed_at", "user_id")),
                      # 0022_inbox_items
                      "conversations.last_kind", "conversations.unmatched_address",
                      "email_threads.conversation_id",
                      # 0021_gmail
                      "email_messages.email_account_id",
                      *(f"email_accounts.{c}" for c in ("gmail_history_id", "sync_started_at", "last_sync_error",
                                                         "last_sync_error_at", "reconnect_needed_at",
                                                         "gmail_watch_expires_at", "gmail_watch_error"))}


def test_uniques_indexes_and_foreign_keys_of_the_spec(engine):
    insp = sa.inspect(engine)
    for table, cols in SPEC_UNIQUES:
        uniques = {tuple(u["column_names"]): u["name"] for u in insp.get_unique_constraints(table)}
        unique_indexes = {tuple(i["column_names"]) for i in insp.get_indexes(table) if i["unique"]}
        assert cols in uniques or cols in unique_indexes, f"unique {table}{cols}"
        if (table, cols) in SPEC_UNIQUE_NAMES:
            assert uniques[cols] == SPEC_UNIQUE_NAMES[(table, cols)]
    for table, cols in SPEC_INDEXES:
        indexed = {tuple(i["column_names"]) for i in insp.get_indexes(table)}
        assert cols in indexed, f"index {table}{cols}"
    with engine.connect() as conn:
        for table, column in SPEC_DESC_INDEX_COLUMNS:
            defs = conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"),
                                {"t": table}).scalars().all()
            assert any(f"{column} DESC" in d for d in defs)
        rules = {
            (r.table, r.column, r.ref): r.rule
            for r in conn.execute(sa.text(
                """
                SELECT cl.relname AS table, a.attname AS column, rt.relname AS ref,
                       CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
                            WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END AS rule
                FROM pg_constraint c
                JOIN pg_class cl ON cl.oid = c.conrelid
                JOIN pg_class rt ON rt.oid = c.confrelid
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                WHERE c.contype = 'f'
                """))
        }
    for table, column, ref, rule in SPEC_FOREIGN_KEYS:
        assert rules.get((table, column, ref)) == rule, f"fk {table}.{column} -> {ref}"


def test_enums_have_the_spec_values_in_order(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid "
            "ORDER BY t.typname, e.enumsortorder")).all()
    live: dict[str, list[str]] = {}
    for name, label in rows:
        live.setdefault(name, []).append(label)
    # not in the spec: 0020_inbox_email's send state of an e-mail
    # and 0025_quickbooks's connection and sync ledger
    assert live == {**SPEC_ENUMS, "email_status": ["QUEUED", "SENDING", "SENT", "FAILED", "RECEIVED"],
                    **QUICKBOOKS_ENUMS}


QUICKBOOKS_ENUMS = {
    "quickbooks_connection_status": ["CONNECTED", "DEAD", "DISCONNECTED"],
    "quickbooks_ledger_entity": ["CUSTOMER", "INVOICE", "PAYMENT", "REFUND"],
    "quickbooks_ledger_operation": ["CREATE", "UPDATE", "VOID"],
    "quickbooks_ledger_state": ["PENDING", "IN_FLIGHT", "SYNCED", "FAILED", "CONFLICT", "SKIPPED"],
}


def test_trigram_search_indexes_exist(engine):
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
        defs = conn.execute(sa.text(
            "SELECT indexdef FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'")).scalars().all()
    assert any("companies" in d and "(name gin_trgm_ops)" in d for d in defs)
    assert any("contacts" in d and "full_name" in d for d in defs)


def test_webhook_events_are_unique_per_provider(db_session):
    from app.webhooks.models import WebhookEvent

    db_session.add(WebhookEvent(provider="stripe", provider_event_id="evt_1", payload={}, raw_body="{}"))
    db_session.add(WebhookEvent(provider="calcom", provider_event_id="evt_1", payload={}, raw_body="{}"))
    db_session.flush()
    db_session.add(WebhookEvent(provider="stripe", provider_event_id="evt_1", payload={}, raw_body="{}"))
    with pytest.raises(sa.exc.IntegrityError):
        db_session.flush()
