"""Keyset pages over rows that tie on the sort value: every row once, in order, whatever
the sort's type or direction (the one helper, app.paging, through the companies list)."""
from __future__ import annotations

import pytest

from app.crm.records import queries


@pytest.mark.parametrize("sort", list(queries.COMPANY_SORTS))
def test_pages_of_tied_rows_show_each_row_once_in_order(db_session, factory, sort):
    rep = factory.user()
    made = [factory.company(name=name, fleet_size=fleet, assigned_rep_id=rep.id)
            for name, fleet in [("Same Name", 5), ("Same Name", 5), ("Same Name", None), ("Able Towing", 5),
                                ("Zed Haulage", 40)]]
    filters = queries.CompanyFilters(rep_id=rep.id, sort=sort)
    everything = queries.companies_page(filters, None, limit=100)
    assert sorted(c.id for c in everything.companies) == sorted(c.id for c in made)
    assert everything.next_after is None
    seen, after = [], None
    for _ in range(10):
        page = queries.companies_page(filters, after, limit=2)
        seen += [c.id for c in page.companies]
        after = page.next_after
        if after is None:
            break
    assert seen == [c.id for c in everything.companies]
