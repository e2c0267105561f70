"""Imports every domain's models so the metadata (and Alembic) sees all tables."""
from app.activity.models import *  # noqa: F401,F403
from app.auth.models import *  # noqa: F401,F403
from app.billing.models import *  # noqa: F401,F403
from app.billing.pay_links import InvoicePayLink  # noqa: F401
from app.crm.models import *  # noqa: F401,F403
from app.fulfillment.models import *  # noqa: F401,F403
from app.inbox.bookings.models import *  # noqa: F401,F403
from app.inbox.calls.models import *  # noqa: F401,F403
from app.inbox.models import *  # noqa: F401,F403
from app.inbox.sms.models import *  # noqa: F401,F403
from app.integrations.models import *  # noqa: F401,F403
from app.job_outbox.models import *  # noqa: F401,F403
from app.reports.models import *  # noqa: F401,F403
from app.sequences.models import *  # noqa: F401,F403
from app.settings.models import *  # noqa: F401,F403
from app.webhooks.models import *  # noqa: F401,F403
