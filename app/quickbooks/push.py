"""One ledger row pushed to QuickBooks (python-quickbooks' client; dict bodies as Intuit documents them).

- Creates carry `requestid` = the row's id: a create retried after a crash (the worker died
  after QuickBooks made the object, before our commit) gets the original object back.
- A customer is matched first (same DisplayName, or the same e-mail): a match that is not ours
  is a CONFLICT a person resolves ("link to customer 58 or create new"), never a duplicate.
- An invoice's DocNumber is our number, checked first: taken by an invoice that is ours
  (PrivateNote names our id) → linked; by another → CONFLICT.
- Updates and voids are sparse with the SyncToken just read; a stale token (fault 5010) →
  read again, apply our fields again, once; still stale → CONFLICT.
"""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests
from quickbooks.exceptions import AuthorizationException, QuickbooksException
from sqlalchemy import select, update

from app.activity.services import record
from app.extensions import db
from app.quickbooks import ledger
from app.quickbooks.connection import Api, NotConnected, api
from app.quickbooks.limits import Throttled
from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow
from app.quickbooks.tokens import GrantDead

log = logging.getLogger("crm.quickbooks")

STALE_OBJECT = 5010
MAX_ATTEMPTS = 8  # temporary failures (network, 5xx) before the row is FAILED for a person
RETRY_BACKOFF = (10, 30, 60, 300, 900, 1800, 3600)
SHIPPING_ITEM = "SHIPPING_ITEM_ID"  # QuickBooks' own shipping line item


class Conflict(Exception):
    def __init__(self, message: str, detail: dict | None = None):
        super().__init__(message)
        self.detail = detail or {}


class Waiting(Exception):
    """Something this push needs is not in QuickBooks yet (its customer, its invoice)."""


def _money(value) -> float:
    return float(Decimal(value or 0).quantize(Decimal("0.01")))


def quote_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


# ------------------------------------------------------------------ the job's body

def process_row(row_id) -> str:
    """Claim the row, push it, settle it. Safe to run twice (a second run finds the row taken
    or settled; a run after a crash resends with the same requestid). A row of a kind QuickBooks
    takes in batches goes out with the other due rows of its kind (app.quickbooks.batch)."""
    from app.quickbooks import batch

    if not ledger.is_due(row_id):  # taken by another job's batch, settled, or not yet due: no token asked
        db.session.rollback()
        return "not due"
    try:
        client = api()  # commits (the token's transaction)
    except (GrantDead, NotConnected) as exc:
        return f"waiting: {exc}"
    needed = batch.dependency(row_id)
    if needed is not None:  # its customer (or invoice) first, in a batch of its own kind
        process_row(needed)
    rows = batch.claim(row_id)
    if not rows:
        db.session.rollback()
        return "not due"
    db.session.commit()  # IN_FLIGHT before QuickBooks is asked
    if len(rows) == 1 and rows[0].batch_id is None:
        return push_claimed(client, rows[0])
    return batch.push_batch(client, rows)[rows[0].id]


def push_claimed(client: Api, row: SyncLedgerRow) -> str:
    outcome = settle_outcome(client, row, lambda: PUSHERS[(row.entity, row.operation)](client, row))
    db.session.commit()
    after_outcome([row], {row.id: outcome})
    return outcome


def after_outcome(rows: list[SyncLedgerRow], outcomes: dict) -> None:
    synced = {row.company_id for row in rows if outcomes.get(row.id) == "synced"
              and row.entity in (LedgerEntity.CUSTOMER, LedgerEntity.INVOICE)}
    for company_id in synced:
        ledger.resume_waiting(company_id)  # what waited on this customer or invoice
    if synced:
        db.session.commit()
    for row in rows:
        log.info("quickbooks push row=%s entity=%s op=%s batch=%s outcome=%s", row.id, row.entity.value,
                 row.operation.value, row.batch_id, outcomes.get(row.id))


def settle_outcome(client: Api, row: SyncLedgerRow, push) -> str:
    """Run `push` (returns the QuickBooks id, or raises what QuickBooks answered) and settle the
    row as its answer says. Flushes, never commits: a batch settles all its rows in one commit."""
    try:
        remote_id = push()
    except Waiting as exc:
        ledger.settle(row, LedgerState.PENDING, error=str(exc), retry_at=datetime.now(UTC) + timedelta(minutes=10),
                      what="waiting")
        outcome = "waiting"
    except Conflict as exc:
        ledger.settle(row, LedgerState.CONFLICT, error=str(exc), conflict=exc.detail)
        _activity(row, "quickbooks.conflict", f"QuickBooks conflict: {exc}")
        ledger.task_for_admin(f"QuickBooks needs a decision: {exc}"[:200],
                              "Open Settings → QuickBooks, find the conflict in the ledger and link, create "
                              "or skip.", company_id=row.company_id)
        outcome = "conflict"
    except Throttled as exc:
        ledger.settle(row, LedgerState.PENDING, error=str(exc),
                      retry_at=datetime.now(UTC) + timedelta(seconds=exc.wait), what="throttled")
        outcome = "throttled"
    except (GrantDead, NotConnected) as exc:
        ledger.settle(row, LedgerState.PENDING, error=str(exc), what="waiting for a connection")
        row.next_attempt_at = datetime.now(UTC) + timedelta(days=365)  # resume_waiting() on reconnect
        outcome = "waiting"
    except AuthorizationException as exc:  # the access token was refused (revoked early): refresh next time
        from app.quickbooks.models import QuickBooksConnection

        db.session.execute(update(QuickBooksConnection).where(QuickBooksConnection.id == client.connection_id)
                           .values(access_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        outcome = _retry_later(row, f"QuickBooks refused the access token ({exc.error_code})")
    except QuickbooksException as exc:
        if is_temporary(exc):
            outcome = _retry_later(row, f"QuickBooks {exc.error_code}: {exc.message}")
        else:  # validation, closed period, ...: a person reads QuickBooks' message
            message = f"QuickBooks {exc.error_code}: {exc.message}. {exc.detail}".strip()
            ledger.settle(row, LedgerState.FAILED, error=message)
            _activity(row, "quickbooks.failed", f"QuickBooks refused the push: {exc.message}")
            ledger.task_for_admin(f"QuickBooks refused a push: {exc.message}"[:200], message,
                                  company_id=row.company_id)
            outcome = "failed"
    except (requests.RequestException, OSError) as exc:
        outcome = _retry_later(row, f"QuickBooks unreachable: {type(exc).__name__}")
    else:
        ledger.settle(row, LedgerState.SYNCED, remote_id=remote_id)
        _activity(row, "quickbooks.pushed", f"Pushed {row.entity.value.lower()} to QuickBooks "
                  f"({row.operation.value.lower()}{', in a batch' if row.batch_id else ''}, "
                  f"QuickBooks id {remote_id})")
        outcome = "synced"
    db.session.flush()
    return outcome


def is_temporary(exc: QuickbooksException) -> bool:
    code = exc.error_code if isinstance(exc.error_code, int) else 0
    return code >= 10000 or code in (0, 3001) or 500 <= code < 600


def _retry_later(row: SyncLedgerRow, error: str) -> str:
    if row.attempts >= MAX_ATTEMPTS:
        ledger.settle(row, LedgerState.FAILED, error=error)
        return "failed"
    wait = RETRY_BACKOFF[min(row.attempts, len(RETRY_BACKOFF)) - 1]
    ledger.settle(row, LedgerState.PENDING, error=error, retry_at=datetime.now(UTC) + timedelta(seconds=wait),
                  what="will retry")
    return "retry"


def _activity(row: SyncLedgerRow, kind: str, summary: str) -> None:
    if row.company_id is not None:
        record(kind, summary, company=row.company_id,
               detail={"ledger_id": row.id, "entity": row.entity.value, "local_id": row.local_id})


# ------------------------------------------------------------------ reading QuickBooks

def query(client: Api, statement: str) -> dict:
    return client.qb.query(statement).get("QueryResponse", {})


def read(client: Api, entity: str, remote_id: str) -> dict:
    return client.qb.get_single_object(entity, remote_id)[entity]


def create(client: Api, entity: str, body: dict, row: SyncLedgerRow) -> dict:
    return client.qb.create_object(entity, json.dumps(body), request_id=row.request_id)[entity]


def sparse_update(client: Api, entity: str, remote_id: str, fields: dict, row: SyncLedgerRow,
                  params: dict | None = None, attempts: int = 2) -> dict:
    """POST a sparse update with the SyncToken just read; on 5010 read again and apply our
    fields again once; still stale: CONFLICT. (After a 5010 in a batch: attempts=1.)"""
    for attempt in range(1, attempts + 1):
        current = read(client, entity, remote_id)
        body = {"Id": remote_id, "SyncToken": current["SyncToken"], "sparse": True, **fields}
        try:
            url = f"{client.qb.api_url}/company/{client.realm_id}/{entity.lower()}"
            # a new requestid per SyncToken: a replayed 5010 must not answer the retry
            request_id = f"{row.request_id[:36]}-{current['SyncToken']}"[:50]
            return client.qb.post(url, json.dumps(body), params=dict(params or {}), request_id=request_id)[entity]
        except QuickbooksException as exc:
            if exc.error_code != STALE_OBJECT:
                raise
            ledger.note(row, "stale SyncToken (5010)", attempt=attempt, sync_token=current["SyncToken"])
    raise Conflict(f"{entity} {remote_id} keeps changing in QuickBooks (stale SyncToken twice)",
                   {"kind": "stale", "remote_id": remote_id})


# ------------------------------------------------------------------ customers

def company_of(row):
    from app.crm.models import Company

    return db.session.get(Company, row.local_id)


def company_email(company) -> str | None:
    from app.crm.models import Contact

    return db.session.scalar(select(Contact.email).where(Contact.company_id == company.id, Contact.email.isnot(None))
                             .order_by(Contact.created_at).limit(1))


def push_customer(client: Api, row: SyncLedgerRow) -> str:
    company = company_of(row)
    if company.qb_customer_id:
        return company.qb_customer_id
    marker = customer_marker(company)
    email = company_email(company)
    forced = (row.conflict or {}).get("resolved") == "create"
    found = query(client, f"select * from Customer where DisplayName = '{quote_text(company.name)}'").get("Customer", [])
    if email:
        found += query(client, f"select * from Customer where PrimaryEmailAddr = '{quote_text(email)}'").get("Customer", [])
    ours = [c for c in found if marker in (c.get("Notes") or "")]
    if ours:  # made by an earlier attempt of this very push
        company.qb_customer_id = ours[0]["Id"]
        return ours[0]["Id"]
    if found and not forced:
        candidates = {c["Id"]: {"id": c["Id"], "name": c.get("DisplayName"),
                                "email": (c.get("PrimaryEmailAddr") or {}).get("Address")} for c in found}
        first = next(iter(candidates))
        raise Conflict(f"{company.name}: link to QuickBooks customer {first} or create new",
                       {"kind": "customer_match", "candidates": list(candidates.values())})
    name = company.name
    if forced and any(c.get("DisplayName") == name for c in found):
        name = f"{company.name} (CRM {str(company.id)[:8]})"  # QuickBooks' display names are unique
    customer = create(client, "Customer", customer_body(company, email, name), row)
    company.qb_customer_id = customer["Id"]
    return customer["Id"]


def customer_marker(company) -> str:
    return f"CRM account {company.id}"


def customer_body(company, email: str | None, name: str | None = None) -> dict:
    body = {"DisplayName": (name or company.name)[:500], "CompanyName": company.name[:500],
            "Notes": customer_marker(company)}
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    if company.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": company.phone}
    if company.website:
        body["WebAddr"] = {"URI": company.website}
    return body


def link_local(row: SyncLedgerRow, remote_id: str) -> None:
    """A conflict resolved by linking: the local object takes the QuickBooks id."""
    if row.entity is LedgerEntity.CUSTOMER:
        company_of(row).qb_customer_id = remote_id
    elif row.entity is LedgerEntity.INVOICE:
        invoice_of(row.local_id).qb_invoice_id = remote_id


# ------------------------------------------------------------------ invoices

def invoice_of(invoice_id):
    from app.billing.models import Invoice

    return db.session.get(Invoice, invoice_id)


def _needs(client: Api, entity: LedgerEntity, local_id, what: str) -> None:
    """Push the create this row depends on first (in this job), if it is due."""
    dependency = ledger.create_row(entity, local_id)
    if dependency is None:
        raise Waiting(f"waiting for the {what} to be pushed")
    if dependency.state in (LedgerState.PENDING, LedgerState.IN_FLIGHT):
        claimed = ledger.claim(dependency.id)
        if claimed is not None:
            db.session.commit()
            push_claimed(client, claimed)
            db.session.refresh(dependency)
    if dependency.state is not LedgerState.SYNCED:
        raise Waiting(f"waiting for the {what} ({dependency.state.value.lower()})")


def invoice_fields(invoice, customer_id: str) -> dict:
    from app.billing.models import Product

    products = {p.qb_item_id: p for p in db.session.scalars(select(Product).where(
        Product.qb_item_id.in_([line.product_code for line in invoice.line_items if line.product_code])))}
    taxable = (invoice.tax_amount or 0) > 0
    lines = []
    for number, line in enumerate(invoice.line_items, start=1):
        detail = {"UnitPrice": _money(line.unit_price), "Qty": line.quantity,
                  "TaxCodeRef": {"value": "TAX" if taxable else "NON"}}
        if line.product_code in products:
            detail["ItemRef"] = {"value": line.product_code, "name": products[line.product_code].name}
        lines.append({"LineNum": number, "Description": line.description, "Amount": _money(line.total),
                      "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail})
    if invoice.shipping_cost:
        lines.append({"Amount": _money(invoice.shipping_cost), "DetailType": "SalesItemLineDetail",
                      "Description": "Shipping",
                      "SalesItemLineDetail": {"ItemRef": {"value": SHIPPING_ITEM}}})
    fields = {"DocNumber": invoice.invoice_number, "CustomerRef": {"value": customer_id}, "Line": lines,
              "PrivateNote": f"CRM invoice {invoice.id}",
              "TxnTaxDetail": {"TotalTax": _money(invoice.tax_amount)}}
    if invoice.sent_at:
        fields["TxnDate"] = invoice.sent_at.date().isoformat()
    if invoice.due_date:
        fields["DueDate"] = invoice.due_date.isoformat()
    return fields


def push_invoice(client: Api, row: SyncLedgerRow) -> str:
    invoice = invoice_of(row.local_id)
    if invoice.qb_invoice_id:
        return invoice.qb_invoice_id
    if not invoice.company.qb_customer_id:
        _needs(client, LedgerEntity.CUSTOMER, invoice.company_id, "customer")
        db.session.refresh(invoice.company)
    forced = (row.conflict or {}).get("resolved") == "create"
    taken = query(client, f"select * from Invoice where DocNumber = '{quote_text(invoice.invoice_number)}'").get("Invoice", [])
    ours = [i for i in taken if f"CRM invoice {invoice.id}" in (i.get("PrivateNote") or "")]
    if ours:
        invoice.qb_invoice_id = ours[0]["Id"]
        return ours[0]["Id"]
    if taken and not forced:
        raise Conflict(f"invoice number {invoice.invoice_number} is taken in QuickBooks (invoice {taken[0]['Id']})",
                       {"kind": "doc_number", "candidates": [
                           {"id": i["Id"], "name": i.get("DocNumber"), "total": i.get("TotalAmt")} for i in taken]})
    fields = invoice_fields(invoice, invoice.company.qb_customer_id)
    if taken:
        fields.pop("DocNumber")  # "create new": QuickBooks numbers it
    remote = create(client, "Invoice", fields, row)
    invoice.qb_invoice_id = remote["Id"]
    return remote["Id"]


def _synced_invoice_id(client: Api, invoice) -> str:
    if not invoice.qb_invoice_id:
        _needs(client, LedgerEntity.INVOICE, invoice.id, "invoice")
        db.session.refresh(invoice)
    return invoice.qb_invoice_id


def update_invoice(client: Api, row: SyncLedgerRow) -> str:
    invoice = invoice_of(row.local_id)
    remote_id = _synced_invoice_id(client, invoice)
    fields = invoice_fields(invoice, invoice.company.qb_customer_id)
    sparse_update(client, "Invoice", remote_id, fields, row)
    return remote_id


def void_invoice(client: Api, row: SyncLedgerRow) -> str:
    invoice = invoice_of(row.local_id)
    remote_id = _synced_invoice_id(client, invoice)
    sparse_update(client, "Invoice", remote_id, {}, row, params={"operation": "void"})
    return remote_id


# ------------------------------------------------------------------ payments and refunds

def payment_of(row):
    from app.billing.models import Payment

    return db.session.get(Payment, row.local_id)


def push_payment(client: Api, row: SyncLedgerRow) -> str:
    payment = payment_of(row)
    if payment.qb_payment_id:
        return payment.qb_payment_id
    invoice_id = _synced_invoice_id(client, payment.invoice)
    remote = create(client, "Payment", payment_body(payment, invoice_id), row)
    payment.qb_payment_id = remote["Id"]
    return remote["Id"]


def payment_body(payment, invoice_remote_id: str) -> dict:
    invoice = payment.invoice
    reference = payment.stripe_payment_id or payment.reference or payment.method.value
    return {"TotalAmt": _money(payment.amount), "CustomerRef": {"value": invoice.company.qb_customer_id},
            "TxnDate": payment.paid_at.date().isoformat(), "PaymentRefNum": reference[:21],
            "PrivateNote": f"CRM payment {payment.id} ({payment.method.value.lower()}); CRM invoice {invoice.id}",
            "Line": [{"Amount": _money(payment.amount),
                      "LinkedTxn": [{"TxnId": invoice_remote_id, "TxnType": "Invoice"}]}]}


def push_refund(client: Api, row: SyncLedgerRow) -> str:
    """A refund row (negative payment) → a QuickBooks RefundReceipt for the same customer."""
    from flask import current_app

    refund = payment_of(row)
    if refund.qb_payment_id:
        return refund.qb_payment_id
    invoice = refund.invoice
    _synced_invoice_id(client, invoice)
    amount = _money(-refund.amount)
    body = {"CustomerRef": {"value": invoice.company.qb_customer_id}, "TxnDate": refund.paid_at.date().isoformat(),
            "PaymentRefNum": (refund.reference or "refund")[:21],
            "PrivateNote": f"CRM refund {refund.id}; CRM invoice {invoice.id} ({invoice.invoice_number})",
            "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail", "Description":
                      f"Refund on invoice {invoice.invoice_number}", "SalesItemLineDetail": {"Qty": 1, "UnitPrice": amount}}]}
    body["DepositToAccountRef"] = {"value": current_app.config.get("QBO_REFUND_ACCOUNT_ID") or refund_account(client)}
    remote = create(client, "RefundReceipt", body, row)
    refund.qb_payment_id = remote["Id"]
    return remote["Id"]


def refund_account(client: Api) -> str:
    """The account a RefundReceipt is paid from (QuickBooks requires DepositToAccountRef) when
    QBO_REFUND_ACCOUNT_ID is not set: the company's first active Bank account, found by one
    query and kept on the connection."""
    from app.quickbooks.models import QuickBooksConnection

    connection = db.session.get(QuickBooksConnection, client.connection_id)
    if connection.refund_account_id:
        return connection.refund_account_id
    accounts = query(client, "select * from Account where AccountType = 'Bank' MAXRESULTS 100").get("Account", [])
    active = sorted((a for a in accounts if a.get("Active", True)), key=lambda a: int(a["Id"]) if a["Id"].isdigit() else 0)
    if not active:
        raise QuickbooksException("QuickBooks has no active Bank account to pay refunds from", 6000,
                                  "Add one in QuickBooks, or set QBO_REFUND_ACCOUNT_ID to the account's id.")
    connection.refund_account_id = str(active[0]["Id"])
    return connection.refund_account_id


PUSHERS = {
    (LedgerEntity.CUSTOMER, LedgerOperation.CREATE): push_customer,
    (LedgerEntity.INVOICE, LedgerOperation.CREATE): push_invoice,
    (LedgerEntity.INVOICE, LedgerOperation.UPDATE): update_invoice,
    (LedgerEntity.INVOICE, LedgerOperation.VOID): void_invoice,
    (LedgerEntity.PAYMENT, LedgerOperation.CREATE): push_payment,
    (LedgerEntity.REFUND, LedgerOperation.CREATE): push_refund,
}
