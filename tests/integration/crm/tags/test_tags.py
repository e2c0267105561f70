"""Tags on leads: soft removal, revival, disposition events, the tag endpoints."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.crm.models import LeadTag, Tag, TagCategory
from app.crm.tags import events
from app.crm.tags.services import TagError, apply_tag, delete_tag, remove_tag
from tests.factories import csrf_token, login


def make_tag(db_session, slug, category=TagCategory.CUSTOM, **kw):
    tag = Tag(slug=slug, name=slug.replace("-", " ").title(), category=category, **kw)
    db_session.add(tag)
    db_session.flush()
    return tag


def activity_types(db_session, lead):
    return [a.activity_type for a in db_session.scalars(
        select(Activity).where(Activity.lead_id == lead.id).order_by(Activity.occurred_at))]


def test_remove_then_reapply_revives_the_same_row(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    make_tag(db_session, "hot-fleet")
    first = apply_tag(lead, "hot-fleet", actor=rep)
    assert apply_tag(lead, "hot-fleet", actor=rep) is first  # twice: nothing twice
    remove_tag(lead, "hot-fleet", actor=rep)
    assert first.removed_at is not None
    again = apply_tag(lead, "hot-fleet", actor=rep)
    assert again.id == first.id and again.removed_at is None
    rows = db_session.scalars(select(LeadTag).where(LeadTag.lead_id == lead.id)).all()
    assert len(rows) == 1
    assert activity_types(db_session, lead) == ["tag.applied", "tag.removed", "tag.applied"]


def test_disposition_tags_emit_the_event(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    make_tag(db_session, "callback", TagCategory.DISPOSITION)
    make_tag(db_session, "icp-big", TagCategory.ICP)
    heard = []
    listener = events.on_disposition_applied(lambda lead, tag, actor: heard.append(tag.slug))
    try:
        apply_tag(lead, "icp-big", actor=rep)
        apply_tag(lead, "callback", actor=rep)
        apply_tag(lead, "callback", actor=rep)
    finally:
        events._disposition_listeners.remove(listener)
    assert heard == ["callback"]


def test_unknown_or_inactive_tag_and_system_tags(db_session, factory):
    rep = factory.user()
    lead = factory.lead()
    make_tag(db_session, "old", is_active=False)
    system = make_tag(db_session, "dnc", is_system=True)
    for slug in ("nope", "old"):
        with pytest.raises(TagError):
            apply_tag(lead, slug, actor=rep)
    with pytest.raises(TagError, match="system tag"):
        delete_tag(system, actor=rep)


def test_tag_endpoints(app, client, db_session, factory):
    make_tag(db_session, "interested", TagCategory.DISPOSITION)
    login(client, factory.user())
    lead = factory.lead()
    response = client.post(f"/leads/{lead.id}/tags", data={"slug": "interested", "csrf_token": csrf_token(client, app)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"Remove tag Interested" in response.data  # the name, not the slug
    bad = client.post(f"/leads/{lead.id}/tags", data={"slug": "no-such", "csrf_token": csrf_token(client, app)},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422 and b"Pick a tag" in bad.data
    gone = client.post(f"/leads/{lead.id}/tags/interested/remove", data={"csrf_token": csrf_token(client, app)},
                       headers={"HX-Request": "true"})
    assert gone.status_code == 200 and b"No tags." in gone.data


