"""The transactional job outbox: a job is a row written in the change's transaction.

Revision ID: 0012_job_outbox
Revises: 0011_billing_unapplied
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_job_outbox"
down_revision = "0011_billing_unapplied"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("func", sa.Text(), nullable=False),
        sa.Column("args", postgresql.JSONB(), nullable=True),
        sa.Column("job_key", sa.Text(), nullable=True),
        sa.Column("retries", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'PENDING'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('PENDING', 'ENQUEUED', 'DONE', 'FAILED')", name="ck_job_outbox_status"),
        sa.PrimaryKeyConstraint("id", name="pk_job_outbox"),
    )
    op.create_index("ix_job_outbox_job_key", "job_outbox", ["job_key"], unique=True,
                    postgresql_where=sa.text("job_key IS NOT NULL"))
    op.create_index("ix_job_outbox_pending", "job_outbox", ["requested_at"],
                    postgresql_where=sa.text("status = 'PENDING'"))
    op.create_index("ix_job_outbox_enqueued", "job_outbox", ["checked_at"],
                    postgresql_where=sa.text("status = 'ENQUEUED'"))
    op.create_index("ix_job_outbox_done", "job_outbox", ["done_at"],
                    postgresql_where=sa.text("status = 'DONE'"))


def downgrade():
    op.drop_table("job_outbox")
