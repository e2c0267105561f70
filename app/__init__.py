"""Application factory."""
from __future__ import annotations

import logging
import os
import re
import time
import uuid

from flask import Flask, g, has_request_context, request

from app.config import Config, production_problems


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=os.path.join(os.path.dirname(__file__), "..", "templates"),
        static_folder=os.path.join(os.path.dirname(__file__), "..", "static"),
        instance_path=os.environ.get("CRM_INSTANCE_PATH")
        or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instance"),
    )
    app.config.from_mapping(Config().as_dict())
    if config:
        app.config.update(config)
    if app.config["ENV"] == "production":
        problems = production_problems(app.config)
        if problems:
            raise RuntimeError("refusing to start in production:\n  - " + "\n  - ".join(problems))
    _trust_proxies(app)
    _ensure_backing_services(app)

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    from app import errors, security

    errors.register(app)
    security.register(app)
    register_cli(app)
    register_template_helpers(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_COUNT proxies, the client address and scheme are the ones they
    forwarded (rate limits, logs, signatures). The host is never taken from a header:
    absolute URLs come from APP_BASE_URL."""
    proxies = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0,
                                x_prefix=0)


def _ensure_backing_services(app: Flask) -> None:
    """Without DATABASE_URL / REDIS_URL, start (or join) the embedded dev servers."""
    if app.config["SQLALCHEMY_DATABASE_URI"] and app.config["REDIS_URL"]:
        return
    if app.config["ENV"] == "production":
        raise RuntimeError("DATABASE_URL and REDIS_URL must be set in production")
    from app.config import sqlalchemy_url
    from app.devservices import ensure_services

    os.makedirs(app.instance_path, exist_ok=True)
    env = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
    }
    services = ensure_services(app.instance_path, env=env)
    app.extensions["devservices"] = services
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(services.database_url)
    app.config["REDIS_URL"] = services.redis_url
    app.config["RATELIMIT_STORAGE_URI"] = services.redis_url.replace("unix://", "redis+unix://", 1)


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Our own request line replaces werkzeug's; alembic's plugin chatter says nothing useful.
    for noisy in ("werkzeug", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    request_log = logging.getLogger("crm.request")

    @app.before_request
    def _start_timer():
        g.request_id = request_id(request.headers.get("X-Request-ID"))
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        if started is not None and not request.path.startswith("/static/"):
            request_log.info(
                "request_id=%s method=%s path=%s status=%s ms=%.1f user=%s",
                g.get("request_id"),
                request.method,
                logged_path(),
                response.status_code,
                (time.perf_counter() - started) * 1000,
                _user_id(g.get("_login_user")),
            )
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response


REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def request_id(offered: str | None) -> str:
    """The caller's X-Request-ID when it is a short plain id, else a new one: it is echoed
    and logged, so nothing else (no spaces, no line breaks) may come through."""
    if offered and REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex[:16]


def logged_path() -> str:
    """The request's path with its secret token (/pay/<token>, /invite/<token>) redacted:
    the database keeps only a token's hash, and the logs must not undo that."""
    path = request.path
    token = (request.view_args or {}).get("token")
    if isinstance(token, str) and token:
        path = path.replace(token, "[token]")
    return path


def _user_id(user) -> str:
    """The signed-in user's id without touching its attributes: after a commit they are
    expired, and reading `user.id` would cost a SELECT just for this log line."""
    from sqlalchemy import inspect

    state = inspect(user, raiseerr=False) if user is not None else None
    return str(state.identity[0]) if state is not None and state.identity else "-"


def register_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    from app.db import commit_read_only_requests

    commit_read_only_requests(app)
    migrate.init_app(
        app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"), compare_type=True,
        compare_server_default=True,
    )
    csrf.init_app(app)
    from app.extensions import redis_options

    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", redis_options(app.config))
    limiter.init_app(app)
    login_manager.init_app(app)
    database_timeouts(app)
    from app import models  # noqa: F401  (every model registered on the metadata)
    from app.auth import sessions

    sessions.configure(login_manager)


def database_timeouts(app: Flask) -> None:
    """PostgreSQL's lock_timeout, statement_timeout and idle_in_transaction_session_timeout
    for whoever uses a pooled connection: a web request (DB_*), a job (DB_JOB_*), anything
    else (migrations, backups, the shell) the server's defaults.

    Set when a connection is checked out for a different kind of use than its last one
    (once per connection in a web or worker process, never per request), in its own
    committed transaction so that a later rollback cannot undo it.
    """
    from sqlalchemy import event

    from app.extensions import db

    config = app.config
    web = (config["DB_LOCK_TIMEOUT_MS"], config["DB_STATEMENT_TIMEOUT_MS"],
           config["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"])
    job = (config["DB_JOB_LOCK_TIMEOUT_MS"], config["DB_JOB_STATEMENT_TIMEOUT_MS"],
           config["DB_JOB_IDLE_IN_TRANSACTION_TIMEOUT_MS"])
    names = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")

    def wanted():
        if has_request_context():
            return web
        from rq import get_current_job

        return job if get_current_job() is not None else None

    def on_checkout(dbapi_connection, record, proxy):
        timeouts = wanted()
        if "crm_timeouts" in record.info and record.info["crm_timeouts"] == timeouts:
            return
        if timeouts is None:
            sql = "; ".join(f"RESET {name}" for name in names)
        else:
            sql = "; ".join(f"SET {name} = {int(ms)}" for name, ms in zip(names, timeouts, strict=True))
        with dbapi_connection.cursor() as cursor:
            cursor.execute(sql)
        dbapi_connection.commit()
        record.info["crm_timeouts"] = timeouts

    with app.app_context():
        for engine in db.engines.values():  # the primary, and the reports' replica when configured
            event.listen(engine, "checkout", on_checkout)


def register_blueprints(app: Flask) -> None:
    from app.activity import bp as activity_bp
    from app.auth import bp as auth_bp
    from app.billing import bp as billing_bp
    from app.billing.public import bp as pay_bp
    from app.crm import bp as crm_bp
    from app.fulfillment import bp as fulfillment_bp
    from app.home import bp as home_bp
    from app.inbox import bp as inbox_bp
    from app.integrations.outbox_views import bp as outbox_bp
    from app.main import bp as main_bp
    from app.quickbooks import bp as quickbooks_bp
    from app.reports import bp as reports_bp
    from app.sequences import bp as sequences_bp
    from app.settings import bp as settings_bp
    from app.webhooks import bp as webhooks_bp

    for bp in (main_bp, auth_bp, activity_bp, crm_bp, inbox_bp, billing_bp, fulfillment_bp, settings_bp,
               pay_bp, webhooks_bp, sequences_bp, quickbooks_bp, home_bp, reports_bp):
        app.register_blueprint(bp)
    if app.config["ENV"] != "production":  # the outbox backend's reader: development only
        app.register_blueprint(outbox_bp)


def register_cli(app: Flask) -> None:
    from app import commands

    commands.register(app)


def register_template_helpers(app: Flask) -> None:
    from app import template_helpers

    template_helpers.register(app)
