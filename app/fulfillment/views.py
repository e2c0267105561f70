"""The warehouse: the queue of orders, the scan-first packing screen, inventory."""
import uuid

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.permissions import INVENTORY, INVOICES, SALES, WAREHOUSE, require
from app.billing.models import Invoice
from app.errors import uuid_or_404
from app.extensions import commit_keeping_loaded, db
from app.fulfillment import bp, codes, inventory, packing, queries
from app.fulfillment.models import (
    DeviceStatus,
    FulfillmentOrder,
    SimStatus,
)
from app.htmx import add_trigger, render, wants_fragment


def _order(order_id) -> FulfillmentOrder:
    order = queries.order_for_packing(uuid_or_404(order_id))
    if order is None:
        abort(404)
    return order


@bp.get("/warehouse")
@require(WAREHOUSE)
def warehouse():
    overview = queries.warehouse_overview()
    return render("fulfillment/warehouse.html", context=dict(
        device_counts=overview.device_counts, sim_counts=overview.sim_counts,
        device_statuses=list(DeviceStatus), sim_statuses=list(SimStatus), queue=overview.queue))


def _packing_page(order, *, message=None, ok=True, status=200, block="pack_state"):
    db.session.expire_all()  # the order's items as they are after the scan
    order_id = order if isinstance(order, uuid.UUID) else order.id
    return _pack_screen(_order(order_id), message=message, ok=ok, status=status, block=block)


def _pack_screen(order, *, message=None, ok=True, status=200, block="pack_state", lines=None):
    """The packing screen (or its swapped part) of `order`, loaded with `packing.screen_options()`
    (`packing.state_options()` is enough for the swapped part)."""
    return render("fulfillment/pack.html", block, context=dict(order=order, message=message, ok=ok, fragment=block is not None and wants_fragment(), picks=packing.pick_list(order.invoice, order.items, lines=lines), carriers=packing.CARRIERS, tracking_url=codes.tracking_url(order.carrier, order.tracking_number)), status=status)


@bp.get("/warehouse/orders/<order_id>")
@require(WAREHOUSE)
def pack_order(order_id):
    return _packing_page(_order(order_id), block=None)


@bp.post("/warehouse/orders/<order_id>/scan")
@require(WAREHOUSE)
def scan(order_id):
    order_uuid = uuid_or_404(order_id)  # the service locks and loads what it needs
    try:
        with db.session.begin_nested():  # a refused scan leaves nothing behind
            result = packing.scan(order_uuid, request.form.get("code", ""), actor=current_user)
    except LookupError:
        abort(404)
    except packing.PackingError as exc:
        return _packing_page(order_uuid, message=str(exc), ok=False, status=422)
    # The answer shows the order as the scan left it: read after the order's lock, which every
    # step of packing takes first, so nothing else changed it before this commit.
    commit_keeping_loaded()
    return _pack_screen(result.order, message=result.message, ok=True, lines=result.lines)


@bp.post("/warehouse/orders/<order_id>/undo")
@require(WAREHOUSE)
def undo(order_id):
    return _step(order_id, lambda order: packing.undo_last(order.id, actor=current_user).message)


@bp.post("/warehouse/orders/<order_id>/pack")
@require(WAREHOUSE)
def pack(order_id):
    def do(order):
        packing.pack(order.id, actor=current_user)
        return "Packed. Enter the tracking number to ship."
    return _step(order_id, do)


@bp.post("/warehouse/orders/<order_id>/ship")
@require(WAREHOUSE)
def ship(order_id):
    def do(order):
        packing.ship(order.id, carrier=request.form.get("carrier", ""),
                     tracking_number=request.form.get("tracking_number", ""), actor=current_user)
        return "Shipped. The customer gets the tracking number by e-mail."
    return _step(order_id, do)


@bp.post("/warehouse/orders/<order_id>/cancel")
@require(WAREHOUSE)
def cancel(order_id):
    def do(order):
        packing.cancel(order.id, actor=current_user, reason=request.form.get("reason", ""))
        return "Canceled. Its devices are back in stock."
    return _step(order_id, do)


def _step(order_id, action):
    order = _order(order_id)
    try:
        with db.session.begin_nested():
            message = action(order)
    except packing.PackingError as exc:
        return _packing_page(order, message=str(exc), ok=False, status=422)
    db.session.commit()
    return _packing_page(order, message=message, ok=True)


@bp.get("/warehouse/orders/<order_id>/slip")
@require(WAREHOUSE)
def packing_slip(order_id):
    order = _order(order_id)
    return render("fulfillment/slip.html", context=dict(order=order, picks=packing.pick_list(order.invoice, order.items)))


@bp.post("/invoices/<invoice_id>/release")
@require(INVOICES)
def release_invoice(invoice_id):
    """A rep sends an invoice's devices to the warehouse before payment (who and why recorded)."""
    invoice = db.session.get(Invoice, uuid_or_404(invoice_id))
    if invoice is None:
        abort(404)
    try:
        order = packing.create_order_for_invoice(invoice, actor=current_user, released_by_hand=True,
                                                 reason=request.form.get("reason", ""))
    except packing.PackingError as exc:
        flash(str(exc), "error")
        return redirect(request.referrer or url_for("billing.invoices"))
    db.session.commit()
    flash(f"Sent to the warehouse: {order.device_count} devices to pack.", "success")
    return redirect(request.referrer or url_for("billing.invoices"))


# ---------------------------------------------------------------- inventory

@bp.get("/warehouse/inventory")
@require(INVENTORY)
def inventory_page():
    q = codes.clean(request.args.get("q"))
    kind = request.args.get("kind", "devices")
    status = request.args.get("status") or None
    rows, statuses = queries.inventory_rows(kind, q, status)
    return render("fulfillment/inventory.html", "inventory_rows", context=dict(rows=rows, kind=kind, q=q, status=status,
                  statuses=statuses))


def _intake_rows(kind: str) -> list[dict]:
    """Scanned codes (one per line) or an uploaded CSV with a header row."""
    upload = request.files.get("file")
    csv_data = upload.read(inventory.MAX_INTAKE_BYTES + 1) if upload and upload.filename else None
    return inventory.intake_rows(kind, csv_data=csv_data, scanned=request.form.get("codes", ""))


@bp.post("/warehouse/inventory/intake")
@require(INVENTORY)
def intake():
    kind = request.form.get("kind", "devices")
    try:
        rows = _intake_rows(kind)
        if not rows:
            raise inventory.InventoryError("Scan or paste at least one code, or choose a CSV file.")
        if kind == "sims":
            result = inventory.intake_sims(rows, actor=current_user, carrier=request.form.get("carrier") or None)
        else:
            result = inventory.intake_devices(rows, actor=current_user, model=request.form.get("model") or "GL300")
    except inventory.InventoryError as exc:
        return render("fulfillment/_intake_result.html", context=dict(error=str(exc), result=None), status=422)
    db.session.commit()
    response = render("fulfillment/_intake_result.html", context=dict(error=None, result=result, kind=kind),
                      status=200 if result.created or not result.problems else 422)
    return add_trigger(response, {"toast": {"message": f"{len(result.created)} added", "level": "success"}})


@bp.post("/warehouse/inventory/pair")
@require(INVENTORY)
def pair():
    device = inventory.find_device(request.form.get("device", ""), lock=True)
    sim = inventory.find_sim(request.form.get("iccid", ""), lock=True)
    try:
        if device is None or sim is None:
            raise inventory.InventoryError("Unknown device or SIM.")
        inventory.pair(device, sim, actor=current_user)
    except inventory.InventoryError as exc:
        return render("fulfillment/_intake_result.html", context=dict(error=str(exc), result=None), status=422)
    db.session.commit()
    return render("fulfillment/_intake_result.html", context=dict(error=None, result=None,
                  message=f"Paired {device.serial_number} with SIM …{sim.iccid[-6:]}."))


@bp.post("/warehouse/inventory/status")
@require(INVENTORY)
def change_status():
    code = request.form.get("code", "")
    target = request.form.get("status", "")
    try:
        if target == "DEACTIVATED":
            sim = inventory.find_sim(code, lock=True)
            if sim is None:
                raise inventory.InventoryError("No SIM with this ICCID.")
            inventory.deactivate_sim(sim, actor=current_user, reason=request.form.get("reason", ""))
        else:
            device = inventory.find_device(code, lock=True)
            if device is None or target not in ("RETURNED", "DEFECTIVE"):
                raise inventory.InventoryError("No device with this serial number or IMEI.")
            inventory.mark_device(device, DeviceStatus[target], actor=current_user,
                                  reason=request.form.get("reason", ""))
    except inventory.InventoryError as exc:
        return render("fulfillment/_intake_result.html", context=dict(error=str(exc), result=None), status=422)
    db.session.commit()
    return render("fulfillment/_intake_result.html", context=dict(error=None, result=None, message="Updated."))


@bp.route("/warehouse/activate", methods=["GET", "POST"])
@require(INVENTORY)
def activate():
    result = None
    if request.method == "POST":
        lines = [line for line in request.form.get("codes", "").splitlines() if line.strip()]
        result = inventory.activate(lines, actor=current_user)
        db.session.commit()
    return render("fulfillment/activate.html", context=dict(result=result),
                  status=422 if result and result.problems and not result.created else 200)


# ------------------------------------------------- what others see of the warehouse

@bp.get("/companies/<company_id>/devices")
@require(SALES)
def company_devices(company_id):
    """The company page's devices, SIMs and shipments (lazy-loaded partial)."""
    company_uuid = uuid_or_404(company_id)
    devices, orders = queries.company_devices(company_uuid)
    return render("fulfillment/_company_devices.html", context=dict(devices=devices, orders=orders))


@bp.get("/invoices/<invoice_id>/fulfillment")
@require(INVOICES)
def invoice_fulfillment(invoice_id):
    """The invoice page's fulfillment status (lazy-loaded partial), with release by hand."""
    invoice = db.session.get(Invoice, uuid_or_404(invoice_id))
    if invoice is None:
        abort(404)
    orders = queries.invoice_orders(invoice.id)
    return render("fulfillment/_invoice_fulfillment.html", context=dict(invoice=invoice, orders=orders,
                  device_count=packing.device_count_for(invoice)))
