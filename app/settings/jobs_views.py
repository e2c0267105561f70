"""Settings → Jobs: the background queue as an admin sees it (app.settings.job_queue)."""
from __future__ import annotations

import logging

from flask import flash, redirect, url_for
from flask_login import current_user

from app.auth.permissions import SETTINGS, require
from app.htmx import render
from app.settings import bp, job_queue

log = logging.getLogger("crm.jobs")


@bp.get("/jobs")
@require(SETTINGS)
def jobs():
    try:
        overview = job_queue.overview()
    except job_queue.QueueUnavailable as exc:
        log.warning("settings/jobs: the job queue cannot be reached: %s", exc)
        return render("settings/jobs.html", status=503, context={"overview": None})
    return render("settings/jobs.html", context={"overview": overview})


def _act(action, job_id: str, done: str):
    try:
        row = action(job_id)
    except job_queue.JobNotFound:
        flash("That job is no longer among the failed jobs.", "error")
    except job_queue.QueueUnavailable:
        flash("The job queue cannot be reached: nothing was changed. Try again in a moment.", "error")
    else:
        log.info("settings/jobs: %s job_id=%s func=%s by user_id=%s", action.__name__, row.id, row.function,
                 current_user.id)
        flash(f"{done}: {row.function}", "success")
    return redirect(url_for("settings.jobs"), code=303)


@bp.post("/jobs/<job_id>/retry")
@require(SETTINGS)
def retry_job(job_id):
    return _act(job_queue.retry_failed_job, job_id, "Queued again")


@bp.post("/jobs/<job_id>/delete")
@require(SETTINGS)
def delete_job(job_id):
    return _act(job_queue.delete_failed_job, job_id, "Deleted")
