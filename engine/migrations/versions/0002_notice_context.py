"""notice rendering inputs kept (encrypted) for faithful fallbacks; the unused registration table dropped

A fallback notice (email refused, so a letter goes instead) is rendered again
for the new channel. It must say what the first said: the same appointment,
the same items, the same "sent on". The first rendering's inputs are kept,
encrypted like the notice body, in ``notice.context_enc``.

Registrations are ``notification`` processes; the ``registration`` table of
0001 was never written by any command.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context_enc', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('registration_case_active')
    op.drop_table('registration')


def downgrade() -> None:
    op.create_table(
        'registration',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('party_side', sa.String(length=8), nullable=False),
        sa.Column('events', sa.String(length=1000), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('ended_reason', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("party_side = 'victim'", name='registration_victim_side_only'),
        sa.CheckConstraint('active OR ended_reason IS NOT NULL', name='registration_end_has_reason'),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['party_id', 'party_side'], ['party.id', 'party.side'], name='registration_party'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('registration_case_active', ['case_id', 'active'], unique=False)
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('context_enc')
