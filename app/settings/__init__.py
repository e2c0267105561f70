from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from app.settings import jobs_views, views  # noqa: E402,F401
