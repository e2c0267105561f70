"""A lead's runs: started by its disposition tag, canceled when the tag goes, paused,
resumed and canceled by a person, stopped by the stop rules (stops.py).

At most one live (ACTIVE or PAUSED) run per lead and definition: the database's partial
unique index; a second start (the tag applied twice, two requests at once) inserts nothing.
Services flush, never commit."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.activity.services import record
from app.crm.tags.events import on_disposition_applied, on_disposition_removed
from app.extensions import db
from app.queue import enqueue
from app.sequences.models import SequenceDefinition, SequenceRun, SequenceStatus

LIVE = (SequenceStatus.ACTIVE, SequenceStatus.PAUSED)
REASON_MAX = 500
KICKED = "sequences_kicked_in"  # session.info: the transaction that already asked for a tick


class RunError(Exception):
    """Refused; the message is shown to the user."""


def kick(now: datetime | None = None) -> None:
    """Ask for a tick soon (one job per two seconds however many runs start)."""
    session = db.session()
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(KICKED) is transaction:
        return  # one per transaction: a bulk tagging of 500 leads asks once
    session.info[KICKED] = transaction
    now = now or datetime.now(UTC)
    enqueue("default", "app.sequences.jobs.tick", job_id=f"sequences-kick-{int(now.timestamp()) // 2}", retries=1)


def start_run(lead, definition: SequenceDefinition, *, actor=None, now: datetime | None = None) -> SequenceRun | None:
    """A new ACTIVE run due now, or None when the lead already has a live one of it."""
    now = now or datetime.now(UTC)
    run_id = db.session.execute(
        pg_insert(SequenceRun).values(
            id=uuid.uuid4(), lead_id=lead.id, sequence_def_id=definition.id, tag_slug=definition.tag_slug,
            status=SequenceStatus.ACTIVE, current_step=0, started_at=now, next_step_at=now, created_at=now)
        .on_conflict_do_nothing(index_elements=["lead_id", "sequence_def_id"],
                                index_where=text("status IN ('ACTIVE', 'PAUSED')"))
        .returning(SequenceRun.id)).scalar_one_or_none()
    if run_id is None:
        return None
    run = db.session.get(SequenceRun, run_id)
    record("sequence.started", f"Sequence “{definition.name}” started", actor=actor, lead=lead,
           company=lead.company_id, contact=lead.contact_id,
           detail={"sequence_run_id": run_id, "sequence_def_id": definition.id})
    from app.sequences import plusvibe

    plusvibe.mark(lead, paused=True)
    kick(now)
    return run


@on_disposition_applied
def _tag_applied(lead, tag, actor) -> None:
    definition = db.session.scalar(select(SequenceDefinition).where(SequenceDefinition.tag_slug == tag.slug))
    if definition is not None and definition.is_active:
        start_run(lead, definition, actor=actor)


@on_disposition_removed
def _tag_removed(lead, tag, actor) -> None:
    for run in live_runs(lead.id, tag_slug=tag.slug):
        stop(run, SequenceStatus.CANCELED, f"The tag “{tag.name}” was removed", actor=actor)


def live_runs(lead_id, *, tag_slug: str | None = None, lock: bool = True) -> list[SequenceRun]:
    query = select(SequenceRun).where(SequenceRun.lead_id == lead_id, SequenceRun.status.in_(LIVE))
    if tag_slug is not None:
        query = query.where(SequenceRun.tag_slug == tag_slug)
    if lock:
        query = query.with_for_update()
    return list(db.session.scalars(query).all())


def stop(run: SequenceRun, status: SequenceStatus, reason: str, *, actor=None, now: datetime | None = None,
         kind: str | None = None) -> bool:
    """PAUSED or CANCELED with the reason a person reads, and an activity. False when the run
    was not live (or, for a pause, not ACTIVE)."""
    now = now or datetime.now(UTC)
    reason = reason.strip()[:REASON_MAX]
    allowed = (SequenceStatus.ACTIVE,) if status is SequenceStatus.PAUSED else LIVE
    values = {"status": status, "next_step_at": None}
    if status is SequenceStatus.PAUSED:
        values.update(paused_at=now, paused_reason=reason)
    else:
        values.update(canceled_at=now, canceled_reason=reason)
    moved = db.session.execute(
        update(SequenceRun).where(SequenceRun.id == run.id, SequenceRun.status.in_(allowed)).values(**values)
        .returning(SequenceRun.id).execution_options(synchronize_session="fetch")).scalar_one_or_none()
    if moved is None:
        return False
    db.session.refresh(run)
    word = "paused" if status is SequenceStatus.PAUSED else "stopped"
    name = run.sequence_def.name
    record(f"sequence.{word}", f"Sequence “{name}” {word}: {reason}", actor=actor, lead=run.lead_id,
           detail={"sequence_run_id": run.id, "reason": reason, "stop": kind})
    return True


def pause(run: SequenceRun, reason: str, *, actor) -> None:
    if not stop(run, SequenceStatus.PAUSED, reason, actor=actor, kind="manual"):
        raise RunError("Only a running sequence can be paused.")


def cancel(run: SequenceRun, reason: str, *, actor) -> None:
    if not stop(run, SequenceStatus.CANCELED, reason, actor=actor, kind="manual"):
        raise RunError("This sequence is not running any more.")


def resume(run: SequenceRun, *, actor, now: datetime | None = None) -> None:
    """PAUSED -> ACTIVE, its next step due now (the send window still applies)."""
    now = now or datetime.now(UTC)
    moved = db.session.execute(
        update(SequenceRun).where(SequenceRun.id == run.id, SequenceRun.status == SequenceStatus.PAUSED)
        .values(status=SequenceStatus.ACTIVE, next_step_at=now, paused_at=None, paused_reason=None)
        .returning(SequenceRun.id).execution_options(synchronize_session="fetch")).scalar_one_or_none()
    if moved is None:
        raise RunError("Only a paused sequence can be resumed.")
    db.session.refresh(run)
    record("sequence.resumed", f"Sequence “{run.sequence_def.name}” resumed", actor=actor, lead=run.lead_id,
           detail={"sequence_run_id": run.id})
    kick(now)
