"""Settings → Sequences (build, validate with 422, preview, numbers, runs) and the lead panel."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import UserRole
from tests.factories import csrf_token, login
from tests.integration.sequences.conftest import TUESDAY_9_CHICAGO, four_steps, make_templates


def _post_definition(client, app, url, *, name="Demo booked", tag="interested", steps=(), days=("0", "1", "2", "3", "4"),
                     start="09:00", end="17:00"):
    data = {"csrf_token": csrf_token(client, app), "name": name, "tag_slug": tag, "description": "",
            "is_active": "y", "days": list(days), "start": start, "end": end}
    for i, step in enumerate(steps):
        for key, value in step.items():
            data[f"steps-{i}-{key}"] = str(value)
    return client.post(url, data=data)


def _tag(db_session, slug="interested"):
    from app.crm.models import Tag, TagCategory

    tag = Tag(slug=slug, name=slug.title(), category=TagCategory.DISPOSITION)
    db_session.add(tag)
    db_session.flush()
    return tag


def test_an_admin_builds_a_sequence_and_sees_its_timeline(client, app, factory, db_session):
    from app.sequences.models import SequenceDefinition

    admin = factory.user(UserRole.ADMIN)
    _tag(db_session)
    email, sms = make_templates(admin)
    db_session.commit()
    login(client, admin)
    page = client.get("/settings/sequences/new")
    assert page.status_code == 200 and "E-mail: Intro e-mail" in page.text and "SMS: Follow-up text" in page.text
    response = _post_definition(client, app, "/settings/sequences/new", steps=four_steps(email, sms))
    assert response.status_code == 303, response.text
    definition = db_session.scalar(select(SequenceDefinition))
    assert definition.steps["schema"] == 1 and definition.steps["revision"] == 1
    assert [s["type"] for s in definition.steps["steps"]] == ["email", "wait", "sms", "task"]
    page = client.get(response.headers["Location"])
    assert "Timeline preview" in page.text and "Wait 2 business days" in page.text
    assert "E-mail “Intro e-mail”" in page.text
    listing = client.get("/settings/sequences")
    assert listing.status_code == 200 and "Demo booked" in listing.text


def test_invalid_definitions_are_refused_with_422_and_say_why(client, app, factory, db_session):
    from app.sequences.models import SequenceDefinition

    admin = factory.user(UserRole.ADMIN)
    _tag(db_session)
    email, sms = make_templates(admin)
    db_session.commit()
    login(client, admin)
    cases = [
        ([], "Add at least one step."),
        ([{"type": "email", "template_id": str(sms.id)}], "is not an e-mail template"),
        ([{"type": "sms", "template_id": str(email.id)}], "is not an SMS template"),
        ([{"type": "email", "template_id": str(email.id)}, {"type": "wait", "amount": "0", "unit": "hours"}],
         "A wait must be a positive whole number."),
        ([{"type": "wait", "amount": "2", "unit": "hours"}], "A sequence of waits only does nothing"),
        ([{"type": "task", "task_type": "FOLLOW_UP", "priority": "HIGH", "text": ""}], "Say what the task is."),
    ]
    for steps, message in cases:
        response = _post_definition(client, app, "/settings/sequences/new", steps=steps)
        assert response.status_code == 422 and message in response.text, (steps, message)
    response = _post_definition(client, app, "/settings/sequences/new", steps=four_steps(email, sms), start="18:00")
    assert response.status_code == 422 and "The window must end after it starts" in response.text
    response = _post_definition(client, app, "/settings/sequences/new", steps=four_steps(email, sms), tag="nope")
    assert response.status_code == 422 and "Choose a disposition tag." in response.text
    assert db_session.scalar(select(SequenceDefinition)) is None


def test_a_canned_reply_template_cannot_be_a_step(factory, db_session):
    import pytest

    from app.inbox.canned.services import save_template
    from app.inbox.models import TemplateChannel
    from app.sequences.definitions import DEFAULT_WINDOW, DefinitionInvalid, save_definition

    admin = factory.user(UserRole.ADMIN)
    _tag(db_session)
    canned = save_template(None, name="Thanks", channel=TemplateChannel.EMAIL, subject="Thanks", body="Thanks!",
                           actor=admin)
    with pytest.raises(DefinitionInvalid) as refused:
        save_definition(None, name="x", tag_slug="interested", description=None, is_active=True,
                        window=dict(DEFAULT_WINDOW), steps=[{"type": "email", "template_id": str(canned.id)}],
                        actor=admin)
    assert "canned reply" in str(refused.value)


def test_the_lead_panel_shows_the_timeline_and_pauses_resumes_and_stops(client, app, world, db_session):
    from app.crm.tags.services import apply_tag
    from app.sequences import engine
    from app.sequences.models import SequenceRun, SequenceStatus

    lead = world["lead"]
    apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    engine.tick(TUESDAY_9_CHICAGO)
    login(client, world["rep"])
    assert f'hx-get="/leads/{lead.id}/sequences"' in client.get(f"/leads/{lead.id}").text
    panel = client.get(f"/leads/{lead.id}/sequences")
    assert panel.status_code == 200
    assert "Interested follow-up" in panel.text and "done 2026-12-01 15:00 UTC" in panel.text
    assert "next: 2026-12-03 15:00 UTC" in panel.text
    run = db_session.scalar(select(SequenceRun))
    token = csrf_token(client, app)
    headers = {"HX-Request": "true"}
    refused = client.post(f"/sequence-runs/{run.id}/pause", data={"csrf_token": token, "reason": ""}, headers=headers)
    assert refused.status_code == 422 and "Say why." in refused.text
    paused = client.post(f"/sequence-runs/{run.id}/pause", data={"csrf_token": token, "reason": "On vacation"},
                         headers=headers)
    assert paused.status_code == 200 and "Paused: On vacation" in paused.text
    db_session.refresh(run)
    assert run.status is SequenceStatus.PAUSED and run.next_step_at is None
    assert engine.tick(TUESDAY_9_CHICAGO.replace(day=3)).claimed == 0
    resumed = client.post(f"/sequence-runs/{run.id}/resume", data={"csrf_token": token}, headers=headers)
    assert resumed.status_code == 200
    db_session.refresh(run)
    assert run.status is SequenceStatus.ACTIVE
    stopped = client.post(f"/sequence-runs/{run.id}/cancel", data={"csrf_token": token, "reason": "Bought elsewhere"},
                          headers=headers)
    assert stopped.status_code == 200 and "Stopped: Bought elsewhere" in stopped.text
    again = client.post(f"/sequence-runs/{run.id}/cancel", data={"csrf_token": token, "reason": "x"}, headers=headers)
    assert again.status_code == 409


def test_the_list_counts_runs_replies_and_steps(client, world, db_session, factory):
    from app.crm.tags.services import apply_tag
    from app.inbox.email.services import ingest_inbound_email
    from app.sequences import engine
    from tests.integration.sequences.conftest import make_lead

    leads = [world["lead"], make_lead(factory, world["rep"]), make_lead(factory, world["rep"], email=None,
                                                                          email_normalized=None)]
    for lead in leads:
        apply_tag(lead, "interested", actor=world["rep"])
    db_session.commit()
    engine.tick(TUESDAY_9_CHICAGO)
    ingest_inbound_email(leads[0].contact.email, "sales@example.com", "Re: Trackers", "Yes", "<r@x.example>")
    db_session.commit()
    from app.sequences.queries import definitions_with_stats

    [stats] = definitions_with_stats()
    assert stats.counts == {"ACTIVE": 2, "PAUSED": 0, "COMPLETED": 0, "CANCELED": 1}
    assert stats.replied == 1 and round(stats.reply_rate, 2) == 0.33
    assert dict(stats.steps[0]) == {"FIRED": 2, "SKIPPED": 1}
    login(client, world["admin"])
    page = client.get("/settings/sequences")
    assert "33 %" in page.text and "1 of 3" in page.text
    runs_page = client.get(f"/settings/sequences/{world['definition'].id}/runs?status=CANCELED")
    assert runs_page.status_code == 200 and "The customer replied by e-mail" in runs_page.text


def test_the_lead_panel_and_the_list_read_a_constant_number_of_statements(client, world, db_session, factory,
                                                                         count_statements):
    from app.crm.models import Tag, TagCategory
    from app.sequences.definitions import DEFAULT_WINDOW, save_definition
    from app.sequences.models import SequenceRun, SequenceStatus

    lead = world["lead"]
    login(client, world["admin"])

    def statements(url):
        client.get(url)  # warm: the session's user, the app's caches
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    def add_run(n):
        slug = f"extra-{n}"
        db_session.add(Tag(slug=slug, name=slug, category=TagCategory.DISPOSITION))
        db_session.flush()
        definition = save_definition(None, name=f"Extra {n}", tag_slug=slug, description=None, is_active=True,
                                     window=dict(DEFAULT_WINDOW), actor=world["admin"],
                                     steps=[{"type": "email", "template_id": str(world["email"].id)}])
        db_session.add(SequenceRun(lead_id=lead.id, sequence_def_id=definition.id, tag_slug=slug,
                                   status=SequenceStatus.CANCELED, canceled_reason="x"))
        db_session.commit()

    add_run(0)
    panel, listing = statements(f"/leads/{lead.id}/sequences"), statements("/settings/sequences")
    for n in range(1, 5):
        add_run(n)
    assert statements(f"/leads/{lead.id}/sequences") == panel
    assert statements("/settings/sequences") == listing
