from flask import Blueprint

bp = Blueprint("fulfillment", __name__)

from app.fulfillment import views  # noqa: E402,F401
