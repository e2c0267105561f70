"""CRM background jobs: thin, idempotent, ids in."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from app.activity.services import LEADS_TO_SCORE
from app.crm.models import Lead
from app.crm.scoring.services import score_leads
from app.extensions import db
from app.queue import get_queue, redis_connection

BATCH = 2000
NIGHTLY_JOB_ID = "crm-nightly-lead-scores"
NIGHTLY_AT = time(3, 0)  # UTC
MARKED_JOB_ID = "crm-score-marked-leads"
MARKED_EVERY = timedelta(seconds=15)
SCORING = "crm:leads-scoring"  # the marks being scored now (see score_marked_leads)


def score_lead(lead_id: str) -> int:
    """Rescore one lead now."""
    written = score_leads([uuid.UUID(lead_id)])
    db.session.commit()
    return written


def score_marked_leads(reschedule: bool = True) -> int:
    """Rescore the leads whose activity changed (the set activity.record() fills),
    then book the next run.

    Nothing is lost if the worker dies: the marked set is renamed to a "scoring" set in
    one atomic step (new marks start a fresh set), and a lead leaves the scoring set only
    after its score is committed. A run first finishes what a crashed run left there.
    Scoring twice is harmless (an upsert)."""
    redis = redis_connection()
    total = 0
    try:
        for _ in range(2):  # the leftovers of a crashed run, if any, then the new marks
            if not redis.exists(SCORING):
                if not redis.exists(LEADS_TO_SCORE):
                    break
                redis.rename(LEADS_TO_SCORE, SCORING)  # (this job is the only renamer)
            members = sorted(redis.smembers(SCORING))
            for start in range(0, len(members), BATCH):
                chunk = members[start:start + BATCH]
                total += score_leads([uuid.UUID(m.decode() if isinstance(m, bytes) else m) for m in chunk])
                db.session.commit()
                redis.srem(SCORING, *chunk)
    finally:
        if reschedule:
            schedule_marked_scoring()
    return total


def schedule_marked_scoring() -> None:
    _schedule_once(get_queue("scoring"), MARKED_JOB_ID, datetime.now(UTC) + MARKED_EVERY,
                   "app.crm.scoring.jobs.score_marked_leads", "rescore leads with new activity")


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
    _schedule_once(get_queue("scoring"), NIGHTLY_JOB_ID, next_nightly_run(),
                   "app.crm.scoring.jobs.score_all_leads", "nightly lead scores")


def _schedule_once(queue, job_id: str, when: datetime, func: str, description: str) -> None:
    """Book a periodic job once (the job id makes a second booking a no-op). A booking left by an
    older release that calls another function (its module moved) is replaced: it would fail when
    due, and the next run would never be booked."""
    existing = queue.fetch_job(job_id)
    if existing is not None and existing.get_status(refresh=True) in ("scheduled", "queued", "deferred"):
        if existing.args[:1] == (func,):
            return
        existing.delete()
    queue.enqueue_at(when, "app.queue.run_job", func, job_id=job_id, description=description)
