"""events: provider and own-tracking events, delivery outcomes, tracked links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', _Id, nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_event_id', sa.String(length=100), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('bounce', sa.String(length=10), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('provider_message_id', sa.String(length=200), nullable=False),
    sa.Column('machine', sa.Boolean(), nullable=False),
    sa.Column('delivery_id', sa.BigInteger(), nullable=True),
    sa.Column('send_id', sa.BigInteger(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'provider_event_id', name='uq_events_provider_event')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_send_type', ['send_id', 'type'], unique=False)
        batch_op.create_index('ix_events_delivery', ['delivery_id'], unique=False)

    op.create_table('delivery_outcomes',
    sa.Column('delivery_id', _Id, nullable=False),
    sa.Column('send_id', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('bounce', sa.String(length=10), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('delivery_id')
    )
    with op.batch_alter_table('delivery_outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_outcomes_send', ['send_id', 'outcome'], unique=False)

    op.create_table('links',
    sa.Column('id', _Id, nullable=False),
    sa.Column('send_id', _Id, nullable=False),
    sa.Column('url_hash', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('send_id', 'url_hash', name='uq_links_send_url')
    )


def downgrade() -> None:
    op.drop_table('links')
    with op.batch_alter_table('delivery_outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_outcomes_send')
    op.drop_table('delivery_outcomes')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_delivery')
        batch_op.drop_index('ix_events_send_type')
    op.drop_table('events')
