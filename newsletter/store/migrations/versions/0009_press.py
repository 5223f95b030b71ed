"""the press: sends made for journalists (embargo, preview, tracked Reply-To), PDF versions of
approved revisions, and the replies received through SendGrid's Inbound Parse

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('press_sends',
    sa.Column('id', ID, nullable=False),
    sa.Column('send_id', ID, nullable=True),
    sa.Column('issue_slug', sa.String(length=200), nullable=False),
    sa.Column('revision_id', ID, nullable=True),
    sa.Column('embargo_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('preview_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_token', sa.String(length=40), nullable=True),
    sa.Column('reply_address', sa.String(length=320), nullable=False),
    sa.Column('forward_to', sa.String(length=320), nullable=False),
    sa.Column('pdf_attached', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reply_token', name='uq_press_sends_reply_token'),
    sa.UniqueConstraint('send_id', name='uq_press_sends_send')
    )
    with op.batch_alter_table('press_sends', schema=None) as batch_op:
        batch_op.create_index('ix_press_sends_slug', ['issue_slug'], unique=False)

    op.create_table('pdf_renderings',
    sa.Column('revision_id', ID, nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['revision_id'], ['issue_revisions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('revision_id', 'language')
    )

    op.create_table('replies',
    sa.Column('id', ID, nullable=False),
    sa.Column('send_id', ID, nullable=True),
    sa.Column('issue_slug', sa.String(length=200), nullable=False),
    sa.Column('subscriber_id', ID, nullable=True),
    sa.Column('from_address', sa.String(length=320), nullable=False),
    sa.Column('from_name', sa.String(length=200), nullable=False),
    sa.Column('to_address', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('spam_score', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('forward_to', sa.String(length=320), nullable=False),
    sa.Column('forward_status', sa.String(length=20), nullable=False),
    sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('forward_message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest', name='uq_replies_digest')
    )
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.create_index('ix_replies_received', ['received_at'], unique=False)
        batch_op.create_index('ix_replies_send', ['send_id', 'received_at'], unique=False)
        batch_op.create_index('ix_replies_subscriber_id', ['subscriber_id'], unique=False)

    op.create_table('reply_attachments',
    sa.Column('id', ID, nullable=False),
    sa.Column('reply_id', ID, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['reply_id'], ['replies.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reply_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_reply_attachments_reply_id', ['reply_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reply_attachments')
    op.drop_table('replies')
    op.drop_table('pdf_renderings')
    op.drop_table('press_sends')
