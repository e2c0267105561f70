"""`flask backup` / `flask restore`: the demo data survives a dump and a restore into a fresh
database, and the app serves the same companies, invoices and activities from it."""
from __future__ import annotations

import re
import stat

import pytest
import sqlalchemy as sa
from markupsafe import escape

from tests.conftest import committing_app, make_app
from tests.factories import login

COMPARED_TABLES = ("companies", "contacts", "leads", "invoices", "invoice_line_items", "payments",
                   "activities", "devices", "sim_cards", "users", "alembic_version")


@pytest.fixture(scope="module")
def source_app(databases, redis_url):
    """The demo data, committed for real in a database of its own."""
    with committing_app(databases, redis_url, "crm_backup_source") as app:
        with app.app_context():
            from app.demo_data import load_demo_data

            load_demo_data(companies=40)
        yield app


@pytest.fixture(scope="module")
def dump_file(source_app, tmp_path_factory):
    path = tmp_path_factory.mktemp("backups") / "demo.dump"
    result = source_app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert f"backup written to {path}" in result.output
    return path


@pytest.fixture(scope="module")
def restored_app(databases, redis_url, dump_file):
    """An app on a brand-new, empty database (not migrated: the dump brings the schema)."""
    app = make_app(databases.create("crm_backup_restored"), redis_url)
    result = app.test_cli_runner().invoke(args=["restore", str(dump_file)])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()


def fingerprint(app, table: str) -> tuple[int, str]:
    """Row count and a hash of every row's full text, in a stable order."""
    with app.app_context():
        from app.extensions import db

        return tuple(db.session.execute(sa.text(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
            f"FROM {table} t")).one())


def test_the_dump_is_a_private_custom_format_file(dump_file):
    assert dump_file.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert stat.S_IMODE(dump_file.stat().st_mode) == 0o600  # password hashes, stored credentials
    assert not list(dump_file.parent.glob(".*partial"))


def test_the_restored_database_holds_the_same_rows(source_app, restored_app):
    for table in COMPARED_TABLES:
        source = fingerprint(source_app, table)
        assert source[0] > 0, table  # the demo has some of each
        assert fingerprint(restored_app, table) == source, table


def _page(app, path: str) -> str:
    """`path` as the demo admin sees it, with what differs per session taken out."""
    with app.app_context():
        from app.auth.models import User
        from app.extensions import db

        admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.com"))
        client = app.test_client()
        login(client, admin)
        response = client.get(path)
        db.session.remove()
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    html = re.sub(r"just now|\d+ (?:min|h|days) ago|yesterday", "(ago)", html)  # the clock moves on
    return re.sub(r'(nonce|csrf[_-]?token|value|content)="[^"]*"', r'\1=""', html)


def _one(app, sql: str):
    with app.app_context():
        from app.extensions import db

        return db.session.execute(sa.text(sql)).scalar_one()


def test_the_restored_app_serves_the_same_pages(source_app, restored_app):
    invoice_id = _one(source_app, "SELECT id FROM invoices ORDER BY invoice_number LIMIT 1")
    company_id = _one(source_app, """SELECT company_id FROM activities WHERE company_id IS NOT NULL
                                      GROUP BY company_id ORDER BY count(*) DESC, company_id LIMIT 1""")
    lead_id = _one(source_app, "SELECT id FROM leads ORDER BY created_at, id LIMIT 1")
    company_name = _one(source_app, f"SELECT name FROM companies WHERE id = '{company_id}'")
    invoice_number = _one(source_app, f"SELECT invoice_number FROM invoices WHERE id = '{invoice_id}'")

    for path in ("/companies", "/invoices", f"/invoices/{invoice_id}", f"/companies/{company_id}",
                 f"/leads/{lead_id}", f"/activity/timeline?company_id={company_id}"):
        restored = _page(restored_app, path)
        assert restored == _page(source_app, path), path
    assert str(escape(company_name)) in _page(restored_app, f"/companies/{company_id}")
    assert str(invoice_number) in _page(restored_app, "/invoices")
    assert _page(restored_app, f"/activity/timeline?company_id={company_id}").count('class="timeline__item"') >= 3


def test_restore_refuses_a_database_that_is_not_empty(restored_app, dump_file):
    before = fingerprint(restored_app, "companies")

    result = restored_app.test_cli_runner().invoke(args=["restore", str(dump_file)])

    assert result.exit_code == 1
    assert "the database is not empty" in result.output
    assert "restore only into an empty database" in result.output
    assert fingerprint(restored_app, "companies") == before


def test_restore_refuses_a_file_that_is_not_a_dump(databases, redis_url, tmp_path):
    app = make_app(databases.create("crm_backup_junk"), redis_url)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a dump")

    result = app.test_cli_runner().invoke(args=["restore", str(junk)])

    assert result.exit_code == 1
    assert "is not a pg_dump custom-format file" in result.output
    with app.app_context():
        from app.extensions import db

        assert db.session.execute(sa.text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar_one() == 0
        db.engine.dispose()


def test_backup_never_overwrites_a_file(source_app, dump_file):
    before = dump_file.read_bytes()

    result = source_app.test_cli_runner().invoke(args=["backup", str(dump_file)])

    assert result.exit_code == 1
    assert "already exists" in result.output
    assert dump_file.read_bytes() == before


def test_the_default_path_is_a_timestamped_file_under_instance_backups(tmp_path):
    from datetime import UTC, datetime

    from app.backup import default_backup_path

    assert default_backup_path(tmp_path, datetime(2026, 11, 27, 9, 5, 3, tzinfo=UTC)) == (
        tmp_path / "backups" / "20261127T090503Z.dump")
