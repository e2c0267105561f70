"""Two reps on one call list, on two real connections committing for real: never the same
lead. The claim is one INSERT ... ON CONFLICT DO NOTHING on (list, lead): a rep who picks the
lead another rep is claiming waits for that commit, inserts nothing, and takes the next."""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from app.auth.models import UserRole
from tests.conftest import committing_app


@pytest.fixture(scope="module")
def dial_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_dialer_claims") as app:
        yield app


def _setup(app, n_leads: int):
    from app.extensions import db
    from app.inbox.calls import services
    from tests.factories import Factory

    with app.app_context():
        factory = Factory(db.session)
        reps = [factory.user(UserRole.REP) for _ in range(2)]
        leads = []
        for i in range(n_leads):
            company = factory.company()
            contact = factory.contact(company, phone_e164=f"+1737555{i:04d}")
            leads.append(factory.lead(company=company, contact=contact))
        call_list = services.create_call_list("Race", [lead.id for lead in leads], {}, actor=reps[0])
        db.session.commit()
        ids = ([r.id for r in reps], [lead.id for lead in leads], call_list.id)
        db.session.remove()
        return ids


def test_a_rep_claiming_while_another_holds_an_uncommitted_claim_gets_the_next_lead(dial_app):
    from app.auth.models import User
    from app.extensions import db
    from app.inbox.calls import services
    from app.inbox.models import CallList

    rep_ids, lead_ids, list_id = _setup(dial_app, 3)
    a_claimed, b_may_start, results = threading.Event(), threading.Event(), {}

    def rep_a():
        with dial_app.app_context():
            claim = services.claim_next(db.session.get(CallList, list_id), db.session.get(User, rep_ids[0]))
            results["a"] = claim.lead_id
            a_claimed.set()
            b_may_start.wait(10)
            time.sleep(1.0)  # rep B's claim is now waiting on ours
            db.session.commit()
            db.session.remove()

    def rep_b():
        with dial_app.app_context():
            call_list, user = db.session.get(CallList, list_id), db.session.get(User, rep_ids[1])
            a_claimed.wait(10)
            b_may_start.set()
            started = time.monotonic()
            claim = services.claim_next(call_list, user)
            results["b_waited"] = time.monotonic() - started
            results["b"] = claim.lead_id
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=rep_a), threading.Thread(target=rep_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["a"] == lead_ids[0]
    assert results["b"] == lead_ids[1]
    assert results["b_waited"] >= 0.5  # it did meet A's uncommitted claim (not a sequential run)


def test_two_reps_walking_one_list_never_share_a_lead(dial_app):
    from app.auth.models import User
    from app.extensions import db
    from app.inbox.calls import services
    from app.inbox.models import CallList, CallOutcome, MessageDirection

    rep_ids, lead_ids, list_id = _setup(dial_app, 30)
    got: dict[int, list] = {0: [], 1: []}
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def walk(index: int):
        try:
            with dial_app.app_context():
                go.wait(10)
                while True:
                    call_list, user = db.session.get(CallList, list_id), db.session.get(User, rep_ids[index])
                    claim = services.claim_next(call_list, user)
                    db.session.commit()
                    if claim is None:
                        break
                    lead_id = claim.lead_id
                    got[index].append(lead_id)
                    from app.crm.models import Lead

                    call = services.log_call(db.session.get(Lead, lead_id), actor=user,
                                             direction=MessageDirection.OUTBOUND, outcome=CallOutcome.NO_ANSWER)
                    services.complete_claim(call_list, user, lead_id, call=call)
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=walk, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    together = got[0] + got[1]
    assert Counter(together).most_common(1)[0][1] == 1, "a lead was given to both reps"
    assert set(together) == set(lead_ids)
    assert got[0] and got[1]  # both reps did call
    with dial_app.app_context():
        assert db.session.get(CallList, list_id).position == 30
        db.session.remove()
