"""The packing screen's scan log (undo last scan, double-Enter detection).

Revision ID: 0007_fulfillment_scans
Revises: 0006_outbox_and_public_links
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_fulfillment_scans"
down_revision = "0006_outbox_and_public_links"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fulfillment_scans",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("fulfillment_order_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=True),
        sa.Column("paired_new", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["fulfillment_order_id"], ["fulfillment_orders.id"], ondelete="CASCADE",
                                name=op.f("fk_fulfillment_scans_fulfillment_order_id_fulfillment_orders")),
        sa.ForeignKeyConstraint(["item_id"], ["fulfillment_items.id"], ondelete="SET NULL",
                                name=op.f("fk_fulfillment_scans_item_id_fulfillment_items")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_fulfillment_scans_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfillment_scans")),
    )
    op.create_index(op.f("ix_fulfillment_scans_fulfillment_order_id_created_at"), "fulfillment_scans",
                    ["fulfillment_order_id", "created_at"])


def downgrade():
    op.drop_index(op.f("ix_fulfillment_scans_fulfillment_order_id_created_at"), table_name="fulfillment_scans")
    op.drop_table("fulfillment_scans")
