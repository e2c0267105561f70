"""The pipeline board and stage moves: rules, conflicts, counts, statement counts."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.models import CompanyStatus, LeadStage, LeadTag
from app.crm.pipeline import board
from app.crm.pipeline.moves import (
    STAGE_LABELS,
    LostReasonRequired,
    StageConflict,
    UnknownStage,
    move_lead_to_stage,
)
from tests.factories import csrf_token, login


def stage_activities(db_session, lead):
    return db_session.scalars(select(Activity).where(
        Activity.lead_id == lead.id, Activity.activity_type == "lead.stage_changed")).all()


def test_move_records_an_activity_and_stamps(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    result = move_lead_to_stage(lead.id, "HOT", actor=rep, expected_stage="NEW_LEAD")
    assert result.changed and lead.stage is LeadStage.HOT
    (activity,) = stage_activities(db_session, lead)
    assert activity.user_id == rep.id and activity.detail["to"] == "HOT"
    assert "New lead to Hot" in activity.summary


def test_won_turns_the_company_into_a_customer_and_leaving_won_clears_it(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    move_lead_to_stage(lead.id, "WON", actor=rep)
    assert lead.won_at is not None and lead.company.status is CompanyStatus.CUSTOMER
    move_lead_to_stage(lead.id, "QUOTED", actor=rep)
    assert lead.won_at is None


@pytest.mark.parametrize("stage", ["LOST", "BOGUS"])
def test_lost_needs_a_reason_and_sets_lost_at(db_session, factory, stage):
    rep = factory.user()
    lead = factory.lead()
    with pytest.raises(LostReasonRequired):
        move_lead_to_stage(lead.id, stage, actor=rep, lost_reason="   ")
    assert lead.stage is LeadStage.NEW_LEAD and stage_activities(db_session, lead) == []
    move_lead_to_stage(lead.id, stage, actor=rep, lost_reason="Went with a competitor")
    assert lead.lost_at is not None and lead.lost_reason == "Went with a competitor"
    move_lead_to_stage(lead.id, "HOT", actor=rep)
    assert lead.lost_at is None and lead.lost_reason is None


def test_unknown_stage_and_same_stage(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    with pytest.raises(UnknownStage):
        move_lead_to_stage(lead.id, "PARTYING", actor=rep)
    assert not move_lead_to_stage(lead.id, "NEW_LEAD", actor=rep).changed
    assert stage_activities(db_session, lead) == []


def test_a_stale_move_does_not_overwrite(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    move_lead_to_stage(lead.id, "QUALIFIED", actor=rep)  # someone else, first
    with pytest.raises(StageConflict) as exc:
        move_lead_to_stage(lead.id, "HOT", actor=rep, expected_stage="NEW_LEAD")
    assert exc.value.current_stage is LeadStage.QUALIFIED
    assert lead.stage is LeadStage.QUALIFIED


def test_a_drop_back_into_the_column_it_was_seen_in_is_a_conflict_when_it_moved(db_session, factory):
    """The board shows the lead in HOT; someone moved it to QUALIFIED; a drop into HOT
    (a "no-op" for the board) must tell the mover where it is, not claim success."""
    rep = factory.user()
    lead = factory.lead(stage=LeadStage.HOT)
    move_lead_to_stage(lead.id, "QUALIFIED", actor=rep)  # someone else, first
    with pytest.raises(StageConflict) as exc:
        move_lead_to_stage(lead.id, "HOT", actor=rep, expected_stage="HOT")
    assert exc.value.current_stage is LeadStage.QUALIFIED
    assert lead.stage is LeadStage.QUALIFIED


def post_move(client, app, lead, stage, from_stage="NEW_LEAD", **extra):
    data = {"stage": stage, "from_stage": from_stage, "csrf_token": csrf_token(client, app), **extra}
    return client.post(f"/pipeline/leads/{lead.id}/move", data=data, headers={"HX-Request": "true"})


def test_move_endpoint_answers_with_card_and_both_column_heads(app, client, db_session, factory):
    rep = factory.user()
    lead = factory.lead(estimated_revenue=Decimal("1000.00"))
    factory.lead(stage=LeadStage.HOT, estimated_revenue=Decimal("250.50"))
    login(client, rep)
    response = post_move(client, app, lead, "HOT")
    assert response.status_code == 200, response.data
    html = response.get_data(as_text=True)
    assert f'hx-target="#lead-{lead.id}" hx-swap="delete"' in html
    assert 'hx-target="#cards-HOT" hx-swap="afterbegin"' in html
    assert 'id="col-head-HOT"' in html and 'id="col-head-NEW_LEAD"' in html
    assert "$1,250.50" in html  # the HOT column's new sum
    assert "Moved to Hot" in response.headers["HX-Trigger"]


def test_lost_move_without_reason_asks_with_a_dialog(app, client, db_session, factory):
    login(client, factory.user())
    lead = factory.lead()
    response = post_move(client, app, lead, "LOST")
    assert response.status_code == 422
    assert b"<dialog" in response.data and b"Why is this lead lost?" in response.data
    db_session.refresh(lead)
    assert lead.stage is LeadStage.NEW_LEAD
    done = post_move(client, app, lead, "LOST", lost_reason="No budget this year")
    assert done.status_code == 200
    db_session.refresh(lead)
    assert lead.stage is LeadStage.LOST and lead.lost_reason == "No budget this year"


def test_conflicting_move_answers_409_with_the_real_board(app, client, db_session, factory):
    login(client, factory.user())
    lead = factory.lead(stage=LeadStage.QUALIFIED)
    response = post_move(client, app, lead, "HOT", from_stage="NEW_LEAD")
    assert response.status_code == 409
    assert b'hx-target="#board"' in response.data
    assert "moved to Qualified by someone else" in response.headers["HX-Trigger"]
    db_session.refresh(lead)
    assert lead.stage is LeadStage.QUALIFIED


def test_unknown_stage_via_http(app, client, db_session, factory):
    login(client, factory.user())
    lead = factory.lead()
    response = post_move(client, app, lead, "NOPE")
    assert response.status_code == 422
    assert client.get("/pipeline/columns/NOPE").status_code == 404


def test_move_needs_csrf_and_sales_permission(app, client, db_session, factory):
    lead = factory.lead()
    login(client, factory.user(UserRole.OPERATOR))
    assert post_move(client, app, lead, "HOT").status_code == 403
    login(client, factory.user())
    bare = client.post(f"/pipeline/leads/{lead.id}/move", data={"stage": "HOT"})
    assert bare.status_code == 400


def test_board_filters_and_stale_flag(db_session, factory):
    rep, other = factory.user(), factory.user()
    mine = factory.lead(company=factory.company(assigned_rep_id=rep.id), source="Referral")
    theirs = factory.lead(company=factory.company(assigned_rep_id=other.id), source="Google Maps")
    db_session.add(LeadTag(lead_id=theirs.id, tag_slug="interested", applied_by="test"))
    mine.stage_changed_at = datetime.now(UTC) - timedelta(days=40)
    db_session.flush()

    def ids(filters, user=None):
        return {c.id for col in board.board(filters, user) for c in col.cards}

    assert {mine.id, theirs.id} <= ids(board.BoardFilters())
    assert ids(board.BoardFilters(mine=True), rep.id) == {mine.id}
    assert ids(board.BoardFilters(rep_id=other.id)) == {theirs.id}
    assert mine.id not in ids(board.BoardFilters(source="Google Maps"))
    assert ids(board.BoardFilters(tag="interested")) == {theirs.id}
    assert mine.id in ids(board.BoardFilters(q=mine.company.name[:8]))
    (card,) = [c for col in board.board(board.BoardFilters()) for c in col.cards if c.id == mine.id]
    assert card.stale and card.days_in_stage == 40


def test_board_counts_sums_and_pages(app, client, db_session, factory):
    company = factory.company()
    contact = factory.contact(company)
    for _ in range(30):
        factory.lead(company=company, contact=contact, stage=LeadStage.HOT, estimated_revenue=Decimal("10.01"))
    columns = {c.stage: c for c in board.board(board.BoardFilters())}
    hot = columns[LeadStage.HOT]
    assert hot.count == 30 and hot.revenue == Decimal("300.30")
    assert len(hot.cards) == board.FIRST_PAGE and hot.next_cursor  # above the fold only
    rest = board.more_cards(LeadStage.HOT, board.BoardFilters(), hot.next_cursor)
    seen = {c.id for c in hot.cards} | {c.id for c in rest.cards}
    assert len(seen) == len(hot.cards) + len(rest.cards) == 30 and rest.next_cursor is None
    # newest activity first, on from where the first page stopped
    order = [c.last_activity_at for c in hot.cards + rest.cards]
    assert order == sorted(order, reverse=True)
    login(client, factory.user())
    page = client.get(f"/pipeline/columns/HOT?after={hot.next_cursor}")
    assert page.status_code == 200 and b"lead-card" in page.data


def test_each_cards_stage_menu_lists_every_stage_with_its_own_selected(app, client, db_session, factory):
    """The menu comes from the `stage_options` macro, rendered once per stage for a response
    and shared by the cards: each card still lists every stage in order with its own selected."""
    login(client, factory.user())
    quoted, bogus = factory.lead(stage=LeadStage.QUOTED), factory.lead(stage=LeadStage.BOGUS, lost_reason="Spam")
    page = client.get("/pipeline").get_data(as_text=True)
    for lead in (quoted, bogus):
        menu = re.search(rf'<select class="move-form__select" id="stage-{lead.id}" name="stage">(.*?)</select>',
                         page).group(1)
        assert menu.count("<option") == len(LeadStage) and menu.count(" selected") == 1
        assert menu == "".join(f'<option value="{s.value}"{" selected" if s == lead.stage else ""}>{label}</option>'
                               for s, label in STAGE_LABELS.items())


def test_board_statement_count_does_not_grow_with_leads(app, client, db_session, factory, count_statements):
    login(client, factory.user())
    factory.lead()
    client.get("/pipeline")  # warm-up: first-request work
    with count_statements() as few:
        assert client.get("/pipeline").status_code == 200
    for stage in LeadStage:
        for _ in range(3):
            factory.lead(stage=stage)
    with count_statements() as many:
        assert client.get("/pipeline").status_code == 200
    assert many.count == few.count
    # the user, saved views, the totals, the cards, the filter lists (one statement: reps, sources, tags)
    assert many.count <= 5, many.statements


def test_search_finds_a_company_by_a_misspelled_name(app, client, db_session, factory):
    company = factory.company(name="Brooks Plumbing & Drain Inc.")
    lead = factory.lead(company=company, contact=factory.contact(company, full_name="Carlos O'Connor",
                                                                 phone_e164="+12145550142"))
    factory.company(name="Unrelated Landscaping")
    login(client, factory.user())
    for query in ("brooks plumbng", "Brroks", "plumbing & drain", "O'Conor", "555-0142"):
        html = client.get(f"/search?q={query}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert str(lead.id) in html, query
        assert "Unrelated" not in html, query
    assert b"at least two letters" in client.get("/search?q=b", headers={"HX-Request": "true"}).data
    assert b"Nothing matches" in client.get("/search?q=zzzzqqqq", headers={"HX-Request": "true"}).data
    page = client.get("/search?q=brooks")
    assert page.status_code == 200 and b"<html" in page.data


def test_maintained_stage_totals_equal_a_fresh_count(db_session, factory):
    from sqlalchemy import func

    from app.crm.models import Lead, LeadStageTotal

    rep = factory.user()
    leads = [factory.lead(estimated_revenue=Decimal("100.10")) for _ in range(4)]
    move_lead_to_stage(leads[0].id, "HOT", actor=rep)
    move_lead_to_stage(leads[1].id, "LOST", actor=rep, lost_reason="No")
    leads[2].estimated_revenue = Decimal("7.77")
    leads[3].estimated_revenue = None
    db_session.flush()
    db_session.delete(leads[1])
    db_session.flush()
    db_session.expire_all()
    live = {s: (c, r) for s, c, r in db_session.execute(
        select(Lead.stage, func.count(), func.coalesce(func.sum(Lead.estimated_revenue), 0)).group_by(Lead.stage))}
    kept = {t.stage: (t.lead_count, t.revenue) for t in db_session.scalars(select(LeadStageTotal))}
    for stage in LeadStage:
        assert kept[stage] == live.get(stage, (0, Decimal("0"))), stage


def test_a_move_reports_both_stages_totals_as_a_recount_finds_them(db_session, factory):
    from sqlalchemy import func

    from app.crm.models import Lead

    rep = factory.user()
    lead = factory.lead(stage=LeadStage.QUOTED, estimated_revenue=Decimal("1234.56"))
    factory.lead(stage=LeadStage.HOT, estimated_revenue=None)
    result = move_lead_to_stage(lead.id, "HOT", actor=rep, expected_stage="QUOTED")
    db_session.expire_all()
    live = {s: (c, r) for s, c, r in db_session.execute(
        select(Lead.stage, func.count(), func.coalesce(func.sum(Lead.estimated_revenue), 0))
        .where(Lead.stage.in_([LeadStage.HOT, LeadStage.QUOTED])).group_by(Lead.stage))}
    assert result.totals == {stage: live.get(stage, (0, Decimal("0"))) for stage in (LeadStage.HOT, LeadStage.QUOTED)}


def test_won_records_the_company_status_it_changed(db_session, factory):
    from app.crm.models import CompanyStatus

    rep = factory.user()
    lead = factory.lead()
    before = lead.company.status
    assert before is not CompanyStatus.CUSTOMER
    move_lead_to_stage(lead.id, "WON", actor=rep, expected_stage="NEW_LEAD")
    (activity,) = stage_activities(db_session, lead)
    assert activity.detail["company_status"] == {"before": before.value, "after": "CUSTOMER"}
    assert activity.company_id == lead.company_id and activity.contact_id == lead.contact_id
    # a second deal with a customer: the status is left alone and not reported
    second = factory.lead(company=lead.company, contact=lead.contact)
    move_lead_to_stage(second.id, "WON", actor=rep)
    (again,) = stage_activities(db_session, second)
    assert "company_status" not in again.detail and lead.company.status is CompanyStatus.CUSTOMER


def test_a_move_is_a_constant_few_statements(app, client, db_session, factory, count_statements):
    login(client, factory.user())
    lead = factory.lead()
    post_move(client, app, factory.lead(), "HOT")  # warm-up: first-request work
    assert lead.id  # (reloads the test's copy, expired by the warm-up's commit, outside the count)
    with count_statements() as counter:
        assert post_move(client, app, lead, "QUALIFIED").status_code == 200
    # signed-in user, then the move (lead, activity, both totals and the card in one statement)
    assert counter.count <= 2, counter.statements


def test_a_move_on_a_filtered_board_answers_with_the_filtered_counts(app, client, db_session, factory):
    rep = factory.user()
    mine = factory.company(assigned_rep_id=rep.id)
    lead = factory.lead(company=mine, estimated_revenue=Decimal("40.00"))
    factory.lead(company=mine, stage=LeadStage.HOT, estimated_revenue=Decimal("2.00"))
    factory.lead(stage=LeadStage.HOT, estimated_revenue=Decimal("5000.00"))  # not mine
    login(client, rep)
    response = post_move(client, app, lead, "HOT", board_query="mine=1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    head = html[html.index('id="col-head-HOT"'):]
    assert '<span class="badge" data-count>2</span>' in head and "$42.00" in head


def test_a_misspelled_name_ranks_the_closest_company_first(db_session, factory):
    from app.crm.search import services as searching

    for name in ("Flores Electricians LLC", "Abbott Electricians", "Gaines Electricians of Tucson"):
        factory.company(name=name)
    meant = factory.company(name="Gaines Electricians")
    results = searching.search("Ganies Electricians")
    # every one shares the word "Electricians"; the whole name decides
    assert results.companies[0].id == meant.id


def test_the_companies_list_search_keeps_its_filters_in_both_passes(app, client, db_session, factory):
    from app.crm.models import CompanyStatus

    lead_one = factory.company(name="Gaines Electricians")
    customer = factory.company(name="Gaines Electricians Co", status=CompanyStatus.CUSTOMER)
    long_name = factory.company(name="Brooks Plumbing & Drain of Tucson Inc.", status=CompanyStatus.CUSTOMER)
    login(client, factory.user())

    def names(**args):
        html = client.get("/companies", query_string=args).get_data(as_text=True)
        return {c.name for c in (lead_one, customer, long_name) if f"/companies/{c.id}" in html}

    # a close whole name: the first pass
    assert names(q="Ganies Electricians") == {"Gaines Electricians", "Gaines Electricians Co"}
    assert names(q="Ganies Electricians", status="CUSTOMER") == {"Gaines Electricians Co"}
    # a misspelled word of a long name: the lenient pass, filtered the same way
    assert names(q="Brroks", status="CUSTOMER") == {"Brooks Plumbing & Drain of Tucson Inc."}
    assert names(q="Brroks", status="LEAD") == set()


def test_columns_order_by_recent_activity_and_an_old_event_does_not_reorder(db_session, factory):
    from app.activity.services import record

    rep = factory.user()
    quiet, busy = factory.lead(stage=LeadStage.HOT), factory.lead(stage=LeadStage.HOT)
    db_session.flush()
    quiet.estimated_units = 99  # an edit of the row itself is not activity
    db_session.flush()
    record("call.logged", "Called: interested", actor=rep, lead=busy)
    db_session.flush()
    db_session.expire_all()

    def hot_ids():
        (hot,) = [c for c in board.board(board.BoardFilters()) if c.stage is LeadStage.HOT]
        return [c.id for c in hot.cards if c.id in (quiet.id, busy.id)]

    assert hot_ids() == [busy.id, quiet.id]
    stamp = busy.last_activity_at
    record("email.sent", "Backfilled from Gmail", lead=busy, occurred_at=datetime.now(UTC) - timedelta(days=30))
    record("note.added", "Note: old", lead=quiet, occurred_at=datetime.now(UTC) - timedelta(days=30))
    db_session.flush()
    db_session.expire_all()
    assert busy.last_activity_at == stamp and hot_ids() == [busy.id, quiet.id]
    # a move is activity too: the moved lead leads its new column
    move_lead_to_stage(quiet.id, "QUALIFIED", actor=rep)
    move_lead_to_stage(busy.id, "QUALIFIED", actor=rep)
    move_lead_to_stage(quiet.id, "HOT", actor=rep)
    move_lead_to_stage(quiet.id, "QUALIFIED", actor=rep)
    (qualified,) = [c for c in board.board(board.BoardFilters()) if c.stage is LeadStage.QUALIFIED]
    assert [c.id for c in qualified.cards if c.id in (quiet.id, busy.id)] == [quiet.id, busy.id]


def test_maintained_rep_totals_equal_a_fresh_count_through_every_kind_of_change(db_session, factory):
    """Whatever changes a lead or its company's rep, each rep's per-stage totals (what a
    board filtered by that rep shows) equal a recount."""
    from sqlalchemy import func, text

    from app.crm.models import Company, Lead, LeadStageRepTotal
    from app.crm.records.services import merge_companies

    ann, bob = factory.user(), factory.user()
    a1, a2 = factory.company(assigned_rep_id=ann.id), factory.company(assigned_rep_id=ann.id)
    b1, nobody = factory.company(assigned_rep_id=bob.id), factory.company()
    leads = [factory.lead(company=c, estimated_revenue=Decimal("100.10") * (i + 1))
             for i, c in enumerate([a1, a1, a2, b1, b1, nobody])]
    move_lead_to_stage(leads[0].id, "HOT", actor=ann)                            # a move
    move_lead_to_stage(leads[3].id, "LOST", actor=bob, lost_reason="No budget")
    leads[1].estimated_revenue = Decimal("7.77")                                   # a revenue edit
    leads[2].estimated_revenue = None
    db_session.flush()
    a2.assigned_rep_id = bob.id                                                     # a reassignment
    nobody.assigned_rep_id = ann.id                                                 # a first rep
    db_session.flush()
    merge_companies(b1, a1, actor=bob)                                              # a merge (ann -> bob)
    db_session.flush()
    db_session.delete(db_session.get(Lead, leads[4].id))                            # a deleted lead
    db_session.flush()
    factory.lead(company=db_session.get(Company, nobody.id), stage=LeadStage.QUOTED)  # a new lead
    db_session.flush()
    db_session.execute(text("DELETE FROM companies WHERE id = :id"), {"id": a2.id})  # a deleted company
    db_session.expire_all()

    live = {(s, r): (n, v) for s, r, n, v in db_session.execute(
        select(Lead.stage, Company.assigned_rep_id, func.count(),
               func.coalesce(func.sum(Lead.estimated_revenue), 0))
        .join(Company, Company.id == Lead.company_id).where(Company.assigned_rep_id.in_([ann.id, bob.id]))
        .group_by(Lead.stage, Company.assigned_rep_id))}
    kept = {(t.stage, t.rep_id): (t.lead_count, t.revenue) for t in db_session.scalars(
        select(LeadStageRepTotal).where(LeadStageRepTotal.rep_id.in_([ann.id, bob.id])))
        if t.lead_count or t.revenue}
    assert kept == live and live  # (and the board filtered by a rep reads these)
    columns = {c.stage: c for c in board.board(board.BoardFilters(rep_id=bob.id))}
    assert {s: (c.count, c.revenue) for s, c in columns.items() if c.count} == {
        s: v for (s, r), v in live.items() if r == bob.id}


def test_a_lead_in_the_header_search_names_its_contact_and_value(app, client, db_session, factory):
    company = factory.company(name="Harbor Freight Movers")
    first = factory.lead(company=company, contact=factory.contact(company, full_name="Ana Ruiz"),
                         estimated_revenue=Decimal("1892.00"))
    second = factory.lead(company=company, contact=factory.contact(company, full_name="Ben Ito"),
                          estimated_revenue=Decimal("756.80"))
    login(client, factory.user())
    html = client.get("/search?q=Harbor Freight", headers={"HX-Request": "true"}).get_data(as_text=True)
    # two leads of one company: told apart by their contact and value
    for lead, contact, value in ((first, "Ana Ruiz", "$1,892.00"), (second, "Ben Ito", "$756.80")):
        item = html[html.index(f'/leads/{lead.id}"'):]
        item = item[:item.index("</a>")]
        assert contact in item and value in item


def test_a_filter_shape_builds_its_statements_once_and_binds_its_values(db_session, factory):
    """Issue 14: building the ten per-stage queries cost more than running them; a board
    filtered by a rep reuses the statement of any other rep (the rep is a bound value)."""
    first, second = factory.user(), factory.user()
    mine = factory.lead(company=factory.company(assigned_rep_id=first.id), stage=LeadStage.HOT)
    theirs = factory.lead(company=factory.company(assigned_rep_id=second.id), stage=LeadStage.HOT)
    db_session.flush()
    board._board_statement.cache_clear()

    def ids(rep):
        return {c.id for col in board.board(board.BoardFilters(rep_id=rep.id)) for c in col.cards}

    assert ids(first) == {mine.id} and ids(second) == {theirs.id}
    built = board._board_statement.cache_info()
    assert (built.misses, built.hits) == (1, 1)


def test_cards_carry_no_csrf_field_of_their_own(app, client, db_session, factory):
    """htmx sends the page's token as a header (static/js/app.js): a CSRF field per card was
    ~150 bytes x every card of the board."""
    lead = factory.lead(stage=LeadStage.HOT)
    login(client, factory.user())
    html = client.get("/pipeline").get_data(as_text=True)
    card = re.search(rf'<li class="lead-card[^"]*" id="lead-{lead.id}".*?</li>', html, re.S).group(0)
    assert 'name="csrf_token"' not in card and 'name="from_stage"' in card
    assert 'name="board_query"' not in card  # unfiltered: nothing to carry
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', html)
