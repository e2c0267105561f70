"""A list's CSV holds every row the list's filters match (not one page), in the list's order,
read a batch at a time: ISO dates, plain decimals."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus
from app.crm.models import CompanyStatus, LeadStage
from app.reports import exports
from tests.factories import login
from tests.integration.reports import builders


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)  # several batches from a few rows


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_leads_csv_is_the_filtered_list_in_its_order(client, db_session, factory):
    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    now = datetime.now(UTC)
    mine = []
    for i in range(5):
        company = factory.company(name=f"Export Towing {i}", assigned_rep_id=rep.id)
        mine.append(factory.lead(company=company, stage=LeadStage.HOT, source="Google Maps",
                                 estimated_revenue=Decimal(f"{i}00.5{i}"), last_activity_at=now - timedelta(hours=i),
                                 created_at=datetime(2026, 3, 4, 10, tzinfo=UTC)))
    factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.QUOTED)  # another stage
    factory.lead(company=factory.company(assigned_rep_id=other.id), stage=LeadStage.HOT)  # another rep
    login(client, rep)
    list_page = client.get(f"/leads?stage=HOT&rep={rep.id}").get_data(as_text=True)
    assert f"/export/leads.csv?rep={rep.id}&amp;stage=HOT" in list_page  # the list links its own CSV
    rows = rows_of(client.get(f"/export/leads.csv?stage=HOT&rep={rep.id}"))
    assert rows[0] == exports.LEAD_HEADER
    assert [r[0] for r in rows[1:]] == [f"Export Towing {i}" for i in range(5)]  # newest activity first
    first = rows[1]
    assert first[4] == "Hot" and first[5] == "Google Maps" and first[7] == rep.full_name
    assert first[9] == "0.50" and rows[5][9] == "400.54"
    assert first[10] == "2026-03-04"


def test_companies_csv_pages_through_the_whole_list(client, db_session, factory):
    rep = factory.user(UserRole.REP)
    for i in range(5):
        factory.company(name=f"Zz Export {i}", assigned_rep_id=rep.id, status=CompanyStatus.CUSTOMER,
                        industry="Towing")
    factory.company(name="Zz Export lead", assigned_rep_id=rep.id)  # status LEAD: filtered out
    login(client, rep)
    rows = rows_of(client.get(f"/export/companies.csv?status=CUSTOMER&rep={rep.id}"))
    assert rows[0] == exports.COMPANY_HEADER
    assert [r[0] for r in rows[1:]] == [f"Zz Export {i}" for i in range(5)]
    assert {r[1] for r in rows[1:]} == {"Customer"} and {r[6] for r in rows[1:]} == {rep.full_name}


def test_invoices_csv_with_the_lists_filters(client, db_session, factory):
    company = factory.company(name="Invoice Export Co")
    for total in ("10.00", "20.50", "30.25"):
        builders.invoice(db_session, company, total=total, paid="0.25", status=InvoiceStatus.PARTIAL,
                         sent_at=datetime(2026, 2, 1, tzinfo=UTC))
    builders.invoice(db_session, company, total="99.00", status=InvoiceStatus.DRAFT)
    login(client, factory.user(UserRole.REP))
    assert "/export/invoices.csv?" in client.get(f"/invoices?company_id={company.id}").get_data(as_text=True)
    rows = rows_of(client.get(f"/export/invoices.csv?status=PARTIAL&company_id={company.id}&sort=total&dir=asc"))
    assert rows[0] == exports.INVOICE_HEADER
    assert [(r[8], r[9], r[10]) for r in rows[1:]] == [("10.00", "0.25", "9.75"), ("20.50", "0.25", "20.25"),
                                                       ("30.25", "0.25", "30.00")]
    assert {r[4] for r in rows[1:]} == {"2026-02-01"} and {r[1] for r in rows[1:]} == {"Invoice Export Co"}


def test_tasks_csv_is_the_filtered_list_in_its_order(client, db_session, factory):
    from app.crm.models import TaskPriority, TaskType
    from app.crm.tasks.services import complete_task, create_task

    rep, other = factory.user(UserRole.REP), factory.user(UserRole.REP)
    lead = factory.lead(company=factory.company(name="Task Export Fleet"))
    due = datetime(2026, 5, 6, 14, 30, 15, 123456, tzinfo=UTC)
    for i in range(5):
        create_task(title=f"Call back {i}", actor=rep, lead=lead, task_type=TaskType.CALL,
                    priority=TaskPriority.HIGH, due_at=due + timedelta(days=i))
    create_task(title="Not a call", actor=rep, lead=lead, due_at=due)  # another type
    create_task(title="Their call", actor=rep, lead=lead, task_type=TaskType.CALL, assigned_to=other)  # not mine
    complete_task(create_task(title="Done call", actor=rep, lead=lead, task_type=TaskType.CALL), actor=rep)
    login(client, rep)
    assert "/export/tasks.csv?type=CALL" in client.get("/tasks?type=CALL").get_data(as_text=True)
    rows = rows_of(client.get("/export/tasks.csv?type=CALL"))
    assert rows[0] == exports.TASK_HEADER
    assert [r[0] for r in rows[1:]] == [f"Call back {i}" for i in range(5)]  # by due date, all of them
    first = rows[1]
    assert first[1:5] == ["Call", "High", "Open", "2026-05-06T14:30:15+00:00"]
    assert first[6] == rep.full_name and first[7] == "Task Export Fleet"
    assert [r[0] for r in rows_of(client.get("/export/tasks.csv?type=CALL&done=1"))[1:]] == ["Done call"]
    assert [r[0] for r in rows_of(client.get(f"/export/tasks.csv?type=CALL&who={other.id}"))[1:]] == ["Their call"]


def test_inbox_csv_is_the_tab_and_filters(client, db_session, factory):
    from app.inbox.models import ConversationChannel
    from tests.integration.inbox.queue.test_queue import conversation

    rep = factory.user(UserRole.REP)
    for i in range(5):
        conversation(factory, minutes_ago=i + 1, channel=ConversationChannel.EMAIL, preview=f"=Mail {i}",
                     user_id=rep.id)
    conversation(factory, channel=ConversationChannel.SMS, preview="A text", user_id=rep.id)
    conversation(factory, channel=ConversationChannel.EMAIL, preview="Someone else's", user_id=None)
    login(client, rep)
    rows = rows_of(client.get("/export/inbox.csv?tab=all&channel=EMAIL&mine=1"))
    assert rows[0] == exports.INBOX_HEADER
    assert [r[4] for r in rows[1:]] == [f"'=Mail {i}" for i in range(5)]  # newest first; a formula is text
    assert {r[3] for r in rows[1:]} == {"EMAIL"} and {r[11] for r in rows[1:]} == {rep.full_name}
    assert rows[1][5].endswith("+00:00") and rows[1][6] == "1" and rows[1][7] == "Yes"
    assert len(rows_of(client.get("/export/inbox.csv?tab=all"))) == 1 + 7


def test_leads_csv_pages_by_keyset_through_ties_one_statement_a_page(client, db_session, factory):
    """Pages of BATCH (2) leads continue after the last row's (sort value, id): leads sharing a
    creation time are each written once, in the list's order; each page is one statement, so
    nothing is read up front whatever the number of matching leads."""
    from sqlalchemy import event

    from app.extensions import db

    rep = factory.user(UserRole.REP)
    created = datetime(2026, 5, 6, 7, tzinfo=UTC)
    leads = [factory.lead(company=factory.company(name=f"Tie Export {i}", assigned_rep_id=rep.id),
                          source="Tie", created_at=created) for i in range(5)]
    db_session.flush()
    login(client, rep)
    statements = []

    def count(conn, cursor, statement, *args):
        # the pages (the export's one COUNT first, to choose stream or job, is not a page)
        if "FROM leads" in statement and "LIMIT" in statement and not statement.startswith("SELECT count("):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        rows = rows_of(client.get(f"/export/leads.csv?source=Tie&rep={rep.id}&sort=created"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    by_id = sorted(leads, key=lambda lead: lead.id, reverse=True)  # the same time: newest id first
    assert [r[0] for r in rows[1:]] == [lead.company.name for lead in by_id]
    assert len(statements) == 3  # 2 + 2 + 1 rows
