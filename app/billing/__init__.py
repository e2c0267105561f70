from flask import Blueprint

bp = Blueprint("billing", __name__)

from app.billing import sending_views, unapplied_views, views  # noqa: E402,F401
