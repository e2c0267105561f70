"""Delivery state of every e-mail the app sends (mail_deliveries).

An invoice e-mail that could not be sent used to leave no trace but a job in RQ's failed
registry. A row per message (unique message_key) is written with the send (SENDING); the
mail job marks it SENT, or FAILED with the provider's reason when the server refused it
for good or the last retry failed, and links the task the sender was given.

Revision ID: 0013_delivery_failures
Revises: 0012_job_outbox
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_delivery_failures"
down_revision = "0012_job_outbox"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_deliveries",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("message_key", sa.Text(), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'SENDING'"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("sender_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('SENDING', 'SENT', 'FAILED')", name=op.f("ck_mail_deliveries_status")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="SET NULL",
                                name=op.f("fk_mail_deliveries_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_mail_deliveries_sender_id_users")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="SET NULL",
                                name=op.f("fk_mail_deliveries_task_id_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_deliveries")),
        sa.UniqueConstraint("message_key", name=op.f("uq_mail_deliveries_message_key")),
    )
    op.create_index(op.f("ix_mail_deliveries_invoice_id"), "mail_deliveries", ["invoice_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_mail_deliveries_invoice_id"), table_name="mail_deliveries")
    op.drop_table("mail_deliveries")
