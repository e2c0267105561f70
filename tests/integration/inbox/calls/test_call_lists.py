"""Call lists: "Call these" on /leads and /pipeline snapshots the leads the page's filter
matches (the leads list's and the board's own filter parsing), and /calls lists them."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import UserRole
from app.crm.models import LeadStage
from app.inbox.models import CallList
from tests.factories import csrf_token, login


def _call_these(client, app, **fields):
    return client.post("/calls/lists", data={"csrf_token": csrf_token(client, app), **fields})


def test_call_these_on_the_leads_list_snapshots_the_filter(app, client, factory, db_session):
    rep = factory.user(UserRole.REP, first_name="Rita", last_name="Caller")
    matching = [factory.lead(source="dialer-test-src", stage=LeadStage.HOT) for _ in range(3)]
    factory.lead(source="dialer-test-src", stage=LeadStage.QUALIFIED)  # other stage
    factory.lead(source="other-src", stage=LeadStage.HOT)  # other source
    login(client, rep)

    page = client.get("/leads?source=dialer-test-src&stage=HOT")
    assert 'action="/calls/lists"' in page.text and 'name="source" value="dialer-test-src"' in page.text

    response = _call_these(client, app, call_from="leads", stage="HOT", source="dialer-test-src")
    assert response.status_code == 302
    call_list = db_session.scalar(select(CallList).order_by(CallList.created_at.desc()).limit(1))
    assert response.headers["Location"].endswith(f"/calls/lists/{call_list.id}/dial")
    assert set(call_list.lead_ids) == {lead.id for lead in matching}
    assert call_list.filter_criteria["page"] == "leads"
    assert call_list.filter_criteria["args"] == {"source": "dialer-test-src", "stage": "HOT"}
    assert call_list.created_by_id == rep.id
    assert call_list.name.startswith("Leads (source dialer-test-src, stage HOT) · ")

    listing = client.get("/calls")
    assert call_list.name in listing.text and "Rita Caller" in listing.text and "0 / 3" in listing.text


def test_the_snapshot_is_a_snapshot(app, client, factory, db_session):
    lead = factory.lead(source="snap-src")
    login(client, factory.user(UserRole.REP))
    _call_these(client, app, call_from="leads", source="snap-src")
    factory.lead(source="snap-src")  # added after: not in the list
    call_list = db_session.scalar(select(CallList).order_by(CallList.created_at.desc()).limit(1))
    assert call_list.lead_ids == [lead.id]


def test_call_these_on_the_board_uses_the_board_filter(app, client, factory, db_session):
    rep = factory.user(UserRole.REP)
    mine = [factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=stage)
            for stage in (LeadStage.NEW_LEAD, LeadStage.HOT)]
    factory.lead(company=factory.company(assigned_rep_id=factory.user(UserRole.REP).id))  # someone else's
    login(client, rep)

    board = client.get("/pipeline?mine=1")
    assert 'name="call_from" value="pipeline"' in board.text and 'name="mine" value="1"' in board.text

    # the board has no stage filter: a stage sent along is ignored
    response = _call_these(client, app, call_from="pipeline", mine="1", stage="HOT")
    assert response.status_code == 302
    call_list = db_session.scalar(select(CallList).order_by(CallList.created_at.desc()).limit(1))
    assert set(call_list.lead_ids) == {lead.id for lead in mine}
    assert call_list.filter_criteria == {"page": "pipeline", "args": {"mine": "1"}, "user_id": str(rep.id)}


def test_a_filter_matching_nothing_makes_no_list(app, client, factory, db_session):
    login(client, factory.user(UserRole.REP))
    before = db_session.scalar(select(CallList.id).limit(1))
    response = _call_these(client, app, call_from="leads", q="no-such-lead-anywhere-xyz")
    assert response.status_code == 422 and "nothing to call" in response.text
    assert db_session.scalar(select(CallList.id).limit(1)) == before
