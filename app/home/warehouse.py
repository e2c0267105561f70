"""The warehouse's home: what waits to ship, what left today, what is running low."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.fulfillment.models import Device, DeviceStatus, FulfillmentOrder, SimCard, SimStatus
from app.home.owner import WAITING
from app.reports import settings as report_settings

SHOWN = 10


@dataclass
class ModelStock:
    model: str
    in_stock: int
    threshold: int | None

    @property
    def low(self) -> bool:
        return self.threshold is not None and self.in_stock <= self.threshold


@dataclass
class WarehouseHome:
    orders: list[FulfillmentOrder]
    waiting: int
    shipped_today: int
    stock: list[ModelStock]
    devices_in_stock: int
    sims_in_stock: int
    now: datetime

    @property
    def low_models(self) -> list[ModelStock]:
        return [s for s in self.stock if s.low]


def warehouse_home(now: datetime | None = None) -> WarehouseHome:
    now = now or datetime.now(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = db.session.execute(
        select(FulfillmentOrder, func.count().over()).where(FulfillmentOrder.status.in_(WAITING))
        .options(joinedload(FulfillmentOrder.company), joinedload(FulfillmentOrder.invoice))
        .order_by(FulfillmentOrder.created_at).limit(SHOWN)).all()
    shipped_today = db.session.scalar(
        select(func.count()).select_from(FulfillmentOrder)
        .where(FulfillmentOrder.shipped_at >= start, FulfillmentOrder.shipped_at < start + timedelta(days=1)))
    # every model we ever stocked, with how many are on the shelf
    by_model = db.session.execute(
        select(Device.model, func.count().filter(Device.status == DeviceStatus.IN_STOCK))
        .group_by(Device.model).order_by(Device.model)).all()
    sims = db.session.scalar(select(func.count()).select_from(SimCard).where(SimCard.status == SimStatus.IN_STOCK))
    thresholds = report_settings.low_stock_thresholds()
    stock = {model: ModelStock(model, n, thresholds.get(model)) for model, n in by_model}
    for model, threshold in thresholds.items():
        stock.setdefault(model, ModelStock(model, 0, threshold))
    ordered = sorted(stock.values(), key=lambda s: (not s.low, s.model))
    return WarehouseHome([r[0] for r in rows], rows[0][1] if rows else 0, shipped_today, ordered,
                         sum(s.in_stock for s in ordered), sims, now)
