"""QuickBooks Online: the connection (realm and tokens sealed) and the sync ledger.

- `quickbooks_connections`: one live row (not DISCONNECTED) per environment; realm id and
  tokens are AES-256-GCM sealed (app/integrations/secrets.py); when the grant died; the
  items' full-pull time and CDC watermark.
- `quickbooks_sync_ledger`: one row per push (customer, invoice, payment, refund; create,
  update, void), PENDING -> IN_FLIGHT -> SYNCED / FAILED / CONFLICT / SKIPPED; its id is the
  `requestid` QuickBooks is sent. One create per local object ever, one waiting update or
  void per local object.

Revision ID: 0025_quickbooks
Revises: 0024_sequences
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0025_quickbooks"
down_revision = "0024_sequences"
branch_labels = None
depends_on = None

CONNECTION_STATUS = postgresql.ENUM("CONNECTED", "DEAD", "DISCONNECTED", name="quickbooks_connection_status",
                                    create_type=False)
STATE = postgresql.ENUM("PENDING", "IN_FLIGHT", "SYNCED", "FAILED", "CONFLICT", "SKIPPED",
                        name="quickbooks_ledger_state", create_type=False)
ENTITY = postgresql.ENUM("CUSTOMER", "INVOICE", "PAYMENT", "REFUND", name="quickbooks_ledger_entity",
                         create_type=False)
OPERATION = postgresql.ENUM("CREATE", "UPDATE", "VOID", name="quickbooks_ledger_operation", create_type=False)
TZ = sa.DateTime(timezone=True)


def upgrade():
    bind = op.get_bind()
    for enum in (CONNECTION_STATUS, STATE, ENTITY, OPERATION):
        enum.create(bind, checkfirst=True)
    op.create_table(
        "quickbooks_connections",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("status", CONNECTION_STATUS, nullable=False),
        sa.Column("realm_id_sealed", sa.Text(), nullable=False),
        sa.Column("access_token_sealed", sa.Text(), nullable=True),
        sa.Column("access_expires_at", TZ, nullable=True),
        sa.Column("refresh_token_sealed", sa.Text(), nullable=True),
        sa.Column("refresh_expires_at", TZ, nullable=True),
        sa.Column("refreshed_at", TZ, nullable=True),
        sa.Column("connected_by_id", sa.Uuid(), nullable=True),
        sa.Column("connected_at", TZ, nullable=False),
        sa.Column("dead_at", TZ, nullable=True),
        sa.Column("dead_reason", sa.Text(), nullable=True),
        sa.Column("disconnected_at", TZ, nullable=True),
        sa.Column("items_full_at", TZ, nullable=True),
        sa.Column("items_cdc_at", TZ, nullable=True),
        sa.Column("last_push_at", TZ, nullable=True),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["connected_by_id"], ["users.id"],
                                name=op.f("fk_quickbooks_connections_connected_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quickbooks_connections")),
    )
    op.create_index("uq_quickbooks_connections_live", "quickbooks_connections", ["environment"], unique=True,
                    postgresql_where=sa.text("status <> 'DISCONNECTED'"))
    op.create_table(
        "quickbooks_sync_ledger",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("entity", ENTITY, nullable=False),
        sa.Column("local_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("operation", OPERATION, nullable=False),
        sa.Column("state", STATE, nullable=False),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("conflict", postgresql.JSONB(), nullable=True),
        sa.Column("history", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("synced_at", TZ, nullable=True),
        sa.Column("created_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"],
                                name=op.f("fk_quickbooks_sync_ledger_company_id_companies"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quickbooks_sync_ledger")),
    )
    op.create_index("uq_quickbooks_sync_ledger_one_create", "quickbooks_sync_ledger", ["entity", "local_id"],
                    unique=True, postgresql_where=sa.text("operation = 'CREATE'"))
    op.create_index("uq_quickbooks_sync_ledger_one_waiting", "quickbooks_sync_ledger",
                    ["entity", "local_id", "operation"], unique=True,
                    postgresql_where=sa.text("state = 'PENDING' AND operation <> 'CREATE'"))
    op.create_index(op.f("ix_quickbooks_sync_ledger_state_next_attempt_at"), "quickbooks_sync_ledger",
                    ["state", "next_attempt_at"])
    op.create_index(op.f("ix_quickbooks_sync_ledger_company_id"), "quickbooks_sync_ledger", ["company_id"])
    op.create_index(op.f("ix_quickbooks_sync_ledger_state"), "quickbooks_sync_ledger", ["state"])


def downgrade():
    op.drop_table("quickbooks_sync_ledger")
    op.drop_table("quickbooks_connections")
    bind = op.get_bind()
    for enum in (OPERATION, ENTITY, STATE, CONNECTION_STATUS):
        enum.drop(bind, checkfirst=True)
