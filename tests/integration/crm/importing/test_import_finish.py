"""Issue 9, what a new user hit in the CSV import: a business phone matched a person of
another company; imported records looked unfinished (contacts named by a phone number,
industries stored raw, phones unformatted, no rep, a result page that listed nothing)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.auth.models import UserRole
from app.crm.importing import services as importing
from app.crm.models import Company, Contact, Lead, TaxonomyType, TaxonomyValue
from app.crm.records import queries
from tests.factories import csrf_token, login
from tests.integration.crm.importing.test_import import (
    MAPS,
    count,
    import_file,
    preview,
    token_of,
    upload,
    work,
)


@pytest.fixture
def rep(client, factory):
    user = factory.user(UserRole.REP)
    login(client, user)
    return user


INDUSTRIES = ["Towing", "HVAC", "Plumbing", "Landscaping", "Trucking", "Construction", "Pest Control"]


def industries(db_session, *values):
    for i, value in enumerate(values or INDUSTRIES):
        db_session.add(TaxonomyValue(type=TaxonomyType.INDUSTRY, value=value, sort_order=10 * (i + 1)))
    db_session.flush()


def listed_industries(db_session) -> list[str]:
    return list(db_session.scalars(select(TaxonomyValue.value).where(TaxonomyValue.type == TaxonomyType.INDUSTRY)
                                   .order_by(TaxonomyValue.sort_order)))


# ----------------------------------------------------------------- A: the wrong person


def test_a_business_phone_never_attaches_a_person_of_another_company(client, app, db_session, rep, factory):
    other = factory.company(name="Lone Star Wreckers", normalized_name="lone star wreckers")
    dan = factory.contact(other, full_name="Dan Other", phone_e164="+12145550143", phone="(214) 555-0143")
    state = import_file(client, app, (
        b"name,phone\r\n"
        b"ABC Towing LLC,+1 214-555-0143\r\n"        # the same number as Dan's
        b"Lone Star Wreckers,214.555.0143\r\n"        # Dan's own company: that is Dan
    ))
    abc = db_session.scalar(select(Company).where(Company.normalized_name == "abc towing"))
    lead = db_session.scalar(select(Lead).where(Lead.company_id == abc.id))
    assert lead.contact.company_id == abc.id and lead.contact_id != dan.id
    assert lead.contact.phone_e164 == "+12145550143"
    assert [c.id for c in abc.contacts] == [lead.contact_id]  # ABC's own contacts list has it
    assert state["contacts_new"] == 1 and state["contacts_matched"] == 1
    assert count(Lead, Lead.contact_id == dan.id) == 1  # within its company, the phone is Dan
    assert db_session.get(Contact, dan.id).company_id == other.id


# --------------------------------------------------------------- B: finished records


def test_industry_is_the_taxonomy_value_and_added_only_when_nothing_is_close(client, app, db_session, rep):
    industries(db_session)
    import_file(client, app, MAPS.read_bytes())
    abc = db_session.scalar(select(Company).where(Company.normalized_name == "abc towing"))
    assert abc.industry == "Towing"  # "towing services" in the scrape
    stored = set(db_session.scalars(select(Company.industry).where(Company.source == "Google Maps")))
    assert {"Towing", "HVAC", "Plumbing", "Landscaping", "Trucking", "Construction", "Pest Control"} <= stored
    listed = listed_industries(db_session)
    added = listed[len(INDUSTRIES):]
    # nothing close in the list: added once each, as written
    assert sorted(added) == ["Appliance repair services", "Courier services", "Junk removal services",
                             "Septic services"]
    assert stored <= set(listed)
    token = next(iter(importing.UploadStore().redis.scan_iter("crm:import:*:run"))).decode().split(":")[2]
    status = client.get(f"/companies/import/{token}/run").get_data(as_text=True)
    assert "Added to the Industry list (nothing there was close): " in status and "Septic services" in status
    import_file(client, app, b"name,category\r\nNew Junk Co,Junk Removal Services\r\n")
    assert listed_industries(db_session) == listed  # close to the added value: no second one


def test_the_import_assigns_the_chosen_reps_in_turn(client, app, db_session, rep, factory):
    ann, bob = factory.user(UserRole.REP, first_name="Ann"), factory.user(UserRole.REP, first_name="Bob")
    token = token_of(upload(client, app, b"name,phone\r\nOne Co,2145550101\r\nTwo Co,2145550102\r\n"
                                         b"Three Co,2145550103\r\nOne Co LLC,2145550101\r\n"))
    preview(client, app, token)
    page = client.get(f"/companies/import/{token}/preview").get_data(as_text=True)
    # the importer is offered, already chosen, with every other rep
    assert re.search(rf'value="{rep.id}" checked', page) and f'value="{ann.id}"' in page
    response = client.post(f"/companies/import/{token}/run", data={
        "csrf_token": csrf_token(client, app), "reps": [str(ann.id), str(bob.id)]})
    assert response.status_code == 303
    work()
    reps = {c.name: c.assigned_rep_id for c in db_session.scalars(select(Company))}
    assert reps == {"One Co": ann.id, "Two Co": bob.id, "Three Co": ann.id}
    status = client.get(f"/companies/import/{token}/run").get_data(as_text=True)
    assert f"New companies assigned to {ann.full_name}, {bob.full_name}, in turn" in status


def test_the_result_page_links_to_what_it_created(client, app, db_session, rep, factory):
    before = factory.lead(factory.company(name="Older Towing"))
    state = import_file(client, app, MAPS.read_bytes())
    token = next(iter(importing.UploadStore().redis.scan_iter("crm:import:*:run"))).decode().split(":")[2]
    status = client.get(f"/companies/import/{token}/run").get_data(as_text=True)
    companies_url = f"/companies?import={token}&amp;sort=newest"
    leads_url = f"/leads?import={token}&amp;sort=created"
    assert f'href="{companies_url}"' in status and f'href="{leads_url}"' in status
    assert f"See the {state['companies_new']} companies it created" in status

    companies = client.get(companies_url.replace("&amp;", "&")).get_data(as_text=True)
    assert "The companies one CSV import created" in companies
    assert "ABC Towing LLC" in companies and "Older Towing" not in companies
    created = set(db_session.scalars(select(Company.id).where(Company.source == "Google Maps")))
    listed = queries.companies_page(queries.CompanyFilters(import_token=token), None, limit=1000).companies
    assert {c.id for c in listed} == created and len(created) == state["companies_new"]
    leads = client.get(leads_url.replace("&amp;", "&")).get_data(as_text=True)
    assert "The leads one CSV import created" in leads
    assert "ABC Towing LLC" in leads and "Older Towing" not in leads
    assert leads.count('name="lead_ids"') == state["leads_new"]
    # another import's token, or a forged one, lists nothing of this one
    assert "ABC Towing LLC" not in client.get("/leads?import=someoneelsestoken").get_data(as_text=True)
    assert before.id  # the older lead exists, and is not listed


def test_imported_business_lines_go_by_their_company_and_phones_read_nationally(client, app, db_session, rep):
    import_file(client, app, MAPS.read_bytes())
    abc = db_session.scalar(select(Company).where(Company.normalized_name == "abc towing"))
    contact = abc.contacts[0]
    assert contact.full_name is None and contact.display_name == "ABC Towing LLC"
    page = client.get(f"/companies/{abc.id}").get_data(as_text=True)
    assert "(214) 555-0143" in page and "+12145550143" not in page.replace('tel:+12145550143', "")
    contact_page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert '<a href="tel:+12145550143">(214) 555-0143</a>' in contact_page
    lead = contact.leads[0]
    lead_page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "(214) 555-0143" in lead_page and ">+12145550143<" not in lead_page
    leads = client.get("/leads").get_data(as_text=True)
    assert "+12145550143" not in leads  # the list shows the company, not a phone as a name
    companies = client.get("/companies?q=ABC Towing").get_data(as_text=True)
    assert "(214) 555-0143" in companies
