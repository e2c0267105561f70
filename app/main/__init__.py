"""Cross-cutting pages: the health check (the landing page is app.home)."""
from flask import Blueprint

bp = Blueprint("main", __name__)

from app.main import views  # noqa: E402,F401
