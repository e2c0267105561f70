"""The packing scan's indexes (issue 14): foreign keys it reads by had none.

- `fulfillment_scans.item_id`: undoing a device scan deletes its fulfillment item, and the
  scans naming it get item_id NULL (ON DELETE SET NULL): without an index, a sequential
  scan of every scan ever logged, once per undo.
- `fulfillment_items.fulfillment_order_id`: every step of packing reads the order's items.
- `fulfillment_items.device_id`: a scan of a device not in stock asks which open order has it.
- `invoice_line_items.invoice_id`: the pick list reads the order's invoice's lines.

Each was a sequential scan of a table that only grows (the bench database is too small to
show it: 35 invoice lines). IF NOT EXISTS: another branch may index the same key.

Revision ID: 0034_search_scan
Revises: 0033_board_rep_index
Create Date: 2026-11-28
"""
from alembic import op

revision = "0034_search_scan"
down_revision = "0033_board_rep_index"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_fulfillment_scans_item_id": ("fulfillment_scans", "item_id"),
    "ix_fulfillment_items_fulfillment_order_id": ("fulfillment_items", "fulfillment_order_id"),
    "ix_fulfillment_items_device_id": ("fulfillment_items", "device_id"),
    "ix_invoice_line_items_invoice_id": ("invoice_line_items", "invoice_id"),
}


def upgrade() -> None:
    for name, (table, column) in INDEXES.items():
        op.create_index(name, table, [column], if_not_exists=True)


def downgrade() -> None:
    for name, (table, _column) in INDEXES.items():
        op.drop_index(name, table_name=table, if_exists=True)
