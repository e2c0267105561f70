from flask import Blueprint

bp = Blueprint("crm", __name__)

from app.crm import company_views, import_views, lead_views, record_views, views  # noqa: E402,F401
