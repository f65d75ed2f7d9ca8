"""klaviyo connection and sync state

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('klaviyo_connections',
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('api_key_encrypted', sa.Text(), nullable=False),
    sa.Column('key_hint', sa.String(length=8), nullable=False),
    sa.Column('account_name', sa.String(length=255), nullable=False),
    sa.Column('klaviyo_sends_invitations', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('connected_at', sa.DateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('retry_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_klaviyo_connections_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_klaviyo_connections'))
    )
    op.create_table('klaviyo_profiles',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('referral_code', sa.String(length=32), nullable=True),
    sa.Column('joined_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_klaviyo_profiles_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_klaviyo_profiles_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_klaviyo_profiles'))
    )
    with op.batch_alter_table('klaviyo_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_klaviyo_profiles_shop_id_customer_id', ['shop_id', 'customer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('klaviyo_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_klaviyo_profiles_shop_id_customer_id')

    op.drop_table('klaviyo_profiles')
    op.drop_table('klaviyo_connections')
