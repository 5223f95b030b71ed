"""recurring schedules: a cron schedule assembling drafts, and the drafts awaiting approval

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('schedules', sa.Column('cron', sa.String(length=120), nullable=True))
    op.add_column('schedules', sa.Column('timezone', sa.String(length=64), nullable=True))
    op.add_column('schedules', sa.Column('approval', sa.String(length=10), nullable=True))
    op.add_column('schedules', sa.Column('recurring_id', _Id, nullable=True))
    op.create_index('ix_schedules_recurring_id', 'schedules', ['recurring_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_schedules_recurring_id', table_name='schedules')
    with op.batch_alter_table('schedules') as batch:
        batch.drop_column('recurring_id')
        batch.drop_column('approval')
        batch.drop_column('timezone')
        batch.drop_column('cron')
