"""Every Cal.com uid a booking has had (booking_uids).

Cal.com gives a rescheduled booking a new uid and names the old one in `rescheduleUid`;
its webhooks may arrive out of order or twice. The spec's `bookings` row keeps only the
current uid (`cal_booking_uid`), so a create that arrives after the reschedule that moved
it would start a second row. This table maps every uid the booking has ever had (the
current one too) to its one row: any event, in any order, finds the row.

Revision ID: 0016_inbox_bookings
Revises: 0017_message_templates
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_inbox_bookings"
down_revision = "0017_message_templates"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "booking_uids",
        sa.Column("uid", sa.Text(), nullable=False),
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_uids_booking_id_bookings")),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_booking_uids")),
    )
    op.create_index(op.f("ix_booking_uids_booking_id"), "booking_uids", ["booking_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_booking_uids_booking_id"), table_name="booking_uids")
    op.drop_table("booking_uids")
