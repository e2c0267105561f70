"""SMS through the rep's Android phone: what the spec's sms tables lack.

- `sms_status` gets SENDING: a send job claims its row (QUEUED -> SENDING in one conditional
  UPDATE) before it calls the gateway; the reconciler settles rows left SENDING.
- `sms_messages`: the gateway it goes through, the conversation it belongs to (an unmatched
  number's conversation has no lead), why it failed, how often it was claimed, when it was
  claimed, and the unique key of an inbound message (device + the gateway's content id).
- `sms_outbox_messages`: what the development `outbox` SMS backend "sent" (one row per
  message id, as the gateway keeps one message per id).

Revision ID: 0015_inbox_sms
Revises: 0014_one_open_order
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_inbox_sms"
down_revision = "0014_one_open_order"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TYPE sms_status ADD VALUE IF NOT EXISTS 'SENDING' BEFORE 'SENT'")
    op.add_column("sms_messages", sa.Column("gateway_id", sa.Uuid(), nullable=True))
    op.add_column("sms_messages", sa.Column("conversation_id", sa.Uuid(), nullable=True))
    op.add_column("sms_messages", sa.Column("error", sa.Text(), nullable=True))
    op.add_column("sms_messages", sa.Column("attempts", sa.Integer(), server_default=sa.text("0"),
                                            nullable=False))
    op.add_column("sms_messages", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sms_messages", sa.Column("inbound_key", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_sms_messages_gateway_id_sms_gateways"), "sms_messages", "sms_gateways",
                          ["gateway_id"], ["id"], ondelete="SET NULL")
    op.create_foreign_key(op.f("fk_sms_messages_conversation_id_conversations"), "sms_messages",
                          "conversations", ["conversation_id"], ["id"], ondelete="SET NULL")
    op.create_index(op.f("ix_sms_messages_conversation_id"), "sms_messages", ["conversation_id", "created_at"])
    op.create_index(op.f("ix_sms_messages_from_number"), "sms_messages", ["from_number"])
    op.create_unique_constraint(op.f("uq_sms_messages_inbound_key"), "sms_messages", ["inbound_key"])
    op.create_table(
        "sms_outbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_number", sa.Text(), nullable=False),
        sa.Column("to_number", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox_messages")),
    )
    op.create_index(op.f("ix_sms_outbox_messages_created_at"), "sms_outbox_messages", ["created_at"])


def downgrade():
    op.drop_index(op.f("ix_sms_outbox_messages_created_at"), table_name="sms_outbox_messages")
    op.drop_table("sms_outbox_messages")
    op.drop_constraint(op.f("uq_sms_messages_inbound_key"), "sms_messages", type_="unique")
    op.drop_index(op.f("ix_sms_messages_from_number"), table_name="sms_messages")
    op.drop_index(op.f("ix_sms_messages_conversation_id"), table_name="sms_messages")
    op.drop_constraint(op.f("fk_sms_messages_conversation_id_conversations"), "sms_messages", type_="foreignkey")
    op.drop_constraint(op.f("fk_sms_messages_gateway_id_sms_gateways"), "sms_messages", type_="foreignkey")
    for column in ("inbound_key", "claimed_at", "attempts", "error", "conversation_id", "gateway_id"):
        op.drop_column("sms_messages", column)
    # PostgreSQL cannot drop an enum value: the type is made again without SENDING.
    op.execute("UPDATE sms_messages SET status = 'QUEUED' WHERE status = 'SENDING'")
    op.execute("ALTER TABLE sms_messages ALTER COLUMN status DROP DEFAULT")
    op.execute("ALTER TYPE sms_status RENAME TO sms_status_old")
    op.execute("CREATE TYPE sms_status AS ENUM ('QUEUED', 'SENT', 'DELIVERED', 'FAILED')")
    op.execute("ALTER TABLE sms_messages ALTER COLUMN status TYPE sms_status USING status::text::sms_status")
    op.execute("ALTER TABLE sms_messages ALTER COLUMN status SET DEFAULT 'QUEUED'")
    op.execute("DROP TYPE sms_status_old")
