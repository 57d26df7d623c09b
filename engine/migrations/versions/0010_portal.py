"""the victim portal and two-way texts

Issue 17: ``portal_access`` (a party's access ID, the Argon2id hashes of its
one-time code and PIN, failures and lockout, revocation), ``portal_session``
(hashed cookie tokens), ``confirm_token`` (hashed single-use links and text
codes that confirm one notice), ``contact_request`` (a victim asked to be
contacted), and ``party.phone_index``: a keyed HMAC of a party's phone
digits, so a text's sender is found without a plain-text number. Rows from
before this revision get their index when vcase first needs it
(``services.sms_inbound``): a migration does not hold the key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _utc(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column('party', sa.Column('phone_index', sa.String(length=64), nullable=True))
    op.create_index('ix_party_phone_index', 'party', ['phone_index'])
    op.create_table(
        'portal_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('access_id', sa.String(length=32), nullable=False),
        sa.Column('code_hash', sa.String(length=200), nullable=True),
        _utc('code_expires_at', True),
        sa.Column('pin_hash', sa.String(length=200), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        _utc('locked_until', True),
        _utc('revoked_at', True),
        sa.Column('issued_by', sa.String(length=64), nullable=False),
        _utc('issued_at'),
        _utc('last_sign_in', True),
        sa.ForeignKeyConstraint(['party_id'], ['party.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('party_id'),
        sa.UniqueConstraint('access_id'),
    )
    op.create_table(
        'portal_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('access_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('must_set_pin', sa.Boolean(), nullable=False),
        _utc('created_at'),
        _utc('last_seen'),
        _utc('ended_at', True),
        sa.ForeignKeyConstraint(['access_id'], ['portal_access.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_portal_session_access_id', 'portal_session', ['access_id'])
    op.create_table(
        'confirm_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        _utc('expires_at'),
        _utc('used_at', True),
        _utc('created_at'),
        sa.CheckConstraint("kind IN ('link', 'code')", name='confirm_token_kind_known'),
        sa.ForeignKeyConstraint(['notice_id'], ['notice.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_confirm_token_notice_id', 'confirm_token', ['notice_id'])
    op.create_table(
        'contact_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        _utc('asked_at'),
        sa.Column('handled_by', sa.String(length=64), nullable=True),
        _utc('handled_at', True),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['party_id'], ['party.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_contact_request_party_id', 'contact_request', ['party_id'])


def downgrade() -> None:
    op.drop_table('contact_request')
    op.drop_table('confirm_token')
    op.drop_table('portal_session')
    op.drop_table('portal_access')
    op.drop_index('ix_party_phone_index', 'party')
    # A plain DROP COLUMN (SQLite 3.35+ has it): a batch would rebuild ``party``, which other rows
    # reference, and SQLite cannot drop a referenced table with foreign keys on.
    op.execute("ALTER TABLE party DROP COLUMN phone_index")
