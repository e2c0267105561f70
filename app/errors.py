"""Error pages, and small fragments for htmx requests (shown as a toast)."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, abort, render_template, request
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from app.htmx import add_trigger, is_htmx

log = logging.getLogger(__name__)

# A DBAPI error of the "operational" kind (connection lost or refused, server shutting
# down, lock_timeout, statement_timeout) or no free pooled connection: not a bug.
DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)
TIMEOUTS_AND_OUTAGES = (*DATABASE_ERRORS, RedisConnectionError, RedisTimeoutError)

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
    503: ("Temporarily unavailable", "The server cannot answer right now. Try again in a minute."),
}

# What a request that hit a timeout or an outage answers (see unavailable()).
BUSY_LOCKED = ("Busy, try again", "Someone else is changing this right now. Try again in a moment.")
BUSY_SLOW = ("Busy, try again", "This took too long and was stopped. Try again in a moment.")
DATABASE_DOWN = ("Temporarily unavailable", "The database cannot be reached right now. Try again in a minute.")
NOTHING_SAVED = "Nothing was saved."
CHECK_BEFORE_REPEATING = "Check whether your change went through before repeating it."
REDIS_DOWN = ("Temporarily unavailable",
              "A background service is not answering right now. Try again in a minute.")
RETRY_AFTER_SECONDS = 5


def error_response(status: int, message: str | None = None, *, title: str | None = None,
                   without_database: bool = False):
    """The error page (or an htmx toast). `without_database`: the database is away, so the
    page is rendered from nothing but the request, as for a signed-out visitor (current_user's
    first use loads the user). Any error page whose rendering trips over the database is
    rendered that way too: never a bare "Internal Server Error"."""
    default_title, default_message = MESSAGES.get(status, MESSAGES[500])
    title = title or default_title
    message = message or default_message
    if without_database:
        _as_signed_out()
    if is_htmx():
        response = _error_page("errors/_error.html", status, title, message)
        # htmx 4 swaps every status by default; an error must not replace the
        # part of the page the user is working in: show it as a toast instead.
        response.headers["HX-Reswap"] = "none"
        add_trigger(response, {"toast": {"message": f"{title}: {message}", "level": "error"}})
        return response
    template = "errors/unavailable.html" if without_database else "errors/error.html"
    return _error_page(template, status, title, message)


def _error_page(template: str, status: int, title: str, message: str):
    try:
        return app_response(template, status, title=title, message=message)
    except DATABASE_ERRORS as exc:
        log.warning("error page for %s rendered without the database: %s", status,
                    (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0])
        _rollback()
        _as_signed_out()
        if template == "errors/error.html":
            template = "errors/unavailable.html"
        return app_response(template, status, title=title, message=message)


def _as_signed_out() -> None:
    """Render as for a visitor: Flask-Login's template context (current_user) would
    otherwise load the user from the database. Only this response; the session stays."""
    from flask import current_app, g

    g._login_user = current_app.login_manager.anonymous_user()


def app_response(template: str, status: int, **ctx):
    from flask import make_response

    return make_response(render_template(template, status=status, **ctx), status)


def _rollback() -> None:
    """Roll the request's session back; with the database gone that can fail too."""
    from app.extensions import db

    try:
        db.session.rollback()
    except DATABASE_ERRORS:
        log.warning("rollback failed: the database is unreachable")


def unavailable(error: Exception):
    """A timeout or an outage, as the user should read it: 409 when a change waited too
    long for a row someone else holds (lock_timeout) or lost to another one (a deadlock, a
    serialization failure), 503 for the rest (a statement stopped by statement_timeout,
    the database or Redis away); never a hang or a 500."""
    import psycopg.errors as pg
    from redis.exceptions import RedisError

    orig = getattr(error, "orig", None)
    mutation = request.method not in ("GET", "HEAD", "OPTIONS")
    database_away = False
    if isinstance(orig, (pg.LockNotAvailable, pg.DeadlockDetected, pg.SerializationFailure)):
        status, (title, message) = (409 if mutation else 503), BUSY_LOCKED
    elif isinstance(orig, (pg.QueryCanceled, pg.IdleInTransactionSessionTimeout)):
        status, (title, message) = 503, BUSY_SLOW
    elif isinstance(error, RedisError):
        status, (title, message) = 503, REDIS_DOWN
    else:
        status, (title, message), database_away = 503, DATABASE_DOWN, True
    if mutation and isinstance(error, DATABASE_ERRORS):
        # A cancelled statement aborts its transaction; a connection lost during COMMIT
        # may or may not have committed.
        message = f"{message} {CHECK_BEFORE_REPEATING if database_away else NOTHING_SAVED}"
    cause = orig or error
    log.warning("%s on %s %s: %s: %s", status, request.method, request.path, type(cause).__name__,
                (str(cause).strip().splitlines() or [""])[0])
    _rollback()
    # A timeout leaves the database usable: the usual page. An outage: the page without it.
    response = error_response(status, message, title=title, without_database=database_away)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


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

    for kind in TIMEOUTS_AND_OUTAGES:
        app.register_error_handler(kind, unavailable)

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        _rollback()  # the page below must not trip over a failed transaction
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
