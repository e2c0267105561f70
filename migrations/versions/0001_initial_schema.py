"""Initial schema: every table of the data-model spec, webhook_events,
pg_trgm search indexes, and the trigger that keeps activities append-only.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


# Activities are an immutable audit log. The content of a row can never change
# and rows can never be deleted. The only UPDATE allowed re-points its subject
# links (lead, company, contact, user): a merge moves them to the surviving
# record, and ON DELETE SET NULL clears them when a subject is deleted.
ACTIVITY_GUARD = """
CREATE FUNCTION activities_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'activities are append-only: DELETE refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.activity_type IS DISTINCT FROM OLD.activity_type
       OR NEW.summary IS DISTINCT FROM OLD.summary
       OR NEW.detail IS DISTINCT FROM OLD.detail
       OR NEW.occurred_at IS DISTINCT FROM OLD.occurred_at
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'activities are append-only: UPDATE of its content refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER activities_append_only
    BEFORE UPDATE OR DELETE ON activities
    FOR EACH ROW EXECUTE FUNCTION activities_append_only();
CREATE TRIGGER activities_no_truncate
    BEFORE TRUNCATE ON activities
    FOR EACH STATEMENT EXECUTE FUNCTION activities_append_only_truncate();
"""

TRUNCATE_GUARD = """
CREATE FUNCTION activities_append_only_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'activities are append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

ENUM_TYPES = [
    "address_type", "booking_status", "call_outcome", "company_status", "conversation_channel",
    "deal_risk", "device_status", "fulfillment_status", "invoice_status", "lead_stage",
    "message_direction", "payment_method", "product_type", "sequence_status", "sim_status",
    "sms_status", "step_status", "tag_category", "task_priority", "task_type",
    "tax_rate_category", "taxonomy_type", "template_category", "template_channel", "user_role",
]


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('agreement_templates',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('variables', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_templates')),
    sa.UniqueConstraint('slug', name=op.f('uq_agreement_templates_slug'))
    )
    with op.batch_alter_table('agreement_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_templates_active_sort_order'), ['active', 'sort_order'], unique=False)

    op.create_table('backends',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backends')),
    sa.UniqueConstraint('slug', name=op.f('uq_backends_slug'))
    )
    with op.batch_alter_table('backends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backends_active_sort_order'), ['active', 'sort_order'], unique=False)

    op.create_table('call_lists',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('filter_criteria', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
    sa.Column('lead_ids', postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_lists'))
    )
    op.create_table('carriers',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carriers')),
    sa.UniqueConstraint('slug', name=op.f('uq_carriers_slug'))
    )
    with op.batch_alter_table('carriers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carriers_active_sort_order'), ['active', 'sort_order'], unique=False)

    op.create_table('contract_terms',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_terms')),
    sa.UniqueConstraint('slug', name=op.f('uq_contract_terms_slug'))
    )
    with op.batch_alter_table('contract_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_terms_active_sort_order'), ['active', 'sort_order'], unique=False)

    op.create_table('payment_terms',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_terms')),
    sa.UniqueConstraint('slug', name=op.f('uq_payment_terms_slug'))
    )
    with op.batch_alter_table('payment_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_terms_active_sort_order'), ['active', 'sort_order'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('qb_item_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('sku', sa.Text(), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('cost', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('type', sa.Enum('ONE_TIME', 'RECURRING', 'SERVICE', name='product_type'), server_default='ONE_TIME', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('qb_item_id', name=op.f('uq_products_qb_item_id'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_sku'), ['sku'], unique=False)

    op.create_table('sequence_definitions',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tag_slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('steps', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequence_definitions')),
    sa.UniqueConstraint('tag_slug', name=op.f('uq_sequence_definitions_tag_slug'))
    )
    op.create_table('settings',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settings')),
    sa.UniqueConstraint('key', name=op.f('uq_settings_key'))
    )
    op.create_table('shipping_types',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('default_cost', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_types')),
    sa.UniqueConstraint('slug', name=op.f('uq_shipping_types_slug'))
    )
    with op.batch_alter_table('shipping_types', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipping_types_active_sort_order'), ['active', 'sort_order'], unique=False)

    op.create_table('sim_cards',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('iccid', sa.Text(), nullable=False),
    sa.Column('phone_number', sa.Text(), nullable=True),
    sa.Column('carrier', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('IN_STOCK', 'ASSIGNED', 'ACTIVE', 'DEACTIVATED', name='sim_status'), server_default='IN_STOCK', nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sim_cards')),
    sa.UniqueConstraint('iccid', name=op.f('uq_sim_cards_iccid'))
    )
    with op.batch_alter_table('sim_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sim_cards_status'), ['status'], unique=False)

    op.create_table('tags',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('category', sa.Enum('DISPOSITION', 'ICP', 'GATE', 'CUSTOM', name='tag_category'), nullable=False),
    sa.Column('color', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_system', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('slug', name=op.f('uq_tags_slug'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tags_category_is_active_sort_order'), ['category', 'is_active', 'sort_order'], unique=False)

    op.create_table('tax_rates',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('rate', sa.Numeric(precision=7, scale=5), nullable=False),
    sa.Column('state', sa.Text(), nullable=True),
    sa.Column('jurisdiction', sa.Text(), nullable=True),
    sa.Column('category', sa.Enum('CA_DISTRICT', 'RESALE', 'OUT_OF_STATE', 'OTHER_STATE', 'OTHER', name='tax_rate_category'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_rates')),
    sa.UniqueConstraint('slug', name=op.f('uq_tax_rates_slug'))
    )
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_rates_category_active_sort_order'), ['category', 'active', 'sort_order'], unique=False)

    op.create_table('taxonomy_values',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('type', sa.Enum('INDUSTRY', 'SOURCE', 'VENDOR', 'CELLULAR_CARRIER', 'BACKEND', 'PAYMENT_INTERVAL', 'SHIPPING_TYPE', 'PAYMENT_METHOD', name='taxonomy_type'), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_taxonomy_values')),
    sa.UniqueConstraint('type', 'value', name=op.f('uq_taxonomy_values_type_value'))
    )
    with op.batch_alter_table('taxonomy_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taxonomy_values_type_active_sort_order'), ['type', 'active', 'sort_order'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('first_name', sa.Text(), nullable=False),
    sa.Column('last_name', sa.Text(), nullable=False),
    sa.Column('role', sa.Enum('ADMIN', 'REP', 'OPERATOR', 'NICK', 'AI_AGENT', name='user_role'), server_default='OPERATOR', nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('invited_by_id', sa.Uuid(), nullable=True),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_users_invited_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('voicemail_drops',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('audio_url', sa.Text(), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voicemail_drops'))
    )
    op.create_table('webhook_events',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('provider', sa.Text(), nullable=False),
    sa.Column('provider_event_id', sa.Text(), nullable=False),
    sa.Column('event_type', sa.Text(), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('raw_body', sa.Text(), nullable=False),
    sa.Column('signature_header', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
    sa.UniqueConstraint('provider', 'provider_event_id', name=op.f('uq_webhook_events_provider_provider_event_id'))
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_events_provider_received_at'), ['provider', 'received_at'], unique=False)

    op.create_table('companies',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('normalized_name', sa.Text(), nullable=False),
    sa.Column('website', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('industry', sa.Text(), nullable=True),
    sa.Column('icp_tag', sa.Text(), nullable=True),
    sa.Column('business_label', sa.Text(), nullable=True),
    sa.Column('fleet_size', sa.Integer(), nullable=True),
    sa.Column('google_rating', sa.Numeric(precision=2, scale=1), nullable=True),
    sa.Column('google_review_count', sa.Integer(), nullable=True),
    sa.Column('hero_photo_url', sa.Text(), nullable=True),
    sa.Column('google_maps_url', sa.Text(), nullable=True),
    sa.Column('about_description', sa.Text(), nullable=True),
    sa.Column('google_place_id', sa.Text(), nullable=True),
    sa.Column('linkedin_company_url', sa.Text(), nullable=True),
    sa.Column('owner_name', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('vendor', sa.Text(), nullable=True),
    sa.Column('sales_note', sa.Text(), nullable=True),
    sa.Column('taxable', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('assigned_rep_id', sa.Uuid(), nullable=True),
    sa.Column('qb_customer_id', sa.Text(), nullable=True),
    sa.Column('stripe_customer_id', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('LEAD', 'CUSTOMER', 'PARTNER', 'CONTACT', 'INACTIVE', 'DEAD', name='company_status'), server_default='LEAD', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['assigned_rep_id'], ['users.id'], name=op.f('fk_companies_assigned_rep_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies')),
    sa.UniqueConstraint('google_place_id', name=op.f('uq_companies_google_place_id'))
    )
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companies_assigned_rep_id'), ['assigned_rep_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_companies_icp_tag'), ['icp_tag'], unique=False)
        batch_op.create_index('ix_companies_name_trgm', ['name'], unique=False, postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_companies_normalized_name'), ['normalized_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_companies_status'), ['status'], unique=False)

    op.create_table('email_accounts',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('email_address', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('provider', sa.Text(), server_default=sa.text("'gmail'"), nullable=False),
    sa.Column('gmail_refresh_token', sa.Text(), nullable=True),
    sa.Column('gmail_access_token', sa.Text(), nullable=True),
    sa.Column('gmail_token_expiry', sa.DateTime(timezone=True), nullable=True),
    sa.Column('smtp_host', sa.Text(), nullable=True),
    sa.Column('smtp_port', sa.Integer(), nullable=True),
    sa.Column('smtp_user', sa.Text(), nullable=True),
    sa.Column('smtp_pass', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_accounts_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_accounts'))
    )
    op.create_table('message_templates',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('channel', sa.Enum('EMAIL', 'SMS', name='template_channel'), nullable=False),
    sa.Column('category', sa.Enum('SEQUENCE', 'CANNED', name='template_category'), server_default='SEQUENCE', nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_message_templates_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('slug', name=op.f('uq_message_templates_slug'))
    )
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_templates_category_channel_is_active'), ['category', 'channel', 'is_active'], unique=False)

    op.create_table('sms_gateways',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('gateway_url', sa.Text(), nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('password_encrypted', sa.Text(), nullable=False),
    sa.Column('from_number', sa.Text(), nullable=False),
    sa.Column('from_number_e164', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_gateways_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_gateways'))
    )
    with op.batch_alter_table('sms_gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_gateways_from_number_e164'), ['from_number_e164'], unique=False)

    op.create_table('company_addresses',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('type', sa.Enum('BILLING', 'SHIPPING', 'BOTH', name='address_type'), nullable=False),
    sa.Column('address_line1', sa.Text(), nullable=False),
    sa.Column('address_line2', sa.Text(), nullable=True),
    sa.Column('city', sa.Text(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('zip', sa.Text(), nullable=False),
    sa.Column('country', sa.Text(), server_default=sa.text("'US'"), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('is_default_billing', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_default_shipping', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_company_addresses_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_addresses'))
    )
    with op.batch_alter_table('company_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_company_addresses_company_id'), ['company_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('first_name', sa.Text(), nullable=True),
    sa.Column('last_name', sa.Text(), nullable=True),
    sa.Column('full_name', sa.Text(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('email_normalized', sa.Text(), nullable=True),
    sa.Column('email_status', sa.Text(), nullable=True),
    sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('phone_e164', sa.Text(), nullable=True),
    sa.Column('phone_type', sa.Text(), nullable=True),
    sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_sms_eligible', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('timezone', sa.Text(), nullable=True),
    sa.Column('linkedin_url', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('plusvibe_lead_id', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_contacts_company_id_companies'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('email_normalized', name=op.f('uq_contacts_email_normalized'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_contacts_email_normalized_trgm', ['email_normalized'], unique=False, postgresql_using='gin', postgresql_ops={'email_normalized': 'gin_trgm_ops'})
        batch_op.create_index('ix_contacts_full_name_trgm', ['full_name'], unique=False, postgresql_using='gin', postgresql_ops={'full_name': 'gin_trgm_ops'})
        batch_op.create_index(batch_op.f('ix_contacts_phone_e164'), ['phone_e164'], unique=False)

    op.create_table('leads',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('stage', sa.Enum('NEW_LEAD', 'HOT', 'QUALIFIED', 'QUOTED', 'BUY_PERIOD_30', 'BUY_PERIOD_60', 'BUY_PERIOD_90', 'WON', 'LOST', 'BOGUS', name='lead_stage'), server_default='NEW_LEAD', nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('source_campaign', sa.Text(), nullable=True),
    sa.Column('estimated_units', sa.Integer(), nullable=True),
    sa.Column('estimated_revenue', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('lost_reason', sa.Text(), nullable=True),
    sa.Column('won_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plusvibe_paused', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('plusvibe_stopped', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_dnc', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_leads_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_leads_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads'))
    )
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_stage'), ['stage'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('activity_type', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('detail', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_activities_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_activities_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_activities_lead_id_leads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_activities_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_activity_type'), ['activity_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_lead_id_occurred_at'), ['lead_id', 'occurred_at'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('cal_booking_uid', sa.Text(), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('attendee_email', sa.Text(), nullable=False),
    sa.Column('attendee_name', sa.Text(), nullable=True),
    sa.Column('event_type_slug', sa.Text(), nullable=False),
    sa.Column('event_type_title', sa.Text(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('SCHEDULED', 'RESCHEDULED', 'CANCELLED', name='booking_status'), server_default='SCHEDULED', nullable=False),
    sa.Column('meeting_url', sa.Text(), nullable=True),
    sa.Column('reschedule_url', sa.Text(), nullable=True),
    sa.Column('cancel_url', sa.Text(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('raw_payload', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_bookings_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_bookings_lead_id_leads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('cal_booking_uid', name=op.f('uq_bookings_cal_booking_uid'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_attendee_email'), ['attendee_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_lead_id_start_at'), ['lead_id', 'start_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_start_at'), ['start_at'], unique=False)

    op.create_table('call_logs',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('direction', sa.Enum('INBOUND', 'OUTBOUND', name='message_direction'), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('CONNECTED', 'NO_ANSWER', 'VOICEMAIL', 'BUSY', 'WRONG_NUMBER', name='call_outcome'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recording_url', sa.Text(), nullable=True),
    sa.Column('transcript', sa.Text(), nullable=True),
    sa.Column('voicemail_dropped', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('provider', sa.Text(), server_default=sa.text("'manual'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_call_logs_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_call_logs_lead_id_leads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_logs'))
    )
    with op.batch_alter_table('call_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_logs_lead_id'), ['lead_id'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('channel', sa.Enum('SMS', 'EMAIL', 'CALL', name='conversation_channel'), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_message_preview', sa.Text(), nullable=True),
    sa.Column('unread_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('is_archived', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_conversations_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_conversations_lead_id_leads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('lead_id', 'channel', name=op.f('uq_conversations_lead_id_channel'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_is_archived'), ['is_archived'], unique=False)
        batch_op.create_index('ix_conversations_last_message_at', [sa.literal_column('last_message_at DESC')], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_user_id'), ['user_id'], unique=False)

    op.create_table('email_threads',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('email_account_id', sa.Uuid(), nullable=False),
    sa.Column('gmail_thread_id', sa.Text(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['email_account_id'], ['email_accounts.id'], name=op.f('fk_email_threads_email_account_id_email_accounts')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_email_threads_lead_id_leads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_threads'))
    )
    with op.batch_alter_table('email_threads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_threads_gmail_thread_id'), ['gmail_thread_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_threads_lead_id'), ['lead_id'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('bill_to_address_id', sa.Uuid(), nullable=True),
    sa.Column('ship_to_address_id', sa.Uuid(), nullable=True),
    sa.Column('invoice_number', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'SENT', 'PARTIAL', 'PAID', 'VOID', name='invoice_status'), server_default='DRAFT', nullable=False),
    sa.Column('agreement_template_id', sa.Uuid(), nullable=True),
    sa.Column('tax_rate_id', sa.Uuid(), nullable=True),
    sa.Column('backend_id', sa.Uuid(), nullable=True),
    sa.Column('carrier_id', sa.Uuid(), nullable=True),
    sa.Column('shipping_type_id', sa.Uuid(), nullable=True),
    sa.Column('payment_term_id', sa.Uuid(), nullable=True),
    sa.Column('contract_term_id', sa.Uuid(), nullable=True),
    sa.Column('subtotal', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=10, scale=2), server_default=sa.text('0'), nullable=False),
    sa.Column('total', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('amount_paid', sa.Numeric(precision=10, scale=2), server_default=sa.text('0'), nullable=False),
    sa.Column('balance_due', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('shipping_cost', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('payment_token', sa.Text(), nullable=True),
    sa.Column('stripe_invoice_id', sa.Text(), nullable=True),
    sa.Column('qb_invoice_id', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_name', sa.Text(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_ip_addr', sa.Text(), nullable=True),
    sa.Column('signed_user_agent', sa.Text(), nullable=True),
    sa.Column('signed_agreement_snapshot', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['agreement_template_id'], ['agreement_templates.id'], name=op.f('fk_invoices_agreement_template_id_agreement_templates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['backend_id'], ['backends.id'], name=op.f('fk_invoices_backend_id_backends'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['bill_to_address_id'], ['company_addresses.id'], name=op.f('fk_invoices_bill_to_address_id_company_addresses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_invoices_carrier_id_carriers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_invoices_company_id_companies')),
    sa.ForeignKeyConstraint(['contract_term_id'], ['contract_terms.id'], name=op.f('fk_invoices_contract_term_id_contract_terms'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_invoices_lead_id_leads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payment_term_id'], ['payment_terms.id'], name=op.f('fk_invoices_payment_term_id_payment_terms'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ship_to_address_id'], ['company_addresses.id'], name=op.f('fk_invoices_ship_to_address_id_company_addresses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shipping_type_id'], ['shipping_types.id'], name=op.f('fk_invoices_shipping_type_id_shipping_types'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tax_rate_id'], ['tax_rates.id'], name=op.f('fk_invoices_tax_rate_id_tax_rates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('invoice_number', name=op.f('uq_invoices_invoice_number')),
    sa.UniqueConstraint('payment_token', name=op.f('uq_invoices_payment_token'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_agreement_template_id'), ['agreement_template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_bill_to_address_id'), ['bill_to_address_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_ship_to_address_id'), ['ship_to_address_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_tax_rate_id'), ['tax_rate_id'], unique=False)

    op.create_table('lead_scores',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=False),
    sa.Column('quality_score', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('engagement_score', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('deal_risk', sa.Enum('LOW', 'MEDIUM', 'HIGH', 'UNKNOWN', name='deal_risk'), server_default='UNKNOWN', nullable=False),
    sa.Column('last_interaction_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('days_since_contact', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_scores_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_scores')),
    sa.UniqueConstraint('lead_id', name=op.f('uq_lead_scores_lead_id'))
    )
    op.create_table('lead_tags',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=False),
    sa.Column('tag_slug', sa.Text(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('applied_by', sa.Text(), server_default=sa.text("'nick'"), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_tags_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_tags')),
    sa.UniqueConstraint('lead_id', 'tag_slug', name='unique_active_tag')
    )
    with op.batch_alter_table('lead_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_tags_tag_slug'), ['tag_slug'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_notes_author_id_users')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_notes_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_notes_lead_id_leads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notes_company_id_created_at'), ['company_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notes_lead_id_created_at'), ['lead_id', 'created_at'], unique=False)

    op.create_table('sequence_runs',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=False),
    sa.Column('sequence_def_id', sa.Uuid(), nullable=False),
    sa.Column('tag_slug', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('ACTIVE', 'PAUSED', 'COMPLETED', 'CANCELED', name='sequence_status'), server_default='ACTIVE', nullable=False),
    sa.Column('current_step', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('next_step_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_reason', sa.Text(), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_sequence_runs_lead_id_leads')),
    sa.ForeignKeyConstraint(['sequence_def_id'], ['sequence_definitions.id'], name=op.f('fk_sequence_runs_sequence_def_id_sequence_definitions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequence_runs'))
    )
    with op.batch_alter_table('sequence_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sequence_runs_lead_id_status'), ['lead_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_sequence_runs_next_step_at'), ['next_step_at'], unique=False)

    op.create_table('sms_messages',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('direction', sa.Enum('INBOUND', 'OUTBOUND', name='message_direction'), nullable=False),
    sa.Column('from_number', sa.Text(), nullable=False),
    sa.Column('to_number', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('provider', sa.Text(), server_default=sa.text("'android_gateway'"), nullable=False),
    sa.Column('provider_message_id', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('QUEUED', 'SENT', 'DELIVERED', 'FAILED', name='sms_status'), server_default='QUEUED', nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_sms_messages_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_sms_messages_lead_id_leads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages'))
    )
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_messages_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_messages_lead_id'), ['lead_id'], unique=False)

    op.create_table('devices',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('serial_number', sa.Text(), nullable=False),
    sa.Column('imei', sa.Text(), nullable=True),
    sa.Column('model', sa.Text(), server_default=sa.text("'GL300'"), nullable=False),
    sa.Column('status', sa.Enum('IN_STOCK', 'ASSIGNED', 'SHIPPED', 'ACTIVATED', 'RETURNED', 'DEFECTIVE', name='device_status'), server_default='IN_STOCK', nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('invoice_id', sa.Uuid(), nullable=True),
    sa.Column('sim_card_id', sa.Uuid(), nullable=True),
    sa.Column('activation_date', sa.Date(), nullable=True),
    sa.Column('tracking_active', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_devices_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_devices_invoice_id_invoices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sim_card_id'], ['sim_cards.id'], name=op.f('fk_devices_sim_card_id_sim_cards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('imei', name=op.f('uq_devices_imei')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_devices_serial_number')),
    sa.UniqueConstraint('sim_card_id', name=op.f('uq_devices_sim_card_id'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_devices_status'), ['status'], unique=False)

    op.create_table('email_messages',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('thread_id', sa.Uuid(), nullable=False),
    sa.Column('gmail_message_id', sa.Text(), nullable=True),
    sa.Column('direction', sa.Enum('INBOUND', 'OUTBOUND', name='message_direction'), nullable=False),
    sa.Column('from_address', sa.Text(), nullable=False),
    sa.Column('to_address', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['email_threads.id'], name=op.f('fk_email_messages_thread_id_email_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_messages'))
    )
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_messages_thread_id'), ['thread_id'], unique=False)

    op.create_table('fulfillment_orders',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('company_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'PICKING', 'PACKED', 'SHIPPED', 'DELIVERED', 'CANCELED', name='fulfillment_status'), server_default='PENDING', nullable=False),
    sa.Column('device_count', sa.Integer(), nullable=False),
    sa.Column('tracking_number', sa.Text(), nullable=True),
    sa.Column('carrier', sa.Text(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_fulfillment_orders_company_id_companies')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_fulfillment_orders_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_orders'))
    )
    with op.batch_alter_table('fulfillment_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fulfillment_orders_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fulfillment_orders_status'), ['status'], unique=False)

    op.create_table('invoice_line_items',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('product_code', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_line_items_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line_items'))
    )
    op.create_table('payments',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('method', sa.Enum('STRIPE', 'CHECK', 'CASH', 'WIRE', 'OTHER', name='payment_method'), nullable=False),
    sa.Column('stripe_payment_id', sa.Text(), nullable=True),
    sa.Column('reference', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('qb_payment_id', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('stripe_payment_id', name=op.f('uq_payments_stripe_payment_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('sequence_step_logs',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('sequence_run_id', sa.Uuid(), nullable=False),
    sa.Column('step_number', sa.Integer(), nullable=False),
    sa.Column('action_type', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'FIRED', 'SKIPPED', 'FAILED', name='step_status'), server_default='PENDING', nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['sequence_run_id'], ['sequence_runs.id'], name=op.f('fk_sequence_step_logs_sequence_run_id_sequence_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequence_step_logs'))
    )
    with op.batch_alter_table('sequence_step_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sequence_step_logs_sequence_run_id'), ['sequence_run_id'], unique=False)

    op.create_table('tasks',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('company_id', sa.Uuid(), nullable=True),
    sa.Column('assigned_to_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('task_type', sa.Enum('CALL', 'EMAIL', 'SMS', 'FOLLOW_UP', 'GENERAL', name='task_type'), server_default='GENERAL', nullable=False),
    sa.Column('priority', sa.Enum('URGENT', 'HIGH', 'NORMAL', 'LOW', name='task_priority'), server_default='NORMAL', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('calendar_event_id', sa.Text(), nullable=True),
    sa.Column('duration_min', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_completed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('sequence_run_id', sa.Uuid(), nullable=True),
    sa.Column('sequence_step_number', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['assigned_to_id'], ['users.id'], name=op.f('fk_tasks_assigned_to_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_tasks_company_id_companies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_tasks_lead_id_leads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sequence_run_id'], ['sequence_runs.id'], name=op.f('fk_tasks_sequence_run_id_sequence_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('sequence_run_id', 'sequence_step_number', name='task_run_step_unique')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_is_completed_due_at'), ['is_completed', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_priority'), ['priority'], unique=False)

    op.create_table('fulfillment_items',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('fulfillment_order_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('sim_card_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_fulfillment_items_device_id_devices')),
    sa.ForeignKeyConstraint(['fulfillment_order_id'], ['fulfillment_orders.id'], name=op.f('fk_fulfillment_items_fulfillment_order_id_fulfillment_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sim_card_id'], ['sim_cards.id'], name=op.f('fk_fulfillment_items_sim_card_id_sim_cards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillment_items'))
    )
    op.execute(TRUNCATE_GUARD)
    op.execute(ACTIVITY_GUARD)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS activities_no_truncate ON activities")
    op.execute("DROP TRIGGER IF EXISTS activities_append_only ON activities")
    op.execute("DROP FUNCTION IF EXISTS activities_append_only()")
    op.execute("DROP FUNCTION IF EXISTS activities_append_only_truncate()")
    op.drop_table('fulfillment_items')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_priority'))
        batch_op.drop_index(batch_op.f('ix_tasks_lead_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_is_completed_due_at'))

    op.drop_table('tasks')
    with op.batch_alter_table('sequence_step_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sequence_step_logs_sequence_run_id'))

    op.drop_table('sequence_step_logs')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))

    op.drop_table('payments')
    op.drop_table('invoice_line_items')
    with op.batch_alter_table('fulfillment_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fulfillment_orders_status'))
        batch_op.drop_index(batch_op.f('ix_fulfillment_orders_invoice_id'))

    op.drop_table('fulfillment_orders')
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_messages_thread_id'))

    op.drop_table('email_messages')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_status'))
        batch_op.drop_index(batch_op.f('ix_devices_company_id'))

    op.drop_table('devices')
    with op.batch_alter_table('sms_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_messages_lead_id'))
        batch_op.drop_index(batch_op.f('ix_sms_messages_contact_id'))

    op.drop_table('sms_messages')
    with op.batch_alter_table('sequence_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sequence_runs_next_step_at'))
        batch_op.drop_index(batch_op.f('ix_sequence_runs_lead_id_status'))

    op.drop_table('sequence_runs')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notes_lead_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_notes_company_id_created_at'))

    op.drop_table('notes')
    with op.batch_alter_table('lead_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_tags_tag_slug'))

    op.drop_table('lead_tags')
    op.drop_table('lead_scores')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_tax_rate_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_status'))
        batch_op.drop_index(batch_op.f('ix_invoices_ship_to_address_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_company_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_bill_to_address_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_agreement_template_id'))

    op.drop_table('invoices')
    with op.batch_alter_table('email_threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_threads_lead_id'))
        batch_op.drop_index(batch_op.f('ix_email_threads_gmail_thread_id'))

    op.drop_table('email_threads')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_user_id'))
        batch_op.drop_index('ix_conversations_last_message_at')
        batch_op.drop_index(batch_op.f('ix_conversations_is_archived'))

    op.drop_table('conversations')
    with op.batch_alter_table('call_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_logs_lead_id'))

    op.drop_table('call_logs')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookings_start_at'))
        batch_op.drop_index(batch_op.f('ix_bookings_lead_id_start_at'))
        batch_op.drop_index(batch_op.f('ix_bookings_contact_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_attendee_email'))

    op.drop_table('bookings')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_lead_id_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_activities_company_id'))
        batch_op.drop_index(batch_op.f('ix_activities_activity_type'))

    op.drop_table('activities')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_stage'))
        batch_op.drop_index(batch_op.f('ix_leads_source'))
        batch_op.drop_index(batch_op.f('ix_leads_created_at'))
        batch_op.drop_index(batch_op.f('ix_leads_contact_id'))
        batch_op.drop_index(batch_op.f('ix_leads_company_id'))

    op.drop_table('leads')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_phone_e164'))
        batch_op.drop_index('ix_contacts_full_name_trgm', postgresql_using='gin', postgresql_ops={'full_name': 'gin_trgm_ops'})
        batch_op.drop_index('ix_contacts_email_normalized_trgm', postgresql_using='gin', postgresql_ops={'email_normalized': 'gin_trgm_ops'})
        batch_op.drop_index(batch_op.f('ix_contacts_company_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('company_addresses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_company_addresses_company_id'))

    op.drop_table('company_addresses')
    with op.batch_alter_table('sms_gateways', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_gateways_from_number_e164'))

    op.drop_table('sms_gateways')
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_templates_category_channel_is_active'))

    op.drop_table('message_templates')
    op.drop_table('email_accounts')
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companies_status'))
        batch_op.drop_index(batch_op.f('ix_companies_normalized_name'))
        batch_op.drop_index('ix_companies_name_trgm', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
        batch_op.drop_index(batch_op.f('ix_companies_icp_tag'))
        batch_op.drop_index(batch_op.f('ix_companies_assigned_rep_id'))

    op.drop_table('companies')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_provider_received_at'))

    op.drop_table('webhook_events')
    op.drop_table('voicemail_drops')
    op.drop_table('users')
    with op.batch_alter_table('taxonomy_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_taxonomy_values_type_active_sort_order'))

    op.drop_table('taxonomy_values')
    with op.batch_alter_table('tax_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_rates_category_active_sort_order'))

    op.drop_table('tax_rates')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tags_category_is_active_sort_order'))

    op.drop_table('tags')
    with op.batch_alter_table('sim_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sim_cards_status'))

    op.drop_table('sim_cards')
    with op.batch_alter_table('shipping_types', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipping_types_active_sort_order'))

    op.drop_table('shipping_types')
    op.drop_table('settings')
    op.drop_table('sequence_definitions')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_sku'))
        batch_op.drop_index(batch_op.f('ix_products_category'))
        batch_op.drop_index(batch_op.f('ix_products_active'))

    op.drop_table('products')
    with op.batch_alter_table('payment_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_terms_active_sort_order'))

    op.drop_table('payment_terms')
    with op.batch_alter_table('contract_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_terms_active_sort_order'))

    op.drop_table('contract_terms')
    with op.batch_alter_table('carriers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carriers_active_sort_order'))

    op.drop_table('carriers')
    op.drop_table('call_lists')
    with op.batch_alter_table('backends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backends_active_sort_order'))

    op.drop_table('backends')
    with op.batch_alter_table('agreement_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_templates_active_sort_order'))

    op.drop_table('agreement_templates')
    for name in ENUM_TYPES:
        op.execute(f"DROP TYPE IF EXISTS {name}")
    # pg_trgm stays installed: other objects may use it and it holds no data.
