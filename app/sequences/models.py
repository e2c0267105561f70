"""Disposition-triggered automation: applying a disposition tag to a lead starts a
SequenceRun of the SequenceDefinition keyed by that tag; a worker advances runs."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import created_at, sql_bool, updated_at, uuid_pk
from app.extensions import db

if TYPE_CHECKING:
    from app.crm.models import Lead, Task


class SequenceStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class StepStatus(enum.Enum):
    PENDING = "PENDING"
    FIRED = "FIRED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class SequenceDefinition(db.Model):
    """The template of a sequence, triggered by the disposition tag `tag_slug`."""

    __tablename__ = "sequence_definitions"

    id: Mapped[uuid.UUID] = uuid_pk()
    tag_slug: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    description: Mapped[str | None]
    # The ordered steps: a JSON array of step objects.
    steps: Mapped[Any] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=sql_bool(True), default=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    runs: Mapped[list[SequenceRun]] = relationship(back_populates="sequence_def")

    def __repr__(self) -> str:
        return f"<SequenceDefinition {self.tag_slug}>"


class SequenceRun(db.Model):
    """A sequence executing against one lead; the worker polls by `next_step_at`."""

    __tablename__ = "sequence_runs"
    __table_args__ = (
        Index(None, "lead_id", "status"),
        # Not in the spec (migration 0024): one live run per lead and definition, and the
        # engine's claim of due runs.
        Index("uq_sequence_runs_live_lead_def", "lead_id", "sequence_def_id", unique=True,
              postgresql_where=text("status IN ('ACTIVE', 'PAUSED')")),
        Index("ix_sequence_runs_due", "next_step_at", postgresql_where=text("status = 'ACTIVE'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id"))
    sequence_def_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequence_definitions.id"))
    tag_slug: Mapped[str]
    status: Mapped[SequenceStatus] = mapped_column(
        Enum(SequenceStatus, name="sequence_status"),
        server_default=SequenceStatus.ACTIVE.value,
        default=SequenceStatus.ACTIVE,
    )
    current_step: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    next_step_at: Mapped[datetime | None] = mapped_column(index=True)
    completed_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None]
    canceled_at: Mapped[datetime | None]
    canceled_reason: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    lead: Mapped[Lead] = relationship(back_populates="sequence_runs")
    sequence_def: Mapped[SequenceDefinition] = relationship(back_populates="runs")
    step_logs: Mapped[list[SequenceStepLog]] = relationship(
        back_populates="sequence_run",
        order_by=lambda: [SequenceStepLog.step_number, SequenceStepLog.created_at],
    )
    tasks: Mapped[list[Task]] = relationship(back_populates="sequence_run", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<SequenceRun {self.tag_slug} {self.status.value if self.status else None}>"


class SequenceStepLog(db.Model):
    """One step of a run: when it was scheduled, when it fired, and any error."""

    __tablename__ = "sequence_step_logs"
    # Not in the spec (migration 0024): a step of a run is logged, and so done, once.
    __table_args__ = (UniqueConstraint("sequence_run_id", "step_number", name="uq_sequence_step_logs_run_step"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    sequence_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sequence_runs.id"), index=True)
    step_number: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str]
    status: Mapped[StepStatus] = mapped_column(
        Enum(StepStatus, name="step_status"),
        server_default=StepStatus.PENDING.value,
        default=StepStatus.PENDING,
    )
    scheduled_at: Mapped[datetime | None]
    fired_at: Mapped[datetime | None]
    error_message: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    sequence_run: Mapped[SequenceRun] = relationship(back_populates="step_logs")


__all__ = [
    "SequenceDefinition",
    "SequenceRun",
    "SequenceStatus",
    "SequenceStepLog",
    "StepStatus",
]
