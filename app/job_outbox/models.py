"""One row per background job, written with the change that needs it (not in the spec)."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import uuid_pk
from app.extensions import db


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"  # committed; maybe already pushed by the after-commit fast path
    ENQUEUED = "ENQUEUED"  # the relay saw it in Redis (checked again every minute)
    DONE = "DONE"  # run_job finished it (its arguments are dropped then)
    FAILED = "FAILED"  # RQ gave up (last_error says why); the same job key asks again


class OutboxJob(db.Model):
    """A job: the RQ job's id is this row's id, so pushing it twice queues it once."""

    __tablename__ = "job_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'ENQUEUED', 'DONE', 'FAILED')", name="status"),
        # A job key (enqueue's job_id) is asked for once while its row is kept.
        Index(None, "job_key", unique=True, postgresql_where=text("job_key IS NOT NULL")),
        # The relay's scans and the clean-up: small partial indexes.
        Index("ix_job_outbox_pending", "requested_at", postgresql_where=text("status = 'PENDING'")),
        Index("ix_job_outbox_enqueued", "checked_at", postgresql_where=text("status = 'ENQUEUED'")),
        Index("ix_job_outbox_done", "done_at", postgresql_where=text("status = 'DONE'")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    queue: Mapped[str]
    # The dotted path of the job function (run by app.queue.run_job).
    func: Mapped[str]
    # {"args": [...], "kwargs": {...}}: JSON, ids and primitives; NULL once DONE.
    args: Mapped[dict[str, Any] | None]
    job_key: Mapped[str | None]
    retries: Mapped[int] = mapped_column(Integer, server_default=text("3"), default=3)
    status: Mapped[str] = mapped_column(server_default=text("'PENDING'"), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    last_error: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # When the work was last asked for: the insert, or a FAILED row asked for again.
    requested_at: Mapped[datetime] = mapped_column(server_default=func.now())
    enqueued_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<OutboxJob {self.func} {self.status}>"


__all__ = ["JobStatus", "OutboxJob"]
