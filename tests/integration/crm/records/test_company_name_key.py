"""Issue 9: one normalisation of company names ("&"/"and", punctuation, case, whitespace,
legal suffixes) for the duplicate warning, the merge candidates, the import and every
stored `companies.normalized_name` (the demo data wrote its own, which dropped "&")."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.crm.models import Company
from app.crm.records.normalize import normalize_company_name
from app.crm.records.services import company_merge_candidates, save_company
from app.demo_data import generate, load_demo_data
from tests.factories import login

ISSUE_NAMES = [
    ("Ace Roofing & Gutters", "Ace Roofing & Gutters"),
    ("Ace Roofing & Gutters", "ace roofing and gutters, llc"),
    ("Williams and Sons Towing & Recovery", "Williams & Sons Towing & Recovery LLC"),
    ("Williams & Sons Towing & Recovery, Inc.", "WILLIAMS AND SONS TOWING AND RECOVERY"),
    ("A.B.C. Towing Co.", "ABC  Towing"),
    ("Miller & Sons Plumbing Corp", "Miller and Sons Plumbing Ltd"),
]


@pytest.mark.parametrize(("typed", "stored"), ISSUE_NAMES)
def test_the_issues_names_have_one_key(typed, stored):
    assert normalize_company_name(typed) == normalize_company_name(stored)


def test_demo_data_stores_the_apps_key():
    data = generate(companies=80, seed=3)
    with_ampersand = [c for c in data.companies if "&" in c["name"]]
    assert with_ampersand
    for company in data.companies:
        assert company["normalized_name"] == normalize_company_name(company["name"])


def test_duplicate_warning_on_a_demo_company_typed_exactly(client, db_session, factory):
    load_demo_data(companies=60)
    company = db_session.scalars(select(Company).where(Company.name.contains("&")).order_by(Company.name)).first()
    assert company is not None
    login(client, factory.user())
    for typed in (company.name, company.name.replace("&", "and") + " LLC"):
        html = client.get("/companies/check-duplicates", query_string={"name": typed}).get_data(as_text=True)
        assert "Possible duplicate" in html and company.name.replace("&", "&amp;") in html, typed


@pytest.mark.parametrize(("typed", "stored"), ISSUE_NAMES[:3])
def test_duplicate_warning_and_merge_candidates(client, db_session, factory, typed, stored):
    rep = factory.user()
    existing, _ = save_company({"name": stored}, actor=rep)
    login(client, rep)
    html = client.get("/companies/check-duplicates", query_string={"name": typed}).get_data(as_text=True)
    assert "Possible duplicate" in html and "same name" in html
    other, dups = save_company({"name": typed}, actor=rep)
    assert other is None and [d.record.id for d in dups] == [existing.id]
    other, _ = save_company({"name": typed}, actor=rep, allow_duplicates=True)
    assert existing in company_merge_candidates(other)
    page = client.get(f"/companies/{other.id}/merge").get_data(as_text=True)
    assert str(existing.id) in page


def test_the_bench_generator_stores_the_apps_key(databases, redis_url):
    """bench/generate.py fills companies in SQL; its name keys come from the same function."""
    import io

    import psycopg
    from flask_migrate import upgrade

    from bench.generate import Plan, generate, libpq_url
    from tests.conftest import make_app

    url = databases.create("crm_bench_keys")
    app = make_app(url, redis_url)
    with app.app_context():
        upgrade()
        from app.extensions import db

        db.engine.dispose()
    generate(url, Plan.for_scale(0.002, seed=5), out=io.StringIO())
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT name, normalized_name FROM companies").fetchall()
    assert rows and any("&" in name for name, _ in rows)
    for name, key in rows:
        assert key == normalize_company_name(name), name
