"""Invoices: a per-year counter row for gap-free invoice numbers (INV-2026-00042).

A PostgreSQL SEQUENCE hands out numbers outside the transaction, so a rolled-back
invoice creation would leave a gap. The counter row is locked with SELECT ... FOR UPDATE
and bumped in the same transaction as the invoice insert instead: a rollback gives the
number back, and concurrent creators queue on the row lock.

Revision ID: 0005_invoice_number_counters
Revises: 0004_companies_name_order
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_invoice_number_counters"
down_revision = "0004_companies_name_order"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invoice_number_counters",
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.CheckConstraint("last_number >= 0", name=op.f("ck_invoice_number_counters_last_number_nonneg")),
    )
    # Seed from invoices that already exist (numbers in the INV-YYYY-NNNNN format).
    op.execute(
        """
        INSERT INTO invoice_number_counters (year, last_number)
        SELECT substring(invoice_number from 5 for 4)::int,
               max(substring(invoice_number from 10)::int)
          FROM invoices
         WHERE invoice_number ~ '^INV-[0-9]{4}-[0-9]+$'
         GROUP BY 1
        """
    )


def downgrade():
    op.drop_table("invoice_number_counters")
