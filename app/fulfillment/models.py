"""Inventory and fulfillment: GPS devices, their SIM cards (1:1), and the orders
that ship them against an invoice."""
from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, updated_at, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.billing.models import Invoice
    from app.crm.models import Company


class DeviceStatus(enum.Enum):
    IN_STOCK = "IN_STOCK"
    ASSIGNED = "ASSIGNED"
    SHIPPED = "SHIPPED"
    ACTIVATED = "ACTIVATED"
    RETURNED = "RETURNED"
    DEFECTIVE = "DEFECTIVE"


class SimStatus(enum.Enum):
    IN_STOCK = "IN_STOCK"
    ASSIGNED = "ASSIGNED"
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"


class FulfillmentStatus(enum.Enum):
    PENDING = "PENDING"
    PICKING = "PICKING"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELED = "CANCELED"


class Device(db.Model):
    """A physical GPS tracker; at most one SIM card (sim_card_id is unique)."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = uuid_pk()
    serial_number: Mapped[str] = mapped_column(unique=True)
    imei: Mapped[str | None] = mapped_column(unique=True)
    model: Mapped[str] = mapped_column(server_default=text("'GL300'"), default="GL300")
    status: Mapped[DeviceStatus] = mapped_column(
        Enum(DeviceStatus, name="device_status"),
        index=True,
        server_default=DeviceStatus.IN_STOCK.value,
        default=DeviceStatus.IN_STOCK,
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL")
    )
    sim_card_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sim_cards.id", ondelete="SET NULL"), unique=True
    )
    activation_date: Mapped[date | None]
    tracking_active: Mapped[bool] = mapped_column(
        Boolean, server_default=sql_bool(False), default=False
    )
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    company: Mapped[Company | None] = relationship(back_populates="devices")
    invoice: Mapped[Invoice | None] = relationship(back_populates="devices")
    sim_card: Mapped[SimCard | None] = relationship(back_populates="device")
    fulfillment_items: Mapped[list[FulfillmentItem]] = relationship(back_populates="device")

    def __repr__(self) -> str:
        return f"<Device {self.serial_number} {self.status.value if self.status else None}>"


class SimCard(db.Model):
    __tablename__ = "sim_cards"

    id: Mapped[uuid.UUID] = uuid_pk()
    iccid: Mapped[str] = mapped_column(unique=True)
    phone_number: Mapped[str | None]
    carrier: Mapped[str | None]
    status: Mapped[SimStatus] = mapped_column(
        Enum(SimStatus, name="sim_status"),
        index=True,
        server_default=SimStatus.IN_STOCK.value,
        default=SimStatus.IN_STOCK,
    )
    activated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    # The back side of Device.sim_card (1:1).
    device: Mapped[Device | None] = relationship(
        back_populates="sim_card", uselist=False, passive_deletes=True
    )
    fulfillment_items: Mapped[list[FulfillmentItem]] = relationship(
        back_populates="sim_card", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<SimCard {self.iccid} {self.status.value if self.status else None}>"


class FulfillmentOrder(db.Model):
    """A shipment of devices fulfilling an invoice."""

    __tablename__ = "fulfillment_orders"
    __table_args__ = (
        # One order per invoice unless canceled: two releases at once cannot both insert.
        Index("uq_fulfillment_orders_invoice_id_open", "invoice_id", unique=True,
              postgresql_where=text("status <> 'CANCELED'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"))
    status: Mapped[FulfillmentStatus] = mapped_column(
        Enum(FulfillmentStatus, name="fulfillment_status"),
        index=True,
        server_default=FulfillmentStatus.PENDING.value,
        default=FulfillmentStatus.PENDING,
    )
    device_count: Mapped[int] = mapped_column(Integer)
    tracking_number: Mapped[str | None]
    carrier: Mapped[str | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    invoice: Mapped[Invoice] = relationship(back_populates="fulfillment_orders")
    company: Mapped[Company] = relationship(back_populates="fulfillment_orders")
    items: Mapped[list[FulfillmentItem]] = relationship(
        back_populates="fulfillment_order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="FulfillmentItem.created_at",
    )


class FulfillmentItem(db.Model):
    """One device (and optionally its SIM) in a fulfillment order."""

    __tablename__ = "fulfillment_items"

    id: Mapped[uuid.UUID] = uuid_pk()
    # indexed (migration 0034): every step of packing reads an order's items; a scan asks
    # which open order holds a device
    fulfillment_order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fulfillment_orders.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"), index=True)
    sim_card_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sim_cards.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at()

    fulfillment_order: Mapped[FulfillmentOrder] = relationship(back_populates="items")
    device: Mapped[Device] = relationship(back_populates="fulfillment_items")
    sim_card: Mapped[SimCard | None] = relationship(back_populates="fulfillment_items")


__all__ = [
    "Device",
    "DeviceStatus",
    "FulfillmentItem",
    "FulfillmentOrder",
    "FulfillmentStatus",
    "SimCard",
    "SimStatus",
]


class FulfillmentScan(db.Model):
    """Not in the spec: the packing screen's scan log, one row per accepted scan.

    It is what "undo last scan" undoes and what tells a scanner's double Enter
    (the same code twice within a second) from a real second scan."""

    __tablename__ = "fulfillment_scans"
    __table_args__ = (Index(None, "fulfillment_order_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    fulfillment_order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("fulfillment_orders.id", ondelete="CASCADE"))
    code: Mapped[str]
    kind: Mapped[str]  # device | sim
    # indexed: deleting an item (an undone device scan) sets its scans' item_id to NULL
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fulfillment_items.id", ondelete="SET NULL"),
                                                      index=True)
    paired_new: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(False), default=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
