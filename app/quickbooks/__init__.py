"""QuickBooks Online sync: Settings → QuickBooks (connect, the ledger), POST /webhooks/quickbooks.

connection.py (OAuth, the API client), tokens.py (refresh under the realm's lock), limits.py
(per-realm token bucket), ledger.py (the sync ledger; billing's change events), push.py
(customers, invoices, payments out), pull.py (items in), jobs.py, views.py, webhook.py.
"""
from flask import Blueprint

bp = Blueprint("quickbooks", __name__)

from app.quickbooks import ledger as _ledger  # noqa: E402,F401  (billing's change listener)
from app.quickbooks import views, webhook  # noqa: E402,F401
