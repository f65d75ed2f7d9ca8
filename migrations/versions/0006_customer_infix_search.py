"""customer infix search (pg_trgm) and the live-customer count index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

#: As `shopify_app.platform.models.customer.SEARCH_KEY` states it.
SEARCH_KEY = "lower(trim(first_name || ' ' || last_name)) || chr(10) || coalesce(email_key, '')"
LIVE = "deleted_at IS NULL AND redacted_at IS NULL"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: the database's owner may create it. CONCURRENTLY, so
        # a shop's webhooks keep writing customers while the indexes build (20 s a million).
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        with op.get_context().autocommit_block():
            op.execute(
                "CREATE INDEX CONCURRENTLY ix_customers_search_trgm ON customers"
                f" USING gin (({SEARCH_KEY}) gin_trgm_ops)"
            )
            op.create_index(
                "ix_customers_shop_id_is_member_joined_at_live",
                "customers",
                ["shop_id", "is_member", "joined_at"],
                postgresql_where=sa.text(LIVE),
                postgresql_concurrently=True,
            )
            # Statistics of the new expression, which the planner needs to tell a fragment
            # in every email (walk the sort's index) from a rare one (use the trigrams);
            # autovacuum would gather them only after enough rows change.
            op.execute("ANALYZE customers")
    else:
        # SQLite searches by scanning (no trigram index); the count index serves it too.
        op.create_index(
            "ix_customers_shop_id_is_member_joined_at_live",
            "customers",
            ["shop_id", "is_member", "joined_at"],
            sqlite_where=sa.text(LIVE),
        )


def downgrade():
    # pg_trgm stays: something else in the database may use it, and it costs nothing idle.
    op.drop_index("ix_customers_shop_id_is_member_joined_at_live", table_name="customers")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_customers_search_trgm", table_name="customers")
