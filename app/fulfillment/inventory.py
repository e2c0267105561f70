"""Devices and SIM cards in stock: intake, pairing, status changes.

Duplicates are refused by the database (unique serial, IMEI, ICCID); intake
reports them per row instead of failing the batch."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert

from app.activity.services import record
from app.extensions import db
from app.fulfillment import codes
from app.fulfillment.models import Device, DeviceStatus, SimCard, SimStatus


class InventoryError(Exception):
    """Refused; the message is shown as is."""


@dataclass
class IntakeResult:
    created: list[str] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (row, code, reason)


MAX_INTAKE_BYTES = 2 * 1024 * 1024


def intake_rows(kind: str, *, csv_data: bytes | None = None, scanned: str = "") -> list[dict]:
    """What an intake form brings: an uploaded CSV with a header row (`csv_data`), else the
    scanned codes, one per line. Rows as `intake_devices` / `intake_sims` (kind "sims") take them."""
    if csv_data is not None:
        if len(csv_data) > MAX_INTAKE_BYTES:
            raise InventoryError("That file is larger than 2 MB.")
        try:
            text = csv_data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InventoryError("The file is not UTF-8 text (save it as CSV UTF-8).") from None
        reader = csv.DictReader(io.StringIO(text))
        fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
        needed = {"iccid"} if kind == "sims" else {"serial_number", "imei"}
        if not fields & needed:
            raise InventoryError(f"The CSV needs a column named {' or '.join(sorted(needed))}.")
        return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
    lines = [line.strip() for line in scanned.splitlines() if line.strip()]
    if kind == "sims":
        return [{"iccid": line} for line in lines]
    return [{"imei": line, "serial_number": line} if codes.clean(line).isdigit() else {"serial_number": line}
            for line in lines]


def intake_devices(rows: list[dict], *, actor, model: str = "GL300") -> IntakeResult:
    """rows: {"serial_number", "imei"?, "model"?}. One INSERT ... ON CONFLICT DO NOTHING."""
    result, clean_rows, seen = IntakeResult(), [], set()
    for n, row in enumerate(rows, start=1):
        serial = codes.clean(row.get("serial_number"))
        imei = codes.clean(row.get("imei")) or None
        if not serial:
            serial = imei or ""
        if not serial:
            result.problems.append((n, "", "no serial number or IMEI"))
            continue
        if imei and (problem := codes.imei_problem(imei)):
            result.problems.append((n, imei, problem))
            continue
        if serial in seen or (imei and imei in seen):
            result.problems.append((n, imei or serial, "twice in this batch"))
            continue
        seen.update({serial, imei} - {None})
        clean_rows.append({"serial_number": serial, "imei": imei,
                           "model": (row.get("model") or model).strip()[:40] or "GL300"})
    if clean_rows:
        inserted = set(db.session.scalars(
            insert(Device).values(clean_rows).on_conflict_do_nothing().returning(Device.serial_number)))
        for n, row in enumerate(clean_rows, start=1):
            if row["serial_number"] in inserted:
                result.created.append(row["serial_number"])
            else:
                result.problems.append((n, row["imei"] or row["serial_number"], "already in inventory"))
    if result.created:
        record("inventory.devices_received", f"Received {len(result.created)} devices", actor=actor,
               detail={"count": len(result.created), "first": result.created[0]})
    db.session.flush()
    return result


def intake_sims(rows: list[dict], *, actor, carrier: str | None = None) -> IntakeResult:
    """rows: {"iccid", "phone_number"?, "carrier"?}."""
    result, clean_rows, seen = IntakeResult(), [], set()
    for n, row in enumerate(rows, start=1):
        iccid = codes.clean(row.get("iccid"))
        if problem := codes.iccid_problem(iccid):
            result.problems.append((n, iccid, problem))
            continue
        if iccid in seen:
            result.problems.append((n, iccid, "twice in this batch"))
            continue
        seen.add(iccid)
        clean_rows.append({"iccid": iccid, "phone_number": (row.get("phone_number") or "").strip() or None,
                           "carrier": (row.get("carrier") or carrier or "").strip() or None})
    if clean_rows:
        inserted = set(db.session.scalars(
            insert(SimCard).values(clean_rows).on_conflict_do_nothing().returning(SimCard.iccid)))
        for row in clean_rows:
            if row["iccid"] in inserted:
                result.created.append(row["iccid"])
            else:
                result.problems.append((0, row["iccid"], "already in inventory"))
    if result.created:
        record("inventory.sims_received", f"Received {len(result.created)} SIM cards", actor=actor,
               detail={"count": len(result.created)})
    db.session.flush()
    return result


def find_device(code: str, *, lock: bool = False) -> Device | None:
    code = codes.clean(code)
    query = select(Device).where(or_(Device.serial_number == code, Device.imei == code))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def find_sim(iccid: str, *, lock: bool = False) -> SimCard | None:
    query = select(SimCard).where(SimCard.iccid == codes.clean(iccid))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def pair(device: Device, sim: SimCard, *, actor) -> None:
    """1:1, both free. The unique device.sim_card_id backs the rule in the database."""
    if device.sim_card_id == sim.id:
        return
    if device.sim_card_id is not None:
        raise InventoryError(f"Device {device.serial_number} already has a SIM.")
    if sim.status not in (SimStatus.IN_STOCK,) or db.session.scalar(
            select(Device.id).where(Device.sim_card_id == sim.id)):
        raise InventoryError(f"SIM {sim.iccid} is already paired with another device.")
    if device.status not in (DeviceStatus.IN_STOCK, DeviceStatus.ASSIGNED):
        raise InventoryError(f"Device {device.serial_number} is {device.status.value.lower()}.")
    device.sim_card_id = sim.id
    db.session.flush()
    record("inventory.paired", f"Paired {device.serial_number} with SIM …{sim.iccid[-6:]}", actor=actor,
           company=device.company_id, detail={"device": device.serial_number, "sim": sim.iccid})


def mark_device(device: Device, status: DeviceStatus, *, actor, reason: str) -> None:
    if status not in (DeviceStatus.RETURNED, DeviceStatus.DEFECTIVE):
        raise InventoryError("Only RETURNED or DEFECTIVE can be set by hand.")
    reason = (reason or "").strip()
    if not reason:
        raise InventoryError("Say why.")
    before = device.status
    device.status = status
    db.session.flush()
    record(f"device.{status.value.lower()}", f"Device {device.serial_number} marked {status.value.lower()}: {reason}",
           actor=actor, company=device.company_id,
           detail={"device": device.serial_number, "before": before, "after": status, "reason": reason})


def deactivate_sim(sim: SimCard, *, actor, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise InventoryError("Say why.")
    before = sim.status
    sim.status = SimStatus.DEACTIVATED
    db.session.flush()
    record("sim.deactivated", f"SIM …{sim.iccid[-6:]} deactivated: {reason}", actor=actor,
           detail={"sim": sim.iccid, "before": before, "reason": reason})


def activate(codes_scanned: list[str], *, actor, on: date | None = None) -> IntakeResult:
    """Mark shipped devices ACTIVATED (and their SIMs ACTIVE), one or many by scanning."""
    on = on or datetime.now(UTC).date()
    result = IntakeResult()
    for n, raw in enumerate(codes_scanned, start=1):
        code = codes.clean(raw)
        if not code:
            continue
        device = find_device(code, lock=True)
        if device is None:
            sim = find_sim(code, lock=True)
            device = db.session.scalar(select(Device).where(Device.sim_card_id == sim.id)) if sim else None
        if device is None:
            result.problems.append((n, code, "unknown code"))
            continue
        if device.status not in (DeviceStatus.SHIPPED, DeviceStatus.ASSIGNED, DeviceStatus.ACTIVATED):
            result.problems.append((n, code, f"device is {device.status.value.lower()}, not shipped"))
            continue
        if device.status != DeviceStatus.ACTIVATED:
            device.status = DeviceStatus.ACTIVATED
            device.activation_date = on
            device.tracking_active = True
            if device.sim_card is not None:
                device.sim_card.status = SimStatus.ACTIVE
                device.sim_card.activated_at = datetime.now(UTC)
            record("device.activated", f"Device {device.serial_number} activated", actor=actor,
                   company=device.company_id, detail={"device": device.serial_number, "on": on})
        result.created.append(device.serial_number)
    db.session.flush()
    return result
