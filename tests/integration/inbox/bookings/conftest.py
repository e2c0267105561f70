import pytest

from tests.integration.inbox.bookings.calcom import SECRET


@pytest.fixture
def secret(app, monkeypatch):
    """The Cal.com webhook secret the tests sign with."""
    monkeypatch.setitem(app.config, "CALCOM_WEBHOOK_SECRET", SECRET)
    return SECRET
