"""agency-level processes (formal agreements) and the access they grant partners' staff

Issue 14 (partnerships, parts 4 and 5): a formal agreement with community
partners is a process that belongs to no case, so process.case_id and
notice.case_id may be NULL; a CHECK keeps a process without a case to the
agency-level kind (process.agency_level), and a notice to a case or a process.
An agreement in force grants a partner's staff access to named workflows and
permission keys (access_grant), until the end of its term or until it is
ended (expired, terminated).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_level', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint('process_case_unless_agency_level', '(case_id IS NULL) = agency_level')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint('notice_case_or_process', 'case_id IS NOT NULL OR process_id IS NOT NULL')
    op.create_table(
        'access_grant',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.Integer(), nullable=False),
        sa.Column('partner_id', sa.Integer(), nullable=False),
        sa.Column('workflows', sa.String(length=300), nullable=False),
        sa.Column('permissions', sa.String(length=600), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_reason', sa.String(length=200), nullable=True),
        sa.CheckConstraint('ended_at IS NULL OR ended_reason IS NOT NULL', name='grant_end_has_reason'),
        sa.CheckConstraint('until IS NULL OR until > starts_at', name='grant_until_after_start'),
        sa.ForeignKeyConstraint(['process_id'], ['process.id']),
        sa.ForeignKeyConstraint(['partner_id'], ['partner.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_access_grant_process_id', 'access_grant', ['process_id'])
    op.create_index('access_grant_partner', 'access_grant', ['partner_id', 'ended_at'])


def downgrade() -> None:
    op.drop_index('access_grant_partner', table_name='access_grant')
    op.drop_index('ix_access_grant_process_id', table_name='access_grant')
    op.drop_table('access_grant')
    op.execute("DELETE FROM notice WHERE case_id IS NULL")
    op.execute("DELETE FROM timer WHERE process_id IN (SELECT id FROM process WHERE case_id IS NULL)")
    op.execute("DELETE FROM document WHERE process_id IN (SELECT id FROM process WHERE case_id IS NULL)")
    op.execute("DELETE FROM process WHERE case_id IS NULL")  # their audit entries stay (append-only)
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_constraint('notice_case_or_process', type_='check')
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('process', schema=None) as batch_op:
        batch_op.drop_constraint('process_case_unless_agency_level', type_='check')
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('agency_level')
