"""Issue 9, security 2: a query parameter named like one of render()'s own arguments
(`?status=` on the inventory page) is template context, never the HTTP status line."""
from __future__ import annotations

import pytest

from app.auth.models import UserRole
from app.fulfillment.models import DeviceStatus
from app.htmx import render
from tests.factories import login
from tests.integration.test_warehouse import stock


def test_status_filter_filters_and_never_becomes_the_status_line(app, client, db_session, factory):
    devices = stock(db_session, 2)
    devices[1].status = DeviceStatus.RETURNED
    db_session.flush()
    login(client, factory.user(UserRole.OPERATOR))

    page = client.get("/warehouse/inventory?status=RETURNED")
    assert page.status_code == 200
    assert devices[1].serial_number.encode() in page.data
    assert devices[0].serial_number.encode() not in page.data
    assert b'value="RETURNED" selected' in page.data

    forged = client.get("/warehouse/inventory?status=302%20Found%0d%0aLocation:%20https://evil.example")
    assert forged.status_code == 200
    assert "Location" not in forged.headers
    assert devices[0].serial_number.encode() in forged.data  # an unknown status filters nothing


def test_render_takes_template_variables_only_in_context(app):
    with app.test_request_context("/"):
        with pytest.raises(TypeError):
            render("errors/error.html", status=200, code=404)  # not a render() argument
        with pytest.raises(TypeError):
            render("errors/error.html", status="302 Found\r\nLocation: x")
