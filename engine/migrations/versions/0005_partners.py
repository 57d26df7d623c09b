"""community partners, their contacts and staff, limits of confidentiality explained, notices to partners

Issue 14 (partnerships): a directory of community partners (seed 002's three
advocate models, a sector, the VOCA service categories), named contacts with
an escalation order, staff who belong to a partner, the record that a
victim-side party was told what can and cannot stay confidential (seed 000),
and notices addressed to a partner's contact (a referral the victim
consented to), so a notice has exactly one of three kinds of recipient.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

MODELS = "('community_based', 'systems_based', 'hybrid')"
SECTORS = ("('dv_program', 'sexual_assault_program', 'child_advocacy', 'elder_abuse', 'homicide_survivors', "
           "'faith_based', 'shelter_housing', 'compensation', 'prosecutor', 'law_enforcement', 'courts', 'health', "
           "'protective_services', 'legal_aid', 'other')")
ONE_RECIPIENT = ("(CASE WHEN recipient_party_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN recipient_staff_id IS NULL "
                 "THEN 0 ELSE 1 END) + (CASE WHEN recipient_contact_id IS NULL THEN 0 ELSE 1 END) = 1")


def upgrade() -> None:
    op.create_table(
        'partner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('model', sa.String(length=16), nullable=False),
        sa.Column('sector', sa.String(length=32), nullable=False),
        sa.Column('services', sa.String(length=300), nullable=False),
        sa.Column('languages', sa.String(length=100), nullable=False),
        sa.Column('service_area', sa.String(length=300), nullable=False),
        sa.Column('hours', sa.String(length=200), nullable=False),
        sa.Column('hotline_24_7', sa.Boolean(), nullable=False),
        sa.Column('hotline_phone', sa.String(length=40), nullable=True),
        sa.Column('privileged', sa.Boolean(), nullable=False),
        sa.Column('referral_method', sa.String(length=300), nullable=False),
        sa.Column('referral_email', sa.String(length=320), nullable=True),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"model IN {MODELS}", name='partner_model_known'),
        sa.CheckConstraint(f"sector IN {SECTORS}", name='partner_sector_known'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'partner_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('partner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=100), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('escalation_order', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['partner_id'], ['partner.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_partner_contact_partner_id', 'partner_contact', ['partner_id'])
    op.create_table(
        'confidentiality_explained',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('explained_by', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=32), nullable=False),
        sa.Column('explained_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['party_id'], ['party.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_confidentiality_explained_case_id', 'confidentiality_explained', ['case_id'])
    op.create_index('ix_confidentiality_explained_party_id', 'confidentiality_explained', ['party_id'])
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('staff_partner', 'partner', ['partner_id'], ['id'])
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_contact_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('notice_recipient_contact', 'partner_contact', ['recipient_contact_id'], ['id'])
        batch_op.drop_constraint('notice_has_one_recipient', type_='check')
        batch_op.create_check_constraint('notice_has_one_recipient', ONE_RECIPIENT)
        batch_op.drop_constraint('notice_audience_known', type_='check')
        batch_op.create_check_constraint('notice_audience_known', "audience IN ('victim', 'offender', 'staff', 'partner')")


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_constraint('notice_audience_known', type_='check')
        batch_op.create_check_constraint('notice_audience_known', "audience IN ('victim', 'offender', 'staff')")
        batch_op.drop_constraint('notice_has_one_recipient', type_='check')
        batch_op.create_check_constraint('notice_has_one_recipient',
                                         '(recipient_party_id IS NULL) <> (recipient_staff_id IS NULL)')
        batch_op.drop_constraint('notice_recipient_contact', type_='foreignkey')
        batch_op.drop_column('recipient_contact_id')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint('staff_partner', type_='foreignkey')
        batch_op.drop_column('partner_id')
    op.drop_index('ix_confidentiality_explained_party_id', table_name='confidentiality_explained')
    op.drop_index('ix_confidentiality_explained_case_id', table_name='confidentiality_explained')
    op.drop_table('confidentiality_explained')
    op.drop_index('ix_partner_contact_partner_id', table_name='partner_contact')
    op.drop_table('partner_contact')
    op.drop_table('partner')
