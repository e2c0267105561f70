"""Scores are recomputed by a real worker when a lead's activity changes, and nightly."""
from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.activity.services import record
from app.crm.models import LeadScore
from app.crm.scoring.jobs import score_all_leads
from app.queue import QUEUES, get_queue, redis_connection


def work():
    SimpleWorker([get_queue(n) for n in QUEUES], connection=redis_connection()).work(burst=True)


def test_activity_change_rescores_the_lead_once(app, db_session, factory):
    from app.activity.services import LEADS_TO_SCORE
    from app.crm.scoring.jobs import score_marked_leads

    lead = factory.lead(company=factory.company(fleet_size=30, industry="Towing"))
    for _ in range(3):
        record("call.logged", "Talked about 30 trackers", lead=lead)
    assert redis_connection().scard(LEADS_TO_SCORE) == 0  # nothing before the commit
    db_session.commit()
    assert redis_connection().smembers(LEADS_TO_SCORE) == {str(lead.id).encode()}  # three activities, one mark
    assert score_marked_leads() == 1
    assert redis_connection().scard(LEADS_TO_SCORE) == 0
    score = db_session.scalar(select(LeadScore).where(LeadScore.lead_id == lead.id))
    # fleet 20-39: 40, a target industry: 30; three calls in the window: 3 x 15
    assert score.quality_score == 40 + 30 and score.engagement_score == 45 and score.days_since_contact == 0


def test_nightly_scores_every_lead(app, db_session, factory):
    leads = [factory.lead() for _ in range(3)]
    assert score_all_leads() == 3
    scored = db_session.scalars(select(LeadScore.lead_id)).all()
    assert sorted(scored) == sorted(lead.id for lead in leads)
    assert score_all_leads() == 3  # twice: upserts, no duplicates
    assert sorted(db_session.scalars(select(LeadScore.lead_id)).all()) == sorted(scored)


def test_a_worker_dying_mid_batch_loses_no_mark(app, db_session, factory, monkeypatch):
    from app.activity.services import LEADS_TO_SCORE
    from app.crm.scoring import jobs

    redis = redis_connection()
    redis.delete(LEADS_TO_SCORE, jobs.SCORING)
    first, second = factory.lead(), factory.lead()
    record("call.logged", "Called", lead=first)
    record("call.logged", "Called", lead=second)
    db_session.commit()

    def die(lead_ids):
        raise SystemExit("worker killed")  # what a killed work-horse leaves behind

    monkeypatch.setattr(jobs, "score_leads", die)
    with pytest.raises(SystemExit):
        jobs.score_marked_leads()
    assert redis.scard(jobs.SCORING) == 2  # still there, in the scoring set
    third = factory.lead()
    record("call.logged", "Called", lead=third)  # a mark made after the crash
    db_session.commit()
    monkeypatch.undo()
    assert jobs.score_marked_leads() == 3  # the leftovers, then the new mark
    assert redis.scard(jobs.SCORING) == 0 and redis.scard(LEADS_TO_SCORE) == 0
    scored = set(db_session.scalars(select(LeadScore.lead_id)).all())
    assert scored == {first.id, second.id, third.id}
