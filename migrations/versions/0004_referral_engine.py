"""referral engine: reward sync state and counted revenue, invitation claims and batch selection

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revenue_minor', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('shopify_status', sa.String(length=16), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('shopify_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('shopify_error', sa.Text(), nullable=True))
        batch_op.create_index('ix_rewards_used_order_id', ['used_order_id'], unique=False)
        batch_op.create_index('ix_rewards_shopify_status', ['shopify_status'], unique=False)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_shopify_id', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_referrals_order_id', ['order_id'], unique=False)

    with op.batch_alter_table('invitation_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('selection', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('uq_invitations_shop_id_customer_id', ['shop_id', 'customer_id'], unique=True)
        batch_op.create_index('ix_invitations_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_translations', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('program_settings', schema=None) as batch_op:
        batch_op.drop_column('email_translations')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_status_next_attempt_at')
        batch_op.drop_index('uq_invitations_shop_id_customer_id')
        batch_op.drop_column('claimed_at')

    with op.batch_alter_table('invitation_batches', schema=None) as batch_op:
        batch_op.drop_column('started_at')
        batch_op.drop_column('error')
        batch_op.drop_column('summary')
        batch_op.drop_column('selection')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_order_id')
        batch_op.drop_column('discount_shopify_id')

    with op.batch_alter_table('rewards', schema=None) as batch_op:
        batch_op.drop_index('ix_rewards_shopify_status')
        batch_op.drop_index('ix_rewards_used_order_id')
        batch_op.drop_column('shopify_error')
        batch_op.drop_column('shopify_attempts')
        batch_op.drop_column('shopify_status')
        batch_op.drop_column('revenue_minor')
