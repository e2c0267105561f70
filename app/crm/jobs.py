"""CRM background jobs: thin, idempotent, ids in."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from app.crm.models import Lead
from app.crm.scoring import score_leads
from app.extensions import db

BATCH = 2000
NIGHTLY_JOB_ID = "crm-nightly-lead-scores"
NIGHTLY_AT = time(3, 0)  # UTC


def score_lead(lead_id: str) -> int:
    """Rescore one lead (enqueued when its activity changes)."""
    written = score_leads([uuid.UUID(lead_id)])
    db.session.commit()
    return written


def score_all_leads() -> int:
    """Nightly: every lead, in keyset batches, one commit per batch; then book the next night."""
    total, after = 0, None
    while True:
        query = select(Lead.id).order_by(Lead.id).limit(BATCH)
        if after is not None:
            query = query.where(Lead.id > after)
        ids = db.session.scalars(query).all()
        if not ids:
            break
        total += score_leads(list(ids))
        db.session.commit()
        after = ids[-1]
    schedule_nightly_scores()
    return total


def next_nightly_run(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    run = datetime.combine(now.date(), NIGHTLY_AT, tzinfo=UTC)
    return run if run > now else run + timedelta(days=1)


def schedule_nightly_scores() -> None:
    """Book the nightly scoring once (the job id makes a second booking a no-op)."""
    from app.queue import get_queue

    queue = get_queue("scoring")
    existing = queue.fetch_job(NIGHTLY_JOB_ID)
    if existing is not None and existing.get_status(refresh=True) in ("scheduled", "queued", "started"):
        return
    queue.enqueue_at(next_nightly_run(), "app.queue.run_job", "app.crm.jobs.score_all_leads",
                     job_id=NIGHTLY_JOB_ID, description="nightly lead scores")
