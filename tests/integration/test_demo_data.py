"""The demo-data loader: loads once, plausible content, deterministic choices."""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.auth.models import User, UserRole
from app.auth.passwords import verify_password
from app.crm.models import (
    Company,
    CompanyAddress,
    Contact,
    Lead,
    LeadStage,
    LeadTag,
    Task,
    TaxonomyType,
    TaxonomyValue,
)
from app.crm.records.normalize import normalize_company_name
from app.demo_data import (
    DEMO_LOGINS,
    estimated_revenue,
    generate,
    load_demo_data,
    luhn_check_digit,
    luhn_valid,
)
from app.fulfillment.models import Device, DeviceStatus, SimCard

SMALL = 60  # enough for every stage and status; fast enough for every run
FIXED_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_if_empty_loads_only_once(db_session):
    counts = load_demo_data(companies=SMALL, if_empty=True)

    assert counts is not None
    assert counts["companies"] == SMALL
    assert load_demo_data(companies=SMALL, if_empty=True) is None
    assert _count(db_session, Company) == SMALL
    assert _count(db_session, User) == len(DEMO_LOGINS) + 1  # + the AI agent


def test_returned_counts_match_the_database(db_session):
    from app.activity.models import Activity
    from app.billing.models import AgreementTemplate, Product, TaxRate

    counts = load_demo_data(companies=SMALL)

    for key, model in {"companies": Company, "contacts": Contact, "leads": Lead,
                       "company_addresses": CompanyAddress, "lead_tags": LeadTag,
                       "tasks": Task, "devices": Device, "sim_cards": SimCard,
                       "activities": Activity, "products": Product, "tax_rates": TaxRate,
                       "agreement_templates": AgreementTemplate}.items():
        assert counts[key] == _count(db_session, model), key
    assert counts["leads"] >= SMALL
    assert counts["contacts"] >= SMALL
    assert counts["activities"] > 3 * counts["leads"]


def test_every_stage_and_taxonomy_type_is_present(db_session):
    load_demo_data(companies=SMALL)

    stages = Counter(db_session.scalars(select(Lead.stage)))
    assert set(stages) == set(LeadStage)
    assert stages[LeadStage.NEW_LEAD] > stages[LeadStage.BOGUS]
    assert set(db_session.scalars(select(TaxonomyValue.type).distinct())) == set(TaxonomyType)


def test_leads_are_consistent(db_session):
    load_demo_data(companies=SMALL)

    contacts = {c.id: c for c in db_session.scalars(select(Contact))}
    for lead in db_session.scalars(select(Lead)):
        contact = contacts[lead.contact_id]
        if lead.company_id is not None:
            assert contact.company_id == lead.company_id
        assert lead.estimated_revenue == estimated_revenue(lead.estimated_units)
        assert lead.updated_at >= lead.created_at
        if lead.stage == LeadStage.WON:
            assert lead.won_at is not None
        if lead.stage in (LeadStage.LOST, LeadStage.BOGUS):
            assert lead.lost_at is not None and lead.lost_reason
    emails = [c.email_normalized for c in contacts.values() if c.email_normalized]
    assert all(e == e.lower() for e in emails)
    assert len(emails) == len(set(emails))
    for contact in contacts.values():
        assert contact.is_sms_eligible == (contact.phone_type == "mobile")
        assert contact.phone_e164.startswith("+1") and len(contact.phone_e164) == 12


def test_companies_look_real(db_session):
    load_demo_data(companies=SMALL)

    companies = db_session.scalars(select(Company)).all()
    for company in companies:
        assert company.normalized_name == normalize_company_name(company.name)
        assert "555-01" in company.phone
        if company.google_place_id:
            assert company.google_place_id.startswith("ChIJ")
            assert len(company.google_place_id) == 27
        defaults = [a for a in company.addresses if a.is_default_billing]
        assert len(defaults) == 1
        assert len([a for a in company.addresses if a.is_default_shipping]) == 1
    assert sum(1 for c in companies if c.google_place_id) > len(companies) // 2


def test_inventory_identifiers_are_valid_and_unique(db_session):
    load_demo_data(companies=SMALL)

    devices = db_session.scalars(select(Device)).all()
    imeis = [d.imei for d in devices]
    assert all(len(i) == 15 and luhn_valid(i) for i in imeis)
    assert len(set(imeis)) == len(imeis)
    sims = db_session.scalars(select(SimCard)).all()
    for sim in sims:
        assert sim.iccid.startswith("8901") and len(sim.iccid) in (19, 20)
        assert luhn_valid(sim.iccid)
    paired = [d.sim_card_id for d in devices if d.sim_card_id]
    assert paired and len(paired) == len(set(paired))
    statuses = Counter(d.status for d in devices)
    assert statuses[DeviceStatus.IN_STOCK] > len(devices) // 2
    for device in devices:
        if device.status in (DeviceStatus.SHIPPED, DeviceStatus.ACTIVATED):
            assert device.company_id is not None


def test_each_rep_has_a_real_task_list(db_session):
    from app.crm.tasks.queries import my_open_tasks

    load_demo_data(companies=SMALL)

    reps = db_session.scalars(select(User).where(User.role == UserRole.REP)).all()
    assert len(reps) == 2
    for rep in reps:
        groups = my_open_tasks(rep.id)
        assert groups.overdue.tasks and groups.today.tasks and groups.upcoming.tasks, rep.email
        done = _count(db_session, select(Task).where(Task.assigned_to_id == rep.id,
                                                      Task.is_completed.is_(True)).subquery())
        assert done > 0


def test_demo_logins_sign_in_and_the_agent_cannot(db_session):
    load_demo_data(companies=SMALL)

    users = {u.email: u for u in db_session.scalars(select(User))}
    for login in DEMO_LOGINS:
        user = users[login["email"]]
        assert user.role == UserRole(login["role"])
        assert len(login["password"]) >= 10
        assert verify_password(user.password_hash, login["password"])
    agents = [u for u in users.values() if u.role == UserRole.AI_AGENT]
    assert len(agents) == 1 and not agents[0].has_password


def test_loaded_names_are_the_generated_ones(db_session):
    load_demo_data(companies=SMALL, seed=11)

    names = sorted(db_session.scalars(select(Company.name)))
    assert names == sorted(c["name"] for c in generate(SMALL, seed=11, now=FIXED_NOW).companies)


def _canonical(data) -> dict:
    """The generated rows with every UUID replaced by its order of first appearance."""
    ids: dict[uuid.UUID, int] = {}

    def fix(value):
        if isinstance(value, uuid.UUID):
            return ids.setdefault(value, len(ids))
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return {name: fix(rows) for name, rows in data.tables().items()}


def test_generate_is_deterministic():
    first = generate(companies=SMALL, seed=7, now=FIXED_NOW)
    second = generate(companies=SMALL, seed=7, now=FIXED_NOW)
    other = generate(companies=SMALL, seed=8, now=FIXED_NOW)

    assert [c["name"] for c in first.companies] == [c["name"] for c in second.companies]
    assert _canonical(first) == _canonical(second)
    assert [c["name"] for c in first.companies] != [c["name"] for c in other.companies]


def test_generate_only_shifts_with_the_clock():
    later = FIXED_NOW.replace(day=27)
    first = generate(companies=SMALL, seed=7, now=FIXED_NOW)
    second = generate(companies=SMALL, seed=7, now=later)

    assert [(c["name"], c["status"], c["fleet_size"]) for c in first.companies] == \
        [(c["name"], c["status"], c["fleet_size"]) for c in second.companies]
    assert [ld["stage"] for ld in first.leads] == [ld["stage"] for ld in second.leads]
    shift = later - FIXED_NOW
    assert [ld["created_at"] + shift for ld in first.leads] == \
        [ld["created_at"] for ld in second.leads]


def test_luhn():
    assert luhn_check_digit("49015420323751") == "8"  # IMEI 490154203237518
    assert luhn_valid("490154203237518")
    assert not luhn_valid("490154203237517")
    assert luhn_check_digit("7992739871") == "3"


def test_demo_invoices_go_through_the_real_services(db_session):
    from app.billing.models import Invoice, InvoiceStatus
    from app.fulfillment.models import FulfillmentOrder

    counts = load_demo_data(companies=120)
    assert counts["invoices"] == 3
    statuses = Counter(i.status for i in db_session.scalars(select(Invoice)))
    assert statuses == {InvoiceStatus.DRAFT: 1, InvoiceStatus.SENT: 1, InvoiceStatus.PAID: 1}
    paid = db_session.scalar(select(Invoice).where(Invoice.status == InvoiceStatus.PAID))
    assert paid.signed_at is not None and paid.balance_due == 0
    order = db_session.scalar(select(FulfillmentOrder).where(FulfillmentOrder.invoice_id == paid.id))
    assert order is not None and order.device_count > 0


def test_last_activity_is_the_lead_timelines_latest(db_session):
    """Issue 9: every demo lead's "Last activity" read "just now" while its timeline was
    weeks old (the column kept its insert-time default)."""
    from datetime import timedelta

    from app.activity.models import Activity

    now = datetime.now(UTC)
    load_demo_data(companies=SMALL, now=now)

    latest = dict(db_session.execute(
        select(Activity.lead_id, func.max(Activity.occurred_at))
        .where(Activity.lead_id.is_not(None)).group_by(Activity.lead_id)).all())
    leads = db_session.scalars(select(Lead)).all()
    for lead in leads:
        assert lead.last_activity_at == max(lead.created_at, latest.get(lead.id, lead.created_at))
    assert sum(1 for lead in leads if now - lead.last_activity_at > timedelta(days=7)) > len(leads) // 4


def test_header_score_is_the_last_scored_activity_and_what_the_scoring_job_writes(db_session):
    """Issue 9: the header score contradicted the last "Scored" activity."""
    from app.activity.models import Activity
    from app.crm.models import LeadScore
    from app.crm.scoring.services import score_leads

    now = datetime.now(UTC)
    load_demo_data(companies=SMALL, now=now)

    def scores() -> dict:
        db_session.expire_all()
        return {s.lead_id: (s.quality_score, s.engagement_score, s.deal_risk, s.last_interaction_at,
                            s.days_since_contact) for s in db_session.scalars(select(LeadScore))}

    loaded = scores()
    last_scored = {a.lead_id: a for a in db_session.scalars(
        select(Activity).where(Activity.activity_type == "lead.scored").order_by(Activity.occurred_at))}
    assert len(last_scored) >= 3
    for lead_id, activity in last_scored.items():
        quality, engagement, risk, _, _ = loaded[lead_id]
        assert activity.detail == {"quality": quality, "engagement": engagement, "deal_risk": risk.value}
        assert activity.summary == f"Scored: quality {quality}, engagement {engagement}, risk {risk.value.lower()}"
    # The scoring job, run at the same moment over the same timeline, writes the same scores.
    score_leads(list(loaded), now=now)
    assert scores() == loaded


def test_tag_activities_name_the_tag_as_the_app_does(db_session):
    from app.activity.models import Activity
    from app.crm.models import Tag

    load_demo_data(companies=SMALL)

    names = dict(db_session.execute(select(Tag.slug, Tag.name)).all())
    activities = db_session.scalars(select(Activity).where(Activity.activity_type.like("tag.%"))).all()
    assert activities
    for activity in activities:
        verb = "Tagged" if activity.activity_type == "tag.applied" else "Removed tag"
        assert activity.summary == f"{verb} {names[activity.detail['tag']]}"
    applied_by = set(db_session.scalars(select(LeadTag.applied_by)))
    assert applied_by <= set(db_session.scalars(select(User.email)))


def test_the_demo_inbox_has_every_kind_of_item(db_session):
    """A fresh `make run` shows the inbox as a rep meets it: a missed call and a voicemail in
    Needs reply, a booking on a known lead, and an e-mail and a booking from strangers in
    Unmatched, each made through the services the webhooks and the dialer use."""
    from app.inbox.models import Booking, Conversation, ConversationKind, EmailMessage

    counts = load_demo_data(companies=SMALL)

    assert counts["inbox_items"] == 5
    kinds = set(db_session.scalars(select(Conversation.last_kind)))
    assert {ConversationKind.MISSED_CALL.value, ConversationKind.VOICEMAIL.value, ConversationKind.BOOKING_CREATED.value} <= kinds
    bookings = db_session.scalars(select(Booking)).all()
    assert {b.lead_id is None for b in bookings} == {True, False}
    stranger = db_session.scalar(select(EmailMessage).where(
        EmailMessage.from_address == "ops@rivercity-haulers.example.com"))
    assert stranger is not None and stranger.thread.lead_id is None
