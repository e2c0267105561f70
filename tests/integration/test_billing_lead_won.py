"""A signed and paid invoice wins its lead, through the pipeline's mover (its activity),
whichever comes last: the payment (the Stripe webhook) or the signature."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.activity.models import Activity
from app.billing.models import InvoiceStatus
from app.crm.models import CompanyStatus, LeadStage
from app.crm.pipeline.moves import move_lead_to_stage
from tests.integration.test_payments import make_invoice, work_all
from tests.integration.test_public_page import sign
from tests.integration.test_stripe_webhook import adapted, post, secret  # noqa: F401 (fixture)


def _quoted(db_session, invoice):
    move_lead_to_stage(invoice.lead_id, LeadStage.QUOTED, actor=None)
    db_session.refresh(invoice.lead)
    assert invoice.lead.stage is LeadStage.QUOTED


def _won_activities(db_session, invoice):
    return [a for a in db_session.scalars(select(Activity).where(
        Activity.lead_id == invoice.lead_id, Activity.activity_type == "lead.stage_changed")).all()
        if a.detail.get("to") == "WON"]


@pytest.mark.parametrize("signed_first", [True, False])
def test_signing_and_paying_wins_the_lead(client, factory, db_session, secret, signed_first):  # noqa: F811
    invoice, token = make_invoice(factory)
    _quoted(db_session, invoice)
    if signed_first:
        assert sign(client, token).status_code == 303
    assert post(client, adapted("payment_intent.succeeded", invoice, suffix=f"w{signed_first}")).status_code == 200
    work_all()
    db_session.refresh(invoice)
    assert invoice.status is InvoiceStatus.PAID
    if not signed_first:
        db_session.refresh(invoice.lead)
        assert invoice.lead.stage is LeadStage.QUOTED  # paid, not signed: not won yet
        assert sign(client, token).status_code == 303
    db_session.refresh(invoice.lead)
    db_session.refresh(invoice.company)
    assert invoice.lead.stage is LeadStage.WON and invoice.lead.won_at is not None
    assert invoice.company.status is CompanyStatus.CUSTOMER
    [activity] = _won_activities(db_session, invoice)
    assert activity.detail["from"] == "QUOTED"


def test_a_won_lead_is_not_moved_again(client, factory, db_session, secret):  # noqa: F811
    invoice, token = make_invoice(factory)
    move_lead_to_stage(invoice.lead_id, LeadStage.WON, actor=None)
    sign(client, token)
    post(client, adapted("payment_intent.succeeded", invoice, suffix="ww"))
    work_all()
    assert len(_won_activities(db_session, invoice)) == 1
