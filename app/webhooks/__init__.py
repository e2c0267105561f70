"""Inbound webhooks: verify the signature, store the raw event once with its job (an outbox row),
answer 2xx. Nothing else happens in the request (see ARCHITECTURE.md)."""
from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)  # authenticated by the provider's signature, not a session

from app.inbox.bookings import webhook as _calcom  # noqa: E402,F401  (POST /webhooks/calcom)
from app.webhooks import views  # noqa: E402,F401
