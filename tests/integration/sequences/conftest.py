"""A disposition tag, two sequence-step templates (e-mail, SMS), a rep with an SMS gateway,
and a lead of that rep's company whose contact has an e-mail, a mobile and a time zone."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.auth.models import UserRole

CUSTOMER = "+12145550143"  # Dallas: America/Chicago by its area code
OUR_NUMBER = "+12145550188"
# A Tuesday, 15:00 UTC = 09:00 in Chicago (CST, UTC-6): inside a 09:00-17:00 window.
TUESDAY_9_CHICAGO = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def make_templates(actor):
    from app.inbox.canned.services import save_template
    from app.inbox.models import TemplateCategory, TemplateChannel

    email = save_template(None, name="Intro e-mail", channel=TemplateChannel.EMAIL, category=TemplateCategory.SEQUENCE,
                          subject="Trackers for {{ company.name }}",
                          body="Hi {{ contact.first_name | default(\"there\") }}, here is our pricing.", actor=actor)
    sms = save_template(None, name="Follow-up text", channel=TemplateChannel.SMS, category=TemplateCategory.SEQUENCE,
                        body="Hi {{ contact.first_name | default(\"there\") }}, did you see my e-mail?", actor=actor)
    return email, sms


def four_steps(email, sms) -> list[dict]:
    return [{"type": "email", "template_id": str(email.id)},
            {"type": "wait", "amount": 2, "unit": "business_days"},
            {"type": "sms", "template_id": str(sms.id)},
            {"type": "task", "task_type": "FOLLOW_UP", "priority": "HIGH", "text": "Check in by phone"}]


def make_world(session, factory):
    from app.crm.models import Tag, TagCategory
    from app.inbox.sms.services import save_gateway
    from app.sequences.definitions import DEFAULT_WINDOW, save_definition

    admin = factory.user(UserRole.ADMIN)
    rep = factory.user(UserRole.REP, first_name="Sarah")
    save_gateway(None, user_id=rep.id, label="Sarah's Pixel", gateway_url="http://127.0.0.1:9/3rdparty/v1",
                 username="sarah", password="s3cret-gateway-pass", from_number=OUR_NUMBER, is_active=True)
    tag = Tag(slug="interested", name="Interested", category=TagCategory.DISPOSITION)
    session.add(tag)
    session.flush()
    email, sms = make_templates(admin)
    definition = save_definition(None, name="Interested follow-up", tag_slug="interested", description=None,
                                 is_active=True, window=dict(DEFAULT_WINDOW), steps=four_steps(email, sms), actor=admin)
    return dict(admin=admin, rep=rep, tag=tag, email=email, sms=sms, definition=definition)


def make_lead(factory, rep, *, phone=CUSTOMER, **contact):
    company = factory.company(assigned_rep_id=rep.id)
    contact = factory.contact(company, phone=phone, phone_e164=phone, phone_type="mobile", is_sms_eligible=True,
                              **contact)
    return factory.lead(company, contact)


@pytest.fixture
def world(db_session, factory):
    made = make_world(db_session, factory)
    made["lead"] = make_lead(factory, made["rep"])
    db_session.commit()
    return made
