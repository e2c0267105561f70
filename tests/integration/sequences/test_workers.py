"""Each step exactly once with real concurrency: two ticks racing over the same due runs,
and a real worker process SIGKILLed mid-tick (issue 11's reliability tests).

Real `flask --app wsgi worker` processes (as tests/integration/test_faults_workers.py starts
them) on a database of their own; the e-mail steps go through the inbox's send job to the
development outbox, whose `message_key` (our Message-ID) is unique: a second send of one
message could not even be stored, so the counts below are exact."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from tests.conftest import committing_app
from tests.integration.test_faults_workers import Workers, descendants, running, wait_for

ALL_DAY = {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "23:59"}


def _setup(app, leads: int) -> None:
    """`leads` leads tagged at once in one transaction: `leads` runs due now, each an e-mail
    step then a task step."""
    from app.auth.models import UserRole
    from app.crm.models import Lead, Tag, TagCategory
    from app.crm.records.lead_list import bulk_apply
    from app.extensions import db
    from app.sequences.definitions import save_definition
    from tests.factories import Factory
    from tests.integration.sequences.conftest import make_templates

    factory = Factory(db.session)
    admin = factory.user(UserRole.ADMIN)
    rep = factory.user(UserRole.REP)
    db.session.add(Tag(slug="interested", name="Interested", category=TagCategory.DISPOSITION))
    email, _ = make_templates(admin)
    save_definition(None, name="Race", tag_slug="interested", description=None, is_active=True, window=ALL_DAY,
                    steps=[{"type": "email", "template_id": str(email.id)},
                           {"type": "task", "task_type": "FOLLOW_UP", "priority": "NORMAL", "text": "Follow up"}],
                    actor=admin)
    ids = []
    for n in range(leads):
        company = factory.company(assigned_rep_id=rep.id)
        contact = factory.contact(company, timezone="UTC", email=f"race{n}@fleet.example",
                                  email_normalized=f"race{n}@fleet.example")
        ids.append(factory.lead(company, contact).id)
    db.session.commit()
    bulk_apply(ids, "tag", actor=admin, tag="interested")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Lead)) == leads


def _counts() -> dict[str, int]:
    from app.extensions import db

    db.session.rollback()
    row = db.session.execute(text("""
        SELECT (SELECT count(*) FROM sequence_step_logs) AS logs,
               (SELECT count(*) FROM sequence_step_logs WHERE step_number = 0) AS email_logs,
               (SELECT count(*) FROM email_messages WHERE direction = 'OUTBOUND') AS emails,
               (SELECT count(*) FROM tasks WHERE sequence_run_id IS NOT NULL) AS tasks,
               (SELECT count(*) FROM sequence_runs WHERE status = 'COMPLETED') AS completed,
               (SELECT count(*) FROM outbox_messages) AS sent,
               (SELECT count(*) FROM (SELECT sequence_run_id, step_number FROM sequence_step_logs
                                      GROUP BY 1, 2 HAVING count(*) > 1) d) AS duplicate_logs,
               (SELECT count(*) FROM (SELECT t.lead_id FROM email_threads t JOIN email_messages m
                                      ON m.thread_id = t.id AND m.direction = 'OUTBOUND'
                                      GROUP BY 1 HAVING count(*) > 1) d) AS leads_emailed_twice,
               (SELECT count(*) FROM sequence_runs r WHERE r.current_step <>
                   (SELECT count(*) FROM sequence_step_logs l WHERE l.sequence_run_id = r.id)) AS torn_runs
    """)).mappings().one()
    return dict(row)


@pytest.fixture
def race_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_sequences_race", SEQUENCE_BATCH=20) as app:
        yield app


@pytest.mark.parametrize("ticks", [2, 4])
def test_ticks_racing_over_the_same_due_runs_do_each_step_once(race_app, capsys, ticks):
    from app.extensions import db
    from app.sequences import engine

    runs = 300
    with race_app.app_context():
        _setup(race_app, runs)
    outcomes, errors = [], []
    start = threading.Barrier(ticks)

    def tick():
        try:
            with race_app.app_context():
                start.wait()
                outcomes.append(engine.tick(batch=20))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(ticks)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    elapsed = time.monotonic() - started
    assert not errors, errors
    assert all(o.claimed > 0 for o in outcomes), outcomes  # both ticks really worked on the runs
    with race_app.app_context():
        counts = _counts()
    assert counts["duplicate_logs"] == 0 and counts["leads_emailed_twice"] == 0 and counts["torn_runs"] == 0
    assert (counts["logs"], counts["emails"], counts["tasks"], counts["completed"]) == (2 * runs, runs, runs, runs)
    with capsys.disabled():
        print(f"\nsequences: {ticks} ticks did {2 * runs} steps of {runs} runs in {elapsed:.1f} s "
              f"({2 * runs / elapsed:.0f} steps/s); claims {[o.claimed for o in outcomes]}, nothing twice")


@pytest.fixture
def kills_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_sequences_kills") as app:
        yield app


def test_a_worker_killed_mid_tick_leaves_every_step_done_once(kills_app, redis_url, capsys):
    """The batch in flight when the worker dies is rolled back whole (its locks go with the
    connection); the new worker's tick does it, and the outbox has each e-mail once."""
    runs = 300
    group = Workers(kills_app, redis_url, SEQUENCE_BATCH="10", MAIL_BACKEND="outbox")
    try:
        with kills_app.app_context():
            _setup(kills_app, runs)
            worker = group.start()
            # SIGKILL the worker (its work horse and scheduler with it) in the middle of the ticks
            assert wait_for(lambda: _counts()["logs"] >= 100, timeout=180, step=0.05), group.log_tail()
            children = descendants(worker.pid)
            group.kill_everything(worker)
            killed_at = time.monotonic()
            assert wait_for(lambda: not any(map(running, children)), timeout=30)
            at_kill = _counts()
            assert at_kill["logs"] < 2 * runs, "the ticks were done before the kill: nothing was tested"
            # whatever committed is whole: each logged e-mail step has its e-mail, each run its log
            assert at_kill["torn_runs"] == 0 and at_kill["emails"] == at_kill["email_logs"]

            group.start()  # what a supervisor does
            done = wait_for(lambda: (lambda c: c["completed"] == runs and c["sent"] == runs)(_counts()),
                            timeout=400, step=1)
            assert done, (group.log_tail(), _counts())
            recovery = time.monotonic() - killed_at
            time.sleep(3)  # anything that would do a step again has had its chance
            final = _counts()
    finally:
        group.stop_all()
    assert final["duplicate_logs"] == 0 and final["leads_emailed_twice"] == 0 and final["torn_runs"] == 0
    assert (final["logs"], final["emails"], final["tasks"], final["sent"]) == (2 * runs, runs, runs, runs)
    with capsys.disabled():
        print(f"\nsequences: worker SIGKILLed after {at_kill['logs']} of {2 * runs} steps; all done once "
              f"{recovery:.1f} s later ({runs} e-mails in the outbox, {runs} tasks)")


@pytest.fixture
def reply_race_app(databases, redis_url):
    with committing_app(databases, redis_url, "crm_sequences_reply_race") as app:
        yield app


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_a_reply_arriving_while_the_step_is_claimed_stops_it_and_the_step_does_not_fire(reply_race_app,
                                                                                         monkeypatch, channel):
    """A tick has claimed (locked) the run and is about to re-check it; the customer's reply is
    ingested then: the ingest does not wait for the tick (the run is left to the tick with a
    stop_pending mark), the re-check reads it, and the e-mail step does not fire."""
    from app.extensions import db
    from app.inbox.models import EmailMessage, MessageDirection
    from app.sequences import engine, stops
    from app.sequences.models import SequenceRun, SequenceStatus

    with reply_race_app.app_context():
        _setup(reply_race_app, 1)
        run = db.session.scalar(select(SequenceRun))
        lead = run.lead
        address, phone, company_id = lead.contact.email, "+12145550177", lead.company_id
        lead.contact.phone_e164 = phone
        db.session.commit()
        db.session.remove()

    claimed, go = threading.Event(), threading.Event()
    original = stops.engine_stop

    def held_after_the_claim(run, lead):
        claimed.set()
        assert go.wait(60)
        return original(run, lead)

    monkeypatch.setattr(stops, "engine_stop", held_after_the_claim)
    outcomes, errors = [], []

    def tick():
        try:
            with reply_race_app.app_context():
                outcomes.append(engine.tick(batch=10, budget_s=30))
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        assert claimed.wait(60)
        started = time.monotonic()
        with reply_race_app.app_context():
            if channel == "email":
                from app.inbox.email.services import ingest_inbound_email

                assert ingest_inbound_email(address, "sales@example.com", "Re: Trackers", "Call me",
                                            "<race@fleet.example>") == "received"
            else:
                from datetime import UTC, datetime

                from app.inbox.sms.services import apply_event

                envelope = {"event": "sms:received", "deviceId": "pixel", "id": "evt-race",
                            "payload": {"messageId": "race-1", "message": "Call me", "sender": phone,
                                        "recipient": "+12145550188", "receivedAt": datetime.now(UTC).isoformat()}}
                assert apply_event(envelope, datetime.now(UTC)).startswith("received")
            db.session.commit()
            db.session.remove()
        ingest_seconds = time.monotonic() - started
    finally:
        go.set()
        thread.join(120)
    assert not errors, errors
    assert ingest_seconds < 5  # the ingest did not wait for the tick's batch
    with reply_race_app.app_context():
        run = db.session.scalar(select(SequenceRun))
        assert run.status is SequenceStatus.CANCELED and run.canceled_reason.startswith("The customer replied")
        assert db.session.scalar(select(func.count()).select_from(EmailMessage).where(
            EmailMessage.direction == MessageDirection.OUTBOUND)) == 0  # the step did not fire
        assert company_id is not None
    assert outcomes[0].stopped == 1 and outcomes[0].fired == 0
