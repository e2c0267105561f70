"""The packing scan's undo (issue 14).

Undoing a device scan deletes its fulfillment item; the scans that name the item get
item_id NULL (ON DELETE SET NULL), which without an index on fulfillment_scans.item_id
is a sequential scan of every scan ever logged, once per undo.

Revision ID: 0034_search_scan
Revises: 0029_qbo_batch
Create Date: 2026-11-28
"""
from alembic import op

revision = "0034_search_scan"
down_revision = "0029_qbo_batch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_fulfillment_scans_item_id", "fulfillment_scans", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_fulfillment_scans_item_id", table_name="fulfillment_scans")
