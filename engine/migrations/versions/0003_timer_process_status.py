"""timers found by process and status through one index

Pausing, resuming and withdrawing a process look up its timers by
``process_id`` and ``status``. With one index on ``process_id`` and another on
``(status, due_at)``, SQLite chose the second for ``status = 'pending'`` and
walked every pending timer in the database (a million, in a statewide one)
to find a process's two. ``(process_id, status)`` answers both terms.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_process_id')
        batch_op.create_index('timer_process_status', ['process_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('timer_process_status')
        batch_op.create_index('ix_timer_process_id', ['process_id'], unique=False)
