"""invoice_pay_links: the sealed token of each invoice's live public link.

message_templates is used as the spec has it (no change). A canned reply's
`{{ invoice.pay_url }}` needs the link of a sent invoice, but invoices.payment_token keeps
only its SHA-256; the token is kept here sealed (AES-256-GCM, key from SECRETS_KEY), one
row per invoice, replaced when the invoice is sent again, deleted when the link is revoked.

Revision ID: 0017_message_templates
Revises: 0015_inbox_sms
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_message_templates"
down_revision = "0015_inbox_sms"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invoice_pay_links",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE",
                                name=op.f("fk_invoice_pay_links_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_invoice_pay_links")),
    )


def downgrade():
    op.drop_table("invoice_pay_links")
