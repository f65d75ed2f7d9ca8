"""events: keys and names compared byte by byte (collation "C") on PostgreSQL

Autogenerate does not compare collations; test_migrations_build_what_the_models_declare does.
SQLite compares bytes already, so there is nothing to change there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 05:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COLUMNS = (("name", 255), ("event_key", 64))


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # Rebuilds the two indexes over these columns; the order of hex keys does not change.
    for column, length in COLUMNS:
        op.alter_column(
            "customer_events", column, type_=sa.String(length, collation="C"),
            existing_nullable=False,
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, length in COLUMNS:
        op.alter_column(
            "customer_events", column, type_=sa.String(length), existing_nullable=False,
            postgresql_using=f"{column}::varchar({length})",
        )
