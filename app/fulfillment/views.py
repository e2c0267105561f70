from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.auth.permissions import WAREHOUSE, require
from app.extensions import db
from app.fulfillment import bp
from app.fulfillment.models import (
    Device,
    DeviceStatus,
    FulfillmentOrder,
    FulfillmentStatus,
    SimCard,
    SimStatus,
)
from app.htmx import render


@bp.get("/warehouse")
@require(WAREHOUSE)
def warehouse():
    device_counts = dict(db.session.execute(select(Device.status, func.count()).group_by(Device.status)).all())
    sim_counts = dict(db.session.execute(select(SimCard.status, func.count()).group_by(SimCard.status)).all())
    queue = db.session.scalars(
        select(FulfillmentOrder)
        .where(FulfillmentOrder.status.in_([FulfillmentStatus.PENDING, FulfillmentStatus.PICKING]))
        .options(joinedload(FulfillmentOrder.company))
        .order_by(FulfillmentOrder.created_at).limit(50)
    ).all()
    return render("fulfillment/warehouse.html", device_counts=device_counts, sim_counts=sim_counts,
                  device_statuses=list(DeviceStatus), sim_statuses=list(SimStatus), queue=queue)
