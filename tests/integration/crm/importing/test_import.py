"""CSV import end to end: upload -> mapping -> dry run -> run on a real RQ worker.

Real PostgreSQL (the test's rolled-back transaction: the job's per-batch commits
release savepoints) and real Redis (the upload store, the queue, the progress).
"""
from __future__ import annotations

import io
import random
from decimal import Decimal
from pathlib import Path

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.importing import services as importing
from app.crm.models import Company, CompanyAddress, Contact, Lead, LeadStage
from app.queue import get_queue, redis_connection
from bench.import_timing import generated_csv
from tests.factories import csrf_token, login

SAMPLES = Path(__file__).resolve().parents[3] / "samples"  # copies of ../shared/samples
MAPS = SAMPLES / "google-maps-scrape.csv"
PLUSVIBE = SAMPLES / "plusvibe-leads-export.csv"


# --------------------------------------------------------------------------- helpers


def work():
    SimpleWorker([get_queue("import")], connection=redis_connection()).work(burst=True)


@pytest.fixture
def rep(client, factory):
    user = factory.user(UserRole.REP)
    login(client, user)
    return user


def upload(client, app, data: bytes, filename: str = "leads.csv"):
    return client.post("/companies/import", data={
        "csrf_token": csrf_token(client, app),
        "file": (io.BytesIO(data), filename),
    }, content_type="multipart/form-data")


def token_of(response) -> str:
    assert response.status_code == 303, response.data[:500]
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def preview(client, app, token: str, **overrides):
    meta = importing.UploadStore().meta(token)
    data = {"csrf_token": csrf_token(client, app), "source": meta.source}
    data.update({f"map_{f.key}": meta.mapping.get(f.key, "") for f in importing.FIELDS})
    data.update(overrides)
    return client.post(f"/companies/import/{token}", data=data)


def run(client, app, token: str):
    response = client.post(f"/companies/import/{token}/run", data={"csrf_token": csrf_token(client, app)})
    assert response.status_code == 303
    return response


def import_file(client, app, data: bytes, filename="leads.csv") -> dict:
    """The whole flow; returns the run's final state."""
    token = token_of(upload(client, app, data, filename))
    assert preview(client, app, token).status_code == 303
    run(client, app, token)
    work()
    state = importing.UploadStore().state(token, "run")
    assert state["status"] == "done", state
    return state


def count(model, *where) -> int:
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def counts() -> tuple[int, int, int]:
    return count(Company), count(Contact), count(Lead)


# --------------------------------------------------------------------------- samples


def test_google_maps_scrape_end_to_end(client, app, db_session, rep):
    response = upload(client, app, MAPS.read_bytes(), "google-maps-scrape.csv")
    token = token_of(response)
    page = client.get(f"/companies/import/{token}")
    assert page.status_code == 200
    assert b"detected as a Google Maps export" in page.data and b"UTF-8" in page.data
    meta = importing.UploadStore().meta(token)
    assert meta.mapping["company_name"] == "name" and meta.mapping["google_place_id"] == "place_id"
    assert meta.row_count == 60

    before = counts()
    assert preview(client, app, token).status_code == 303
    page = client.get(f"/companies/import/{token}/preview")
    assert b"Dry run of 60 rows" in page.data and b"Run import" in page.data
    assert counts() == before  # the dry run wrote nothing
    dry = importing.UploadStore().state(token, "preview")

    run(client, app, token)
    assert get_queue("import").count == 1  # the request only enqueued
    work()
    state = importing.UploadStore().state(token, "run")
    assert state["status"] == "done"
    # the preview predicted exactly what the run did
    for key in ("companies_new", "contacts_new", "leads_new", "rejected", "companies_in_file"):
        assert dry[key] == state[key], key

    companies = db_session.scalars(select(Company).where(Company.source == "Google Maps")).all()
    assert len(companies) == state["companies_new"]
    # exact copies (4) and the same place found twice (54 = 45) create nothing
    place_ids = [c.google_place_id for c in companies if c.google_place_id]
    assert len(place_ids) == len(set(place_ids))
    # + the near-duplicates "A.B.C. Towing" and "Miller and Sons Plumbing Co."
    assert state["companies_in_file"] == 5 + 2
    names = {c.normalized_name for c in companies}
    assert len(names) == len(companies)
    abc = db_session.scalar(select(Company).where(Company.normalized_name == "abc towing"))
    assert abc.name == "ABC Towing LLC" and abc.google_rating == Decimal("4.6") and abc.google_review_count == 212
    pena = db_session.scalar(select(Company).where(Company.normalized_name == "pena landscaping"))
    assert pena.name == "Peña Landscaping"
    address = db_session.scalar(select(CompanyAddress).where(CompanyAddress.company_id == abc.id))
    assert (address.address_line1, address.city, address.state, address.zip) == \
        ("1420 Irving Blvd", "Dallas", "TX", "75207")
    assert address.is_default_billing and address.is_default_shipping

    # a business without a person: the business line is the contact, with no name
    contact = db_session.scalar(select(Contact).where(Contact.company_id == abc.id))
    assert contact.full_name is None and contact.phone_e164 == "+12145550143"
    assert contact.source == "Google Maps"
    lead = db_session.scalar(select(Lead).where(Lead.contact_id == contact.id))
    assert lead.stage is LeadStage.NEW_LEAD and lead.source == "Google Maps"
    assert lead.source_campaign == "towing service near Dallas, TX"
    assert count(Activity, Activity.activity_type == "lead.imported") == state["leads_new"]
    # permanently closed: remembered (a later scrape matches it) but not prospected
    closed = db_session.scalar(select(Company).where(Company.name == "Cherry Creek Plumbing"))
    assert closed.status.value == "DEAD" and count(Lead, Lead.company_id == closed.id) == 0
    assert "row 32: permanently closed (Google): company kept as DEAD, no lead" in state["notes"]
    assert state["no_lead"] >= 5  # the rows without a phone: a company, no lead
    assert state["leads_new"] + state["leads_existing"] + state["no_lead"] + state["rejected"] \
        + state["blank"] == 60

    status = client.get(f"/companies/import/{token}/run")
    assert b"Import finished" in status.data and b"every 1s" not in status.data


def test_plusvibe_export_end_to_end(client, app, db_session, rep):
    token = token_of(upload(client, app, PLUSVIBE.read_bytes(), "plusvibe.csv"))
    meta = importing.UploadStore().meta(token)
    assert meta.source == "plusvibe" and meta.mapping["email"] == "email"
    preview(client, app, token)
    page = client.get(f"/companies/import/{token}/preview")
    assert b"row 5: e-mail &#39;rgarza.mesaverdehauling.example.com&#39; is invalid" in page.data
    run(client, app, token)
    work()
    state = importing.UploadStore().state(token, "run")
    assert state["rejected"] == 1
    assert state["rejections"] == ["row 5: e-mail 'rgarza.mesaverdehauling.example.com' is invalid"]

    mike = db_session.scalar(select(Contact).where(
        Contact.email_normalized == "mike.delgado@abctowing.example.com"))
    assert mike.email == "Mike.Delgado@ABCTowing.example.com"
    assert (mike.first_name, mike.last_name, mike.full_name) == ("Mike", "Delgado", "Mike Delgado")
    assert mike.plusvibe_lead_id == "40cca85f0f54f30445a3577e" and mike.title == "Owner"
    assert mike.phone_e164 == "+12145550143" and mike.is_sms_eligible
    assert mike.company.name == "ABC Towing" and mike.company.fleet_size == 14
    # the same person in two campaigns (mixed case): one contact, one lead
    priya = db_session.scalars(select(Contact).where(
        Contact.email_normalized == "priya.n@prairiestatefreight.example.com")).all()
    assert len(priya) == 1 and len(priya[0].leads) == 1
    assert priya[0].leads[0].source_campaign == "Trucking & Delivery – Midwest"
    beth = db_session.scalar(select(Contact).where(
        Contact.email_normalized == "beth@gatorplumbing.example.com"))
    assert beth.leads[0].is_dnc  # unsubscribed
    bounced = db_session.scalar(select(Contact).where(
        Contact.email_normalized == "ops@motorcitymovers.example.com"))
    assert bounced.email_status == "bounced" and not bounced.leads[0].is_dnc
    assert count(Contact, Contact.source == "Plusvibe") == state["contacts_new"]
    assert count(Lead, Lead.source == "Plusvibe") == state["leads_new"] == 28


def test_importing_the_same_file_twice_creates_no_duplicates(client, app, db_session, rep):
    first = import_file(client, app, MAPS.read_bytes())
    after_first = counts()
    addresses = count(CompanyAddress)
    second = import_file(client, app, MAPS.read_bytes())
    assert counts() == after_first and count(CompanyAddress) == addresses
    assert second["companies_new"] == second["contacts_new"] == second["leads_new"] == 0
    assert second["companies_matched"] == first["companies_new"] + first["companies_in_file"]
    # re-running the job of an import already done changes nothing either
    from app.crm.importing import jobs as import_jobs

    token = token_of(upload(client, app, PLUSVIBE.read_bytes()))
    import_jobs.run_import(token)
    after = counts()
    again = import_jobs.run_import(token)
    assert counts() == after and again["leads_new"] == 0


def test_plusvibe_after_the_scrape_matches_the_businesses(client, app, db_session, rep):
    import_file(client, app, MAPS.read_bytes())
    companies = count(Company)
    state = import_file(client, app, PLUSVIBE.read_bytes())
    # ABC Towing LLC, Cool Breeze Heating & Air ("and"), Peña Landscaping ("Pena ... LLC")
    assert state["companies_matched"] == 3
    assert count(Company) == companies + state["companies_new"]
    abc = db_session.scalar(select(Company).where(Company.normalized_name == "abc towing"))
    assert abc.source == "Google Maps" and abc.name == "ABC Towing LLC"  # never overwritten
    assert abc.fleet_size == 14  # an empty field filled in
    # Mike's phone is the business line imported from the scrape: that contact is completed
    mike = db_session.scalar(select(Contact).where(
        Contact.email_normalized == "mike.delgado@abctowing.example.com"))
    assert mike.source == "Google Maps" and mike.full_name == "Mike Delgado"
    assert len(mike.leads) == 1  # it already had its lead from the scrape


def test_dedupe_against_existing_records(client, app, db_session, rep, factory):
    by_place = factory.company(name="Something Else Entirely", normalized_name="x",
                               google_place_id="ChIJxEHxCV3__dumzh8krRyv3cj")
    by_name = factory.company(name="Red River Wrecker Service, Inc.",
                              normalized_name="red river wrecker service")
    contact = factory.contact(by_name, email="owner@x.example.com", email_normalized="owner@x.example.com",
                              phone_e164="+18175550172")
    factory.lead(by_name, contact)
    csv_text = (
        "name,place_id,phone,email,first_name\r\n"
        "ABC Towing LLC,ChIJxEHxCV3__dumzh8krRyv3cj,+1 214-555-0143,,\r\n"
        "Red River Wrecker Service,,817-555-0172,,\r\n"
        "New Co,,,OWNER@x.example.com,Ann\r\n"
        ",,,,\r\n"
        "Nobody,,,not-an-email,\r\n"
        ",,,,Ann\r\n"
    )
    state = import_file(client, app, csv_text.encode())
    assert state["companies_matched"] == 2 and state["companies_new"] == 1
    assert state["contacts_matched"] == 2 and state["contacts_new"] == 1
    assert state["blank"] == 1 and state["rejected"] == 2
    assert state["rejections"] == ["row 6: e-mail 'not-an-email' is invalid",
                                   "row 7: no company name, and no valid contact e-mail or phone"]
    assert db_session.get(Company, by_place.id).name == "Something Else Entirely"
    assert count(Lead, Lead.contact_id == contact.id) == 1  # it has an open lead already
    matched = db_session.get(Contact, contact.id)
    assert matched.first_name == "Mike"  # matched by e-mail: not overwritten


def test_the_preview_writes_nothing_and_a_run_is_started_once(client, app, db_session, rep):
    token = token_of(upload(client, app, PLUSVIBE.read_bytes()))
    before = counts()
    preview(client, app, token)
    assert counts() == before
    run(client, app, token)
    run(client, app, token)  # a double click
    assert get_queue("import").count == 1
    assert count(Activity, Activity.activity_type == "import.started") == 1
    page = client.get(f"/companies/import/{token}/progress/run", headers={"HX-Request": "true"})
    assert b'hx-trigger="every 1s"' in page.data and b"<html" not in page.data
    work()
    page = client.get(f"/companies/import/{token}/progress/run", headers={"HX-Request": "true"})
    assert b"Import finished" in page.data and b"every 1s" not in page.data


# --------------------------------------------------------------------------- malformed


def _redis_keys() -> list:
    return redis_connection().keys("crm:import:*")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", 422, "file is empty"),
        (b"  \r\n\r\n", 422, "file is empty"),
        ("name,phone\r\nPeña,1\r\n".encode("utf-16-le"), 422, "NUL bytes"),
        (random.Random(7).randbytes(4096), 422, "not text"),
        (bytes(b for b in random.Random(7).randbytes(4096) if b), 422, "could not be recognised"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 20, 422, "encoding could not be recognised"),
        (b"just one column\nand a row\n", 422, "fewer than two"),
        (b"name,phone\r\n", 422, "no rows"),
    ],
    ids=["empty", "whitespace", "utf16-no-bom", "random-bytes", "random-bytes-no-nul", "binary", "no-header", "header-only"],
)
def test_malformed_uploads_get_a_clear_message_and_change_nothing(client, app, db_session, rep,
                                                                  data, status, message):
    before = counts()
    response = upload(client, app, data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert counts() == before and _redis_keys() == []


def test_an_upload_over_10_mb_is_refused_before_it_is_read(client, app, db_session, rep):
    data = b"name,phone\r\n" + b"x" * (importing.MAX_UPLOAD_BYTES + 10)
    response = upload(client, app, data)
    assert response.status_code == 413
    assert "larger than 10 MB" in response.get_data(as_text=True)
    assert _redis_keys() == []
    # the service refuses > 10 MB on its own too, and a file of exactly the limit is read
    with pytest.raises(importing.UploadRejected) as exc:
        importing.read_upload(b"a" * (importing.MAX_UPLOAD_BYTES + 1))
    assert exc.value.status == 413
    at_limit = b"name,phone\r\n" + b"a,1\r\n" * ((importing.MAX_UPLOAD_BYTES - 12) // 5)
    assert len(at_limit) <= importing.MAX_UPLOAD_BYTES
    assert importing.read_upload(at_limit).header == ["name", "phone"]


def test_missing_columns_are_explained(client, app, db_session, rep):
    before = counts()
    token = token_of(upload(client, app, b"colour;size\r\nred;XL\r\n"))
    page = client.get(f"/companies/import/{token}")
    assert "Map at least one of: company name" in page.get_data(as_text=True)
    assert b"semicolon-separated" in page.data
    response = preview(client, app, token)
    assert response.status_code == 422
    assert "Map at least one of" in response.get_data(as_text=True)
    # a column that is not in the file is refused by the select itself
    response = preview(client, app, token, map_company_name="nope")
    assert response.status_code == 422
    assert counts() == before


def test_encodings_and_delimiters_are_detected_and_reported(client, app, db_session, rep):
    text = "name;phone;email\r\nPeña Landscaping;602-555-0111;luis@pena.example.net\r\n"
    for data, label in [
        (text.encode("utf-8"), b"UTF-8,"),
        (b"\xef\xbb\xbf" + text.encode("utf-8"), b"UTF-8 (with BOM)"),
        (text.encode("cp1252"), b"Windows-1252"),
        (text.encode("utf-16"), b"UTF-16 (with BOM)"),
        (text.replace(";", "\t").encode(), b"tab-separated"),
    ]:
        token = token_of(upload(client, app, data))
        page = client.get(f"/companies/import/{token}")
        assert label in page.data, label
        meta = importing.UploadStore().meta(token)
        assert meta.header == ["name", "phone", "email"]
        assert importing.UploadStore().rows(meta)[0][0] == "Peña Landscaping"


def test_the_import_needs_sales_and_csrf(client, app, db_session, factory):
    login(client, factory.user(UserRole.OPERATOR))
    assert client.get("/companies/import").status_code == 403
    login(client, factory.user(UserRole.REP))
    assert client.get("/companies/import").status_code == 200
    response = client.post("/companies/import", data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and _redis_keys() == []


def test_another_users_upload_is_not_found(client, app, db_session, factory, rep):
    token = token_of(upload(client, app, PLUSVIBE.read_bytes()))
    login(client, factory.user(UserRole.REP))
    assert client.get(f"/companies/import/{token}").status_code == 404
    assert client.get("/companies/import/not-a-token").status_code == 404


# --------------------------------------------------------------------------- scale


def test_a_10000_row_file_is_only_enqueued_by_the_request(client, app, db_session, rep):
    """What the requests and jobs do; how long they take is bench/import_timing.py's."""
    data = generated_csv(10_000)
    token = token_of(upload(client, app, data))
    assert preview(client, app, token).status_code == 303  # > 2000 rows: the preview is a job
    assert importing.UploadStore().state(token, "preview")["status"] == "queued"
    page = client.get(f"/companies/import/{token}/preview")
    assert b'hx-trigger="every 1s"' in page.data
    work()
    assert importing.UploadStore().state(token, "preview")["status"] == "done"

    before = counts()
    run(client, app, token)
    assert importing.UploadStore().state(token, "run")["status"] == "queued"
    assert counts() == before  # the request imported nothing itself
    work()
    state = importing.UploadStore().state(token, "run")
    assert state["status"] == "done" and state["processed"] == 10_000
    assert state["companies_new"] == count(Company, Company.source == "Google Maps")
    assert state["leads_new"] == count(Lead, Lead.source == "Google Maps")
    assert state["companies_in_file"] > 300


def test_batch_boundaries_do_not_break_dedupe(app, db_session, rep, monkeypatch):
    """Repeats that fall into a later batch are matched in the database (commit per batch)."""
    from app.crm.importing.jobs import run_import

    monkeypatch.setattr(importing, "BATCH_SIZE", 7)
    data = generated_csv(80, seed=3)
    store = importing.UploadStore()
    meta = store.save(importing.read_upload(data), filename="x.csv", size=len(data), user_id=rep.id)
    distinct = {tuple(r) for r in store.rows(meta)}
    state = run_import(meta.token)
    assert count(Company) == len(distinct) == state["companies_new"]
    assert state["companies_in_file"] == 80 - len(distinct) > 0
    assert count(Lead) == sum(1 for r in distinct if r[3])  # rows with a phone get a lead
