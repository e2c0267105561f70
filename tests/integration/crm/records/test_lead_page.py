"""The lead page: stage menu, edit form, notes, and the timeline that follows changes."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.crm.models import LeadStage, Note
from tests.factories import csrf_token, login

HX = {"HX-Request": "true"}


def post(client, app, url, data, headers=HX):
    return client.post(url, data={"csrf_token": csrf_token(client, app), **data}, headers=headers)


def activities(db_session, lead, kind):
    return db_session.scalars(select(Activity).where(
        Activity.lead_id == lead.id, Activity.activity_type == kind)).all()


def triggers(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def test_the_page_offers_stage_edit_and_notes_and_its_timeline_follows_changes(app, client, db_session, factory):
    lead = factory.lead()
    login(client, factory.user())
    html = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert f'action="/leads/{lead.id}/stage"' in html and 'name="from_stage" type="hidden" value="NEW_LEAD"' in html
    assert f'href="/leads/{lead.id}/edit"' in html
    assert f'action="/leads/{lead.id}/notes"' in html
    assert 'hx-trigger="load, activityChanged from:body"' in html


def test_stage_menu_moves_through_the_pipeline_rules(app, client, db_session, factory):
    lead = factory.lead()
    login(client, factory.user())
    url = f"/leads/{lead.id}/stage"

    lost = post(client, app, url, {"stage": "LOST", "from_stage": "NEW_LEAD", "lost_reason": ""})
    assert lost.status_code == 422 and "Say why this lead is lost" in lost.get_data(as_text=True)
    db_session.refresh(lead)
    assert lead.stage is LeadStage.NEW_LEAD and activities(db_session, lead, "lead.stage_changed") == []

    moved = post(client, app, url, {"stage": "QUOTED", "from_stage": "NEW_LEAD"})
    assert moved.status_code == 200
    assert triggers(moved)["activityChanged"] and triggers(moved)["toast"]["message"] == "Moved to Quoted"
    html = moved.get_data(as_text=True)
    assert 'id="lead-summary"' not in html and "Quoted" in html  # the summary block alone
    db_session.refresh(lead)
    assert lead.stage is LeadStage.QUOTED and len(activities(db_session, lead, "lead.stage_changed")) == 1

    # a second tab still showing New lead: told, and shown the stage as it is now
    stale = post(client, app, url, {"stage": "HOT", "from_stage": "NEW_LEAD"})
    assert stale.status_code == 409
    assert "moved to Quoted by someone else" in stale.get_data(as_text=True)
    assert 'name="from_stage" type="hidden" value="QUOTED"' in stale.get_data(as_text=True)
    db_session.refresh(lead)
    assert lead.stage is LeadStage.QUOTED


def test_edit_lead_records_what_changed_and_refuses_bad_input(app, client, db_session, factory):
    company = factory.company()
    first, second = factory.contact(company), factory.contact(company)
    stranger = factory.contact(factory.company())
    lead = factory.lead(company=company, contact=first, estimated_units=10, estimated_revenue=Decimal("790.00"),
                        source="Google Maps")
    login(client, factory.user())
    url = f"/leads/{lead.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="790.00"' in page and "Google Maps" in page  # an imported source stays a choice

    good = {"contact_id": str(second.id), "source": "Google Maps", "source_campaign": "towing Austin",
            "estimated_units": "25", "estimated_revenue": "1975.00", "is_dnc": "y"}
    for bad, message in (({"estimated_units": "-3"}, "Number must be"),
                         ({"estimated_revenue": "lots"}, "as a number"),
                         ({"contact_id": str(stranger.id)}, "Not a valid choice")):
        response = post(client, app, url, {**good, **bad}, headers={})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    db_session.refresh(lead)
    assert lead.contact_id == first.id and lead.estimated_units == 10 and not lead.is_dnc
    assert activities(db_session, lead, "lead.updated") == []

    saved = post(client, app, url, good, headers={})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/leads/{lead.id}")
    db_session.refresh(lead)
    assert (lead.contact_id, lead.estimated_units, lead.estimated_revenue, lead.is_dnc, lead.source_campaign) == (
        second.id, 25, Decimal("1975.00"), True, "towing Austin")
    (activity,) = activities(db_session, lead, "lead.updated")
    assert set(activity.detail["changes"]) == {"contact_id", "source_campaign", "estimated_units",
                                               "estimated_revenue", "is_dnc"}
    assert activity.detail["changes"]["estimated_revenue"] == {"before": "790.00", "after": "1975.00"}
    # the same form again changes nothing and records nothing
    assert post(client, app, url, good, headers={}).status_code == 302
    assert len(activities(db_session, lead, "lead.updated")) == 1


def test_notes_from_the_lead_page(app, client, db_session, factory):
    lead = factory.lead()
    login(client, factory.user())
    url = f"/leads/{lead.id}/notes"
    empty = post(client, app, url, {"note-body": "   "})
    assert empty.status_code == 422 and "Write something first." in empty.get_data(as_text=True)
    added = post(client, app, url, {"note-body": "Asked for a 30-day trial on 3 trucks"})
    assert added.status_code == 200 and "Asked for a 30-day trial" in added.get_data(as_text=True)
    assert triggers(added)["activityChanged"]
    (note,) = db_session.scalars(select(Note).where(Note.lead_id == lead.id)).all()
    assert note.company_id == lead.company_id
    assert len(activities(db_session, lead, "note.added")) == 1


def test_the_lead_page_reads_a_constant_few_statements(app, client, db_session, factory, count_statements):
    from app.auth.models import UserRole
    from app.crm.models import LeadTag, Tag, TagCategory, Task

    rep = factory.user()
    lead = factory.lead()
    login(client, rep)
    client.get(f"/leads/{lead.id}")  # warm-up: first-request work
    db_session.expire_all()  # (as a new request finds it: nothing loaded)
    assert lead.id
    with count_statements() as few:
        assert client.get(f"/leads/{lead.id}").status_code == 200
    for i in range(4):  # notes by other, inactive authors (no other query loads them); tasks; tags
        author = factory.user(UserRole.REP)
        author.is_active = False
        db_session.add(Note(company_id=lead.company_id, lead_id=lead.id, author_id=author.id, body=f"n{i}"))
        db_session.add(Task(lead_id=lead.id, company_id=lead.company_id, title=f"t{i}"))
        db_session.add(Tag(slug=f"page-{i}", name=f"Page {i}", category=TagCategory.CUSTOM))
        db_session.flush()
        db_session.add(LeadTag(lead_id=lead.id, tag_slug=f"page-{i}", applied_by="test"))
    db_session.flush()
    db_session.expire_all()
    assert lead.id  # (reloaded outside the count)
    with count_statements() as many:
        page = client.get(f"/leads/{lead.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "n3" in html
    assert all(f">t{i}<" in html and f"Page {i}" in html for i in range(4))
    assert many.count == few.count, "\n".join(s[:120] for s in many.statements)
    # the signed-in user and the page's one read (lead, company, contact, score, tags, tasks,
    # notes, the tag catalogue, the assignees and the lost reasons' setting)
    assert many.count <= 2, "\n".join(s[:120] for s in many.statements)


@pytest.mark.parametrize("page", ["company", "contact"])
def test_company_and_contact_pages_read_a_constant_few_statements(app, client, db_session, factory,
                                                                 count_statements, page):
    from app.auth.models import UserRole
    from app.crm.models import Task

    company = factory.company()
    person = factory.contact(company)
    factory.lead(company=company, contact=person)
    url = f"/companies/{company.id}" if page == "company" else f"/contacts/{person.id}"
    login(client, factory.user())
    client.get(url)  # warm-up: first-request work

    def measure():
        db_session.expire_all()  # as a new request finds it: nothing loaded
        assert company.id and person.id
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter

    few = measure()
    for i in range(4):
        other = factory.contact(company)
        factory.lead(company=company, contact=other)
        factory.lead(company=company, contact=person)
        author = factory.user(UserRole.REP)
        author.is_active = False
        db_session.add(Note(company_id=company.id, author_id=author.id, body=f"n{i}"))
        lead = factory.lead(company=company, contact=other)
        db_session.add(Task(company_id=company.id, lead_id=lead.id, title=f"t{i}", assigned_to_id=author.id))
        db_session.add(Task(company_id=company.id, title=f"c{i}", is_completed=True))
    db_session.flush()
    many = measure()
    assert many.count == few.count, "\n".join(s[:120] for s in many.statements)



def test_tasks_from_the_company_page(app, client, db_session, factory):
    from app.crm.models import Task

    company = factory.company()
    lead = factory.lead(company=company)
    db_session.add(Task(company_id=company.id, lead_id=lead.id, title="Send the GL300 spec sheet"))
    db_session.flush()
    rep = factory.user()
    login(client, rep)
    page = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert 'id="company-tasks"' in page and "Send the GL300 spec sheet" in page  # a lead's task shows too
    url = f"/companies/{company.id}/tasks"
    form = {"title": "Call the fleet manager", "task_type": "CALL", "priority": "HIGH", "due_at": "",
            "assigned_to": str(rep.id)}
    empty = post(client, app, url, {**form, "title": " "})
    assert empty.status_code == 422 and 'id="company-tasks"' in empty.get_data(as_text=True)
    added = post(client, app, url, form)
    assert added.status_code == 200 and "Call the fleet manager" in added.get_data(as_text=True)
    assert triggers(added)["activityChanged"]
    task = db_session.scalar(select(Task).where(Task.title == "Call the fleet manager"))
    assert task.company_id == company.id and task.lead_id is None and task.assigned_to_id == rep.id
    assert db_session.scalar(select(Activity).where(Activity.activity_type == "task.created",
                                                    Activity.company_id == company.id)) is not None


def test_the_lead_page_shows_what_its_one_read_holds(app, client, db_session, factory):
    """The page's one statement (queries.lead_page) against the models: a contact that is only
    a phone line goes by its company, removed tags are not shown and inactive ones not offered,
    notes come newest first with their author, tasks with their state, the assignees offered."""
    from datetime import UTC, datetime, timedelta

    from app.auth.models import UserRole
    from app.crm.models import LeadScore, LeadTag, Tag, TagCategory, Task, TaskPriority, TaskType

    company = factory.company(name="Phone Line Towing")
    contact = factory.contact(company, full_name=None, first_name=None, last_name=None, email=None,
                              email_normalized=None, phone_e164="+15125550199")
    lead = factory.lead(company=company, contact=contact, estimated_units=7, lost_reason="Went dark")
    rep = factory.user(UserRole.REP, first_name="Zed", last_name="Author")
    gone = factory.user(UserRole.REP, first_name="Inactive", last_name="Rep")
    gone.is_active = False
    now = datetime.now(UTC)
    for slug, name, active in (("shown-tag", "Shown tag", True), ("removed-tag", "Removed tag", True),
                               ("retired-tag", "Retired tag", False), ("offered-tag", "Offered tag", True)):
        db_session.add(Tag(slug=slug, name=name, category=TagCategory.CUSTOM, is_active=active))
    db_session.flush()
    db_session.add(LeadTag(lead_id=lead.id, tag_slug="shown-tag", applied_by="test"))
    db_session.add(LeadTag(lead_id=lead.id, tag_slug="removed-tag", applied_by="test", removed_at=now))
    db_session.add(LeadScore(lead_id=lead.id, quality_score=41, engagement_score=17))
    db_session.add(Note(company_id=company.id, lead_id=lead.id, author_id=rep.id, body="older note",
                        created_at=now - timedelta(days=2)))
    db_session.add(Note(company_id=company.id, lead_id=lead.id, author_id=rep.id, body="newer note",
                        created_at=now - timedelta(hours=1)))
    db_session.add(Task(lead_id=lead.id, company_id=company.id, title="Open task", task_type=TaskType.CALL,
                        priority=TaskPriority.URGENT, due_at=now + timedelta(days=1)))
    db_session.add(Task(lead_id=lead.id, company_id=company.id, title="Done task", is_completed=True,
                        completed_at=now))
    db_session.flush()
    login(client, factory.user())
    html = client.get(f"/leads/{lead.id}").get_data(as_text=True)

    assert html.count("Phone Line Towing") >= 3 and "(512) 555-0199" in html
    assert "7 units" in html and "Went dark" in html and "quality 41 · engagement 17" in html
    tags = html.split('id="lead-tags"')[1].split("</form>")[0]
    assert "Shown tag" in tags and "Removed tag" not in tags.split('<form')[0]
    offered = tags.split('name="slug"')[1]
    assert "Offered tag" in offered and "Retired tag" not in offered and "Shown tag" not in offered
    assert html.index("newer note") < html.index("older note") and "Zed Author" in html
    assert "Urgent" in html and 'aria-label="Mark “Open task” done"' in html
    assert 'aria-label="Reopen “Done task”"' in html and html.index("Open task") < html.index("Done task")
    assignees = html.split('name="assigned_to"')[1].split("</select>")[0]
    assert "Zed Author" in assignees and "Inactive Rep" not in assignees
    assert client.get(f"/leads/{uuid.uuid4()}").status_code == 404
    assert 'data-lost-reason="Too expensive"' in html  # the default suggestions, no setting stored

    from app.settings.models import Setting

    db_session.add(Setting(key="pipeline.lost_reasons", value=["Bought a <cheaper> tracker"]))
    db_session.flush()
    html = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-lost-reason="Bought a &lt;cheaper&gt; tracker"' in html and "Too expensive" not in html
