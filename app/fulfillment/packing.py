"""Fulfillment orders and the packing screen's rules.

Every scan goes through `scan()`: it locks the order row (one packer's scans
are serialized, a double Enter is recognised), then the device or SIM row, and
moves a device into the order with a conditional UPDATE (IN_STOCK -> ASSIGNED):
when two packers race for one device the database decides and the loser is told.
Services flush; callers commit.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Uuid, bindparam, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.activity.services import record
from app.billing import events as billing_events
from app.billing.invoices import device_lines
from app.billing.models import Invoice
from app.extensions import db
from app.fulfillment import codes, inventory
from app.fulfillment.models import (
    Device,
    DeviceStatus,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentScan,
    FulfillmentStatus,
    SimStatus,
)
from app.queue import enqueue

DOUBLE_SCAN_WINDOW = timedelta(seconds=1)
OPEN = (FulfillmentStatus.PENDING, FulfillmentStatus.PICKING)
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")


class PackingError(Exception):
    """A scan or step the rules refuse; shown in red on the packing screen."""


@dataclass
class ScanResult:
    ok: bool
    message: str
    ignored: bool = False
    order: FulfillmentOrder | None = None  # as the scan left it (locked, items loaded): what the screen shows
    lines: list | None = None  # the invoice's device lines, when the scan read them (pick_list's `lines`)


@dataclass
class PickLine:
    """What to take off the shelf for an order: `quantity` devices of `model`."""

    model: str | None  # the device model (the product's SKU); None when the product has none
    name: str
    quantity: int
    picked: int = 0


def device_count_for(invoice: Invoice) -> int:
    """Units on the invoice's device lines (lines whose product is hardware)."""
    return sum(line.quantity for line in pick_list(invoice))


def pick_list(invoice: Invoice, items: list[FulfillmentItem] | None = None, *,
              lines: list | None = None) -> list[PickLine]:
    """The invoice's device lines as models to pick, with how many of each `items` holds.
    Lines of one model are one pick line; lines whose product has no SKU share one.
    `lines`: the invoice's `device_lines` when this request has already read them."""
    picks: dict[str | None, PickLine] = {}
    for line, product in (device_lines(invoice) if lines is None else lines):
        model = (product.sku or "").strip() or None
        if model in picks:
            picks[model].quantity += line.quantity
        else:
            picks[model] = PickLine(model=model, name=product.name, quantity=line.quantity)
    for item in items or ():
        pick = picks.get(item.device.model) or picks.get(None)
        if pick is not None:
            pick.picked += 1
    return list(picks.values())


def create_order_for_invoice(invoice: Invoice, *, actor, released_by_hand: bool = False,
                             reason: str | None = None) -> FulfillmentOrder | None:
    """One open order per invoice. By hand (before payment) needs a reason, recorded.

    Takes the invoice's row lock first, so two releases (or a release and a payment) at
    once queue here and the second finds the first's order; the partial unique index
    `uq_fulfillment_orders_invoice_id_open` backs the rule in the database."""
    db.session.execute(select(Invoice.id).where(Invoice.id == invoice.id).with_for_update())
    existing = db.session.scalar(select(FulfillmentOrder).where(
        FulfillmentOrder.invoice_id == invoice.id, FulfillmentOrder.status != FulfillmentStatus.CANCELED))
    if existing is not None:
        return existing
    count = device_count_for(invoice)
    if count == 0:
        if released_by_hand:
            raise PackingError("This invoice has no device lines to ship.")
        return None
    if released_by_hand and not (reason or "").strip():
        raise PackingError("Say why the order is released before it is paid.")
    order = FulfillmentOrder(invoice_id=invoice.id, company_id=invoice.company_id, device_count=count,
                             status=FulfillmentStatus.PENDING,
                             notes=f"Released by hand: {reason.strip()}" if released_by_hand else None)
    db.session.add(order)
    db.session.flush()
    summary = (f"Released {invoice.invoice_number} to the warehouse by hand: {reason.strip()}" if released_by_hand
               else f"{invoice.invoice_number} is ready to pack ({count} devices)")
    record("fulfillment.created", summary, actor=actor, company=invoice.company_id, lead=invoice.lead_id,
           detail={"order_id": order.id, "invoice_id": invoice.id, "devices": count,
                   "released_by_hand": released_by_hand})
    return order


@billing_events.on_invoice_signed_and_paid
def order_for_signed_and_paid_invoice(invoice: Invoice, actor) -> None:
    """A signed, paid invoice's devices go to the warehouse (nothing when it has none)."""
    create_order_for_invoice(invoice, actor=None)


def state_options():
    """What the packing screen's swapped part (pack_state) shows of an order, and what every
    step of packing reads: its invoice with its lines (the pick list), its items with their
    devices and SIMs. The lines come by their own statement, as a lazy load would read them
    (lines of one invoice share their created_at: in a join their order would be the plan's)."""
    return (joinedload(FulfillmentOrder.invoice).selectinload(Invoice.line_items),
            joinedload(FulfillmentOrder.items).options(
                joinedload(FulfillmentItem.device).joinedload(Device.sim_card),
                joinedload(FulfillmentItem.sim_card)))


def screen_options():
    """What the whole packing screen and the slip show of an order: the above, its company and
    its invoice's ship-to address."""
    return (*state_options(), joinedload(FulfillmentOrder.company),
            joinedload(FulfillmentOrder.invoice).joinedload(Invoice.ship_to_address))


# The scan's statements are built once (bound parameters only): building these constructs
# with their loader options costs more CPU than running them.
@functools.cache
def _statements() -> dict:
    order_id = bindparam("order_id", type_=Uuid)
    devices = Device.__table__
    return {
        "lock_order": select(FulfillmentOrder).where(FulfillmentOrder.id == order_id)
        .options(*state_options()).with_for_update(of=FulfillmentOrder)
        .execution_options(populate_existing=True),
        "last_scan": select(FulfillmentScan).where(
            FulfillmentScan.fulfillment_order_id == order_id, FulfillmentScan.undone_at.is_(None))
        .order_by(FulfillmentScan.created_at.desc(), FulfillmentScan.id.desc()).limit(1),
        # the device with its SIM (the answer's hint names it), its row locked
        "lock_device": select(Device).where(or_(Device.serial_number == bindparam("code"),
                                                Device.imei == bindparam("code")))
        .options(joinedload(Device.sim_card)).with_for_update(of=Device)
        .execution_options(populate_existing=True),
        # the device into an order only from stock (the database decides between two packers)
        "take_device": update(devices).where(devices.c.id == bindparam("device_id", type_=Uuid),
                                             devices.c.status == DeviceStatus.IN_STOCK)
        .values(status=DeviceStatus.ASSIGNED),
        "return_device": update(devices).where(devices.c.id == bindparam("device_id", type_=Uuid))
        .values(status=DeviceStatus.IN_STOCK),
    }


def _set_device_status(statement: str, device: Device, status: DeviceStatus) -> bool:
    """Run the device's status UPDATE `statement` and, when it changed the row, say so to the
    session's copy (a statement on the table: the ORM's bulk UPDATE costs more CPU than it)."""
    if db.session.execute(_statements()[statement], {"device_id": device.id}).rowcount != 1:
        return False
    set_committed_value(device, "status", status)
    db.session.expire(device, ["updated_at"])
    return True


def _lock_order(order_id: uuid.UUID) -> FulfillmentOrder:
    """The order's row locked (every step of packing takes it first, so one order's steps are
    serialized), read with what the screen's swapped part shows: its items are read after the lock,
    and no other step can change them until this transaction ends."""
    order = db.session.scalars(_statements()["lock_order"], {"order_id": order_id}).unique().one_or_none()
    if order is None:
        raise LookupError(order_id)
    return order


def _items(order: FulfillmentOrder) -> list[FulfillmentItem]:
    return sorted(order.items, key=lambda item: (item.created_at, item.id))


def _last_scan(order: FulfillmentOrder) -> FulfillmentScan | None:
    return db.session.scalar(_statements()["last_scan"], {"order_id": order.id})


def scan(order_id: uuid.UUID, raw_code: str, *, actor, now: datetime | None = None) -> ScanResult:
    now = now or datetime.now(UTC)
    code = codes.clean(raw_code)
    order = _lock_order(order_id)
    kind = codes.kind_of(code) if code else "pack"  # Enter on an empty input packs
    if kind == "pack":
        _pack(order, actor=actor)
        result = ScanResult(True, f"Packed: {order.device_count} devices ready to ship.")
    elif kind == "undo":
        result = _undo_last(order, actor=actor)
    else:
        if order.status not in OPEN:
            raise PackingError(f"This order is {order.status.value.lower()}: nothing more can be scanned into it.")
        last = _last_scan(order)
        if last is not None and last.code == code and now - last.created_at < DOUBLE_SCAN_WINDOW:
            result = ScanResult(True, "Same code scanned twice: counted once.", ignored=True)
        else:
            if order.status == FulfillmentStatus.PENDING:
                order.status = FulfillmentStatus.PICKING
            result = _scan_sim(order, code, actor=actor) if kind == "iccid" else _scan_device(order, code, actor=actor)
    result.order = order
    return result


def _scan_device(order: FulfillmentOrder, code: str, *, actor) -> ScanResult:
    items = _items(order)
    if codes.kind_of(code) == "imei" and (problem := codes.imei_problem(code)):
        raise PackingError(f"{code}: {problem}.")
    device = db.session.scalars(_statements()["lock_device"], {"code": code}).unique().one_or_none()
    if device is None:
        raise PackingError(f"{code}: no device with this serial number or IMEI.")
    position = next((n for n, item in enumerate(items, 1) if item.device_id == device.id), None)
    if position is not None:
        waiting = "" if items[position - 1].sim_card_id else " Now scan its SIM."
        raise PackingError(f"{device.serial_number} is already scanned into this order "
                           f"(device {position} of {order.device_count}).{waiting}")
    if len(items) >= order.device_count:
        raise PackingError(f"All {order.device_count} devices are scanned. Pack the order, or undo a scan.")
    if items and items[-1].sim_card_id is None:
        raise PackingError(f"Scan the SIM of {items[-1].device.serial_number} first.")
    lines = device_lines(order.invoice)
    _check_model(order, items, device, lines)
    if device.status != DeviceStatus.IN_STOCK:
        where = ""
        other = db.session.scalar(select(FulfillmentItem.fulfillment_order_id).join(FulfillmentOrder)
                                  .where(FulfillmentItem.device_id == device.id,
                                         FulfillmentOrder.status.in_(OPEN + (FulfillmentStatus.PACKED,))))
        if other is not None and other != order.id:
            where = " in another order"
        raise PackingError(f"{device.serial_number} is {device.status.value.lower()}{where}, not in stock.")
    if not _set_device_status("take_device", device, DeviceStatus.ASSIGNED):  # another packer got it
        # between our read and write
        raise PackingError(f"{device.serial_number} was just put into another order.")
    # Explicit stamps (not the transaction's now()): scan order is the order of these.
    item = FulfillmentItem(device=device, created_at=datetime.now(UTC))
    order.items.append(item)
    db.session.flush()
    db.session.add(FulfillmentScan(fulfillment_order_id=order.id, code=code, kind="device", item_id=item.id,
                                   user_id=getattr(actor, "id", None), created_at=datetime.now(UTC)))
    db.session.flush()
    hint = f" Now scan its SIM (…{device.sim_card.iccid[-6:]})." if device.sim_card else " Now scan its SIM."
    return ScanResult(True, f"Device {device.serial_number} added ({len(items) + 1} of {order.device_count}).{hint}",
                      lines=lines)


def _check_model(order: FulfillmentOrder, items: list[FulfillmentItem], device: Device, device_lines: list) -> None:
    """A device of a model the order does not need, or of a model already all picked, is refused
    (when every device line names its model)."""
    picks = pick_list(order.invoice, items, lines=device_lines)
    if not picks or any(line.model is None for line in picks):
        return
    line = next((line for line in picks if line.model == device.model), None)
    still = ", ".join(f"{line.quantity - line.picked} × {line.model}" for line in picks
                      if line.picked < line.quantity)
    if line is None:
        raise PackingError(f"{device.serial_number} is a {device.model}; this order needs {still}.")
    if line.picked >= line.quantity:
        raise PackingError(f"All {line.quantity} × {line.model} are picked; this order still needs {still}.")


def _scan_sim(order: FulfillmentOrder, code: str, *, actor) -> ScanResult:
    if problem := codes.iccid_problem(code):
        raise PackingError(f"{code}: {problem}.")
    items = _items(order)
    sim = inventory.find_sim(code, lock=True)
    scanned = next((item for item in items if sim is not None and item.sim_card_id == sim.id), None)
    if scanned is not None:
        raise PackingError(f"SIM …{code[-6:]} is already scanned with {scanned.device.serial_number}.")
    if not items or items[-1].sim_card_id is not None:
        raise PackingError("Scan a device first; a SIM goes with the device scanned just before it.")
    item = items[-1]
    if sim is None:
        raise PackingError(f"…{code[-6:]}: no SIM card with this ICCID.")
    device = db.session.scalar(select(Device).where(Device.id == item.device_id).with_for_update())
    paired_new = False
    if device.sim_card_id == sim.id:
        pass  # the device's existing SIM, confirmed
    elif device.sim_card_id is not None:
        raise PackingError(f"{device.serial_number} already has SIM …{device.sim_card.iccid[-6:]}: scan that one.")
    else:
        if sim.status != SimStatus.IN_STOCK:
            raise PackingError(f"SIM …{code[-6:]} is {sim.status.value.lower()}, not in stock.")
        if db.session.scalar(select(Device.serial_number).where(Device.sim_card_id == sim.id)):
            raise PackingError(f"SIM …{code[-6:]} is already paired with another device.")
        device.sim_card = sim
        paired_new = True
    item.sim_card = sim
    db.session.add(FulfillmentScan(fulfillment_order_id=order.id, code=code, kind="sim", item_id=item.id,
                                   paired_new=paired_new, user_id=getattr(actor, "id", None),
                                   created_at=datetime.now(UTC)))
    db.session.flush()
    done = sum(1 for i in items if i.sim_card_id)
    return ScanResult(True, f"SIM …{code[-6:]} {'paired with' if paired_new else 'confirmed for'} "
                            f"{device.serial_number} ({done} of {order.device_count} complete).")


def undo_last(order_id: uuid.UUID, *, actor) -> ScanResult:
    """Undo the order's last scan (the order's row locked, as every step of packing)."""
    return _undo_last(_lock_order(order_id), actor=actor)


def _undo_last(order: FulfillmentOrder, *, actor) -> ScanResult:
    if order.status not in OPEN:
        raise PackingError(f"This order is {order.status.value.lower()}: nothing to undo.")
    last = _last_scan(order)
    if last is None:
        raise PackingError("Nothing to undo.")
    item = db.session.get(FulfillmentItem, last.item_id) if last.item_id else None
    last.undone_at = datetime.now(UTC)
    if item is not None and last.kind == "sim":
        if last.paired_new:
            item.device.sim_card = None
        item.sim_card = None
        message = f"Undid the SIM scan …{last.code[-6:]}."
    elif item is not None:
        _set_device_status("return_device", item.device, DeviceStatus.IN_STOCK)
        order.items.remove(item)  # deleted at the flush (delete-orphan), and off the screen's list
        db.session.delete(item)
        message = f"Undid {last.code}: back in stock."
    else:
        message = "Undid the last scan."
    db.session.flush()
    return ScanResult(True, message)


def pack(order_id: uuid.UUID, *, actor) -> FulfillmentOrder:
    """Mark the order packed once every device and its SIM are scanned (its row locked)."""
    order = _lock_order(order_id)
    _pack(order, actor=actor)
    return order


def _pack(order: FulfillmentOrder, *, actor) -> None:
    if order.status == FulfillmentStatus.PACKED:
        return
    if order.status not in OPEN:
        raise PackingError(f"This order is {order.status.value.lower()}.")
    items = _items(order)
    if len(items) < order.device_count:
        raise PackingError(f"{len(items)} of {order.device_count} devices scanned: scan the rest first.")
    missing = [i.device.serial_number for i in items if i.sim_card_id is None]
    if missing:
        raise PackingError(f"Scan the SIM of {', '.join(missing)} first.")
    order.status = FulfillmentStatus.PACKED
    db.session.flush()
    record("fulfillment.packed", f"Packed {order.device_count} devices", actor=actor, company=order.company_id,
           detail={"order_id": order.id})


def ship(order_id: uuid.UUID, *, carrier: str, tracking_number: str, actor) -> FulfillmentOrder:
    order = _lock_order(order_id)
    if order.status != FulfillmentStatus.PACKED:
        raise PackingError("Pack the order before shipping it." if order.status in OPEN
                           else f"This order is {order.status.value.lower()}.")
    carrier_name = next((c for c in CARRIERS if c.lower() == (carrier or "").strip().lower()), None)
    if carrier_name is None:
        raise PackingError(f"Pick a carrier: {', '.join(CARRIERS)}.")
    number = codes.clean(tracking_number)
    if problem := codes.tracking_problem(carrier_name, number):
        raise PackingError(problem[0].upper() + problem[1:] + ".")
    now = datetime.now(UTC)
    items = _items(order)
    for item in items:
        item.device.status = DeviceStatus.SHIPPED
        item.device.company_id = order.company_id
        item.device.invoice_id = order.invoice_id
        if item.sim_card is not None:
            item.sim_card.status = SimStatus.ASSIGNED
    order.status = FulfillmentStatus.SHIPPED
    order.carrier = carrier_name
    order.tracking_number = number
    order.shipped_at = now
    db.session.flush()
    record("fulfillment.shipped", f"Shipped {len(items)} devices by {carrier_name}, tracking {number}",
           actor=actor, company=order.company_id,
           detail={"order_id": order.id, "invoice_id": order.invoice_id, "carrier": carrier_name,
                   "tracking_number": number, "devices": [i.device.serial_number for i in items]})
    enqueue("mail", "app.fulfillment.jobs.send_tracking_email", order.id, job_id=f"tracking-mail-{order.id}")
    return order


def cancel(order_id: uuid.UUID, *, actor, reason: str) -> FulfillmentOrder:
    order = _lock_order(order_id)
    if order.status not in OPEN + (FulfillmentStatus.PACKED,):
        raise PackingError(f"This order is {order.status.value.lower()} and cannot be canceled.")
    if not (reason or "").strip():
        raise PackingError("Say why the order is canceled.")
    for item in _items(order):
        db.session.execute(update(Device).where(Device.id == item.device_id).values(status=DeviceStatus.IN_STOCK)
                           .execution_options(synchronize_session="fetch"))
    order.status = FulfillmentStatus.CANCELED
    db.session.flush()
    record("fulfillment.canceled", f"Canceled the shipment: {reason.strip()}", actor=actor,
           company=order.company_id, detail={"order_id": order.id, "reason": reason.strip()})
    return order
