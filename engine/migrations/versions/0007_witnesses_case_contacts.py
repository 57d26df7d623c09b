"""witnesses, a case's designated law-enforcement and prosecutor contacts, and responder notices

Issue 15 (intimidation and retaliation): a witness is a victim-side party
kind with the same confidentiality as a victim; ``case_contact`` links a
case to the partner contacts designated to act for it (role
``law_enforcement`` or ``prosecutor``, ranked by ``position``: the escalation
list); a notice to such a contact has the audience ``responder``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD_VICTIM = "('victim', 'survivor', 'co_victim', 'guardian', 'next_of_kin')"
NEW_VICTIM = "('victim', 'survivor', 'co_victim', 'witness', 'guardian', 'next_of_kin')"


def _party_checks(batch_op, victim_kinds: str) -> None:
    batch_op.drop_constraint('party_kind_known', type_='check')
    batch_op.drop_constraint('party_side_matches_kind', type_='check')
    kinds = victim_kinds[:-1] + ", 'supervised_person')"
    batch_op.create_check_constraint('party_kind_known', f"kind IN {kinds}")
    batch_op.create_check_constraint(
        'party_side_matches_kind',
        f"(side = 'victim' AND kind IN {victim_kinds}) OR (side = 'offender' AND kind = 'supervised_person')")


def _audiences(batch_op, values: str) -> None:
    batch_op.drop_constraint('notice_audience_known', type_='check')
    batch_op.create_check_constraint('notice_audience_known', f"audience IN {values}")


@contextmanager
def _party_rebuilt():
    """SQLite rebuilds ``party`` to change its CHECKs (copy, drop, rename), and with foreign keys on
    it cannot drop a table other rows reference; the pragma takes effect only outside a transaction.
    So on SQLite: commit what is done, rebuild with foreign keys off in a transaction of its own,
    check every reference still holds, commit, and go on in a new transaction (vcase's engine emits
    BEGIN itself: the driver is in autocommit mode). PostgreSQL alters the constraints in place."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    op.execute("COMMIT")
    op.execute("PRAGMA foreign_keys = OFF")
    op.execute("BEGIN IMMEDIATE")
    try:
        yield
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rebuilding party would break {len(broken)} reference(s); nothing changed")
        op.execute("COMMIT")
    except BaseException:
        op.execute("ROLLBACK")
        raise
    finally:
        op.execute("PRAGMA foreign_keys = ON")
        op.execute("BEGIN IMMEDIATE")


def upgrade() -> None:
    with _party_rebuilt(), op.batch_alter_table('party', schema=None) as batch_op:
        _party_checks(batch_op, NEW_VICTIM)
    with op.batch_alter_table('notice', schema=None) as batch_op:
        _audiences(batch_op, "('victim', 'offender', 'staff', 'partner', 'responder')")
    op.create_table(
        'case_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=24), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('designated_by', sa.String(length=64), nullable=False),
        sa.Column('designated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('law_enforcement', 'prosecutor')", name='case_contact_role_known'),
        sa.CheckConstraint('position >= 1', name='case_contact_position_positive'),
        sa.ForeignKeyConstraint(['case_id'], ['case_file.id']),
        sa.ForeignKeyConstraint(['contact_id'], ['partner_contact.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'role', 'position', name='case_contact_one_per_position'),
        sa.UniqueConstraint('case_id', 'role', 'contact_id', name='case_contact_once_per_role'),
    )
    op.create_index('ix_case_contact_case_id', 'case_contact', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_case_contact_case_id', table_name='case_contact')
    op.drop_table('case_contact')
    op.execute("DELETE FROM notice WHERE audience = 'responder'")
    with op.batch_alter_table('notice', schema=None) as batch_op:
        _audiences(batch_op, "('victim', 'offender', 'staff', 'partner')")
    # A witness cannot be kept by the older schema: refuse rather than lose or relabel them.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM party WHERE kind = 'witness'")).scalar():
        raise RuntimeError("witnesses are on file; revision 0006 has no such party kind: downgrade refused")
    with _party_rebuilt(), op.batch_alter_table('party', schema=None) as batch_op:
        _party_checks(batch_op, OLD_VICTIM)
