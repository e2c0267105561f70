"""An invoice's status has one look everywhere (templates/billing/_status.html): the list,
the invoice page, its sharing page and the customer's page show the same badge."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from app.auth.models import UserRole
from app.billing.models import InvoiceStatus
from app.billing.payments import record_manual_payment
from tests.factories import login
from tests.integration.test_payments import make_invoice

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TONES = {"DRAFT": "neutral", "SENT": "accent", "PARTIAL": "warning", "PAID": "success", "VOID": "danger"}


@pytest.mark.parametrize("status", list(InvoiceStatus))
def test_the_macro_gives_each_status_its_tone(app, status):
    with app.test_request_context():
        macro = app.jinja_env.get_template("billing/_status.html").module.invoice_status
        html = str(macro(status))
    assert html == f'<span class="badge badge--{TONES[status.value]}">{status.value.title()}</span>'


def test_every_invoice_page_shows_the_same_badge(client, factory, db_session):
    admin = factory.user(UserRole.ADMIN)
    invoice, token = make_invoice(factory, actor=admin)
    record_manual_payment(invoice, actor=admin, amount=Decimal("100.00"), method="CASH")
    assert invoice.status is InvoiceStatus.PARTIAL
    login(client, admin)
    badge = re.compile(r'<span class="badge badge--warning"(?: id="invoice-status")?>Partial</span>')
    for path in (f"/invoices?company_id={invoice.company_id}", f"/invoices/{invoice.id}",
                 f"/invoices/{invoice.id}/sharing", f"/pay/{token}"):
        assert badge.search(client.get(path).get_data(as_text=True)), path


def test_no_other_template_maps_invoice_statuses_to_tones():
    maps = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
            if re.search(r"""["']PARTIAL["']\s*:""", path.read_text())]
    assert maps == ["billing/_status.html"]
