"""Items → products: QuickBooks is the catalogue's master.

A full pull on connect (and when the CDC watermark is older than 29 days: Intuit's CDC looks
back 30), else change data capture since the watermark less two minutes of overlap. Applying an
item is idempotent (an item already applied at its LastUpdatedTime changes nothing), so the
overlap never applies twice. Items made inactive or deleted in QuickBooks make their product
inactive; a product is never deleted.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dateutil.parser import isoparse
from sqlalchemy import or_, select, update

from app.billing.models import Product, ProductType
from app.extensions import db
from app.quickbooks.connection import api, live_connection
from app.quickbooks.models import ConnectionStatus, QuickBooksConnection

log = logging.getLogger("crm.quickbooks")
OVERLAP = timedelta(minutes=2)
CDC_LIMIT = timedelta(days=29)
PAGE = 1000


def _item_time(item: dict) -> datetime | None:
    stamp = (item.get("MetaData") or {}).get("LastUpdatedTime")
    return isoparse(stamp).astimezone(UTC) if stamp else None


def apply_item(item: dict, now: datetime) -> str:
    """Upsert one item as a product. Returns what happened: created/updated/deactivated/unchanged."""
    product = db.session.scalar(select(Product).where(Product.qb_item_id == str(item["Id"])))
    changed_at = _item_time(item)
    if item.get("status") == "Deleted":
        if product is None or not product.active:
            return "unchanged"
        product.active, product.last_synced_at = False, now
        return "deactivated"
    if product is not None and product.last_synced_at and changed_at and changed_at <= product.last_synced_at:
        return "unchanged"  # the overlap: already applied
    values = {
        "name": (item.get("Name") or f"Item {item['Id']}")[:500],
        "description": item.get("Description") or None,
        "sku": item.get("Sku") or None,
        "unit_price": Decimal(str(item.get("UnitPrice") or 0)).quantize(Decimal("0.01")),
        "cost": Decimal(str(item["PurchaseCost"])).quantize(Decimal("0.01")) if item.get("PurchaseCost") is not None else None,
        "type": ProductType.SERVICE if item.get("Type") == "Service" else ProductType.ONE_TIME,
        "active": bool(item.get("Active", True)),
    }
    parent = (item.get("ParentRef") or {}).get("name")
    if parent:
        values["category"] = parent
    if product is None:
        db.session.add(Product(qb_item_id=str(item["Id"]), last_synced_at=changed_at or now, **values))
        return "created"
    for key, value in values.items():
        setattr(product, key, value)
    product.last_synced_at = changed_at or now
    return "updated"


def pull_items(*, full: bool = False, now: datetime | None = None) -> dict[str, int]:
    """A full pull or a CDC pull, as the watermark says. Commits."""
    client = api()
    now = now or datetime.now(UTC)
    connection = db.session.get(QuickBooksConnection, client.connection_id, with_for_update=True)
    watermark = connection.items_cdc_at
    counts: dict[str, int] = {}
    if full or watermark is None or now - watermark > CDC_LIMIT:
        server_time, seen = _full(client, now, counts)
        # Items that no longer exist in QuickBooks: inactive here, never deleted.
        gone = db.session.execute(update(Product).where(Product.active.is_(True), Product.qb_item_id.notin_(seen))
                                  .values(active=False, last_synced_at=now)).rowcount
        counts["deactivated"] = counts.get("deactivated", 0) + gone
        connection.items_full_at = now
        kind = "full"
    else:
        since = (watermark - OVERLAP).isoformat(timespec="seconds")
        asked_at = datetime.now(UTC)  # our clock: what settled after this is not in the answer
        answer = client.qb.change_data_capture("Item,Invoice,Payment", since)
        server_time = answer.get("time")
        responses = answer.get("CDCResponse", [{}])[0].get("QueryResponse", [])
        for response in responses:
            for item in response.get("Item", []):
                outcome = apply_item(item, now)
                counts[outcome] = counts.get(outcome, 0) + 1
        for remote in [p for response in responses for p in response.get("Payment", [])]:
            if compare_payment(remote):  # before the invoices: a payment explains their balance
                counts["payments"] = counts.get("payments", 0) + 1
        for remote in [i for response in responses for i in response.get("Invoice", [])]:
            if compare_invoice(remote, seen_at=asked_at):
                counts["conflicts"] = counts.get("conflicts", 0) + 1
        kind = "cdc"
    connection.items_cdc_at = isoparse(server_time).astimezone(UTC) if server_time else now
    db.session.commit()
    log.info("quickbooks items pull=%s counts=%s", kind, counts)
    return {"kind": kind, **counts}


def _full(client, now, counts) -> tuple[str | None, set[str]]:
    seen: set[str] = set()
    start, server_time = 1, None
    while True:
        answer = client.qb.query(f"select * from Item where Active IN (true, false) "
                                 f"STARTPOSITION {start} MAXRESULTS {PAGE}")
        server_time = server_time or answer.get("time")
        items = answer.get("QueryResponse", {}).get("Item", [])
        for item in items:
            seen.add(str(item["Id"]))
            outcome = apply_item(item, now)
            counts[outcome] = counts.get(outcome, 0) + 1
        if len(items) < PAGE:
            return server_time, seen
        start += PAGE


def connected() -> bool:
    """Connected and its grant alive (a dead grant waits for a person: nothing is asked of Intuit)."""
    live = live_connection()
    return live is not None and live.status is ConnectionStatus.CONNECTED


def compare_invoice(remote: dict, seen_at: datetime | None = None) -> bool:
    """An invoice we pushed, changed in QuickBooks (edited, paid or voided there): when its money
    disagrees with ours, a CONFLICT row for a person (Retry pushes ours, Skip keeps theirs).
    Money is never overwritten here. True when a new conflict was recorded."""
    from app.billing.models import Invoice, InvoiceStatus
    from app.quickbooks import ledger
    from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow

    if remote.get("status") == "Deleted":
        theirs = {"deleted": True}
    else:
        theirs = {"total": str(Decimal(str(remote.get("TotalAmt", 0))).quantize(Decimal("0.01"))),
                  "balance": str(Decimal(str(remote.get("Balance", remote.get("TotalAmt", 0)))).quantize(Decimal("0.01")))}
    invoice = db.session.scalar(select(Invoice).where(Invoice.qb_invoice_id == str(remote["Id"])))
    if invoice is None:
        return False
    on_their_way = SyncLedgerRow.state.in_([LedgerState.PENDING, LedgerState.IN_FLIGHT])
    if seen_at is not None:  # or settled after the CDC was asked: its answer may predate them
        on_their_way = or_(on_their_way, SyncLedgerRow.synced_at >= seen_at)
    waiting = db.session.scalar(select(SyncLedgerRow.id).where(
        on_their_way, SyncLedgerRow.company_id == invoice.company_id).limit(1))
    if waiting is not None:
        return False  # our own pushes are on their way: compare once they are in
    voided_here = invoice.status is InvoiceStatus.VOID
    ours = {"total": str(Decimal("0.00") if voided_here else invoice.total),
            "balance": str(Decimal("0.00") if voided_here else invoice.balance_due)}
    if theirs == ours or (voided_here and theirs.get("total") == "0.00"):
        return False
    if theirs.get("total") == ours["total"] and db.session.scalar(select(SyncLedgerRow.id).where(
            SyncLedgerRow.entity == LedgerEntity.INVOICE, SyncLedgerRow.local_id == invoice.id,
            SyncLedgerRow.conflict["kind"].astext == "payment_in_quickbooks").limit(1)) is not None:
        return False  # the balance moved by a payment recorded there: that payment is the person's item
    already = db.session.scalar(select(SyncLedgerRow.id).where(
        SyncLedgerRow.entity == LedgerEntity.INVOICE, SyncLedgerRow.local_id == invoice.id,
        SyncLedgerRow.state == LedgerState.CONFLICT,
        SyncLedgerRow.conflict["theirs"].astext == json_text(theirs)).limit(1))
    if already is not None:
        return False
    row_id = uuid.uuid4()
    row = SyncLedgerRow(id=row_id, request_id=str(row_id), entity=LedgerEntity.INVOICE, local_id=invoice.id,
                        company_id=invoice.company_id, operation=LedgerOperation.UPDATE, state=LedgerState.CONFLICT,
                        remote_id=str(remote["Id"]), attempts=0, history=[],
                        conflict={"kind": "changed_in_quickbooks", "theirs": json_text(theirs), "ours": ours})
    db.session.add(row)
    message = (f"Invoice {invoice.invoice_number} changed in QuickBooks: "
               + ("deleted there" if theirs.get("deleted") else
                  f"total {theirs['total']} and balance {theirs['balance']} there, "
                  f"{ours['total']} and {ours['balance']} here"))
    ledger.settle(row, LedgerState.CONFLICT, error=message, what="changed in QuickBooks")
    from app.activity.services import record

    record("quickbooks.conflict", message, company=invoice.company_id,
           detail={"ledger_id": row.id, "invoice_id": invoice.id})
    ledger.task_for_admin(message[:200], "Open Settings → QuickBooks: Retry pushes the CRM's invoice over "
                          "QuickBooks', Skip keeps QuickBooks' as it is.", company_id=invoice.company_id)
    return True


def json_text(value: dict) -> str:
    return json.dumps(value, sort_keys=True)


def compare_payment(remote: dict) -> bool:
    """A payment recorded in QuickBooks (not pushed by us) against one of our invoices: never
    applied here as money; a CONFLICT row on the invoice for a person (Skip once it is dealt
    with, e.g. recorded here by hand). Each QuickBooks payment once. True when one was recorded."""
    from app.billing.models import Invoice, Payment
    from app.quickbooks import ledger
    from app.quickbooks.models import LedgerEntity, LedgerOperation, LedgerState, SyncLedgerRow

    remote_id = str(remote["Id"])
    if remote.get("status") == "Deleted":
        return False
    if "CRM payment " in (remote.get("PrivateNote") or "") or db.session.scalar(
            select(Payment.id).where(Payment.qb_payment_id == remote_id).limit(1)) is not None:
        return False  # ours (the note is there before our commit is)
    linked = [str(txn["TxnId"]) for line in remote.get("Line", []) for txn in line.get("LinkedTxn", [])
              if txn.get("TxnType") == "Invoice"]
    invoice = db.session.scalar(select(Invoice).where(Invoice.qb_invoice_id.in_(linked)).limit(1)) if linked else None
    if invoice is None:
        return False  # not about an invoice of ours
    if db.session.scalar(select(SyncLedgerRow.id).where(
            SyncLedgerRow.entity == LedgerEntity.INVOICE, SyncLedgerRow.local_id == invoice.id,
            SyncLedgerRow.conflict["payment_id"].astext == remote_id).limit(1)) is not None:
        return False  # seen already (the CDC overlap, or a person dealt with it)
    amount = str(Decimal(str(remote.get("TotalAmt", 0))).quantize(Decimal("0.01")))
    theirs = {"kind": "payment_in_quickbooks", "payment_id": remote_id, "amount": amount,
              "date": remote.get("TxnDate"), "reference": remote.get("PaymentRefNum")}
    row_id = uuid.uuid4()
    row = SyncLedgerRow(id=row_id, request_id=str(row_id), entity=LedgerEntity.INVOICE, local_id=invoice.id,
                        company_id=invoice.company_id, operation=LedgerOperation.UPDATE, state=LedgerState.CONFLICT,
                        remote_id=invoice.qb_invoice_id, attempts=0, history=[], conflict=theirs)
    db.session.add(row)
    message = (f"A payment of {amount} was recorded in QuickBooks on invoice {invoice.invoice_number} "
               f"(QuickBooks payment {remote_id}{', ' + theirs['reference'] if theirs['reference'] else ''}, "
               f"{theirs['date'] or 'no date'}): not applied in the CRM")
    ledger.settle(row, LedgerState.CONFLICT, error=message, what="payment recorded in QuickBooks")
    from app.activity.services import record

    record("quickbooks.conflict", message, company=invoice.company_id,
           detail={"ledger_id": row.id, "invoice_id": invoice.id, "quickbooks_payment": remote_id})
    ledger.task_for_admin(message[:200], "A payment was recorded in QuickBooks, not in the CRM: the CRM does not "
                          "apply money it did not see. If it is real, record it on the invoice in the CRM by hand "
                          "(then delete one of the two in QuickBooks, or leave the CRM's unpushed), and Skip the "
                          "ledger item in Settings → QuickBooks.", company_id=invoice.company_id)
    return True
