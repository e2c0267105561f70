"""The CSV import jobs (queue "import"): a dry-run preview, and the run itself.

Thin and idempotent: the argument is the upload token; every run deduplicates
against the database, so running twice (or importing the same file again)
creates nothing new. Progress goes to Redis after every batch; the run commits
per batch and keeps a checkpoint after each commit, so a run killed mid-way (or failed)
goes on from its last committed batch when it runs again (a retry, or "Run" on the
status page), counting from where it stopped; the page says where it resumed.
"""
from __future__ import annotations

import logging
import time
import uuid

from app.crm.importing import services as importing
from app.extensions import db

log = logging.getLogger("crm.jobs.import")


def preview_import(token: str) -> dict | None:
    return _run(token, dry_run=True)


def run_import(token: str) -> dict | None:
    return _run(token, dry_run=False)


def _run(token: str, *, dry_run: bool) -> dict | None:
    mode = "preview" if dry_run else "run"
    store = importing.UploadStore()
    meta = store.meta(token)
    rows = store.rows(meta) if meta else None
    if meta is None or rows is None:
        store.set_state(token, mode, {"status": "failed", "error": (
            "The uploaded file has expired (uploads are kept for an hour). Upload it again.")})
        return None
    store.keep(token)
    started = time.perf_counter()
    total = sum(1 for r in rows if r)
    # A run that started before and did not finish (its worker died, or it failed) goes on
    # from its last committed batch, and says so.
    previous = (store.state(token, mode) or {}) if not dry_run else {}
    checkpoint = store.checkpoint(token) if not dry_run else None
    resumed_at = list(previous.get("resumed_at", []))
    if checkpoint is not None or previous.get("run_started"):
        resumed_at.append(checkpoint["stats"]["processed"] if checkpoint else 0)
        log.warning("import token=%s resumed after an interruption at row %s", token, resumed_at[-1])
    extra = {"resumed_at": resumed_at, "run_started": True} if not dry_run else {}
    processed = checkpoint["stats"]["processed"] if checkpoint else 0
    store.set_state(token, mode, {"status": "running", "processed": processed, "total": total,
                                  "at": time.time(), **extra})

    def after_batch(stats: importing.ImportStats, batch_checkpoint: dict) -> None:
        if not dry_run:
            db.session.commit()
            store.set_checkpoint(token, batch_checkpoint)  # after the commit: never ahead of it
        store.set_state(token, mode, {"status": "running", **_progress(stats), "at": time.time(), **extra})

    try:
        stats = importing.run_import(meta, rows, dry_run=dry_run, after_batch=after_batch,
                                     actor_id=uuid.UUID(meta.user_id) if meta.user_id else None,
                                     resume_from=checkpoint)
    except Exception:
        db.session.rollback()
        store.set_state(token, mode, {"status": "failed", "error": (
            "The import stopped on an unexpected error; the rows done so far are saved. "
            "Running it again continues without creating duplicates."), **extra})
        raise
    seconds = round(time.perf_counter() - started, 2)
    state = {"status": "done", **stats.as_dict(), "seconds": seconds, **extra}
    store.set_state(token, mode, state)
    if not dry_run:
        store.set_checkpoint(token, None)
    log.info("import token=%s mode=%s rows=%s seconds=%.2f new_companies=%s new_leads=%s "
             "rejected=%s resumed_at=%s", token, mode, stats.processed, seconds, stats.companies_new,
             stats.leads_new, stats.rejected, resumed_at)
    return {k: v for k, v in state.items() if k not in ("rejections", "notes")}


def _progress(stats: importing.ImportStats) -> dict:
    data = stats.as_dict()
    data.pop("rejections")
    data.pop("notes")
    return data
