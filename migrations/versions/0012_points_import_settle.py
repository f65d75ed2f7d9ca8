"""points import settle: balances move once, at the import's end; removed customers indexed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 02:32:00.732682

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_balance_moves',
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('moved', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_import_balance_moves_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_id'], ['import_jobs.id'], name=op.f('fk_import_balance_moves_import_id_import_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'customer_id', name=op.f('pk_import_balance_moves'))
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled_row_number', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_shop_id_deleted_at', ['shop_id', 'deleted_at'], unique=False, postgresql_where=sa.text('deleted_at IS NOT NULL'), sqlite_where=sa.text('deleted_at IS NOT NULL'))
        batch_op.create_index('ix_customers_shop_id_redacted_at', ['shop_id', 'redacted_at'], unique=False, postgresql_where=sa.text('redacted_at IS NOT NULL'), sqlite_where=sa.text('redacted_at IS NOT NULL'))
    # Imports before this one moved their balances batch by batch: all their rows are settled.
    op.execute("UPDATE import_jobs SET settled_row_number = last_row_number")


def downgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_shop_id_redacted_at', sqlite_where=sa.text('redacted_at IS NOT NULL'), postgresql_where=sa.text('redacted_at IS NOT NULL'))
        batch_op.drop_index('ix_customers_shop_id_deleted_at', sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'))

    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_column('settled_row_number')

    op.drop_table('import_balance_moves')
