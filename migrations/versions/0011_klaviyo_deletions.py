"""klaviyo deletions: redacted customers' profiles Klaviyo still has to delete

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 23:49:11.232007

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('klaviyo_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_klaviyo_deletions_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_klaviyo_deletions'))
    )
    with op.batch_alter_table('klaviyo_deletions', schema=None) as batch_op:
        batch_op.create_index('ix_klaviyo_deletions_shop_id_email', ['shop_id', 'email'], unique=True)


def downgrade():
    with op.batch_alter_table('klaviyo_deletions', schema=None) as batch_op:
        batch_op.drop_index('ix_klaviyo_deletions_shop_id_email')

    op.drop_table('klaviyo_deletions')
