"""Canned replies: merge fields checked when a template is saved (nothing unknown or
unsafe is ever stored), rendered in a sandbox with the lead's real data, a missing value
taking the template's default or refusing the render, never a blank."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.billing.sending import revoke_link, send_invoice
from app.crm.models import CompanyAddress
from app.inbox.canned import services
from app.inbox.canned.rendering import RenderRefused, TemplateRefused, check_template, render_text
from app.inbox.models import MessageTemplate, TemplateCategory, TemplateChannel
from tests.integration.test_payments import make_invoice

EMAIL, SMS = TemplateChannel.EMAIL, TemplateChannel.SMS


def templates_count(session) -> int:
    return session.scalar(select(func.count()).select_from(MessageTemplate))


def save(body, *, subject=None, channel=SMS, actor=None, name="Check-in"):
    return services.save_template(None, name=name, channel=channel, subject=subject, body=body,
                                  category=TemplateCategory.CANNED, actor=actor)


# ------------------------------------------------------------------ the save-time check

@pytest.mark.parametrize("body, expected", [
    ("Hi {{ contact.nickname }}", "Unknown field “contact.nickname”"),
    ("Hi {{ customer.first_name }}", "Unknown field “customer.first_name”"),
    ("{{ ''.__class__ }}", "is not allowed"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "is not allowed"),
    ("{% import 'base.html' as b %}hi", "“{% import %}” is not allowed"),
    ("{{ cycler.__init__.__globals__ }}", "“cycler.__init__.__globals__” is not allowed"),
    ("{{ cycler.__init__ }}", "Unknown field “cycler.__init__”"),
    ("{{ contact.first_name | upper }}", "Filter “upper” is not allowed"),
    ("{{ contact.first_name | default(rep.first_name) }}", "Filter “default” is not allowed"),
    ("{% for x in range(10) %}x{% endfor %}", "“{% for %}” is not allowed"),
    ("{% set x = 1 %}", "“{% assign %}” is not allowed"),
    ("{{ contact.first_name() }}", "is not allowed"),
    ("{{ contact['first_name'] }}", "is not allowed"),
    ("{{ contact }}", "name a field"),
    ("Hi {{ contact.first_name", "Line 1:"),
    ('Pay here: {{ invoice.pay_url | default("ask me") }}', "“invoice.pay_url” can't have a default"),
    ('Hi {{ contact.first_name | default("  ") }}', "The default of “contact.first_name” is empty"),
])
def test_disallowed_templates_are_refused_and_nothing_is_stored(db_session, factory, body, expected):
    admin = factory.user(UserRole.ADMIN)
    before = templates_count(db_session)
    with pytest.raises(services.TemplateInvalid) as refused:
        save(body, actor=admin)
    assert any(expected in m for m in refused.value.errors["body"]), refused.value.errors
    assert templates_count(db_session) == before


def test_each_problem_gets_its_own_message_in_subject_and_body(db_session, factory):
    with pytest.raises(services.TemplateInvalid) as refused:
        save("{{ contact.age }} and {{ rep.salary }}", subject="About {{ company.revenue }}", channel=EMAIL,
             actor=factory.user(UserRole.ADMIN))
    errors = refused.value.errors
    assert errors["subject"] == ["Unknown field “company.revenue”: use one of the fields listed beside the editor."]
    assert [m.split("”")[0] for m in errors["body"]] == ["Unknown field “contact.age", "Unknown field “rep.salary"]


def test_import_statement_is_refused_by_the_checker():
    with pytest.raises(TemplateRefused) as refused:
        check_template("{% import 'base.html' as b %}{{ b }}")
    assert "is not allowed" in refused.value.problems[0]


def test_a_valid_template_is_saved_with_a_unique_slug(db_session, factory):
    admin = factory.user(UserRole.ADMIN)
    a = save('Hi {{ contact.first_name | default("there") }}, {{ rep.first_name }} here.', actor=admin)
    b = save("Second {{ company.name }}", actor=admin)
    assert a.slug == "check-in" and b.slug == "check-in-2"
    assert a.category is TemplateCategory.CANNED and a.created_by_id == admin.id and a.subject is None


def test_email_needs_a_subject(db_session, factory):
    with pytest.raises(services.TemplateInvalid) as refused:
        save("Body", channel=EMAIL, actor=factory.user(UserRole.ADMIN))
    assert refused.value.errors == {"subject": ["An e-mail template needs a subject."]}


# ------------------------------------------------------------------ rendering

def test_render_with_the_leads_real_data(db_session, factory):
    rep = factory.user(UserRole.REP, first_name="Sarah", last_name="Jones", phone="(813) 555-0142")
    company = factory.company(name="ABC Towing")
    db_session.add(CompanyAddress(company_id=company.id, label="HQ", type="BILLING", address_line1="1 Main St",
                                  city="Tampa", state="FL", zip="33602", is_default_billing=True))
    contact = factory.contact(company, first_name="Mike", last_name="Delgado", full_name="Mike Delgado")
    lead = factory.lead(company, contact)
    template = save("Hi {{ contact.first_name }} at {{ company.name }} ({{ company.city }}): "
                    "{{ rep.full_name }}, {{ rep.phone }}, {{ rep.email }}. Stage {{ lead.stage }}.",
                    subject="For {{ contact.full_name }}", channel=EMAIL, actor=rep)
    message = services.render_canned(template.id, lead=lead, rep=rep)
    assert message.subject == "For Mike Delgado"
    assert message.body == (f"Hi Mike at ABC Towing (Tampa): Sarah Jones, (813) 555-0142, {rep.email}. "
                            "Stage New lead.")


def test_missing_value_uses_the_default_or_refuses_never_blank(db_session, factory):
    rep = factory.user(UserRole.REP)
    contact = factory.contact(None, first_name=None, full_name=None, last_name=None)
    lead = factory.lead(None, contact)
    with_default = save('Hi {{ contact.first_name | default("there") }}!', actor=rep)
    assert services.render_canned(with_default.id, lead=lead, rep=rep).body == "Hi there!"
    without = save("Hi {{ contact.first_name }}!", actor=rep, name="Bare")
    with pytest.raises(RenderRefused, match=r"Contact's first name \(contact.first_name\) is empty"):
        services.render_canned(without.id, lead=lead, rep=rep)
    rep.phone = None
    phone = save("Call me at {{ rep.phone }}", actor=rep, name="Phone")
    with pytest.raises(RenderRefused, match=r"rep.phone"):
        services.render_canned(phone.id, lead=lead, rep=rep)


def test_autoescape_only_for_html():
    values = {"company.name": "<b>A&B</b>"}
    assert render_text("{{ company.name }}", values) == "<b>A&B</b>"
    assert render_text("{{ company.name }}", values, html=True) == "&lt;b&gt;A&amp;B&lt;/b&gt;"


def test_invoice_fields_and_an_absolute_pay_url_from_app_base_url(app, db_session, factory, monkeypatch):
    monkeypatch.setitem(app.config, "APP_BASE_URL", "https://crm.gps-leaders.example")
    invoice, token = make_invoice(factory)
    rep = factory.user(UserRole.REP)
    template = save("Invoice {{ invoice.number }}: {{ invoice.total }}, due {{ invoice.balance_due }}. "
                    "Pay: {{ invoice.pay_url }}", actor=rep, name="Pay link")
    body = services.render_canned(template.id, lead=invoice.lead, rep=rep).body
    assert body == (f"Invoice {invoice.invoice_number}: $2,304.90, due $2,304.90. "
                    f"Pay: https://crm.gps-leaders.example/pay/{token}")
    assert invoice.balance_due == Decimal("2304.90")


def test_pay_url_refused_when_the_lead_has_no_live_link(app, db_session, factory):
    rep = factory.user(UserRole.REP)
    template = save("Pay: {{ invoice.pay_url }}", actor=rep, name="Pay link")
    lead = factory.lead()
    with pytest.raises(RenderRefused, match="This lead has no invoice"):
        services.render_canned(template.id, lead=lead, rep=rep)
    draft, _ = make_invoice(factory, send=False)
    with pytest.raises(RenderRefused, match="has not been sent"):
        services.render_canned(template.id, lead=draft.lead, rep=rep)
    sent, token = make_invoice(factory)
    assert token in services.render_canned(template.id, lead=sent.lead, rep=rep).body
    # Sent again: the old link stops working, the reply quotes the new one.
    new_token = send_invoice(sent, actor=rep).rsplit("/", 1)[1]
    body = services.render_canned(template.id, lead=sent.lead, rep=rep).body
    assert new_token in body and token not in body
    revoke_link(sent, actor=rep)
    with pytest.raises(RenderRefused, match="has no payment link"):
        services.render_canned(template.id, lead=sent.lead, rep=rep)


def test_archived_or_unknown_template_is_refused(db_session, factory):
    rep = factory.user(UserRole.REP)
    lead = factory.lead()
    template = save("Hi", actor=rep)
    services.set_active(template, False, actor=rep)
    with pytest.raises(RenderRefused, match="archived"):
        services.render_canned(template.id, lead=lead, rep=rep)
    with pytest.raises(RenderRefused, match="does not exist"):
        services.render_canned("not-a-uuid", lead=lead, rep=rep)


def test_a_template_stored_invalid_is_refused_at_render(db_session, factory):
    """A row written around the service (an import, an old version) still never renders
    an unknown field as blank."""
    rep = factory.user(UserRole.REP)
    row = MessageTemplate(name="Raw", slug="raw", channel=SMS, category=TemplateCategory.CANNED,
                          body="Hi {{ contact.nickname }}{{ ''.__class__.__mro__ }}")
    db_session.add(row)
    db_session.flush()
    with pytest.raises(RenderRefused, match="not valid"):
        services.render_canned(row.id, lead=factory.lead(), rep=rep)


def test_sms_segments():
    assert services.sms_segments("") == (0, 160)
    assert services.sms_segments("a" * 160) == (1, 160)
    assert services.sms_segments("a" * 161) == (2, 153)
    assert services.sms_segments("€" * 80) == (1, 160)
    assert services.sms_segments("€" * 81) == (2, 153)
    assert services.sms_segments("ü" * 160) == (1, 160)  # in GSM-7
    assert services.sms_segments("ł" * 70) == (1, 70)
    assert services.sms_segments("ł" * 71) == (2, 67)


def test_demo_canned_replies_save_and_render(app, db_session, factory, monkeypatch):
    from app.demo_data import DEMO_CANNED_REPLIES, _demo_canned_replies

    monkeypatch.setitem(app.config, "APP_BASE_URL", "https://crm.example.com")
    factory.user(UserRole.ADMIN)
    invoice, token = make_invoice(factory)
    rep = factory.user(UserRole.REP, first_name="Sarah", phone=None)
    assert _demo_canned_replies() == len(DEMO_CANNED_REPLIES) >= 4
    canned = services.canned_templates(SMS) + services.canned_templates(EMAIL)
    assert {t.name for t in canned} >= {name for name, *_ in DEMO_CANNED_REPLIES}
    for template in canned:
        message = services.render_canned(template.id, lead=invoice.lead, rep=rep)
        assert "{{" not in message.body and (message.subject is None) == (template.channel is SMS)
    reminder = next(t for t in canned if t.name == "SMS pay link")
    assert f"https://crm.example.com/pay/{token}" in services.render_canned(reminder.id, lead=invoice.lead,
                                                                           rep=rep).body


def test_values_are_data_never_template_code(db_session, factory):
    """A contact named like a template (typed by a customer on a web form) is printed as is."""
    rep = factory.user(UserRole.REP)
    contact = factory.contact(None, first_name="{{ rep.email }}{% import 'x' as y %}")
    template = save("Hi {{ contact.first_name }}", actor=rep)
    body = services.render_canned(template.id, lead=factory.lead(None, contact), rep=rep).body
    assert body == "Hi {{ rep.email }}{% import 'x' as y %}"
