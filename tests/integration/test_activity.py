"""The activity log: append-only in the database, recorded by services, paged newest first."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from app.activity.models import Activity
from app.activity.services import record, timeline
from tests.factories import login


def test_database_refuses_to_edit_or_delete_an_activity(db_session, factory):
    lead = factory.lead()
    activity = record("note.added", "A note", lead=lead)
    db_session.flush()
    for statement in (
        sa.update(Activity).where(Activity.id == activity.id).values(summary="rewritten"),
        sa.update(Activity).where(Activity.id == activity.id).values(detail={"x": 1}),
        sa.delete(Activity).where(Activity.id == activity.id),
        sa.text("TRUNCATE activities"),
    ):
        savepoint = db_session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db_session.execute(statement)
        savepoint.rollback()
    db_session.expire_all()
    assert db_session.get(Activity, activity.id).summary == "A note"


def test_subject_links_may_be_repointed_for_merges(db_session, factory):
    lead, other = factory.lead(), factory.lead()
    activity = record("call.logged", "Called", lead=lead)
    db_session.flush()
    db_session.execute(sa.update(Activity).where(Activity.id == activity.id).values(lead_id=other.id))
    db_session.expire_all()
    assert db_session.get(Activity, activity.id).lead_id == other.id


def test_record_serializes_detail_and_attributes_actor(db_session, factory):
    rep = factory.user()
    company = factory.company()
    act = record("company.updated", "Renamed", actor=rep, company=company,
                 detail={"before": {"name": "A"}, "after": {"name": "B"}, "id": company.id})
    db_session.flush()
    db_session.expire_all()
    stored = db_session.get(Activity, act.id)
    assert stored.user_id == rep.id and stored.company_id == company.id
    assert stored.detail["id"] == str(company.id)


def test_timeline_is_newest_first_and_keyset_paged(db_session, factory):
    lead = factory.lead()
    base = datetime.now(UTC) - timedelta(days=1)
    for i in range(45):
        record("x", f"event {i}", lead=lead, occurred_at=base + timedelta(minutes=i))
    db_session.flush()
    first = timeline(lead_id=lead.id)
    assert [a.summary for a in first.items[:2]] == ["event 44", "event 43"]
    second = timeline(lead_id=lead.id, cursor=first.next_cursor)
    third = timeline(lead_id=lead.id, cursor=second.next_cursor)
    seen = [a.summary for a in first.items + second.items + third.items]
    assert len(seen) == 45 == len(set(seen))
    assert third.next_cursor is None


def test_timeline_partial_renders_and_pages(client, db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    for i in range(25):
        record("x", f"event {i}", lead=lead, actor=rep)
    db_session.flush()
    login(client, rep)
    page = client.get(f"/activity/timeline?lead_id={lead.id}", headers={"HX-Request": "true"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="timeline__item"') == 20
    assert "Show older" in html and rep.full_name in html
    assert client.get("/activity/timeline").status_code == 400
    assert client.get("/activity/timeline?lead_id=nope").status_code == 400


def test_timeline_names_tags_where_a_summary_shows_the_slug(client, db_session, factory):
    """Issue 9: the timeline showed "Tagged icp-small-fleet" where the rest shows names."""
    from app.crm.models import Tag, TagCategory
    from app.crm.tags.services import apply_tag

    rep = factory.user()
    lead = factory.lead()
    db_session.add(Tag(slug="icp-tiny-fleet", name="Tiny fleet", category=TagCategory.ICP))
    db_session.flush()
    # A row written the old demo way (activities are append-only: it stays), and one by the app.
    record("tag.applied", "Tagged icp-tiny-fleet", actor=rep, lead=lead, detail={"tag": "icp-tiny-fleet"},
           occurred_at=datetime.now(UTC) - timedelta(days=3))
    apply_tag(lead, "icp-tiny-fleet", actor=rep)
    db_session.flush()
    login(client, rep)
    html = client.get(f"/activity/timeline?lead_id={lead.id}").get_data(as_text=True)
    assert html.count("Tagged Tiny fleet") == 2
    assert "icp-tiny-fleet" not in html
