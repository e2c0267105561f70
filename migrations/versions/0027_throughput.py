"""Leads list: an index for its default order and for each sort it offers; the company
search's words (issue 14).

Without the leads indexes `/leads` sorted all the leads on every load (a parallel
sequential scan and an external merge sort to disk on (last_activity_at DESC, id DESC):
45 ms at 150,000). Each serves one of `app.crm.records.lead_list.SORTS` as a keyset index
range scan.

The company search's close-match pass asked the trigram index of whole names, which at
1,000,000 companies hands ~26,000 candidates sharing common words ("Construction") to a
similarity recheck (330 ms). Now each word of the query is first matched against the
distinct words of all company names (`company_words`, a few thousand rows, kept by a
trigger), and the candidates are the companies having a match of every word
(`name_words(name)`, a GIN index of each name's words).

Revision ID: 0027_throughput
Revises: 0025_quickbooks
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0027_throughput"
down_revision = "0025_quickbooks"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_leads_last_activity_at_id": ["last_activity_at DESC", "id DESC"],
    "ix_leads_created_at_id": ["created_at DESC", "id DESC"],
    "ix_leads_revenue_id": ["COALESCE(estimated_revenue, -1) DESC", "id DESC"],
    "ix_leads_stage_changed_at_id": ["stage_changed_at", "id"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "leads", [text(c) for c in columns])

    # a name's words: lower case, split on anything not a letter or digit
    op.execute("""
        CREATE FUNCTION name_words(name text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN array_remove(regexp_split_to_array(lower(name), '[^[:alnum:]]+'), '')""")
    op.execute("CREATE INDEX ix_companies_name_words ON companies USING gin (name_words(name))")
    op.create_table("company_words", sa.Column("word", sa.Text(), primary_key=True))
    op.execute("CREATE INDEX ix_company_words_word_trgm ON company_words USING gin (word gin_trgm_ops)")
    op.execute("INSERT INTO company_words (word) SELECT DISTINCT unnest(name_words(name)) FROM companies")
    # Words are only added (a word no company has any more matches nothing); DO NOTHING on a
    # word already there takes no lock, so concurrent imports do not queue on common words.
    op.execute("""
        CREATE FUNCTION company_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO company_words (word) SELECT DISTINCT unnest(name_words(NEW.name))
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER companies_name_words AFTER INSERT OR UPDATE OF name ON companies
        FOR EACH ROW EXECUTE FUNCTION company_words_add()""")


def downgrade():
    op.execute("DROP TRIGGER companies_name_words ON companies")
    op.execute("DROP FUNCTION company_words_add()")
    op.drop_table("company_words")
    op.execute("DROP INDEX ix_companies_name_words")
    op.execute("DROP FUNCTION name_words(text)")
    for name in INDEXES:
        op.drop_index(name, table_name="leads")
