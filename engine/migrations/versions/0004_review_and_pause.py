"""a held case event is reviewed as an event; emergencies may pass a pause

The mass-change guard holds a burst's notices. Reviewing them one notice at a
time left what a held event had armed (its advance notices) free to fire
later without review. ``case_event.review`` marks an event held, released or
discarded, so everything the event causes stays held with it, and discarding
cancels all of it.

A paused registration is "not now", not "never tell me about a danger":
``notice.through_pause`` marks a notice that goes out although its process
is paused (an emergency the registrant chose to receive during a pause).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            'case_event_review_known', "review IS NULL OR review IN ('held', 'released', 'discarded')")
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('through_pause', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('through_pause')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_constraint('case_event_review_known', type_='check')
        batch_op.drop_column('review')
