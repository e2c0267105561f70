"""At most one fulfillment order per invoice that is not canceled.

`packing.create_order_for_invoice` checks for an order and then inserts one, under the
invoice's row lock; this index is the database's own guard for the same rule (two
manual releases at once could otherwise both insert).

Revision ID: 0014_one_open_order
Revises: 0013_delivery_failures
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_one_open_order"
down_revision = "0013_delivery_failures"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("uq_fulfillment_orders_invoice_id_open", "fulfillment_orders", ["invoice_id"],
                    unique=True, postgresql_where=sa.text("status <> 'CANCELED'"))


def downgrade():
    op.drop_index("uq_fulfillment_orders_invoice_id_open", table_name="fulfillment_orders")
