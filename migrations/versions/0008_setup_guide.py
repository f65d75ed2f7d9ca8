"""setup guide: steps the merchant took, when the program was saved, joins by date

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setup_guides',
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('test_email_sent_at', sa.DateTime(), nullable=True),
    sa.Column('test_email_to', sa.String(length=320), nullable=True),
    sa.Column('test_emails_tried', sa.Integer(), server_default='0', nullable=False),
    sa.Column('test_emails_since', sa.DateTime(), nullable=True),
    sa.Column('storefront_checked_at', sa.DateTime(), nullable=True),
    sa.Column('dismissed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_setup_guides_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_setup_guides'))
    )
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saved_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_shop_id_joined_at', ['shop_id', 'joined_at'], unique=False)
    # The metrics' reward cost reads value_type, value and used_order_id: in the index too.
    _used_rewards_index(['revenue_minor', 'value_type', 'value', 'used_order_id'])


def _used_rewards_index(include):
    op.drop_index('ix_rewards_shop_id_used_at', table_name='rewards')
    op.create_index(
        'ix_rewards_shop_id_used_at',
        'rewards',
        ['shop_id', 'used_at'],
        postgresql_include=include,
        postgresql_where=sa.text("status = 'used'"),
        sqlite_where=sa.text("status = 'used'"),
    )


def downgrade():
    _used_rewards_index(['revenue_minor'])
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_shop_id_joined_at')
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.drop_column('saved_at')
    op.drop_table('setup_guides')
