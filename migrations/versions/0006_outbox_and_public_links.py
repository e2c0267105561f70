"""Customer-facing invoices: the e-mail outbox, signature evidence, payment options,
and a database guard that keeps payments append-only.

- outbox_messages: what the `outbox` mail backend "sends" (dev and tests): stored and
  shown in the app under /outbox. `message_key` (unique) makes a re-run send job a no-op.
- invoice_signatures: one row per signed invoice (the invoice id is the key, so an
  invoice is signed once), with the SHA-256 of the agreement text shown and of the
  invoice content at signing, the consent text and the content that was hashed. The
  spec's invoices.signed_* columns keep name, time, IP, user agent and the text.
- invoice_payment_options: per-invoice flags (no row = both false): may the customer pay
  less than the balance (allow_partial), may a payment exceed it (allow_overpayment).
- payments: rows are never edited or deleted (a refund is a new negative row). The
  trigger refuses DELETE and any UPDATE except of qb_payment_id (set by the QuickBooks
  sync after the fact).

The public pay-link token itself is never stored: invoices.payment_token holds the
hex SHA-256 of it.

Revision ID: 0006_outbox_and_public_links
Revises: 0005_invoice_number_counters
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_outbox_and_public_links"
down_revision = "0005_invoice_number_counters"
branch_labels = None
depends_on = None

PAYMENTS_GUARD = """
CREATE FUNCTION payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payments are append-only: DELETE refused (record a reversal)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.invoice_id IS DISTINCT FROM OLD.invoice_id
       OR NEW.amount IS DISTINCT FROM OLD.amount
       OR NEW.method IS DISTINCT FROM OLD.method
       OR NEW.stripe_payment_id IS DISTINCT FROM OLD.stripe_payment_id
       OR NEW.reference IS DISTINCT FROM OLD.reference
       OR NEW.notes IS DISTINCT FROM OLD.notes
       OR NEW.paid_at IS DISTINCT FROM OLD.paid_at
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'payments are append-only: UPDATE refused (record a reversal)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER payments_append_only
    BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
"""


def upgrade():
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("from_address", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("message_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="SET NULL",
                                name=op.f("fk_outbox_messages_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("message_key", name=op.f("uq_outbox_messages_message_key")),
    )
    op.create_index(op.f("ix_outbox_messages_created_at"), "outbox_messages", ["created_at"])
    op.create_index(op.f("ix_outbox_messages_invoice_id"), "outbox_messages", ["invoice_id"])

    op.create_table(
        "invoice_signatures",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("signed_name", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_ip_addr", sa.Text(), nullable=True),
        sa.Column("signed_user_agent", sa.Text(), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("agreement_sha256", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.Text(), nullable=False),
        sa.Column("content_snapshot", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_invoice_signatures_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_signatures")),
    )

    op.create_table(
        "invoice_payment_options",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("allow_partial", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("allow_overpayment", sa.Boolean(), server_default=sa.text("false"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE",
                                name=op.f("fk_invoice_payment_options_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_payment_options")),
    )
    op.execute(PAYMENTS_GUARD)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS payments_append_only ON payments")
    op.execute("DROP FUNCTION IF EXISTS payments_append_only()")
    op.drop_table("invoice_payment_options")
    op.drop_table("invoice_signatures")
    op.drop_index(op.f("ix_outbox_messages_invoice_id"), table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_created_at"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
