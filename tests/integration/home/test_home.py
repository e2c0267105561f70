"""Issue 13: each role's home at `/` — the numbers against hand-counted fixtures, who sees
which home, the task completed in place, and a constant number of statements."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.activity.services import record
from app.auth.models import UserRole
from app.billing.models import InvoiceStatus
from app.crm.models import LeadStage, Task
from app.crm.pipeline.moves import move_lead_to_stage
from app.fulfillment.models import Device, DeviceStatus, FulfillmentStatus, SimCard, SimStatus
from app.home.owner import owner_home
from app.home.rep import my_day
from app.home.warehouse import warehouse_home
from app.inbox.models import BookingStatus, ConversationChannel
from app.reports import settings as report_settings
from app.sequences.models import SequenceDefinition, SequenceRun, SequenceStatus
from tests.factories import csrf_token, login
from tests.integration.reports import builders

NOW = datetime(2031, 5, 15, 14, 0, tzinfo=UTC)


def _task(db_session, user, title, due, done=False, lead=None):
    task = Task(title=title, assigned_to_id=user.id, due_at=due, is_completed=done, lead_id=lead.id if lead else None,
                company_id=lead.company_id if lead else None)
    db_session.add(task)
    db_session.flush()
    return task


def rep_fixture(db_session, factory):
    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    mine = factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.QUOTED,
                        stage_changed_at=NOW - timedelta(days=40))
    fresh = factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.HOT,
                         stage_changed_at=NOW - timedelta(days=2))
    factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.WON,
                 stage_changed_at=NOW - timedelta(days=90))  # closed: never stale
    theirs = factory.lead(company=factory.company(assigned_rep_id=other.id), stage=LeadStage.HOT,
                          stage_changed_at=NOW - timedelta(days=90))
    _task(db_session, rep, "Overdue call", NOW - timedelta(days=3), lead=mine)
    _task(db_session, rep, "Overdue e-mail", NOW - timedelta(hours=1))
    _task(db_session, rep, "Later today", NOW + timedelta(hours=3))
    _task(db_session, rep, "Tomorrow", NOW + timedelta(days=1))
    _task(db_session, rep, "Done already", NOW - timedelta(days=1), done=True)
    _task(db_session, rep, "No date", None)
    _task(db_session, other, "Someone else's", NOW - timedelta(days=1))
    builders.conversation(db_session, rep, mine, at=NOW - timedelta(hours=2))
    builders.conversation(db_session, rep, fresh, awaiting=False, at=NOW - timedelta(hours=2))
    builders.conversation(db_session, rep, fresh, done=True, at=NOW - timedelta(hours=2),
                          channel=ConversationChannel.EMAIL)
    builders.conversation(db_session, other, theirs, at=NOW - timedelta(hours=2))
    builders.booking(db_session, mine, NOW + timedelta(hours=2))
    builders.booking(db_session, fresh, NOW - timedelta(hours=5))
    builders.booking(db_session, fresh, NOW + timedelta(hours=1), status=BookingStatus.CANCELLED)
    builders.booking(db_session, mine, NOW + timedelta(days=1))
    builders.booking(db_session, theirs, NOW + timedelta(hours=1))
    company = mine.company
    today = NOW.date()
    builders.invoice(db_session, company, total="500.00", paid="120.25", status=InvoiceStatus.PARTIAL,
                     due=today - timedelta(days=5))
    builders.invoice(db_session, company, total="99.99", due=today - timedelta(days=1))
    builders.invoice(db_session, company, total="1000.00", due=today + timedelta(days=3))  # not due yet
    builders.invoice(db_session, company, total="50.00", paid="50.00", status=InvoiceStatus.PAID,
                     due=today - timedelta(days=9))
    builders.invoice(db_session, theirs.company, total="70.00", due=today - timedelta(days=9))
    follow_up = SequenceDefinition(tag_slug="interested-follow-up", name="Interested: follow-up",
                                   steps={"schema": 1, "revision": 1, "steps": []})
    db_session.add(follow_up)
    db_session.flush()
    for lead, status, reason in ((mine, SequenceStatus.PAUSED, "Replied by e-mail"), (fresh, SequenceStatus.ACTIVE, None),
                                 (theirs, SequenceStatus.PAUSED, "Replied by SMS")):
        db_session.add(SequenceRun(lead_id=lead.id, sequence_def_id=follow_up.id, tag_slug=follow_up.tag_slug,
                                   status=status, paused_reason=reason,
                                   paused_at=NOW - timedelta(hours=1) if reason else None))
    db_session.flush()
    return rep, mine


def test_the_reps_day_counts_what_needs_them(db_session, factory):
    rep, stale_lead = rep_fixture(db_session, factory)
    day = my_day(rep.id, now=NOW)
    assert [t.title for t in day.tasks.rows] == ["Overdue call", "Overdue e-mail", "Later today"]
    assert (day.tasks.count, day.tasks.extra["overdue"]) == (3, 2)
    assert day.conversations.count == 1
    assert day.bookings.count == 2  # today's two, not the cancelled one, tomorrow's or another rep's
    assert [b.start_at for b in day.bookings.rows] == sorted(b.start_at for b in day.bookings.rows)
    assert day.stale.count == 1 and day.stale.rows[0].id == stale_lead.id
    assert day.invoices.count == 2
    assert day.invoices.extra["balance"] == Decimal("479.74")  # 379.75 + 99.99
    # the paused run of my lead, not the running one, not another rep's
    assert [(r.lead_id, r.paused_reason) for r in day.sequences.rows] == [(stale_lead.id, "Replied by e-mail")]


def test_a_rep_lands_on_their_day_and_completes_a_task_in_place(app, client, db_session, factory):
    rep = factory.user(UserRole.REP)
    task = _task(db_session, rep, "Call Mike back", datetime.now(UTC) - timedelta(hours=1))
    login(client, rep)
    page = client.get("/").get_data(as_text=True)
    assert "My day" in page and "Call Mike back" in page
    assert f'hx-post="/tasks/{task.id}/complete"' in page
    assert "Inbox zero" in page and "No meetings today" in page  # empty states say what to do
    done = client.post(f"/tasks/{task.id}/complete", headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client, app)})
    assert done.status_code == 200 and "is-done" in done.get_data(as_text=True)
    assert "Call Mike back" not in client.get("/").get_data(as_text=True)


def test_a_waiting_conversation_says_what_it_is_and_opens_its_lead(client, db_session, factory):
    """'Missed call' or 'SMS' as the inbox says it (not the enum's 'Sms'), linking to the lead's thread."""
    rep = factory.user(UserRole.REP)
    lead = factory.lead(company=factory.company(assigned_rep_id=rep.id))
    texted = factory.lead(company=factory.company(assigned_rep_id=rep.id))
    missed = builders.conversation(db_session, rep, lead, at=datetime.now(UTC) - timedelta(minutes=5),
                                   channel=ConversationChannel.CALL)
    missed.last_kind = "missed_call"
    builders.conversation(db_session, rep, texted, at=datetime.now(UTC) - timedelta(minutes=9))
    db_session.commit()
    login(client, rep)
    block = client.get("/").get_data(as_text=True).split('id="home-replies"')[1].split("</section>")[0]
    assert f'href="/leads/{lead.id}"' in block and f'href="/leads/{texted.id}"' in block
    assert "Missed call ·" in block and "SMS ·" in block and "Sms" not in block


def test_each_role_gets_its_home(client, factory):
    for role, heading in ((UserRole.REP, "My day"), (UserRole.ADMIN, "Won this month"),
                          (UserRole.NICK, "Won this month"), (UserRole.OPERATOR, "Stock by model")):
        login(client, factory.user(role))
        response = client.get("/")
        assert response.status_code == 200 and heading in response.get_data(as_text=True), role
    client.post("/logout")


def test_signed_out_visitors_are_sent_to_sign_in(app):
    response = app.test_client().get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_owners_home_numbers(db_session, factory):
    before = owner_home(now=NOW)
    report_settings.set_stage_probabilities(
        {**report_settings.DEFAULT_PROBABILITIES, LeadStage.QUOTED: 33, LeadStage.HOT: 10}, actor=None)
    rep = factory.user(UserRole.REP, first_name="Aaron")
    company = factory.company(assigned_rep_id=rep.id)
    may, april = datetime(2031, 5, 3, tzinfo=UTC), datetime(2031, 4, 20, tzinfo=UTC)
    factory.lead(company=company, stage=LeadStage.WON, won_at=may, estimated_revenue=Decimal("1234.56"),
                 estimated_units=12)
    factory.lead(company=company, stage=LeadStage.WON, won_at=may, estimated_revenue=Decimal("0.44"),
                 estimated_units=1)
    factory.lead(company=company, stage=LeadStage.WON, won_at=april, estimated_revenue=Decimal("999.99"),
                 estimated_units=7)
    factory.lead(company=company, stage=LeadStage.WON, won_at=datetime(2031, 3, 31, 23, 59, tzinfo=UTC),
                 estimated_revenue=Decimal("5000.00"))  # March: neither month
    factory.lead(company=company, stage=LeadStage.QUOTED, estimated_revenue=Decimal("100.01"))
    factory.lead(company=company, stage=LeadStage.QUOTED, estimated_revenue=Decimal("200.00"))
    factory.lead(company=company, stage=LeadStage.HOT, estimated_revenue=Decimal("55.55"))
    builders.invoice(db_session, company, total="300.00", paid="100.00", status=InvoiceStatus.PARTIAL,
                           due=date(2031, 5, 1))
    builders.invoice(db_session, company, total="45.67", due=date(2031, 6, 1))
    builders.invoice(db_session, company, total="10.00", status=InvoiceStatus.DRAFT, due=date(2031, 5, 1))
    builders.order(db_session, company, created_at=NOW - timedelta(days=2))
    builders.order(db_session, company, created_at=NOW - timedelta(days=1), status=FulfillmentStatus.PACKED)
    builders.order(db_session, company, created_at=NOW - timedelta(days=1), status=FulfillmentStatus.SHIPPED)
    for kind, n in (("call.logged", 2), ("call.voicemail_dropped", 1), ("note.added", 2), ("lead.stage_changed", 1),
                    ("task.created", 4)):
        for _ in range(n):
            record(kind, "x", actor=rep, occurred_at=NOW - timedelta(days=1))
    record("call.logged", "last week", actor=rep, occurred_at=NOW - timedelta(days=7))
    db_session.flush()

    home = owner_home(now=NOW)
    assert (home.this_month.count, home.this_month.revenue, home.this_month.units) == (2, Decimal("1235.00"), 13)
    assert (home.last_month.count, home.last_month.revenue, home.last_month.units) == (1, Decimal("999.99"), 7)
    pipeline = {row[0]: row for row in home.pipeline}
    pipeline_before = {row[0]: row for row in before.pipeline}
    assert pipeline[LeadStage.QUOTED][2] - pipeline_before[LeadStage.QUOTED][2] == 2
    quoted_value = pipeline_before[LeadStage.QUOTED][3] + Decimal("300.01")
    assert pipeline[LeadStage.QUOTED][3] == quoted_value
    assert pipeline[LeadStage.QUOTED][5] == (quoted_value * 33 / 100).quantize(Decimal("0.01"))
    assert home.outstanding[0] - before.outstanding[0] == 2
    assert home.outstanding[1] - before.outstanding[1] == Decimal("245.67")
    assert home.overdue[1] - before.overdue[1] == Decimal("200.00")
    assert home.waiting[0] - before.waiting[0] == 2
    week = next(w for w in home.reps if w.user.id == rep.id)
    assert week.counts == {"call": 3, "email.sent": 0, "sms.sent": 0, "note.added": 2,
                           "lead.stage_changed": 1}


def test_the_weighted_pipeline_uses_a_stage_move(db_session, factory):
    """The maintained totals follow a real move: the weighted value moves with the lead."""
    rep = factory.user(UserRole.REP)
    lead = factory.lead(company=factory.company(assigned_rep_id=rep.id), estimated_revenue=Decimal("1000.00"))
    before = {row[0]: row for row in owner_home(now=NOW).pipeline}
    move_lead_to_stage(lead.id, LeadStage.BUY_PERIOD_30, actor=rep)
    after = {row[0]: row for row in owner_home(now=NOW).pipeline}
    assert after[LeadStage.BUY_PERIOD_30][5] - before[LeadStage.BUY_PERIOD_30][5] == Decimal("750.00")


def test_the_warehouse_home(db_session, factory):
    before = warehouse_home(now=NOW)
    company = factory.company()
    old = builders.order(db_session, company, created_at=datetime(2020, 1, 2, tzinfo=UTC))
    builders.order(db_session, company, created_at=datetime(2020, 1, 3, tzinfo=UTC), status=FulfillmentStatus.PICKING)
    builders.order(db_session, company, created_at=datetime(2020, 1, 1, tzinfo=UTC), status=FulfillmentStatus.SHIPPED,
                   shipped_at=NOW - timedelta(hours=1))
    builders.order(db_session, company, created_at=datetime(2020, 1, 1, tzinfo=UTC), status=FulfillmentStatus.SHIPPED,
                   shipped_at=NOW - timedelta(days=1))
    model = f"TST{NOW.microsecond}{company.id.hex[:4]}"
    for i in range(3):
        db_session.add(Device(serial_number=f"S{company.id.hex}{i}", model=model, status=DeviceStatus.IN_STOCK))
    db_session.add(Device(serial_number=f"S{company.id.hex}x", model=model, status=DeviceStatus.SHIPPED))
    db_session.add(SimCard(iccid=f"89{company.id.int % 10**17}", status=SimStatus.IN_STOCK))
    db_session.flush()
    report_settings.set_low_stock_threshold(model, 3, actor=None)
    report_settings.set_low_stock_threshold("NEVER-STOCKED", 5, actor=None)

    home = warehouse_home(now=NOW)
    assert home.waiting - before.waiting == 2
    assert home.orders[0].id == old.id or home.orders[0].created_at <= old.created_at  # oldest first
    assert home.shipped_today - before.shipped_today == 1
    stock = {s.model: s for s in home.stock}
    assert (stock[model].in_stock, stock[model].low) == (3, True)
    assert (stock["NEVER-STOCKED"].in_stock, stock["NEVER-STOCKED"].low) == (0, True)
    assert home.low_models[0].low
    assert home.devices_in_stock - before.devices_in_stock == 3
    assert home.sims_in_stock - before.sims_in_stock == 1


def _grow(db_session, factory, viewer, n):
    for _ in range(n):
        rep = factory.user(UserRole.REP)
        lead = factory.lead(company=factory.company(assigned_rep_id=viewer.id), stage=LeadStage.HOT,
                            stage_changed_at=datetime.now(UTC) - timedelta(days=60))
        _task(db_session, viewer, "Call", datetime.now(UTC) - timedelta(hours=1), lead=lead)
        builders.conversation(db_session, viewer, lead, at=datetime.now(UTC) - timedelta(hours=1))
        builders.booking(db_session, lead, datetime.now(UTC).replace(hour=12))
        builders.invoice(db_session, lead.company, total="10.00", due=date.today() - timedelta(days=3))
        builders.order(db_session, lead.company, created_at=datetime.now(UTC) - timedelta(days=1))
        db_session.add(Device(serial_number=f"G{lead.id.hex}", model=f"M{lead.id.hex[:6]}",
                              status=DeviceStatus.IN_STOCK))
        record("call.logged", "x", actor=rep)
    db_session.flush()


@pytest.mark.parametrize("role", [UserRole.REP, UserRole.ADMIN, UserRole.OPERATOR])
def test_each_home_reads_a_constant_few_statements(client, db_session, factory, count_statements, role):
    viewer = factory.user(role)
    login(client, viewer)
    _grow(db_session, factory, viewer, 2)
    client.get("/")  # warm-up

    def measure():
        db_session.expire_all()
        assert viewer.id
        with count_statements() as counter:
            assert client.get("/").status_code == 200
        return counter

    few = measure()
    _grow(db_session, factory, viewer, 6)
    many = measure()
    assert many.count == few.count, "\n".join(s[:120] for s in many.statements)
    assert many.count <= 10


def test_every_role_has_home_in_the_navigation_marked_only_on_the_home_page(client, factory):
    for role in (UserRole.REP, UserRole.ADMIN, UserRole.OPERATOR):
        login(client, factory.user(role))
        current = re.compile(r'class="nav__link is-active" href="/"\s+aria-current="page">')
        assert current.search(client.get("/").get_data(as_text=True)), role
        elsewhere = client.get("/account").get_data(as_text=True)
        assert 'class="nav__link" href="/"' in elsewhere and not current.search(elsewhere), role
        client.post("/logout")


def test_each_role_sees_its_own_navigation_one_after_another(client, factory):
    """The navigation is built once per role and process (app.template_helpers): a rep after an
    admin, and the warehouse after a rep, must each see their own entries, not the last one's."""
    def links(html: str) -> list[str]:
        return re.findall(r'class="nav__link[^"]*" href="([^"]+)"', html)

    seen = {}
    for role in (UserRole.ADMIN, UserRole.REP, UserRole.OPERATOR, UserRole.ADMIN):
        login(client, factory.user(role))
        seen.setdefault(role, []).append(links(client.get("/account").get_data(as_text=True)))
        client.post("/logout")
    admin, rep, operator = seen[UserRole.ADMIN][0], seen[UserRole.REP][0], seen[UserRole.OPERATOR][0]
    assert "/settings/" in admin and "/warehouse" in admin and "/pipeline" in admin
    assert "/pipeline" in rep and "/invoices" in rep and "/settings/" not in rep and "/warehouse" not in rep
    assert operator == ["/", "/warehouse"]
    assert seen[UserRole.ADMIN][1] == admin
