from flask import Blueprint

bp = Blueprint("crm", __name__)

from app.crm import views  # noqa: E402,F401
