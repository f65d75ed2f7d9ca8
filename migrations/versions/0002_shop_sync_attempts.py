"""shops.sync_attempts: how often the sweeper queued a stalled customer sync again

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10 09:00:00.000000

The sweeper resumes a customer sync whose worker died or whose job Redis lost, and gives up
after a number of tries; the count lives on the shop, beside the sync's other state.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shops") as batch_op:
        batch_op.add_column(
            sa.Column("sync_attempts", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("shops") as batch_op:
        batch_op.drop_column("sync_attempts")
