"""Settings → QuickBooks: the ledger (state counts, filter, history), retry, resolving a conflict
through the page; refused answers re-render with the reason (422) and change nothing."""
from __future__ import annotations

from sqlalchemy import select

from app.auth.models import UserRole
from app.extensions import db
from app.quickbooks import push
from app.quickbooks.models import LedgerEntity, LedgerState, SyncLedgerRow
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice


def _conflict(factory, fake):
    existing = fake.add_customer("Desert Sun Plumbing", "ops@desertsun.example.com")
    invoice, _ = make_invoice(factory, company_name="Desert Sun Plumbing")
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.entity == LedgerEntity.CUSTOMER))
    assert push.process_row(row.id) == "conflict"
    return invoice, row, existing


def test_the_ledger_page_shows_counts_filters_and_resolves(app, client, db_session, factory, connected, fake_qbo):
    invoice, row, existing = _conflict(factory, fake_qbo)
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    login(client, admin)
    page = client.get("/settings/quickbooks")
    assert page.status_code == 200
    html = page.data.decode()
    assert f"Link to {existing['Id']} (Desert Sun Plumbing)" in html and "Create new" in html
    assert "History (" in html

    only_synced = client.get("/settings/quickbooks?state=SYNCED").data.decode()
    assert f"ledger-{row.id}" not in only_synced
    assert f"ledger-{row.id}" in client.get("/settings/quickbooks?state=CONFLICT").data.decode()
    assert client.get("/settings/quickbooks?state=%20%20").status_code == 200  # an unknown filter: all

    token = csrf_token(client, app)
    refused = client.post(f"/settings/quickbooks/ledger/{row.id}/resolve",
                          data={"csrf_token": token, "choice": "link", "remote_id": "999999"})
    assert refused.status_code == 422 and "Choose one of the QuickBooks records offered." in refused.data.decode()
    db.session.refresh(row)
    assert row.state is LedgerState.CONFLICT and invoice.company.qb_customer_id is None

    done = client.post(f"/settings/quickbooks/ledger/{row.id}/resolve",
                       data={"csrf_token": token, "choice": "link", "remote_id": existing["Id"]})
    assert done.status_code == 303
    db.session.refresh(row)
    assert row.state is LedgerState.SYNCED and row.remote_id == existing["Id"]
    db.session.refresh(invoice.company)
    assert invoice.company.qb_customer_id == existing["Id"]
    assert [h["what"] for h in row.history][-2:] == ["linked", "resolved: link"]


def test_retry_puts_a_failed_push_back_with_a_new_job(app, client, db_session, factory, connected, fake_qbo):
    from app.job_outbox.models import OutboxJob

    _, row, _ = _conflict(factory, fake_qbo)
    row.state = LedgerState.FAILED
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    login(client, admin)

    def jobs_for_row():
        return [j for j in db.session.scalars(select(OutboxJob).where(OutboxJob.func == "app.quickbooks.jobs.push_row"))
                if j.args["args"] == [str(row.id)]]

    before = len(jobs_for_row())
    answer = client.post(f"/settings/quickbooks/ledger/{row.id}/retry", data={"csrf_token": csrf_token(client, app)})
    assert answer.status_code == 303
    db.session.refresh(row)
    assert row.state is LedgerState.PENDING
    assert len(jobs_for_row()) == before + 1
    synced = client.post(f"/settings/quickbooks/ledger/{row.id}/retry", data={"csrf_token": csrf_token(client, app)})
    assert synced.status_code == 303  # a pending row may be asked for again; a synced one may not
    row.state = LedgerState.SYNCED
    db.session.commit()
    client.post(f"/settings/quickbooks/ledger/{row.id}/retry", data={"csrf_token": csrf_token(client, app)})
    db.session.refresh(row)
    assert row.state is LedgerState.SYNCED


def test_a_conflict_records_an_activity_and_gives_an_admin_a_task(db_session, factory, connected, fake_qbo):
    from app.activity.models import Activity
    from app.crm.models import Task

    admin = factory.user(UserRole.ADMIN)
    invoice, row, existing = _conflict(factory, fake_qbo)
    activity = db.session.scalar(select(Activity).where(Activity.activity_type == "quickbooks.conflict"))
    assert activity.company_id == invoice.company_id
    task = db.session.scalar(select(Task).where(Task.title.like("QuickBooks needs a decision%")))
    assert task.assigned_to_id == admin.id and task.company_id == invoice.company_id


def test_the_invoice_page_shows_its_quickbooks_state(app, client, db_session, factory, connected, fake_qbo):
    invoice, _ = make_invoice(factory)
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    login(client, admin)
    assert "Waiting for QuickBooks" in client.get(f"/invoices/{invoice.id}").data.decode()
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.entity == LedgerEntity.INVOICE))
    assert push.process_row(row.id) == "synced"
    html = client.get(f"/invoices/{invoice.id}").data.decode()
    assert "In QuickBooks" in html and f"QuickBooks id {invoice.qb_invoice_id}" in html
    page = client.get(f"/companies/{invoice.company_id}").data.decode()
    assert "In QuickBooks" in page and f"QuickBooks id {invoice.company.qb_customer_id}" in page


def test_each_payment_on_the_invoice_page_shows_its_own_quickbooks_state(app, client, db_session, factory,
                                                                         connected, fake_qbo):
    import re

    from app.billing.models import PaymentMethod
    from app.billing.payments import record_manual_payment

    invoice, _ = make_invoice(factory)
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    assert push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.entity == LedgerEntity.INVOICE))) == "synced"
    first = record_manual_payment(invoice, actor=admin, amount="100.00", method=PaymentMethod.CHECK, reference="CHK 7")
    second = record_manual_payment(invoice, actor=admin, amount="50.00", method=PaymentMethod.CHECK, reference="CHK 8")
    db.session.commit()
    first_row = db.session.scalar(select(SyncLedgerRow.id).where(SyncLedgerRow.local_id == first.id))
    fake_qbo.refuse["CHK 8"] = {"Error": [{"Message": "Invalid amount", "code": "2050"}], "type": "ValidationFault"}
    push.process_row(first_row)  # one batch of both: one synced, one refused
    login(client, admin)
    html = client.get(f"/invoices/{invoice.id}").data.decode()
    payments = html[html.index(">Payments<"):html.index(">History<")]
    rows = {ref: row for row in re.findall(r"<tr>.*?</tr>", payments, re.S) for ref in ("CHK 7", "CHK 8") if ref in row}
    db.session.refresh(first)
    assert "In QuickBooks" in rows["CHK 7"] and f"QuickBooks id {first.qb_payment_id}" in rows["CHK 7"]
    assert "QuickBooks refused" in rows["CHK 8"] and "In QuickBooks" not in rows["CHK 8"]
    assert second.qb_payment_id is None


def test_hostile_resolve_answers_422_and_changes_nothing(app, client, db_session, factory, connected, fake_qbo):
    _, row, existing = _conflict(factory, fake_qbo)
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    login(client, admin)
    token = csrf_token(client, app)
    for data in ({"choice": "link", "remote_id": "9" * 10_000}, {"choice": "merge", "remote_id": existing["Id"]},
                 {"choice": "", "remote_id": ""}, {"choice": "link", "remote_id": "' OR 1=1--"}):
        answer = client.post(f"/settings/quickbooks/ledger/{row.id}/resolve", data={"csrf_token": token, **data})
        assert answer.status_code == 422, data
        db.session.refresh(row)
        assert row.state is LedgerState.CONFLICT
    assert client.post("/settings/quickbooks/ledger/not-an-id/resolve", data={"csrf_token": token}).status_code == 404


def test_an_admin_pushes_a_company_by_hand(app, client, db_session, factory, connected, fake_qbo):
    company = factory.company(name="Walk-in Fleet Co")
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    login(client, admin)
    assert "Push to QuickBooks" in client.get(f"/companies/{company.id}").data.decode()
    answer = client.post(f"/settings/quickbooks/companies/{company.id}/push", data={"csrf_token": csrf_token(client, app)})
    assert answer.status_code == 303
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.local_id == company.id))
    assert row.entity is LedgerEntity.CUSTOMER and row.state is LedgerState.PENDING
    client.post(f"/settings/quickbooks/companies/{company.id}/push", data={"csrf_token": csrf_token(client, app)})
    assert len(db.session.scalars(select(SyncLedgerRow).where(SyncLedgerRow.local_id == company.id)).all()) == 1
    assert push.process_row(row.id) == "synced"
    assert "In QuickBooks" in client.get(f"/companies/{company.id}").data.decode()
    rep = factory.user(UserRole.REP)
    other = factory.company(name="Another Fleet")
    db.session.commit()
    login(client, rep)
    assert "Push to QuickBooks" not in client.get(f"/companies/{other.id}").data.decode()


def test_a_payment_recorded_in_quickbooks_is_offered_only_as_dealt_with(app, client, db_session, factory, connected,
                                                                         fake_qbo):
    import re

    from app.quickbooks.pull import pull_items

    pull_items()
    invoice, _ = make_invoice(factory)
    admin = factory.user(UserRole.ADMIN)
    db.session.commit()
    assert push.process_row(db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.entity == LedgerEntity.INVOICE))) == "synced"
    fake_qbo.record_payment_in_quickbooks(invoice.qb_invoice_id, 99.0, reference="ACH 5")
    assert pull_items()["payments"] == 1
    row = db.session.scalar(select(SyncLedgerRow).where(SyncLedgerRow.conflict.isnot(None)))
    login(client, admin)
    html = client.get("/settings/quickbooks?state=CONFLICT").data.decode()
    item = re.search(rf'<tr id="ledger-{row.id}">.*?</tr>', html, re.S).group(0)
    assert "A payment of 99.00 was recorded in QuickBooks" in item and "Dealt with" in item
    assert "Create new" not in item and "Retry" not in item
