from flask import Blueprint

bp = Blueprint("inbox", __name__)

from app.inbox import new_lead_views, outbox_views  # noqa: E402,F401
from app.inbox.bookings import views as _bookings_views  # noqa: E402,F401
from app.inbox.calls import views as calls_views  # noqa: E402,F401
from app.inbox.canned import views as canned_views  # noqa: E402,F401
from app.inbox.email import account_views  # noqa: E402,F401
from app.inbox.email import views as email_views  # noqa: E402,F401
from app.inbox.email import webhook as gmail_webhook  # noqa: E402,F401
from app.inbox.queue import views as queue_views  # noqa: E402,F401
from app.inbox.sms import views as sms_views  # noqa: E402,F401
from app.inbox.sms import webhook  # noqa: E402,F401
from app.inbox.thread import views as thread_views  # noqa: E402,F401
