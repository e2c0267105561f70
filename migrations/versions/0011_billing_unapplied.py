"""Unapplied payments: money Stripe took that the CRM refused to apply, and its refunds.

An append-only ledger like payments (a refund is a new negative row): the database refuses
DELETE, and an UPDATE of anything but the links (task, invoice, company, event: set NULL
when those go) .

Revision ID: 0011_billing_unapplied
Revises: 0010_lead_stage_rep_totals
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_billing_unapplied"
down_revision = "0010_lead_stage_rep_totals"
branch_labels = None
depends_on = None

GUARD = """
CREATE FUNCTION unapplied_payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'unapplied_payments are append-only: DELETE refused (record a reversal)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.stripe_key IS DISTINCT FROM OLD.stripe_key
       OR NEW.payment_intent_id IS DISTINCT FROM OLD.payment_intent_id
       OR NEW.charge_id IS DISTINCT FROM OLD.charge_id
       OR NEW.amount_minor IS DISTINCT FROM OLD.amount_minor
       OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.occurred_at IS DISTINCT FROM OLD.occurred_at
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'unapplied_payments are append-only: UPDATE refused (record a reversal)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER unapplied_payments_append_only
    BEFORE UPDATE OR DELETE ON unapplied_payments
    FOR EACH ROW EXECUTE FUNCTION unapplied_payments_append_only();
"""


def upgrade():
    op.create_table(
        "unapplied_payments",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("stripe_key", sa.Text(), nullable=False),
        sa.Column("payment_intent_id", sa.Text(), nullable=False),
        sa.Column("charge_id", sa.Text(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("customer_email", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("webhook_event_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="SET NULL",
                                name=op.f("fk_unapplied_payments_company_id_companies")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="SET NULL",
                                name=op.f("fk_unapplied_payments_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="SET NULL",
                                name=op.f("fk_unapplied_payments_task_id_tasks")),
        sa.ForeignKeyConstraint(["webhook_event_id"], ["webhook_events.id"], ondelete="SET NULL",
                                name=op.f("fk_unapplied_payments_webhook_event_id_webhook_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unapplied_payments")),
        sa.UniqueConstraint("stripe_key", name=op.f("uq_unapplied_payments_stripe_key")),
    )
    op.create_index(op.f("ix_unapplied_payments_payment_intent_id"), "unapplied_payments",
                    ["payment_intent_id"], unique=False)
    op.execute(GUARD)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS unapplied_payments_append_only ON unapplied_payments")
    op.execute("DROP FUNCTION IF EXISTS unapplied_payments_append_only()")
    op.drop_index(op.f("ix_unapplied_payments_payment_intent_id"), table_name="unapplied_payments")
    op.drop_table("unapplied_payments")
