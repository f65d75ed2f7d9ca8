"""customer pages: keyset sort and prefix-search indexes, export jobs, metrics indexes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-24 10:00:00

Every sort of the customers table is a (shop_id, <sort key>, id) index, so a keyset page is
an index range scan whatever its depth. There is deliberately no index on points_balance:
imports update it in bulk, and an indexed column turns those updates from HOT (heap-only)
into full index rewrites (measured 2.5x slower); a lower fillfactor leaves room on each page
for HOT updates.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

NAME_KEY = "lower(trim(first_name || ' ' || last_name))"


def upgrade():
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("file_path", sa.String(length=1024), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_export_jobs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index("ix_export_jobs_shop_id", "export_jobs", ["shop_id"])

    for name, column in [
        ("ix_customers_shop_id_created_at_id", "created_at"),
        ("ix_customers_shop_id_successful_referrals_id", "successful_referrals"),
        ("ix_customers_shop_id_referrer_revenue_minor_id", "referrer_revenue_minor"),
        ("ix_customers_shop_id_referee_revenue_minor_id", "referee_revenue_minor"),
    ]:
        op.create_index(name, "customers", ["shop_id", column, "id"])
    op.create_index(
        "ix_customers_shop_id_name_key_id", "customers", ["shop_id", sa.text(NAME_KEY), "id"]
    )

    is_pg = op.get_bind().dialect.name == "postgresql"
    # Prefix search (LIKE 'abc%'): PostgreSQL needs pattern ops unless the collation is "C".
    for name, expression in [
        ("ix_customers_shop_id_name_search", NAME_KEY),
        ("ix_customers_shop_id_last_name_search", "lower(last_name)"),
        ("ix_customers_shop_id_email_search", "email_key"),
    ]:
        if is_pg:
            op.execute(
                f"CREATE INDEX {name} ON customers (shop_id, ({expression}) text_pattern_ops)"
            )
        else:
            op.create_index(name, "customers", ["shop_id", sa.text(expression)])

    # Metrics: completed referrals by completion date, used rewards by their order's payment.
    op.create_index(
        "ix_referrals_shop_id_completed_at",
        "referrals",
        ["shop_id", "completed_at"],
        postgresql_include=["referrer_id", "order_total_minor"],
        postgresql_where=sa.text("status = 'completed'"),
        sqlite_where=sa.text("status = 'completed'"),
    )
    op.create_index(
        "ix_rewards_shop_id_used_at",
        "rewards",
        ["shop_id", "used_at"],
        postgresql_include=["revenue_minor"],
        postgresql_where=sa.text("status = 'used'"),
        sqlite_where=sa.text("status = 'used'"),
    )
    # The detail page's activity: a customer's newest referrals and rewards, read in order.
    op.create_index(
        "ix_referrals_shop_id_referrer_id_created_at",
        "referrals",
        ["shop_id", "referrer_id", "created_at", "id"],
    )
    op.create_index("ix_rewards_customer_id_id", "rewards", ["customer_id", "id"])
    if is_pg:
        op.execute("ALTER TABLE customers SET (fillfactor = 85)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customers RESET (fillfactor)")
    op.drop_index("ix_rewards_customer_id_id", table_name="rewards")
    op.drop_index("ix_referrals_shop_id_referrer_id_created_at", table_name="referrals")
    op.drop_index("ix_rewards_shop_id_used_at", table_name="rewards")
    op.drop_index("ix_referrals_shop_id_completed_at", table_name="referrals")
    for name in [
        "ix_customers_shop_id_email_search",
        "ix_customers_shop_id_last_name_search",
        "ix_customers_shop_id_name_search",
        "ix_customers_shop_id_name_key_id",
        "ix_customers_shop_id_referee_revenue_minor_id",
        "ix_customers_shop_id_referrer_revenue_minor_id",
        "ix_customers_shop_id_successful_referrals_id",
        "ix_customers_shop_id_created_at_id",
    ]:
        op.drop_index(name, table_name="customers")
    op.drop_index("ix_export_jobs_shop_id", table_name="export_jobs")
    op.drop_table("export_jobs")
