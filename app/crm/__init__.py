"""Sales: one `crm` blueprint; each sub-domain package registers its routes on it.

records/    companies, contacts, leads, addresses, notes, merges, duplicates, the lists
pipeline/   the board, stage moves and the maintained stage totals
importing/  CSV import (Google Maps, Plusvibe): upload, mapping, preview, run
tasks/      tasks
scoring/    lead scores and their jobs
search/     the header search
tags/       tags and the disposition event
"""
from flask import Blueprint

bp = Blueprint("crm", __name__)

from app.crm.importing import views as _importing_views  # noqa: E402,F401
from app.crm.pipeline import views as _pipeline_views  # noqa: E402,F401
from app.crm.records import (  # noqa: E402,F401
    company_views,
    contact_views,
    edit_views,
    lead_views,
)
