"""Flask extensions, created unbound and initialised in create_app()."""
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from app.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def redis_options(config) -> dict:
    """The options of every Redis client the app makes (RQ's, the limiter's storage).

    Connect and read timeouts of a second or two: a frozen Redis costs a request that
    long, not redis-py's default of waiting forever. One immediate retry on a dropped
    connection (a pooled socket Redis closed, a restart), none on a timeout: redis-py's
    default (3 retries, backoff up to 10 s) would turn one frozen call into ~15 s.
    """
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    return {
        "socket_connect_timeout": config["REDIS_CONNECT_TIMEOUT_S"],
        "socket_timeout": config["REDIS_SOCKET_TIMEOUT_S"],
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }


def limited_endpoint(endpoint: str | None) -> bool:
    """Whether any rate limit applies to this endpoint (a decorated view or its blueprint).

    The others are exempted from the limiter altogether (the request filter below):
    while its storage is away, Flask-Limiter probes it again from whichever
    request comes next, and a page that has no limit (the board) must not wait for that.
    Reads Flask-Limiter's registries; if they ever move, every endpoint counts as limited
    (the behaviour without this filter)."""
    from flask import current_app
    from flask_limiter.util import get_qualified_name

    if not endpoint:
        return True
    try:
        marked = limiter._marked_for_limiting
        blueprint_limits = limiter.limit_manager._blueprint_limits
        defaults = limiter.limit_manager._default_limits or limiter.limit_manager._application_limits
    except AttributeError:
        return True
    if defaults:
        return True
    view = current_app.view_functions.get(endpoint)
    if view is not None and get_qualified_name(view) in marked:
        return True
    blueprint = endpoint.rpartition(".")[0]
    return any(blueprint == name or blueprint.startswith(name + ".") for name in blueprint_limits)


@limiter.request_filter
def _no_limit_here() -> bool:
    from flask import request

    return not limited_endpoint(request.endpoint)


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session has loaded: a view that answers with rows it
    has just read and written (a send's thread card) does not read the lead, the contact and
    the signed-in user again (three statements less per request). Rows the answer queries
    are read fresh as always."""
    session = db.session()
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
