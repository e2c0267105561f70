"""Issue 13: the reports' numbers against hand-computed fixtures (money to the cent), their
CSVs, the rows behind a bar, who sees what, and 422 on filters that do not read.

Range-based numbers use March–April 2021 (no other test writes there); "now" numbers (open
pipeline, aging) are narrowed to a rep of the test's own."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape

import pytest

from app.activity.services import record
from app.auth.models import UserRole
from app.billing.models import InvoiceStatus, PaymentMethod
from app.crm.models import LeadStage
from app.crm.pipeline.moves import move_lead_to_stage
from app.inbox.models import BookingStatus, CallOutcome, MessageDirection
from app.reports.filters import ReportFilters
from app.reports.money import queries as money_report
from tests.factories import login
from tests.integration.reports import builders

RANGE = "range=custom&from=2021-03-01&to=2021-04-30"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2021, month, day, hour, tzinfo=UTC)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def export(client, report: str, table: str, extra: str = "") -> dict[str, list[str]]:
    rows = csv_rows(client.get(f"/reports/{report}/export.csv?table={table}&{RANGE}{extra}"))
    return {row[0]: row[1:] for row in rows[1:]} | {"__header__": rows[0]}


@pytest.fixture
def admin(client, factory):
    user = factory.user(UserRole.ADMIN)
    login(client, user)
    return user


def pipeline_fixture(factory):
    rep = factory.user(UserRole.REP)
    company = lambda: factory.company(assigned_rep_id=rep.id)  # noqa: E731
    leads = {name: factory.lead(company=company(), created_at=at(3, 5), estimated_revenue=Decimal(rev))
             for name, rev in (("won", "100.00"), ("lost", "200.00"), ("idle", "300.33"), ("buying", "400.67"))}

    def move(name, stage, month, day, **kw):
        move_lead_to_stage(leads[name].id, stage, actor=rep, now=at(month, day), **kw)

    move("won", LeadStage.HOT, 3, 10)
    move("won", LeadStage.QUALIFIED, 3, 15)
    move("won", LeadStage.QUOTED, 3, 25)
    move("won", LeadStage.WON, 4, 1)
    move("lost", LeadStage.HOT, 3, 8)
    move("lost", LeadStage.LOST, 3, 20, lost_reason="Too expensive")
    move("buying", LeadStage.QUALIFIED, 3, 9)
    move("buying", LeadStage.BUY_PERIOD_60, 3, 19)
    return rep, leads


def test_pipeline_report_funnel_and_days_in_stage(client, db_session, factory, admin):
    rep, leads = pipeline_fixture(factory)
    mine = f"&rep={rep.id}"
    funnel = export(client, "pipeline", "funnel", mine)
    assert funnel["__header__"] == ["Step", "Reached", "Dropped before the next", "Of the step before",
                                    "Of all new leads"]
    # reached: every new lead; Hot: won, lost, buying (qualified skipped Hot); then won and buying
    assert {k: v[:2] for k, v in funnel.items() if k != "__header__"} == {
        "New lead": ["4", "1"], "Hot": ["3", "1"], "Qualified": ["2", "0"], "Quoted": ["2", "0"],
        "Buying (30/60/90 days)": ["2", "1"], "Won": ["1", ""]}
    days = export(client, "pipeline", "days", mine)
    # New lead left after 5, 3 and 4 days; Hot after 5 and 12; Qualified after 10 and 10; Quoted after 7
    assert {k: v for k, v in days.items() if k != "__header__"} == {
        "New lead": ["3", "4.00"], "Hot": ["2", "8.50"], "Qualified": ["2", "10.00"], "Quoted": ["1", "7.00"]}
    open_now = export(client, "pipeline", "open", mine)
    assert open_now["New lead"][:2] == ["1", "300.33"]
    assert open_now["Buying ≤60 days"] == ["1", "400.67", "60.00", "240.40"]  # 400.67 × 60% = 240.402
    assert open_now["Hot"][:2] == ["0", "0.00"]


def test_a_funnel_bar_links_to_the_leads_behind_it(client, db_session, factory, admin):
    rep, leads = pipeline_fixture(factory)
    page = client.get(f"/reports/pipeline?{RANGE}&rep={rep.id}").get_data(as_text=True)
    assert "<svg" in page and 'role="img"' in page
    link = unescape(re.search(r'href="(/reports/leads\?[^"]*set=reached[^"]*value=QUALIFIED[^"]*)"', page).group(1))
    behind = client.get(link)
    assert behind.status_code == 200
    text = behind.get_data(as_text=True)
    shown = {str(lead.id) for lead in leads.values() if f"/leads/{lead.id}" in text}
    assert shown == {str(leads["won"].id), str(leads["buying"].id)}
    rows = csv_rows(client.get(link.replace("/reports/leads?", "/reports/leads.csv?")))
    assert len(rows) == 3 and rows[0][:3] == ["Company", "Contact", "Stage"]
    assert {r[2] for r in rows[1:]} == {"Won", "Buying ≤60 days"}
    assert {r[8] for r in rows[1:]} == {"2021-03-05"}  # ISO dates
    assert {r[7] for r in rows[1:]} == {"100.00", "400.67"}  # plain decimals


def won_lost_fixture(factory):
    rep = factory.user(UserRole.REP)
    company = factory.company(assigned_rep_id=rep.id)
    for when, revenue, units in ((at(3, 10), "100.10", 2), (at(3, 20), "200.20", 3), (at(4, 5), "0.05", 1)):
        factory.lead(company=company, stage=LeadStage.WON, won_at=when, estimated_revenue=Decimal(revenue),
                     estimated_units=units)
    for when, reason in ((at(3, 12), "Too expensive"), (at(3, 13), "  too   EXPENSIVE "), (at(4, 1), "Too expensive"),
                         (at(3, 3), "No budget")):
        factory.lead(company=company, stage=LeadStage.LOST, lost_at=when, lost_reason=reason,
                     estimated_revenue=Decimal("10.01"))
    factory.lead(company=company, stage=LeadStage.BOGUS, lost_at=at(3, 4), lost_reason="Duplicate")
    factory.lead(company=company, stage=LeadStage.LOST, lost_at=at(5, 4), lost_reason="too expensive")  # May: out
    return rep


def test_won_and_lost_by_month_win_rate_and_reasons(client, db_session, factory, admin):
    won_lost_fixture(factory)
    won = export(client, "won_lost", "won")
    assert won["2021-03"] == ["2", "5", "300.30"] and won["2021-04"] == ["1", "1", "0.05"]
    closed = export(client, "won_lost", "closed")
    assert closed["Won"] == ["3", "300.35"] and closed["Lost"] == ["4", "40.04"] and closed["Bogus"] == ["1", ""]
    reasons = export(client, "won_lost", "reasons")
    assert reasons["Too expensive"] == ["3", "0", "3"]  # three spellings, one reason
    assert reasons["No budget"] == ["1", "0", "1"] and reasons["Duplicate"] == ["0", "1", "1"]
    page = client.get(f"/reports/won-lost?{RANGE}").get_data(as_text=True)
    assert "42.9%" in page  # 3 won ÷ (3 won + 4 lost)


def test_a_reason_bar_lists_every_spelling(client, db_session, factory, admin):
    won_lost_fixture(factory)
    page = client.get(f"/reports/won-lost?{RANGE}").get_data(as_text=True)
    link = unescape(re.search(r'href="(/reports/leads\?[^"]*set=reason[^"]*value=too\+expensive[^"]*)"', page).group(1))
    rows = csv_rows(client.get(link.replace("/reports/leads?", "/reports/leads.csv?")))
    assert sorted(r[11] for r in rows[1:]) == ["  too   EXPENSIVE ", "Too expensive", "Too expensive"]


def test_a_rep_sees_only_their_own_numbers(client, db_session, factory):
    mine = won_lost_fixture(factory)
    won_lost_fixture(factory)  # another rep's, the same again
    login(client, mine)
    won = export(client, "won_lost", "won", "&rep=00000000-0000-0000-0000-000000000000")
    assert won["2021-03"] == ["2", "5", "300.30"]  # theirs only, whatever rep the URL names
    page = client.get(f"/reports/won-lost?{RANGE}").get_data(as_text=True)
    assert 'name="rep"' not in page and "You see your own numbers." in page


def test_sources_report(client, db_session, factory, admin):
    company = factory.company()
    for stage, revenue in ((LeadStage.WON, "500.00"), (LeadStage.LOST, "1.00"), (LeadStage.NEW_LEAD, "2.00")):
        factory.lead(company=company, source="Google Maps", created_at=at(3, 2), stage=stage,
                     estimated_revenue=Decimal(revenue))
    for campaign, stage, revenue in (("Q1 blast", LeadStage.WON, "250.50"), ("Q1 blast", LeadStage.WON, "0.50"),
                                     ("Q2", LeadStage.HOT, "9.99")):
        factory.lead(company=company, source="Plusvibe", source_campaign=campaign, created_at=at(4, 2), stage=stage,
                     estimated_revenue=Decimal(revenue))
    factory.lead(company=company, created_at=at(4, 3))
    by_source = export(client, "sources", "sources")
    assert by_source["Google Maps"] == ["3", "1", "1", "500.00", "50.00"]
    assert by_source["Plusvibe"] == ["3", "2", "0", "251.00", "100.00"]
    assert by_source["(none)"] == ["1", "0", "0", "0.00", ""]
    campaigns = export(client, "sources", "campaigns")
    assert campaigns["Plusvibe · Q1 blast"] == ["2", "2", "0", "251.00", "100.00"]
    assert campaigns["Plusvibe · Q2"] == ["1", "0", "0", "0.00", ""]
    filtered = export(client, "sources", "campaigns", "&source=Plusvibe&campaign=Q2")
    assert set(filtered) == {"__header__", "Plusvibe · Q2"}


def test_rep_activity_per_rep_and_week(client, db_session, factory, admin):
    rep = factory.user(UserRole.REP, first_name="Zed")
    lead = factory.lead(company=factory.company(assigned_rep_id=rep.id))
    # what app.inbox.calls.services.log_call writes (a dropped voicemail is a call too)
    for day, kind, outcome in ((2, "call.logged", CallOutcome.CONNECTED), (2, "call.logged", CallOutcome.CONNECTED),
                               (3, "call.logged", CallOutcome.NO_ANSWER), (9, "call.voicemail_dropped",
                                                                            CallOutcome.VOICEMAIL)):
        record(kind, "call", actor=rep, lead=lead, occurred_at=at(3, day),
               detail={"outcome": outcome, "direction": MessageDirection.OUTBOUND})
    for kind, day in (("email.sent", 3), ("email.sent", 3), ("note.added", 10), ("lead.stage_changed", 11),
                      ("sms.sent", 12), ("task.created", 12)):
        record(kind, "x", actor=rep, occurred_at=at(3, day))
    builders.booking(db_session, lead, at(3, 4))
    builders.booking(db_session, lead, at(3, 5), status=BookingStatus.CANCELLED)
    db_session.flush()
    only = f"&rep={rep.id}"
    reps = export(client, "activity", "reps", only)
    assert reps["__header__"] == ["Rep", "Calls", "E-mails", "Texts", "Notes", "Stage moves", "Meetings", "Total"]
    assert reps[rep.full_name] == ["4", "2", "1", "1", "1", "1", "10"]
    weeks = csv_rows(client.get(f"/reports/activity/export.csv?table=weeks&{RANGE}{only}"))
    assert weeks[1:] == [[rep.full_name, "2021-03-01", "3", "2", "0", "0", "0", "1", "6"],
                         [rep.full_name, "2021-03-08", "1", "0", "1", "1", "1", "0", "4"]]
    calls = export(client, "activity", "calls", only)
    assert calls[rep.full_name] == ["2", "1", "1", "0", "0", "0", "4"]


def test_money_report_invoiced_collected_aged_and_by_method(app, client, db_session, factory, admin):
    rep = factory.user(UserRole.REP)
    company = factory.company(assigned_rep_id=rep.id)
    first = builders.invoice(db_session, company, total="1000.00", paid="400.00", status=InvoiceStatus.PARTIAL,
                             sent_at=at(3, 2))
    builders.payment(db_session, first, "500.00", PaymentMethod.CHECK, at(3, 5))
    builders.payment(db_session, first, "-100.00", PaymentMethod.CHECK, at(3, 6))  # a refund
    builders.invoice(db_session, company, total="250.25", sent_at=at(3, 20))
    builders.invoice(db_session, company, total="99.99", status=InvoiceStatus.VOID, sent_at=at(3, 3))
    old = builders.invoice(db_session, company, total="10.00", paid="10.00", status=InvoiceStatus.PAID,
                           sent_at=at(2, 27))
    builders.payment(db_session, old, "10.00", PaymentMethod.STRIPE, at(3, 1))
    only = f"&rep={rep.id}"
    invoiced = export(client, "money", "invoiced", only)
    assert invoiced["2021-03"] == ["2", "1250.25"]
    methods = export(client, "money", "methods", only)
    assert methods["Check"] == ["2", "400.00"] and methods["Stripe"] == ["1", "10.00"]
    f = ReportFilters.from_args({"from": "2021-03-01", "to": "2021-04-30", "rep": str(rep.id)}, None)
    with app.test_request_context():
        tables, summary = money_report.build(f, date(2021, 4, 15))
    aging = {row[0]: row[1:] for row in tables[1].rows}
    # sent Mar 2 (44 days before Apr 15) and Mar 20 (26 days)
    assert aging == {"0–30 days": [1, Decimal("250.25")], "31–60 days": [1, Decimal("600.00")],
                     "61–90 days": [0, Decimal("0.00")], "Over 90 days": [0, Decimal("0.00")]}
    assert summary == {"invoiced": Decimal("1250.25"), "collected": Decimal("410.00"),
                       "outstanding": Decimal("850.25"), "outstanding_count": 2}
    page = client.get(f"/reports/money?{RANGE}{only}").get_data(as_text=True)
    assert "$1,250.25" in page and "$410.00" in page and "$850.25" in page
    link = unescape(re.search(r'href="(/reports/invoices\?[^"]*set=paid_by[^"]*value=CHECK[^"]*)"', page).group(1))
    rows = csv_rows(client.get(link.replace("/reports/invoices?", "/reports/invoices.csv?")))
    assert [r[5:] for r in rows[1:]] == [["1000.00", "400.00", "600.00"]]
    assert rows[1][3] == "2021-03-02"


@pytest.mark.parametrize("url", [
    "/reports?from=2026-02-30", "/reports/won-lost?range=custom&from=2026-05-01&to=2026-04-01",
    "/reports/sources?range=forever", "/reports/money?rep=not-a-uuid", "/reports/activity?from=1900-01-01",
    "/reports/leads?set=nonsense", "/reports/leads?set=stage&value=NOPE", "/reports/leads.csv?from=yesterday",
    "/reports/invoices?set=aging&value=7", "/reports/pipeline/export.csv?table=funnel&to=2026-13-01",
    "/reports/leads?set=won&value=2021-13",
])
def test_filters_that_do_not_read_answer_422(client, admin, url):
    response = client.get(url)
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)


def test_every_report_renders_and_exports_each_table(client, db_session, factory, admin):
    pipeline_fixture(factory)
    for report, path in (("pipeline", "pipeline"), ("won_lost", "won-lost"), ("sources", "sources"),
                         ("activity", "activity"), ("money", "money")):
        page = client.get(f"/reports/{path}?{RANGE}").get_data(as_text=True)
        keys = re.findall(r'/reports/' + report + r'/export\.csv\?table=(\w+)', page)
        assert keys, report
        for key in keys:
            rows = csv_rows(client.get(f"/reports/{report}/export.csv?table={key}&{RANGE}"))
            assert rows[0], (report, key)
    assert client.get(f"/reports/pipeline/export.csv?table=nope&{RANGE}").status_code == 404
    assert client.get(f"/reports/nope/export.csv?table=open&{RANGE}").status_code == 404


def test_range_presets_and_the_url(client, admin):
    from app.reports.filters import preset_range

    today = date(2026, 11, 27)
    assert preset_range("last_month", today) == (date(2026, 10, 1), date(2026, 10, 31))
    assert preset_range("this_quarter", today) == (date(2026, 10, 1), today)
    assert preset_range("last_12_months", today) == (date(2025, 12, 1), today)
    assert preset_range("last_12_months", date(2026, 12, 5)) == (date(2026, 1, 1), date(2026, 12, 5))
    assert preset_range("last_year", today) == (date(2025, 1, 1), date(2025, 12, 31))
    assert preset_range("last_30", today) == (date(2026, 10, 29), today)
    f = ReportFilters.from_args({"range": "custom", "from": "2021-03-01", "to": "2021-04-30",
                                 "source": "Plusvibe"}, None)
    assert f.as_args() == {"range": "custom", "from": "2021-03-01", "to": "2021-04-30", "source": "Plusvibe"}
    page = client.get("/reports/sources?range=custom&from=2021-03-01&to=2021-04-30").get_data(as_text=True)
    assert "Mar 1, 2021 – Apr 30, 2021" in page
    assert 'href="/reports/money?range=custom&amp;from=2021-03-01&amp;to=2021-04-30"' in page  # tabs keep it


@pytest.mark.parametrize("path", ["pipeline", "won-lost", "sources", "activity", "money"])
def test_each_report_reads_a_constant_few_statements(client, db_session, factory, count_statements, admin, path):
    def grow(n):
        for _ in range(n):
            won_lost_fixture(factory)
            pipeline_fixture(factory)

    grow(1)
    url = f"/reports/{path}?{RANGE}"
    client.get(url)  # warm-up

    def measure():
        db_session.expire_all()
        with count_statements() as counter:
            assert client.get(url).status_code == 200
        return counter

    few = measure()
    grow(3)
    many = measure()
    assert many.count == few.count, "\n".join(s[:120] for s in many.statements)
    assert many.count <= 8
