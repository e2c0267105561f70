"""The append-only activity log.

`record()` is the one way to write an activity; the database refuses UPDATE and
DELETE on the table (trigger in the initial migration). Services call it inside
their unit of work; it flushes nothing itself and the caller commits. The board
move, whose whole write is one statement, inserts the row `activity_values` shapes.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import insert, select

from app.activity.models import Activity
from app.extensions import db
from app.paging import Keyset, split_page

PAGE_SIZE = 20
LEADS_TO_SCORE = "crm:leads-to-score"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _id(obj) -> uuid.UUID | None:
    if obj is None or isinstance(obj, uuid.UUID):
        return obj
    return obj.id


def activity_values(
    activity_type: str,
    summary: str,
    *,
    actor=None,
    lead=None,
    company=None,
    contact=None,
    detail: dict | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one activity row. `record()` adds them through the session; a hot
    path that writes its activity inside its own statement (the board move) inserts
    them itself and calls `mark_lead_for_scoring`."""
    return {
        "id": uuid.uuid4(),
        "activity_type": activity_type,
        "summary": summary[:500],
        "user_id": _id(actor),
        "lead_id": _id(lead),
        "company_id": _id(company),
        "contact_id": _id(contact),
        "detail": _jsonable(detail) if detail is not None else None,
        # Python's clock, not the transaction's now(): activities of one transaction
        # keep their order on the timeline.
        "occurred_at": occurred_at or datetime.now(UTC),
    }


def mark_lead_for_scoring(lead_id: uuid.UUID) -> None:
    """A lead's activity changed: its score follows (app.crm.scoring.jobs drains this set every
    few seconds; one SADD per commit keeps writes fast)."""
    from app.queue import mark_after_commit

    mark_after_commit(LEADS_TO_SCORE, lead_id)


def record(
    activity_type: str,
    summary: str,
    *,
    actor=None,
    lead=None,
    company=None,
    contact=None,
    detail: dict | None = None,
    occurred_at: datetime | None = None,
) -> Activity:
    """Append one activity. `actor` None means the system (a job, a webhook)."""
    activity = Activity(**activity_values(activity_type, summary, actor=actor, lead=lead, company=company,
                                          contact=contact, detail=detail, occurred_at=occurred_at))
    db.session.add(activity)
    if activity.lead_id is not None:
        mark_lead_for_scoring(activity.lead_id)
    return activity


def record_many(rows: list[dict[str, Any]]) -> None:
    """Append many activities in one statement (a bulk writer: the CSV import). Each row is
    what `activity_values` returns; its lead is marked for scoring, as `record()` does."""
    if not rows:
        return
    db.session.execute(insert(Activity).execution_options(render_nulls=True), rows)
    for row in rows:
        if row["lead_id"] is not None:
            mark_lead_for_scoring(row["lead_id"])


@dataclass
class TimelinePage:
    items: list[Activity]
    next_cursor: str | None
    # slug -> name of the tags whose slug an item's summary shows (demo rows written before
    # summaries named tags); the timeline shows the name, as everywhere else.
    tag_names: dict[str, str] = field(default_factory=dict)


def _slug_tag_names(items: list[Activity]) -> dict[str, str]:
    from app.crm.models import Tag

    slugs = {item.detail["tag"] for item in items
             if item.activity_type.startswith("tag.") and isinstance(item.detail, dict)
             and isinstance(item.detail.get("tag"), str) and item.summary.endswith(item.detail["tag"])}
    if not slugs:
        return {}
    return dict(db.session.execute(select(Tag.slug, Tag.name).where(Tag.slug.in_(slugs))).all())


TIMELINE_ORDER = Keyset(Activity.occurred_at, Activity.id, descending=True, kind=datetime)


def timeline(*, lead_id=None, company_id=None, contact_id=None, user_id=None,
             cursor: str | None = None, limit: int = PAGE_SIZE) -> TimelinePage:
    """Newest first, keyset-paged on (occurred_at, id)."""
    from sqlalchemy.orm import selectinload

    query = select(Activity).options(selectinload(Activity.user))
    if lead_id:
        query = query.where(Activity.lead_id == lead_id)
    if company_id:
        query = query.where(Activity.company_id == company_id)
    if contact_id:
        query = query.where(Activity.contact_id == contact_id)
    if user_id:
        query = query.where(Activity.user_id == user_id)
    query = TIMELINE_ORDER.continue_after(query, cursor)
    items, more = split_page(db.session.scalars(
        query.order_by(*TIMELINE_ORDER.order_by()).limit(limit + 1)), limit)
    next_cursor = TIMELINE_ORDER.cursor(items[-1].occurred_at, items[-1].id) if more else None
    return TimelinePage(items=items, next_cursor=next_cursor,
                        tag_names=_slug_tag_names(items))
