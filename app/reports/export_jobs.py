"""Every list's CSV (issue 13), streamed when small, written by a job when large.

`LISTS` names each exportable list: who may export it, its header, its rows as filtered (the
list's own filters and queries, app/reports/exports.py) and how many rows its filters match.
A list whose filters match more than EXPORT_JOB_THRESHOLD rows is not streamed: its export
link answers a page that offers to prepare the file; `start_export` writes an `export_jobs`
row and its job (through the outbox), `run_export` writes the CSV a line at a time to a
private file under EXPORT_DIR, reporting its progress every EXPORT_PAGE rows, and renames it
into place only when it is complete: a worker killed mid-way leaves a `.part` file nobody
serves, and the retry (RQ's, the job is pushed with retries) writes the file again from the
top. Only the user who asked downloads it, until it expires (`remove_expired_exports`,
periodic: the row and its files go)."""
from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

from flask import current_app
from sqlalchemy import delete, func, select, update
from werkzeug.datastructures import MultiDict

from app.auth.permissions import INBOX, INVOICES, SALES
from app.extensions import db
from app.reports import exports
from app.reports.models import ExportJob
from app.reports.tables import csv_lines

log = logging.getLogger("crm.jobs.export")

QUEUED, RUNNING, DONE, FAILED = "QUEUED", "RUNNING", "DONE", "FAILED"
MAX_QUERY = 2000
JOB = "app.reports.export_jobs.run_export"


def _capped(ids_statement, cap: int | None) -> int:
    """How many rows a statement of ids has (at most `cap`: enough to know "more than")."""
    if cap is not None:
        ids_statement = ids_statement.limit(cap)
    return db.session.scalar(select(func.count()).select_from(ids_statement.order_by(None).subquery()))


# ------------------------------------------------------------------ each list: rows and count


def _lead_query(args):
    from app.crm.records.lead_list import ListQuery

    return ListQuery.from_args(args)


def _lead_count(args, user_id, cap):
    from app.crm.records.lead_list import count_matching_leads

    return count_matching_leads(_lead_query(args), user_id, limit=cap)


def _company_filters(args):
    from app.crm.records.queries import CompanyFilters

    return CompanyFilters.from_args(args)


def _company_count(args, user_id, cap):
    from app.crm.models import Company
    from app.crm.records import queries as records

    filters = _company_filters(args)
    if filters.q:  # a text search lists its best matches, one batch (app/reports/exports.py)
        return sum(1 for _ in exports.company_rows(filters))
    return _capped(records.filtered_companies(filters, select(Company.id)), cap)


def _invoice_count(args, user_id, cap):
    from app.billing.invoices import filtered_invoices
    from app.billing.models import Invoice

    f = exports.InvoiceFilters.from_args(args)
    return _capped(filtered_invoices(select(Invoice.id), status=f.status, overdue=f.overdue,
                                     company_id=f.company_id), cap)


def _task_filters(args):
    from app.crm.tasks.queries import TaskFilters

    return TaskFilters.from_args(args)


def _task_count(args, user_id, cap):
    from app.crm.tasks.queries import count_tasks

    return count_tasks(_task_filters(args), user_id, cap=cap)


def _inbox_filter(args):
    from app.inbox.queue.queries import QueueFilter

    return QueueFilter.from_args(args)


def _inbox_count(args, user_id, cap):
    from app.inbox.queue.queries import matching_ids

    return _capped(matching_ids(_inbox_filter(args), user_id=user_id), cap)


@dataclass(frozen=True)
class ListExport:
    label: str
    page: str  # the list's page
    endpoint: str  # the streamed CSV's endpoint
    permission: str
    header: list[str]
    rows: Callable[[MultiDict, uuid.UUID], Iterator[list]]
    count: Callable[[MultiDict, uuid.UUID, int | None], int]


LISTS: dict[str, ListExport] = {
    "leads": ListExport("Leads", "crm.leads", "reports.export_leads", SALES, exports.LEAD_HEADER,
                        lambda args, user_id: exports.lead_rows(_lead_query(args), user_id), _lead_count),
    "companies": ListExport("Companies", "crm.companies", "reports.export_companies", SALES, exports.COMPANY_HEADER,
                            lambda args, user_id: exports.company_rows(_company_filters(args)), _company_count),
    "invoices": ListExport("Invoices", "billing.invoices", "reports.export_invoices", INVOICES, exports.INVOICE_HEADER,
                           lambda args, user_id: exports.invoice_rows(exports.InvoiceFilters.from_args(args)),
                           _invoice_count),
    "tasks": ListExport("Tasks", "crm.tasks", "reports.export_tasks", SALES, exports.TASK_HEADER,
                        lambda args, user_id: exports.task_rows(_task_filters(args), user_id), _task_count),
    "inbox": ListExport("Inbox", "inbox.index", "reports.export_inbox", INBOX, exports.INBOX_HEADER,
                        lambda args, user_id: exports.inbox_rows(_inbox_filter(args), user_id), _inbox_count),
}
BY_ENDPOINT = {spec.endpoint: name for name, spec in LISTS.items()}


def args_of(query: str) -> MultiDict:
    return MultiDict(parse_qsl(query or "", keep_blank_values=False))


def filename(export: ExportJob) -> str:
    return f"{export.list_name}-{export.created_at.date().isoformat()}.csv"


# ------------------------------------------------------------------ files


def storage_dir() -> Path:
    configured = current_app.config.get("EXPORT_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(export_id: uuid.UUID) -> Path:
    """The finished file (it exists only once complete: written as a .part, then renamed)."""
    return storage_dir() / f"{uuid.UUID(str(export_id))}.csv"


def _parts(export_id) -> list[Path]:
    return list(storage_dir().glob(f"{uuid.UUID(str(export_id))}.*.part"))


def ready_file(export: ExportJob, now: datetime | None = None) -> Path | None:
    """The file to download: finished, not expired, on disk."""
    now = now or datetime.now(UTC)
    if export.status != DONE or (export.expires_at is not None and export.expires_at <= now):
        return None
    path = file_path(export.id)
    return path if path.is_file() else None


def gave_up(export: ExportJob) -> bool:
    """An unfinished export whose job RQ gave up on (no retry left: failed each time, or its
    worker died each time; the relay marks its outbox row FAILED): the page stops waiting."""
    if export.status not in (QUEUED, RUNNING):
        return False
    from app.job_outbox.models import OutboxJob

    return db.session.scalar(select(OutboxJob.status).where(OutboxJob.job_key == _job_key(export.id))) == "FAILED"


def _job_key(export_id) -> str:
    return f"export:{export_id}"


# ------------------------------------------------------------------ services


class ExportRefused(ValueError):
    pass


def too_large(list_name: str, args, user_id: uuid.UUID) -> int | None:
    """The row count (at least threshold + 1) when the list is too large to stream, else None."""
    threshold = current_app.config["EXPORT_JOB_THRESHOLD"]
    n = LISTS[list_name].count(args, user_id, threshold + 1)
    return n if n > threshold else None


def start_export(*, user, list_name: str, query: str) -> ExportJob:
    """The export row and its job (an outbox row in this transaction). Flushes; the caller commits."""
    if list_name not in LISTS:
        raise ExportRefused("That list cannot be exported.")
    if len(query or "") > MAX_QUERY:
        raise ExportRefused("Those filters are too long.")
    export = ExportJob(user_id=user.id, list_name=list_name, query=query or "", status=QUEUED)
    db.session.add(export)
    db.session.flush()
    from app.queue import enqueue

    enqueue("import", JOB, str(export.id), job_id=_job_key(export.id))
    return export


def _report_progress(export_id: uuid.UUID, rows_done: int) -> None:
    """Progress in a short transaction of its own: the page sees it while the job's own
    transaction (its reads) goes on."""
    with db.engine.begin() as connection:
        connection.execute(update(ExportJob).where(ExportJob.id == export_id, ExportJob.status == RUNNING)
                           .values(rows_done=rows_done))


def run_export(export_id: str) -> dict | None:
    """The job: the list's CSV into a private file, then renamed into place; idempotent (a
    finished export is not written again, an unfinished one is written from the top)."""
    from app.queue import last_attempt

    export = db.session.get(ExportJob, uuid.UUID(export_id))
    if export is None or export.status == DONE:
        db.session.rollback()
        return None
    export_uuid, user_id, list_name = export.id, export.user_id, export.list_name
    spec = LISTS[list_name]
    args = args_of(export.query)
    for leftover in _parts(export_uuid):  # an attempt killed before (nothing serves .part files)
        leftover.unlink(missing_ok=True)
    total = spec.count(args, user_id, None)
    export.status, export.rows_done, export.rows_total, export.error = RUNNING, 0, total, None
    export.attempts = ExportJob.attempts + 1
    db.session.commit()
    page = max(1, current_app.config["EXPORT_PAGE"])
    part = storage_dir() / f"{export_uuid}.{uuid.uuid4().hex}.part"
    done = 0
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            lines = csv_lines(spec.header, spec.rows(args, user_id))
            out.write(next(lines))
            for line in lines:
                out.write(line)
                done += 1
                if done % page == 0:
                    _report_progress(export_uuid, done)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, file_path(export_uuid))
    except BaseException as exc:
        part.unlink(missing_ok=True)
        db.session.rollback()
        if isinstance(exc, Exception) and last_attempt():
            db.session.execute(update(ExportJob).where(ExportJob.id == export_uuid).values(
                status=FAILED, error="The export stopped on an unexpected error. Export the list again."))
            db.session.commit()
        raise
    now = datetime.now(UTC)
    db.session.execute(update(ExportJob).where(ExportJob.id == export_uuid).values(
        status=DONE, rows_done=done, rows_total=done, finished_at=now,
        expires_at=now + timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])))
    db.session.commit()
    log.info("export id=%s list=%s rows=%s", export_uuid, list_name, done)
    return {"rows": done}


def remove_expired_exports(now: datetime | None = None) -> int:
    """Periodic: exports past their time (finished ones at `expires_at`, any other a day after
    it was asked for) go, with their files; so do files no row names any more."""
    now = now or datetime.now(UTC)
    keep = timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
    gone = db.session.scalars(
        delete(ExportJob).where((ExportJob.expires_at <= now)
                                | (ExportJob.expires_at.is_(None) & (ExportJob.created_at <= now - keep)))
        .returning(ExportJob.id)).all()
    db.session.commit()
    removed = 0
    for export_id in gone:
        for path in (file_path(export_id), *_parts(export_id)):
            if path.exists():
                path.unlink(missing_ok=True)
                removed += 1
    known = {str(i) for i in db.session.scalars(select(ExportJob.id))}
    db.session.rollback()
    for path in storage_dir().iterdir():  # untouched for `keep`: no job is writing it
        if path.name.split(".", 1)[0] not in known and path.stat().st_mtime <= (now - keep).timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    if gone or removed:
        log.info("exports removed rows=%d files=%d", len(gone), removed)
    return len(gone)
