"""points balance in point_balances

The balance moves from the wide customers row (13 indexes, rewritten by every balance update)
to the narrow point_balances table, which every customer now has a row in.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:20:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("point_balances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.alter_column("metafield_dirty", server_default=sa.false())
    # Every customer gets a row; the balances come across.
    op.execute(
        "INSERT INTO point_balances (customer_id, shop_id, balance, metafield_dirty) "
        "SELECT c.id, c.shop_id, c.points_balance, c.points_balance <> 0 FROM customers c "
        "WHERE NOT EXISTS (SELECT 1 FROM point_balances b WHERE b.customer_id = c.id)"
    )
    op.execute(
        "UPDATE point_balances SET balance = (SELECT c.points_balance FROM customers c "
        "WHERE c.id = point_balances.customer_id)"
    )
    with op.batch_alter_table("point_balances", schema=None) as batch_op:
        batch_op.drop_index("ix_point_balances_shop_id_metafield_dirty")
        batch_op.create_index(
            "ix_point_balances_shop_id_balance_customer_id",
            ["shop_id", "balance", "customer_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_point_balances_shop_id_customer_id_dirty",
            ["shop_id", "customer_id"],
            unique=False,
            postgresql_where=sa.text("metafield_dirty"),
            sqlite_where=sa.text("metafield_dirty"),
        )
    # Not in batch mode: on SQLite (3.35+ drops columns natively) a batch would rebuild the
    # table and lose its expression indexes.
    op.drop_column("customers", "points_balance")


def downgrade():
    op.add_column(
        "customers",
        sa.Column("points_balance", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(
        "UPDATE customers SET points_balance = coalesce((SELECT b.balance FROM point_balances b "
        "WHERE b.customer_id = customers.id), 0)"
    )
    with op.batch_alter_table("point_balances", schema=None) as batch_op:
        batch_op.drop_index("ix_point_balances_shop_id_customer_id_dirty")
        batch_op.drop_index("ix_point_balances_shop_id_balance_customer_id")
        batch_op.create_index(
            "ix_point_balances_shop_id_metafield_dirty",
            ["shop_id", "metafield_dirty"],
            unique=False,
        )
        batch_op.drop_column("balance")
