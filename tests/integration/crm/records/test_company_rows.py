"""The companies list's rows are kept per process by every value they show
(list_views.company_rows, app.template_helpers.kept_render): a changed value shows at once."""
from __future__ import annotations

from app.crm.models import CompanyStatus
from app.template_helpers import KEPT
from tests.factories import login


def test_a_company_row_shows_each_changed_value_never_the_kept_one(client, db_session, factory):
    rep = factory.user(first_name="Rosa", last_name="Rowe")
    other = factory.user(first_name="Otto", last_name="Other")
    company = factory.company(name="Kept Row Haulage", assigned_rep_id=rep.id, industry="Towing",
                              fleet_size=14, phone="+15205550101")
    login(client, rep)

    def row():
        html = client.get("/companies?q=Kept Row Haulage", headers={"HX-Request": "true"}).get_data(as_text=True)
        start = html.index(f'/companies/{company.id}')
        return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]

    first = row()
    assert all(v in first for v in ("Kept Row Haulage", "Lead", "Towing", ">14<", "Rosa Rowe", "(520) 555-0101"))
    hits = KEPT.hits
    assert row() == first and KEPT.hits > hits  # the same values: the kept HTML
    changes = [
        (lambda: setattr(company, "name", "Kept Row Haulage & Tow"), "Kept Row Haulage &amp; Tow"),
        (lambda: setattr(company, "status", CompanyStatus.CUSTOMER), "badge--success"),
        (lambda: setattr(company, "industry", "Plumbing"), "Plumbing"),
        (lambda: setattr(company, "fleet_size", 22), ">22<"),
        (lambda: setattr(company, "assigned_rep_id", other.id), "Otto Other"),
        (lambda: setattr(company, "phone", "+15205550199"), "(520) 555-0199"),
    ]
    for change, shown in changes:
        change()
        db_session.flush()
        assert shown in row(), shown
