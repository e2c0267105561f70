"""CRM background jobs: thin, idempotent, ids in."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from app.activity.services import LEADS_TO_SCORE
from app.crm.models import Lead
from app.crm.scoring.services import score_leads
from app.extensions import db
from app.queue import redis_connection

BATCH = 2000
NIGHTLY_AT = time(3, 0)  # UTC
SCORING = "crm:leads-scoring"  # the marks being scored now (see score_marked_leads)


def score_lead(lead_id: str) -> int:
    """Rescore one lead now."""
    written = score_leads([uuid.UUID(lead_id)])
    db.session.commit()
    return written


def score_marked_leads() -> int:
    """Rescore the leads whose activity changed (the set activity.record() fills). Every
    15 s (app/schedule.py runs it).

    Nothing is lost if the worker dies: the marked set is renamed to a "scoring" set in
    one atomic step (new marks start a fresh set), and a lead leaves the scoring set only
    after its score is committed. A run first finishes what a crashed run left there.
    Scoring twice is harmless (an upsert)."""
    redis = redis_connection()
    total = 0
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
    return total


def score_all_leads() -> int:
    """Nightly (app/schedule.py): every lead, in keyset batches, one commit per batch."""
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
    return total


def next_nightly_run(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    run = datetime.combine(now.date(), NIGHTLY_AT, tzinfo=UTC)
    return run if run > now else run + timedelta(days=1)


REMARK_LAG = timedelta(minutes=2)  # marks are drained every 15 s: older unscored activity lost its mark
REMARK_WINDOW = timedelta(days=1)  # older than that: the nightly rescoring
REMARK_LIMIT = 5000


def remark_unscored_leads(now: datetime | None = None, lag: timedelta = REMARK_LAG) -> int:
    """Mark again the leads whose score is older than their last activity (the mark was lost:
    Redis was away at the commit, or wiped). The database is the truth; the mark a hint. Run
    once a minute by the job outbox relay's sweeps. Returns how many were marked."""
    from app.activity.services import LEADS_TO_SCORE
    from app.crm.models import LeadScore
    from app.queue import redis_connection

    now = now or datetime.now(UTC)
    ids = db.session.scalars(
        select(Lead.id).outerjoin(LeadScore, LeadScore.lead_id == Lead.id)
        .where(Lead.last_activity_at > now - REMARK_WINDOW, Lead.last_activity_at < now - lag,
               (LeadScore.updated_at.is_(None)) | (LeadScore.updated_at < Lead.last_activity_at))
        .limit(REMARK_LIMIT)
    ).all()
    if ids:
        redis_connection().sadd(LEADS_TO_SCORE, *(str(i) for i in ids))
    return len(ids)
