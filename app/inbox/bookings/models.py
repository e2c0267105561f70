"""Not in the spec: every Cal.com uid a booking has had (migration 0016)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.db import created_at
from app.extensions import db


class BookingUid(db.Model):
    """One uid (current or from before a reschedule) -> its booking row. A reschedule gives
    the booking a new uid; events naming any of its uids, in any order, find the one row."""

    __tablename__ = "booking_uids"

    uid: Mapped[str] = mapped_column(primary_key=True)
    booking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at()

    def __repr__(self) -> str:
        return f"<BookingUid {self.uid} -> {self.booking_id}>"


__all__ = ["BookingUid"]
