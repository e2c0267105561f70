"""Page loads for bookings: a lead's card, the unmatched list."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select

from app.extensions import db
from app.inbox.models import Booking, BookingStatus

RECENT = 5
UNMATCHED_PAGE = 100


@dataclass
class LeadBookings:
    upcoming: list[Booking]  # not cancelled, not over yet, soonest first
    recent: list[Booking]  # over or cancelled, newest first
    unmatched: int  # bookings nobody has attached yet (a link to the list)


def lead_bookings(lead_id: uuid.UUID, now: datetime | None = None) -> LeadBookings:
    """Three statements whatever the lead's bookings (the card is loaded after the page)."""
    now = now or datetime.now(UTC)
    of_lead = select(Booking).where(Booking.lead_id == lead_id)
    upcoming = db.session.scalars(
        of_lead.where(Booking.status != BookingStatus.CANCELLED, Booking.end_at >= now)
        .order_by(Booking.start_at, Booking.id)).all()
    recent = db.session.scalars(
        of_lead.where(or_(Booking.status == BookingStatus.CANCELLED, Booking.end_at < now))
        .order_by(Booking.start_at.desc(), Booking.id).limit(RECENT)).all()
    return LeadBookings(list(upcoming), list(recent), unmatched_count())


def unmatched_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Booking).where(Booking.contact_id.is_(None)))


def unmatched_bookings() -> list[Booking]:
    """Bookings whose attendee is no contact of ours, the latest meeting first."""
    return list(db.session.scalars(
        select(Booking).where(Booking.contact_id.is_(None))
        .order_by(Booking.start_at.desc(), Booking.id).limit(UNMATCHED_PAGE)))
