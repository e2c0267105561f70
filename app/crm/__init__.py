from flask import Blueprint

bp = Blueprint("crm", __name__)

from app.crm import (  # noqa: E402,F401
    company_views,
    contact_views,
    import_views,
    lead_views,
    record_views,
    views,
)
