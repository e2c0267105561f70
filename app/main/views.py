import logging

from flask import jsonify
from sqlalchemy import text

from app.extensions import db, limiter
from app.main import bp
from app.queue import redis_connection

log = logging.getLogger(__name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """200 when the database and Redis answer; 503 naming what is down."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "down"
        log.warning("healthz database down: %s", exc)
        db.session.rollback()
        checks["database"] = "down"
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        log.warning("healthz redis down: %s", exc)
        checks["redis"] = "down"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), (200 if healthy else 503)
