"""Companies and contacts merge through one page (templates/crm/records/merge.html): the same
form, the candidates to pick from, and each kind's own words."""
from __future__ import annotations

import pytest

from app.auth.models import UserRole
from tests.factories import login


@pytest.mark.parametrize("kind", ["company", "contact"])
def test_the_merge_page_of_each_kind(client, db_session, factory, kind):
    company = factory.company(name="Harbor Plumbing")
    if kind == "company":
        keep, other = company, factory.company(name="Harbor Plumbing LLC")
        base, keep_name, other_name = f"/companies/{keep.id}", keep.name, other.name
    else:
        keep = factory.contact(company, full_name="Dana Reyes", email="dana@harbor.example.com")
        other = factory.contact(company, full_name="Dana Reyes", email="d.reyes@harbor.example.com")
        base, keep_name, other_name = f"/contacts/{keep.id}", "Dana Reyes", "Dana Reyes"
    login(client, factory.user(UserRole.REP))
    pick = client.get(f"{base}/merge").get_data(as_text=True)
    assert f"Merge another {kind} into {keep_name}" in pick
    assert f'href="{base}/merge?with={other.id}"' in pick
    html = client.get(f"{base}/merge?with={other.id}").get_data(as_text=True)
    assert f"<title>Merge into {keep_name}" in html and f'href="{base}">{keep_name}</a> / Merge' in html
    assert f'<form method="post" action="{base}/merge" class="row">' in html
    assert f'<input type="hidden" name="with" value="{other.id}">' in html
    assert f"Merge {other_name} into {keep_name}" in html and f'action="{base}/merge/request"' in html
    if kind == "company":
        assert "0 contacts, 0 leads, 0 addresses" in html
    else:
        assert "(d.reyes@harbor.example.com)" in html
