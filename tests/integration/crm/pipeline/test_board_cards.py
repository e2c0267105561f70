"""The board's cards kept per process (app/crm/pipeline/cards.py), its filter lists in one
statement, and its rep filter on leads.rep_id: a changed value never shows the old card."""
from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import get_template_attribute
from markupsafe import Markup

from app.auth.models import UserRole
from app.crm.models import LeadScore, LeadStage, LeadTag, TaxonomyType, TaxonomyValue
from app.crm.pipeline import board, cards
from app.crm.pipeline.moves import move_lead_to_stage
from app.template_helpers import KEPT, RenderCache
from tests.factories import login


def card_html(client, lead, query: str = "") -> str:
    page = client.get(f"/pipeline{query}").get_data(as_text=True)
    match = re.search(rf'<li class="lead-card[^"]*" id="lead-{lead.id}".*?</li>', page, re.S)
    assert match, f"lead {lead.id} not on the board"
    return match.group(0)


def test_a_card_shows_each_changed_value_never_the_one_it_showed_before(app, client, db_session, factory):
    """Every value a card shows, changed between two loads of the board, shows new."""
    ann, bob = factory.user(first_name="Ann", last_name="Archer"), factory.user(first_name="Bob", last_name="Baker")
    company = factory.company(name="Gulf Coast Towing", assigned_rep_id=ann.id)
    lead = factory.lead(company=company, stage=LeadStage.HOT, estimated_units=4, estimated_revenue=Decimal("100.00"))
    login(client, ann)
    KEPT.clear()
    before = card_html(client, lead)
    assert "Gulf Coast Towing" in before and "4 units" in before and "$100.00" in before and ">AA<" in before
    assert card_html(client, lead) == before and KEPT.hits  # unchanged: served from the cache

    def changed(change, *shown):
        nonlocal before
        change()
        db_session.flush()
        db_session.expire_all()
        after = card_html(client, lead)
        assert after != before
        for text in shown:
            assert text in after, (text, after)
        before = after

    def rename():
        company.name = "Gulf Coast Recovery"
    changed(rename, "Gulf Coast Recovery")

    def units():
        lead.estimated_units = 7
    changed(units, "7 units")

    def revenue():
        lead.estimated_revenue = Decimal("2500.50")
    changed(revenue, "$2,500.50")

    def tag():
        db_session.add(LeadTag(lead_id=lead.id, tag_slug="interested", applied_by="test"))
    changed(tag, 'class="tag"')

    def score():
        db_session.add(LeadScore(lead_id=lead.id, quality_score=83, engagement_score=41))
    changed(score, ">83<", "engagement 41")

    def rep():
        company.assigned_rep_id = bob.id
    changed(rep, ">BB<", "Bob Baker")

    def contact():
        lead.contact.full_name = "Rosa Quintero"
    changed(contact, "Rosa Quintero")

    def days_and_stale():
        lead.stage_changed_at = datetime.now(UTC) - timedelta(days=45)
    changed(days_and_stale, "Stale · 45d", "lead-card is-stale")

    def stage():
        move_lead_to_stage(lead.id, "QUOTED", actor=ann, expected_stage="HOT")
    changed(stage, 'value="QUOTED" selected', 'name="from_stage" value="QUOTED"')


def test_the_key_holds_every_value_the_macro_shows(app, db_session, factory):
    """cards.SHOWN_FIELDS are in the key; the fields left out change nothing the macro
    renders. A field added to Card (and shown) is in the key by default."""
    lead = factory.lead(stage=LeadStage.HOT)
    card = board.Card(id=lead.id, stage=LeadStage.HOT, name="Acme", contact_name="Ann", units=3,
                      revenue=Decimal("10.00"), last_activity_at=datetime.now(UTC),
                      stage_changed_at=datetime.now(UTC), quality=50, engagement=20, rep_name="Bo Bell",
                      rep_initials="BB", tags=("Interested",), days_in_stage=3, stale=False)
    other = {"id": uuid.uuid4(), "stage": LeadStage.QUOTED, "name": "Zenith", "contact_name": "Zed", "units": 9,
             "revenue": Decimal("99.00"), "quality": 70, "engagement": 60, "rep_name": "Cy Cole",
             "rep_initials": "CC", "tags": ("Hot buyer", "Fleet"), "days_in_stage": 30, "stale": True,
             "last_activity_at": datetime(2020, 1, 1, tzinfo=UTC), "stage_changed_at": datetime(2020, 1, 1, tzinfo=UTC)}
    assert set(other) == {f.name for f in dataclasses.fields(board.Card)}
    assert set(cards.SHOWN_FIELDS) | cards.NOT_SHOWN == set(other)
    with app.test_request_context("/pipeline"):
        kit = cards.BoardKit(board.BoardFilters())
        macro = get_template_attribute(cards.CARD_TEMPLATE, "card")
        first = kit.cards([card])
        assert first == macro(card, kit)
        for name, value in other.items():
            variant = dataclasses.replace(card, **{name: value})
            if name in cards.NOT_SHOWN:
                assert macro(variant, kit) == first  # not shown: may share the key
            else:
                assert kit.cards([variant]) == macro(variant, kit) != first


def test_a_card_on_a_filtered_board_carries_that_board_s_filter(app, client, db_session, factory):
    """What cards share is in the key too: the unfiltered board's card (no board_query) is not
    the filtered board's."""
    rep = factory.user()
    lead = factory.lead(company=factory.company(assigned_rep_id=rep.id))
    login(client, rep)
    assert 'name="board_query"' not in card_html(client, lead)
    filtered = card_html(client, lead, f"?rep={rep.id}")
    assert f'name="board_query" value="rep={rep.id}"' in filtered
    assert 'name="board_query"' not in card_html(client, lead)


def test_the_render_cache_is_bounded_and_keeps_the_recently_used():
    cache = RenderCache(size=3)
    for key in "abcd":
        cache.put(key, Markup(key))
    assert len(cache) == 3 and cache.get("a") is None
    assert cache.get("b") == "b"  # b is now the most recently used
    cache.put("e", Markup("e"))
    assert cache.get("c") is None and cache.get("b") == "b" and len(cache) == 3


def test_the_filter_lists_are_one_statement_and_read_fresh(app, db_session, factory, count_statements):
    """Reps (active, of a selling role, by first name), the taxonomy's active sources and the
    active tags, in one statement, read on every call (nothing kept: a new rep shows at once)."""
    zed = factory.user(first_name="Zed", last_name="Zimmer")
    aaron = factory.user(first_name="Aaron", last_name="Abbot", role=UserRole.ADMIN)
    gone = factory.user(first_name="Aaron", last_name="Gone", is_active=False)
    db_session.add(TaxonomyValue(type=TaxonomyType.SOURCE, value="Trade show zz", sort_order=10_000))
    db_session.add(TaxonomyValue(type=TaxonomyType.SOURCE, value="Retired zz", sort_order=10_001, active=False))
    db_session.flush()
    with count_statements() as counter:
        choices = board.filter_choices()
    assert counter.count == 1, counter.statements
    reps = [(r.id, r.full_name) for r in choices["reps"]]
    assert (aaron.id, "Aaron Abbot") in reps and (zed.id, "Zed Zimmer") in reps
    assert gone.id not in {r for r, _ in reps}
    assert [r.full_name.split()[0] for r in choices["reps"]] == sorted(r.full_name.split()[0] for r in choices["reps"])
    assert choices["sources"][-1] == "Trade show zz" and "Retired zz" not in choices["sources"]
    assert all(isinstance(slug, str) and isinstance(name, str) for slug, name in choices["tags"])
    newcomer = factory.user(first_name="Aaab", last_name="First")
    assert board.filter_choices()["reps"][0].id == newcomer.id


def test_a_rep_filter_follows_the_company_s_rep(app, client, db_session, factory):
    """The rep filter reads leads.rep_id (kept by triggers from companies.assigned_rep_id):
    a reassigned company's leads change boards at once; a lead without a company is on no rep's."""
    ann, bob = factory.user(), factory.user()
    company = factory.company(assigned_rep_id=ann.id)
    lead = factory.lead(company=company, stage=LeadStage.QUALIFIED)
    loose = factory.lead(stage=LeadStage.QUALIFIED, company_id=None)
    db_session.flush()

    def ids(filters, user=None):
        return {c.id for col in board.board(filters, user) for c in col.cards}

    assert lead.id in ids(board.BoardFilters(rep_id=ann.id)) and lead.id not in ids(board.BoardFilters(rep_id=bob.id))
    assert lead.id in ids(board.BoardFilters(mine=True), ann.id)
    company.assigned_rep_id = bob.id
    db_session.flush()
    assert lead.id in ids(board.BoardFilters(rep_id=bob.id)) and lead.id not in ids(board.BoardFilters(rep_id=ann.id))
    assert lead.id in ids(board.BoardFilters(mine=True), bob.id)
    assert loose.id in ids(board.BoardFilters())
    assert loose.id not in ids(board.BoardFilters(rep_id=ann.id)) | ids(board.BoardFilters(rep_id=bob.id))
    login(client, bob)
    more = client.get(f"/pipeline/columns/QUALIFIED?rep={bob.id}").get_data(as_text=True)
    assert f'id="lead-{lead.id}"' in more and f'id="lead-{loose.id}"' not in more


def test_a_rep_filter_is_a_condition_on_the_lead_s_own_rep(app, db_session):
    """Each column's top-N of a board filtered by a rep (or "mine") is then a range of
    ix_leads_stage_rep_id_last_activity_at_id, not a probe of each lead's company (on the
    bench data: EXPLAIN ANALYZE shows an Index Scan of it per stage, 9 rows each)."""
    for filters in (board.BoardFilters(rep_id=uuid.uuid4()), board.BoardFilters(mine=True)):
        shape, _ = board.filter_values(filters, uuid.uuid4())
        sql = str(board._board_statement(shape, board.FIRST_PAGE).compile(dialect=db_session.get_bind().dialect))
        page = sql[sql.index("JOIN LATERAL ("):sql.index(") AS page")]
        assert "leads.rep_id = " in page and "companies" not in page


def test_a_column_s_next_page_address_is_what_url_for_builds(app):
    """BoardKit builds the infinite scroll's address once per response and fills in each
    column's stage and cursor: the same address url_for gives, whatever the filters hold."""
    from flask import url_for

    cursor = board.CARD_ORDER.cursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), uuid.uuid4())
    for filters in (board.BoardFilters(), board.BoardFilters(rep_id=uuid.uuid4(), mine=True),
                    board.BoardFilters(source="Trade show & fair", tag="__AFTER__", q="__STAGE__ Ñandú / 50% off?")):
        with app.test_request_context("/pipeline"):
            kit = cards.BoardKit(filters)
            for stage in (LeadStage.NEW_LEAD, LeadStage.BUY_PERIOD_30):
                column = board.Column(stage, next_cursor=cursor)
                assert kit.more_url(column) == url_for("crm.pipeline_more", stage=stage.value, after=cursor,
                                                       **filters.as_args())


def test_a_column_s_next_page_starts_with_an_index_bound(db_session):
    """The infinite scroll's cursor bounds the index range (last_activity_at <= the cursor's),
    not only a filter: a page deep in a column does not read the pages before it again."""
    sql = str(board._more_statement(board.FilterShape(), LeadStage.NEW_LEAD, board.PAGE_SIZE)
              .compile(dialect=db_session.get_bind().dialect))
    assert "leads.last_activity_at <= %(after_value)s" in sql
