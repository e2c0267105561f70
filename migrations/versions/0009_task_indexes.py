"""Tasks: indexes for the two ways they are read (a company page's tasks, a rep's open tasks).

Revision ID: 0009_task_indexes
Revises: 0008_lead_last_activity_at
Create Date: 2026-11-22
"""
from alembic import op

revision = "0009_task_indexes"
down_revision = "0008_lead_last_activity_at"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tasks_company_id", "tasks", ["company_id"])
    op.create_index("ix_tasks_assigned_to_id_is_completed", "tasks", ["assigned_to_id", "is_completed"])


def downgrade():
    op.drop_index("ix_tasks_assigned_to_id_is_completed", table_name="tasks")
    op.drop_index("ix_tasks_company_id", table_name="tasks")
