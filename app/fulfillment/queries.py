"""Read-side queries of the warehouse pages (one statement per page part)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.billing.models import Invoice
from app.db import escape_like
from app.extensions import db
from app.fulfillment.models import (
    Device,
    DeviceStatus,
    FulfillmentOrder,
    FulfillmentStatus,
    SimCard,
    SimStatus,
)
from app.fulfillment.packing import OPEN, screen_options

INVENTORY_PAGE = 100
QUEUE_SIZE = 100


def order_for_packing(order_id: uuid.UUID) -> FulfillmentOrder | None:
    """An order with what the packing screen and the slip show: company, invoice and its
    address, items with their devices and SIMs."""
    return db.session.scalars(select(FulfillmentOrder).where(FulfillmentOrder.id == order_id)
                              .options(*screen_options())).unique().one_or_none()


@dataclass
class WarehouseOverview:
    device_counts: dict
    sim_counts: dict
    queue: list[FulfillmentOrder]


def warehouse_overview() -> WarehouseOverview:
    """Stock by status and the queue of orders to pick, pack and ship (oldest first)."""
    device_counts = dict(db.session.execute(select(Device.status, func.count()).group_by(Device.status)).all())
    sim_counts = dict(db.session.execute(select(SimCard.status, func.count()).group_by(SimCard.status)).all())
    queue = db.session.scalars(
        select(FulfillmentOrder)
        .where(FulfillmentOrder.status.in_(OPEN + (FulfillmentStatus.PACKED,)))
        .options(joinedload(FulfillmentOrder.company),
                 joinedload(FulfillmentOrder.invoice).joinedload(Invoice.ship_to_address),
                 joinedload(FulfillmentOrder.invoice).joinedload(Invoice.shipping_type))
        .order_by(FulfillmentOrder.created_at).limit(QUEUE_SIZE)
    ).all()
    return WarehouseOverview(device_counts, sim_counts, list(queue))


def inventory_rows(kind: str, q: str | None, status: str | None) -> tuple[list, list]:
    """The newest devices (or SIMs, kind "sims") whose codes contain `q`, of `status` when it
    names one; and the statuses to filter by."""
    if kind == "sims":
        query = select(SimCard).options(joinedload(SimCard.device)).order_by(SimCard.created_at.desc())
        if q:
            pattern = f"%{escape_like(q)}%"
            query = query.where(or_(SimCard.iccid.like(pattern), SimCard.phone_number.like(pattern)))
        if status in SimStatus.__members__:
            query = query.where(SimCard.status == SimStatus[status])
        statuses = list(SimStatus)
    else:
        query = select(Device).options(joinedload(Device.sim_card), joinedload(Device.company)) \
            .order_by(Device.created_at.desc())
        if q:
            pattern = f"%{escape_like(q)}%"
            query = query.where(or_(Device.serial_number.like(pattern), Device.imei.like(pattern)))
        if status in DeviceStatus.__members__:
            query = query.where(Device.status == DeviceStatus[status])
        statuses = list(DeviceStatus)
    return list(db.session.scalars(query.limit(INVENTORY_PAGE)).unique().all()), statuses


def company_devices(company_id: uuid.UUID) -> tuple[list[Device], list[FulfillmentOrder]]:
    """A company's devices (with their SIMs) and its shipments, newest first."""
    devices = db.session.scalars(
        select(Device).where(Device.company_id == company_id).options(joinedload(Device.sim_card))
        .order_by(Device.status, Device.serial_number).limit(200)).all()
    orders = db.session.scalars(
        select(FulfillmentOrder).where(FulfillmentOrder.company_id == company_id)
        .options(joinedload(FulfillmentOrder.invoice)).order_by(FulfillmentOrder.created_at.desc()).limit(50)).all()
    return list(devices), list(orders)


def invoice_orders(invoice_id: uuid.UUID) -> list[FulfillmentOrder]:
    """An invoice's fulfillment orders, newest first."""
    return list(db.session.scalars(select(FulfillmentOrder).where(FulfillmentOrder.invoice_id == invoice_id)
                                   .order_by(FulfillmentOrder.created_at.desc())).all())
