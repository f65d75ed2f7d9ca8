"""file retention: when an import's upload or an export's file was deleted

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

Uploads are deleted some hours after their import finishes and export files expire (the
worker's sweeper does both; erasure deletes or rewrites them too). `file_deleted_at` marks
the row so nothing reads the file again and the pages can say what happened; the indexes
serve the sweep, which looks for files still on disk past their retention.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_deleted_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_import_jobs_file_deleted_at_updated_at",
            ["file_deleted_at", "updated_at"],
            unique=False,
        )
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_deleted_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_export_jobs_file_deleted_at_finished_at",
            ["file_deleted_at", "finished_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("export_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_export_jobs_file_deleted_at_finished_at")
        batch_op.drop_column("file_deleted_at")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_file_deleted_at_updated_at")
        batch_op.drop_column("file_deleted_at")
