"""the services log and what a funder's report reads

Issue 16: ``service_entry`` keeps the services staff gave a victim-side party
(or an anonymous contact) by the PMT's item code; ``party_profile`` keeps what
a party chose to say about themselves for the report, encrypted. Two indexes
let a report read what vcase did itself without scanning: the delivered
notices of custody and supervision events (partial), and processes by kind
and start.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ITEMS = ("A1", "A2", "A3", "A4", *(f"B{n}" for n in range(1, 11)), *(f"C{n}" for n in range(1, 8)),
         "D1", "D2", "D3", *(f"E{n}" for n in range(1, 12)), "COMP")
DELIVERED_EVENT_NOTICE = "audience = 'victim' AND case_event_id IS NOT NULL AND sent_at IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        'service_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('party_id', sa.Integer(), nullable=True),
        sa.Column('anonymous', sa.Boolean(), nullable=False),
        sa.Column('item', sa.String(length=8), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('contact', sa.String(length=32), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"item IN ({', '.join(repr(i) for i in ITEMS)})", name='service_entry_item_known'),
        sa.CheckConstraint('(party_id IS NULL) = anonymous', name='service_entry_party_unless_anonymous'),
        sa.CheckConstraint('(case_id IS NULL) = (party_id IS NULL)', name='service_entry_case_with_party'),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['party_id'], ['party.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('service_entry_at', 'service_entry', ['at'])
    op.create_index('service_entry_party', 'service_entry', ['party_id', 'at'])
    op.create_table(
        'party_profile',
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('profile_enc', sa.LargeBinary(), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['party_id'], ['party.id']),
        sa.PrimaryKeyConstraint('party_id'),
    )
    op.create_index('notice_event_delivered', 'notice', ['sent_at', 'recipient_party_id', 'status'],
                    sqlite_where=sa.text(DELIVERED_EVENT_NOTICE), postgresql_where=sa.text(DELIVERED_EVENT_NOTICE))
    op.create_index('process_workflow_started', 'process', ['workflow', 'started_at', 'initiator_party_id'])


def downgrade() -> None:
    op.drop_index('process_workflow_started', table_name='process')
    op.drop_index('notice_event_delivered', table_name='notice')
    op.drop_table('party_profile')
    op.drop_index('service_entry_party', table_name='service_entry')
    op.drop_index('service_entry_at', table_name='service_entry')
    op.drop_table('service_entry')
