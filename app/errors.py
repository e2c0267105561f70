"""Error pages, and small fragments for htmx requests (shown as a toast)."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, abort, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.htmx import add_trigger, is_htmx

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Check what you entered and try again."),
    401: ("Sign in required", "Please sign in to continue."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing at this address. It may have been moved or deleted."),
    405: ("Not allowed", "This action is not available here."),
    409: ("Conflict", "Someone else changed this in the meantime. Reload to see the current state."),
    413: ("Too large", "That upload is larger than allowed."),
    422: ("Check your input", "Some of what you entered could not be accepted."),
    429: ("Too many attempts", "Too many requests in a short time. Wait a few minutes and try again."),
    500: ("Something went wrong", "An unexpected error happened on our side. It has been logged; please try again."),
}


def error_response(status: int, message: str | None = None):
    title, default_message = MESSAGES.get(status, MESSAGES[500])
    message = message or default_message
    if is_htmx():
        response = app_response("errors/_error.html", status, title=title, message=message)
        # htmx 4 swaps every status by default; an error must not replace the
        # part of the page the user is working in: show it as a toast instead.
        response.headers["HX-Reswap"] = "none"
        add_trigger(response, {"toast": {"message": f"{title}: {message}", "level": "error"}})
        return response
    return app_response("errors/error.html", status, title=title, message=message)


def app_response(template: str, status: int, **ctx):
    from flask import make_response

    return make_response(render_template(template, status=status, **ctx), status)


NUL_MESSAGE = ("What you sent contains a NUL character (an invisible control character, usually pasted in "
               "from another program), which cannot be saved. Remove it and try again.")


def has_nul_byte(*texts) -> bool:
    return any("\x00" in text for text in texts if text)


def _texts(values) -> list[str]:
    """Every name and every value of a MultiDict (a field sent twice has two values)."""
    return [text for pair in values.items(multi=True) for text in pair]


def refuse_nul_bytes():
    """The one check, before any view: no NUL byte reaches PostgreSQL from a path, a query
    string, a form field (name or value), an uploaded file's name or a header. PostgreSQL
    text cannot hold one, so each used to be a 500. (JSON bodies are the webhooks' own.)"""
    if has_nul_byte(request.path, *_texts(request.args), *request.headers.values()):
        return error_response(400, NUL_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        if has_nul_byte(*_texts(request.form), *(f.filename for _, f in request.files.items(multi=True))):
            return error_response(422, NUL_MESSAGE)
    return None


def register(app: Flask) -> None:
    app.before_request(refuse_nul_bytes)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        log.info("csrf rejected path=%s reason=%s", request.path, error.description)
        return error_response(
            400, "Your form expired or was sent from elsewhere. Reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        custom = error.description if getattr(error, "_crm_message", False) else None
        return error_response(status, custom)

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        from app.extensions import db

        db.session.rollback()  # the page below must not trip over a failed transaction
        return error_response(500)


def abort_with(status: int, message: str):
    """abort() whose message is shown to the user as is."""
    from werkzeug.exceptions import default_exceptions

    exc = default_exceptions[status](description=message)
    exc._crm_message = True
    raise exc


def uuid_or_404(value) -> uuid.UUID:
    """A URL's id as a UUID; anything else is a page that does not exist."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404)


def get_or_404(model, ident, *, lock: bool = False):
    """The row with this id (row-locked for the request with `lock`), or 404."""
    from app.extensions import db

    row = db.session.get(model, uuid_or_404(ident), with_for_update=lock or None, populate_existing=lock)
    if row is None:
        abort(404)
    return row
