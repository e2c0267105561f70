"""Sequences: what the engine needs beyond the spec's tables.

- one live (ACTIVE or PAUSED) run per lead and definition: a partial unique index, so a tag
  applied twice, or by two requests at once, starts one run;
- a step of a run is logged once: unique (sequence_run_id, step_number), so a second claim
  of the same step cannot insert its log (and so cannot perform it);
- the engine's claim of due runs: a partial index on next_step_at of ACTIVE runs.

Revision ID: 0024_sequences
Revises: 0023_inbox_indexes
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0024_sequences"
down_revision = "0023_inbox_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("uq_sequence_runs_live_lead_def", "sequence_runs", ["lead_id", "sequence_def_id"],
                    unique=True, postgresql_where=sa.text("status IN ('ACTIVE', 'PAUSED')"))
    op.create_index("ix_sequence_runs_due", "sequence_runs", ["next_step_at"],
                    postgresql_where=sa.text("status = 'ACTIVE'"))
    op.create_unique_constraint("uq_sequence_step_logs_run_step", "sequence_step_logs",
                                ["sequence_run_id", "step_number"])


def downgrade():
    op.drop_constraint("uq_sequence_step_logs_run_step", "sequence_step_logs", type_="unique")
    op.drop_index("ix_sequence_runs_due", table_name="sequence_runs")
    op.drop_index("uq_sequence_runs_live_lead_def", table_name="sequence_runs")
