"""Issue 9: no "New lead" button on the leads list."""
from __future__ import annotations

from tests.factories import login


def test_new_lead_from_the_leads_list(client, db_session, factory):
    login(client, factory.user())
    company = factory.company(name="Gator Plumbing & Drain")
    factory.contact(company)
    assert 'href="/leads/new"' in client.get("/leads").get_data(as_text=True)
    page = client.get("/leads/new")
    assert page.status_code == 200 and "Which company is the lead for?" in page.get_data(as_text=True)
    found = client.get("/leads/new?q=Gator Plumbing").get_data(as_text=True)
    assert f'href="/companies/{company.id}/leads/new"' in found
    assert client.get(f"/companies/{company.id}/leads/new").status_code == 200  # the form it leads to
    assert "No company matches" in client.get("/leads/new?q=zzzzqqq").get_data(as_text=True)
