"""Board moves committed for real by concurrent sessions: no deadlock, no lost count.

Each move locks its lead, then both stages' totals rows in stage order, before the
leads trigger updates them: reps moving leads in opposite directions at the same
moment must neither deadlock (the trigger alone locks the old stage's row, then the
new one's) nor leave lead_stage_totals apart from a recount.
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.auth.models import UserRole
from app.crm.models import LeadStage
from tests.conftest import committing_app


@pytest.fixture(scope="module")
def moves_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_board_moves") as app:
        yield app


def recount(session) -> dict:
    rows = session.execute(sa.text("""
        SELECT s.stage::text, count(l.id), COALESCE(sum(l.estimated_revenue), 0)
          FROM unnest(enum_range(NULL::lead_stage)) AS s(stage)
          LEFT JOIN leads l ON l.stage = s.stage GROUP BY s.stage""")).all()
    return {stage: (count, revenue) for stage, count, revenue in rows}


def maintained(session) -> dict:
    rows = session.execute(sa.text("SELECT stage::text, lead_count, revenue FROM lead_stage_totals")).all()
    return {stage: (count, revenue) for stage, count, revenue in rows}


def rep_recount(session, rep_id) -> dict:
    rows = session.execute(sa.text("""
        SELECT l.stage::text, count(*), COALESCE(sum(l.estimated_revenue), 0) FROM leads l
          JOIN companies c ON c.id = l.company_id WHERE c.assigned_rep_id = :rep GROUP BY l.stage"""),
        {"rep": rep_id}).all()
    return {stage: (count, revenue) for stage, count, revenue in rows}


def rep_maintained(session, rep_id) -> dict:
    rows = session.execute(sa.text("SELECT stage::text, lead_count, revenue FROM lead_stage_rep_totals "
                                   "WHERE rep_id = :rep AND lead_count <> 0"), {"rep": rep_id}).all()
    return {stage: (count, revenue) for stage, count, revenue in rows}


def test_opposite_moves_at_once_neither_deadlock_nor_drift(moves_app):
    from app.auth.services import create_user
    from app.crm.pipeline.moves import StageConflict, move_lead_to_stage
    from app.extensions import db
    from tests.factories import Factory

    app = moves_app
    with app.app_context():
        factory = Factory(db.session)
        rep = create_user(email="mover@example.com", first_name="Mo", last_name="Ver",
                          role=UserRole.REP, password="mover pass 123")
        # all the rep's: their board filtered by "mine" is kept by the per-rep totals too
        hot = [factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.HOT,
                            estimated_revenue=Decimal(f"{100 + i}.25")) for i in range(4)]
        qualified = [factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.QUALIFIED,
                                  estimated_revenue=Decimal(f"{300 + i}.50")) for i in range(4)]
        contested = factory.lead(company=factory.company(assigned_rep_id=rep.id), stage=LeadStage.HOT,
                                 estimated_revenue=Decimal("999.99"))
        db.session.commit()
        rep_id = rep.id
        workers: list[tuple] = [(lead.id, LeadStage.HOT, LeadStage.QUALIFIED) for lead in hot]
        workers += [(lead.id, LeadStage.QUALIFIED, LeadStage.HOT) for lead in qualified]
        workers += [(contested.id, LeadStage.HOT, LeadStage.QUOTED)] * 2  # two reps, one lead
        before = maintained(db.session)
        assert before == recount(db.session)
        db.session.remove()

    rounds, errors, conflicts = 12, [], []
    barrier = threading.Barrier(len(workers))

    def mover(lead_id, first, second):
        with app.app_context():
            from app.auth.models import User

            actor = db.session.get(User, rep_id)
            barrier.wait()
            stage, other = first, second
            try:
                for _ in range(rounds):
                    try:
                        result = move_lead_to_stage(lead_id, other, actor=actor, expected_stage=stage)
                        db.session.commit()
                        assert set(result.totals) == {stage, other}
                        stage, other = other, stage
                    except StageConflict as exc:  # the other rep moved it first
                        db.session.rollback()
                        conflicts.append(exc.current_stage)
                        stage = exc.current_stage
                        other = first if stage != first else second
            except Exception as exc:  # a deadlock surfaces here as OperationalError
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=mover, args=w) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a mover is stuck (deadlock?)"
    assert not errors, errors[:3]
    assert conflicts, "the two reps of the contested lead never collided"

    with app.app_context():
        assert maintained(db.session) == recount(db.session)
        assert rep_maintained(db.session, rep_id) == rep_recount(db.session, rep_id)
        moves = db.session.scalar(sa.text(
            "SELECT count(*) FROM activities WHERE activity_type = 'lead.stage_changed'"))
        # every move that did not conflict wrote exactly one activity
        assert moves == len(workers) * rounds - len(conflicts)
        db.session.remove()
