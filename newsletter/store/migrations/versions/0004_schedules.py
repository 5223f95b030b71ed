"""schedules: sends to start at a given moment, and what became of each

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', _Id, nullable=False),
    sa.Column('issue_file', sa.Text(), nullable=False),
    sa.Column('issue_slug', sa.String(length=200), nullable=False),
    sa.Column('issue_kind', sa.String(length=40), nullable=False),
    sa.Column('list_name', sa.String(length=100), nullable=False),
    sa.Column('segment_name', sa.String(length=100), nullable=True),
    sa.Column('transport', sa.String(length=40), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('embargo_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('send_id', _Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_schedules_status', 'schedules', ['status', 'run_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_schedules_status', table_name='schedules')
    op.drop_table('schedules')
