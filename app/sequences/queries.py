"""The sequence pages' reads: a constant number of statements whatever the row counts."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.crm.models import Lead
from app.extensions import db
from app.inbox.models import MessageTemplate, TemplateCategory
from app.sequences import definitions, windows
from app.sequences.models import (
    SequenceDefinition,
    SequenceRun,
    SequenceStatus,
    SequenceStepLog,
    StepStatus,
)

REPLIED = "The customer replied"  # how a reply's canceled_reason starts (stops.py)
RUNS_PAGE = 200


@dataclass
class DefinitionStats:
    definition: SequenceDefinition
    document: definitions.Document | None
    counts: dict[str, int]
    replied: int
    steps: dict[int, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.total if self.total else None


def _document(definition: SequenceDefinition) -> definitions.Document | None:
    try:
        return definitions.read(definition.steps)
    except (ValueError, KeyError, TypeError):
        return None


def definitions_with_stats() -> list[DefinitionStats]:
    rows = db.session.scalars(select(SequenceDefinition).order_by(SequenceDefinition.name)).all()
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: {s.value: 0 for s in SequenceStatus})
    replied: dict[uuid.UUID, int] = defaultdict(int)
    for def_id, status, n, n_replied in db.session.execute(
            select(SequenceRun.sequence_def_id, SequenceRun.status, func.count(),
                   func.count().filter(SequenceRun.canceled_reason.startswith(REPLIED)))
            .group_by(SequenceRun.sequence_def_id, SequenceRun.status)):
        counts[def_id][status.value] = n
        replied[def_id] += n_replied
    steps: dict[uuid.UUID, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for def_id, number, status, n in db.session.execute(
            select(SequenceRun.sequence_def_id, SequenceStepLog.step_number, SequenceStepLog.status, func.count())
            .join(SequenceRun, SequenceRun.id == SequenceStepLog.sequence_run_id)
            .group_by(SequenceRun.sequence_def_id, SequenceStepLog.step_number, SequenceStepLog.status)):
        steps[def_id][number][status.value] = n
    return [DefinitionStats(d, _document(d), counts[d.id], replied[d.id], steps[d.id]) for d in rows]


def sequence_templates() -> list[MessageTemplate]:
    return list(db.session.scalars(select(MessageTemplate).where(
        MessageTemplate.category == TemplateCategory.SEQUENCE, MessageTemplate.is_active.is_(True))
        .order_by(MessageTemplate.channel, MessageTemplate.name)).all())


def template_names(*documents: definitions.Document | None) -> dict[str, str]:
    """{template id: name} of every template the documents' steps use (one statement)."""
    ids = [uuid.UUID(s.template_id) for d in documents if d for s in d.steps if s.template_id]
    if not ids:
        return {}
    return {str(i): n for i, n in db.session.execute(
        select(MessageTemplate.id, MessageTemplate.name).where(MessageTemplate.id.in_(ids)))}


def runs_of(definition: SequenceDefinition, status: SequenceStatus | None) -> list[SequenceRun]:
    query = (select(SequenceRun).where(SequenceRun.sequence_def_id == definition.id)
             .options(joinedload(SequenceRun.lead).joinedload(Lead.contact),
                      joinedload(SequenceRun.lead).joinedload(Lead.company))
             .order_by(SequenceRun.started_at.desc(), SequenceRun.id.desc()).limit(RUNS_PAGE))
    if status is not None:
        query = query.where(SequenceRun.status == status)
    return list(db.session.scalars(query).unique().all())


@dataclass
class TimelineStep:
    number: int
    step: definitions.Step
    state: str  # done, skipped, failed, next, pending, waiting (the run is paused/ended)
    at: datetime | None = None
    note: str | None = None


@dataclass
class RunView:
    run: SequenceRun
    steps: list[TimelineStep]
    templates: dict[str, str]


_STATE = {StepStatus.FIRED: "done", StepStatus.SKIPPED: "skipped", StepStatus.FAILED: "failed",
          StepStatus.PENDING: "next"}


def lead_runs(lead_id) -> list[RunView]:
    runs = db.session.scalars(
        select(SequenceRun).where(SequenceRun.lead_id == lead_id)
        .options(selectinload(SequenceRun.step_logs), joinedload(SequenceRun.sequence_def))
        .order_by(SequenceRun.started_at.desc()).limit(20)).unique().all()
    out = []
    documents = {r.sequence_def_id: _document(r.sequence_def) for r in runs}
    names = template_names(*documents.values())
    for run in runs:
        document = documents[run.sequence_def_id]
        logs = {log.step_number: log for log in run.step_logs}
        steps = []
        for number, step in enumerate(document.steps if document else ()):
            log = logs.get(number)
            if log is not None:
                steps.append(TimelineStep(number, step, _STATE[log.status], log.fired_at, log.error_message))
            elif number == run.current_step and run.status is SequenceStatus.ACTIVE:
                steps.append(TimelineStep(number, step, "next", run.next_step_at))
            else:
                steps.append(TimelineStep(number, step, "pending" if run.status in (SequenceStatus.ACTIVE,
                                                                                    SequenceStatus.PAUSED) else "never"))
        out.append(RunView(run, steps, names))
    return out


def preview(document: definitions.Document, start: datetime, zone) -> list[tuple[definitions.Step, datetime]]:
    """When each step would fire for a lead tagged at `start` in `zone` (no stop, no refusal)."""
    out, moment = [], start
    for step in document.steps:
        if step.needs_window:
            moment = windows.next_open(moment, document.window, zone)
        out.append((step, moment))
        if step.type == "wait":
            moment = windows.after_wait(moment, step.amount, step.unit, zone)
    return out
