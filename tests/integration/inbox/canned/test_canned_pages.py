"""Settings → Message templates (owners only), its live preview, and the composers' picker."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.inbox.canned import services
from app.inbox.models import MessageTemplate, TemplateCategory, TemplateChannel
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice

HX = {"HX-Request": "true"}


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(MessageTemplate))


def post_form(client, app, url, **data):
    data = {"csrf_token": csrf_token(client, app), "channel": "SMS", "category": "CANNED", **data}
    return client.post(url, data=data)


@pytest.fixture
def admin(client, factory):
    user = factory.user(UserRole.ADMIN, first_name="Nina")
    login(client, user)
    return user


@pytest.mark.parametrize("role, status", [(UserRole.ADMIN, 200), (UserRole.NICK, 200), (UserRole.REP, 403),
                                          (UserRole.OPERATOR, 403)])
def test_only_owners_manage_templates(client, factory, role, status):
    login(client, factory.user(role))
    assert client.get("/settings/templates").status_code == status
    assert client.get("/settings/templates/new").status_code == status


def test_settings_index_links_to_templates(client, admin):
    assert 'href="/settings/templates"' in client.get("/settings/").get_data(as_text=True)


def test_create_lists_and_edit(client, app, admin, db_session):
    response = post_form(client, app, "/settings/templates/new", name="SMS check-in",
                         body='Hi {{ contact.first_name | default("there") }}, {{ rep.first_name }} here.')
    assert response.status_code == 303
    template = db_session.scalar(select(MessageTemplate).where(MessageTemplate.name == "SMS check-in"))
    assert template.category is TemplateCategory.CANNED and template.channel is TemplateChannel.SMS
    page = client.get("/settings/templates").get_data(as_text=True)
    assert "SMS check-in" in page and "Canned reply" in page
    edit = client.get(f"/settings/templates/{template.id}").get_data(as_text=True)
    assert "contact.first_name" in edit and "data-insert-field" in edit  # the catalogue beside the editor
    response = post_form(client, app, f"/settings/templates/{template.id}", name="SMS check-in",
                         body="Hello {{ contact.full_name }}")
    assert response.status_code == 303
    db_session.refresh(template)
    assert template.body == "Hello {{ contact.full_name }}"


def test_unknown_field_answers_422_with_the_message_and_stores_nothing(client, app, admin, db_session):
    before = count(db_session)
    response = post_form(client, app, "/settings/templates/new", name="Bad", channel="EMAIL",
                         subject="Hi {{ contact.nickname }}", body="{{ ''.__class__ }} and {% import 'x' as y %}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown field “contact.nickname”" in page
    assert "is not allowed" in page and "{% import %}" in page
    assert count(db_session) == before


def test_edit_refused_keeps_the_stored_template(client, app, admin, db_session):
    template = services.save_template(None, name="Keep", channel=TemplateChannel.SMS, body="Hi {{ rep.first_name }}",
                                      actor=admin)
    db_session.commit()
    response = post_form(client, app, f"/settings/templates/{template.id}", name="Keep",
                         body="Hi {{ rep.salary }}")
    assert response.status_code == 422 and "Unknown field “rep.salary”" in response.get_data(as_text=True)
    db_session.refresh(template)
    assert template.body == "Hi {{ rep.first_name }}"


def test_archive_and_restore(client, app, admin, db_session):
    template = services.save_template(None, name="Old", channel=TemplateChannel.SMS, body="Hi", actor=admin)
    db_session.commit()
    token = csrf_token(client, app)
    response = client.post(f"/settings/templates/{template.id}/archive", data={"csrf_token": token}, headers=HX)
    assert response.status_code == 200 and "Archived" in response.get_data(as_text=True)
    db_session.refresh(template)
    assert template.is_active is False
    client.post(f"/settings/templates/{template.id}/restore", data={"csrf_token": token})
    db_session.refresh(template)
    assert template.is_active is True


def test_preview_renders_with_real_data_or_shows_the_refusal(client, app, admin, factory):
    contact = factory.contact(None, first_name="Mike")
    lead = factory.lead(None, contact)
    response = post_form(client, app, "/settings/templates/preview", lead_id=str(lead.id),
                         body="Hi {{ contact.first_name }}, {{ rep.first_name }} here.")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hi Mike, Nina here." in page and "1 SMS segment" in page
    response = post_form(client, app, "/settings/templates/preview", lead_id=str(lead.id),
                         body="Pay: {{ invoice.pay_url }}")
    assert "This lead has no invoice" in response.get_data(as_text=True)
    response = post_form(client, app, "/settings/templates/preview", lead_id=str(lead.id),
                         body="Hi {{ contact.nickname }}")
    assert "Unknown field “contact.nickname”" in response.get_data(as_text=True)
    assert "Choose a lead" in post_form(client, app, "/settings/templates/preview", body="Hi").get_data(as_text=True)


def test_picker_lists_canned_replies_and_inserts_the_rendered_one(client, app, factory, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "APP_BASE_URL", "https://crm.example.com")
    rep = factory.user(UserRole.REP, first_name="Sarah")
    invoice, token = make_invoice(factory)
    sms = services.save_template(None, name="Pay reminder", channel=TemplateChannel.SMS,
                                 body="Hi {{ contact.first_name }}, pay {{ invoice.balance_due }} here: "
                                      "{{ invoice.pay_url }} - {{ rep.first_name }}", actor=rep)
    services.save_template(None, name="Welcome mail", channel=TemplateChannel.EMAIL, subject="Hi",
                           body="Hello", actor=rep)
    services.save_template(None, name="Sequence step", channel=TemplateChannel.SMS, body="Step",
                           category=TemplateCategory.SEQUENCE, actor=rep)
    db_session.commit()
    login(client, rep)
    picker = client.get(f"/inbox/canned/picker?channel=SMS&lead_id={invoice.lead_id}", headers=HX)
    html = picker.get_data(as_text=True)
    assert picker.status_code == 200
    assert "Pay reminder" in html and "Welcome mail" not in html and "Sequence step" not in html
    rendered = client.get(f"/inbox/canned/render?template_id={sms.id}&lead_id={invoice.lead_id}", headers=HX)
    html = rendered.get_data(as_text=True)
    assert rendered.status_code == 200 and "data-canned-result" in html
    body = re.search(r"<textarea data-canned-body>(.*?)</textarea>", html, re.S).group(1)
    assert body == (f"Hi {invoice.lead.contact.first_name}, pay $2,304.90 here: "
                    f"https://crm.example.com/pay/{token} - Sarah")


def test_picker_render_refusal_is_422_with_the_reason(client, factory, db_session):
    rep = factory.user(UserRole.REP)
    lead = factory.lead()
    template = services.save_template(None, name="Pay", channel=TemplateChannel.SMS,
                                      body="{{ invoice.pay_url }}", actor=rep)
    db_session.commit()
    login(client, rep)
    response = client.get(f"/inbox/canned/render?template_id={template.id}&lead_id={lead.id}", headers=HX)
    assert response.status_code == 422
    assert "This lead has no invoice" in response.get_data(as_text=True)
    assert "data-canned-result" not in response.get_data(as_text=True)
