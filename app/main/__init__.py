"""Cross-cutting pages: the landing page and the health check."""
from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import views  # noqa: E402,F401
