"""The leads list: filters, sorting, keyset pages; bulk assign, tag and move."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.crm.models import LeadStage, LeadTag, Tag, TagCategory
from tests.factories import csrf_token, login


def test_list_sorts_filters_and_pages(app, client, db_session, factory, monkeypatch):
    from app.crm.records import lead_list

    monkeypatch.setattr(lead_list, "PAGE_SIZE", 3)
    rep = factory.user()
    company = factory.company(name="Zeta Towing", assigned_rep_id=rep.id)
    contact = factory.contact(company)
    made = [factory.lead(company=company, contact=contact, estimated_revenue=Decimal(v), stage=LeadStage.HOT)
            for v in ("10.00", "30.00", "20.00", "40.00", "5.00")]
    login(client, rep)
    seen, url = [], "/leads?stage=HOT&sort=revenue&mine=1"
    for _ in range(3):
        html = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        found = [str(lead.id) for lead in made if str(lead.id) in html]
        seen += sorted(found, key=html.index)
        if "Show more" not in html:
            break
        url = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    by_value = [str(lead.id) for lead in sorted(made, key=lambda lead: lead.estimated_revenue, reverse=True)]
    assert seen == by_value
    other = client.get("/leads?stage=WON&mine=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No leads match" in other


def test_bulk_actions(app, client, db_session, factory):
    rep, other_rep = factory.user(), factory.user()
    leads = [factory.lead() for _ in range(3)]
    db_session.add(Tag(slug="fleet-expo", name="Fleet expo", category=TagCategory.CUSTOM))
    db_session.flush()
    login(client, rep)
    ids = [str(lead.id) for lead in leads]

    def bulk(**data):
        return client.post("/leads/bulk", data={"lead_ids": ids, "csrf_token": csrf_token(client, app), **data},
                           headers={"HX-Request": "true"})

    assert bulk(action="assign", rep_id=str(other_rep.id)).status_code == 200
    for lead in leads:
        db_session.refresh(lead.company)
        assert lead.company.assigned_rep_id == other_rep.id
    assert bulk(action="tag", tag="fleet-expo").status_code == 200
    assert len(db_session.scalars(select(LeadTag).where(LeadTag.tag_slug == "fleet-expo")).all()) == 3
    refused = bulk(action="move", stage="LOST")
    assert refused.status_code == 422 and b"Say why" in refused.data
    moved = bulk(action="move", stage="LOST", lost_reason="Closed the business")
    assert moved.status_code == 200 and b"Updated 3 leads" in moved.data
    for lead in leads:
        db_session.refresh(lead)
        assert lead.stage is LeadStage.LOST and lead.lost_reason == "Closed the business"
    none = client.post("/leads/bulk", data={"action": "tag", "tag": "fleet-expo", "csrf_token": csrf_token(client, app)},
                       headers={"HX-Request": "true"})
    assert none.status_code == 422


def test_kept_rows_show_every_change_of_what_a_row_shows(app, client, db_session, factory):
    """Each row's HTML is kept by every value it is rendered from (list_views.lead_rows): change
    any of them (or let the clock move) and the list shows the row as it is now."""
    from datetime import UTC, datetime, timedelta

    from app.template_helpers import KEPT

    rep = factory.user(first_name="Rita", last_name="Rep")
    company = factory.company(name="Kept Row Towing", assigned_rep_id=rep.id)
    contact = factory.contact(company, full_name="Carl Contact")
    now = datetime.now(UTC)
    lead = factory.lead(company=company, contact=contact, stage=LeadStage.HOT, source="Referral",
                        estimated_units=12, estimated_revenue=Decimal("948.00"),
                        stage_changed_at=now - timedelta(days=3), last_activity_at=now - timedelta(minutes=5))
    login(client, rep)

    def row():
        html = client.get(f"/leads?q=Kept Row Towing&rep={rep.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
        start = html.index(f'id="sel-{lead.id}"')
        return html[start:html.index("</tr>", start)]

    first = row()
    assert all(v in first for v in ("Kept Row Towing", "Carl Contact", "Hot", "Referral", ">12<", "$948.00",
                                     "Rita Rep", ">3<", "5 min ago"))
    hits = KEPT.hits
    assert row() == first and KEPT.hits > hits  # the same values: the kept HTML

    changes = [
        (lambda: setattr(company, "name", "Kept Row Towing & Sons"), "Kept Row Towing &amp; Sons"),
        (lambda: setattr(contact, "full_name", "Cora Contact"), "Cora Contact"),
        (lambda: setattr(lead, "stage", LeadStage.QUOTED), "Quoted"),
        (lambda: setattr(lead, "source", "Cold Call"), "Cold Call"),
        (lambda: setattr(lead, "estimated_units", 13), ">13<"),
        (lambda: setattr(lead, "estimated_revenue", Decimal("1027.00")), "$1,027.00"),
        (lambda: setattr(rep, "last_name", "Renamed"), "Rita Renamed"),
        (lambda: setattr(lead, "stage_changed_at", now - timedelta(days=9)), ">9<"),
        (lambda: setattr(lead, "last_activity_at", now - timedelta(hours=2)), "2 h ago"),
    ]
    for change, shown in changes:
        change()
        db_session.flush()
        assert shown in row(), shown


def test_pages_of_the_statement_built_once_per_shape_walk_the_whole_list(app, db_session, factory, monkeypatch):
    """leads_page's statement is built once per (sort, filter shape) with the values bound:
    page after page it lists what matching_lead_ids (built per request) lists, in its order,
    for every sort and shape, with values that change between requests of one shape."""
    from datetime import UTC, datetime, timedelta

    from app.crm.pipeline.board import BoardFilters
    from app.crm.records import lead_list

    monkeypatch.setattr(lead_list, "PAGE_SIZE", 2)
    reps = [factory.user(), factory.user()]
    now = datetime.now(UTC)
    db_session.add(Tag(slug="shape-tag", name="Shape tag", category=TagCategory.CUSTOM))
    db_session.flush()
    for i in range(7):
        company = factory.company(name=f"Shape Co {i}", assigned_rep_id=reps[i % 2].id)
        lead = factory.lead(company=company, stage=LeadStage.HOT if i % 3 else LeadStage.QUOTED,
                            source="Shape A" if i % 2 else "Shape B", estimated_revenue=Decimal(i * 10 % 40),
                            last_activity_at=now - timedelta(hours=i % 4), stage_changed_at=now - timedelta(days=i))
        if i % 3 == 1:
            db_session.add(LeadTag(lead_id=lead.id, tag_slug="shape-tag", applied_by="test"))
    db_session.flush()
    queries = [lead_list.ListQuery(BoardFilters(q="Shape Co"), sort=sort) for sort in lead_list.SORTS]
    queries += [lead_list.ListQuery(BoardFilters(q="Shape Co", rep_id=rep.id), stage=stage, sort="revenue")
                for rep in reps for stage in (None, LeadStage.HOT)]
    queries += [lead_list.ListQuery(BoardFilters(q="Shape Co", source=source, tag=tag), sort="stage_age")
                for source in ("Shape A", "Shape B") for tag in (None, "shape-tag")]
    queries += [lead_list.ListQuery(BoardFilters(q="Shape Co", mine=True), sort="created")]
    for query in queries:
        for viewer in reps:
            expected = lead_list.matching_lead_ids(query, viewer.id)
            seen, after = [], None
            while True:
                page = lead_list.leads_page(lead_list.ListQuery(query.filters, query.stage, query.sort, after),
                                            viewer.id)
                seen += [row.id for row in page.rows]
                after = page.next_after
                if not after:
                    break
            assert seen == expected and expected, query


def test_show_more_reads_the_rows_alone(app, client, db_session, factory, count_statements):
    """The rows of "Show more" (the lead_rows block) read no filter dropdowns."""
    rep = factory.user()
    for _ in range(3):
        factory.lead()
    login(client, rep)
    client.get("/leads", headers={"HX-Request": "true"})  # warm-up: first-request work
    db_session.expire_all()
    assert rep.id
    with count_statements() as counter:
        response = client.get("/leads", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<tr>" in response.get_data(as_text=True)
    assert counter.count <= 2, "\n".join(s[:120] for s in counter.statements)  # the user, the page
