"""the mail room: letters printed in daily batches, mailed, tracked, delivered or returned

Issue 18: a letter is no longer "sent" when the letter channel takes it. It
waits for the mail room (``awaiting_print``; its text stays encrypted in the
notice), is printed in a daily batch (``printed``, ``mail_batch``), handed to
the post office (``mailed``), and may be recorded ``delivered`` (certified
mail's proof) or ``returned`` (the next channel is tried). Each letter has an
opaque reference (``letter_ref``) printed on it instead of anything that
tells what the case is; a certified letter's tracking number is stored
encrypted. The staff role ``mailroom`` prints and records these steps and
reads nothing else.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_ROLES = "('officer', 'advocate', 'victim_services', 'facilitator', 'parole_board', 'admin')"
NEW_ROLES = "('officer', 'advocate', 'victim_services', 'facilitator', 'parole_board', 'admin', 'mailroom')"
OLD_STATUSES = "('queued', 'held', 'sending', 'sent', 'failed', 'confirmed', 'cancelled')"
MAIL = "('awaiting_print', 'printed', 'mailed', 'delivered', 'returned')"
PRINTED = "('printed', 'mailed', 'delivered', 'returned')"
NEW_STATUSES = OLD_STATUSES[:-1] + ", " + MAIL[1:]
OLD_REASON = "status NOT IN ('failed', 'cancelled', 'held') OR status_reason IS NOT NULL"
NEW_REASON = "status NOT IN ('failed', 'cancelled', 'held', 'returned') OR status_reason IS NOT NULL"
MAIL_CHECKS = {
    'notice_mail_states_are_letters': f"status NOT IN {MAIL} OR (channel = 'letter' AND letter_ref IS NOT NULL)",
    'notice_printed_has_batch': f"status NOT IN {PRINTED} OR mail_batch_id IS NOT NULL",
    'notice_tracking_once_mailed': "tracking_enc IS NULL OR status IN ('mailed', 'delivered', 'returned')",
    'notice_returned_has_time': "(status = 'returned') = (returned_at IS NOT NULL)",
}


@contextmanager
def _rebuilt():
    """SQLite rebuilds a table to change its CHECKs (copy, drop, rename); with foreign keys on it cannot
    drop a table that other rows reference (``staff``, and ``notice`` through ``fallback_of``), and the
    pragma takes effect only outside a transaction. As in 0007: commit what is done, rebuild with
    foreign keys off in a transaction of its own, check every reference still holds, commit, and go on
    in a new transaction. PostgreSQL alters the constraints in place."""
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
            raise RuntimeError(f"rebuilding would break {len(broken)} reference(s); nothing changed")
        op.execute("COMMIT")
    except BaseException:
        op.execute("ROLLBACK")
        raise
    finally:
        op.execute("PRAGMA foreign_keys = ON")
        op.execute("BEGIN IMMEDIATE")


def _check(batch_op, name: str, sql: str) -> None:
    batch_op.drop_constraint(name, type_='check')
    batch_op.create_check_constraint(name, sql)


def upgrade() -> None:
    op.create_table(
        'mail_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('letters', sa.Integer(), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('presorted', sa.Boolean(), nullable=False),
        sa.Column('folder', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('mailed_by', sa.String(length=64), nullable=True),
        sa.Column('files_removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('printed', 'mailed')", name='mail_batch_status_known'),
        sa.CheckConstraint("(status = 'mailed') = (mailed_at IS NOT NULL AND mailed_by IS NOT NULL)",
                           name='mail_batch_mailed_has_who_and_when'),
        sa.CheckConstraint('letters >= 1 AND pages >= letters', name='mail_batch_counts'),
        sa.PrimaryKeyConstraint('id'),
    )
    with _rebuilt():
        with op.batch_alter_table('staff', schema=None) as batch_op:
            _check(batch_op, 'staff_role_known', f"role IN {NEW_ROLES}")
        with op.batch_alter_table('notice', schema=None) as batch_op:
            batch_op.add_column(sa.Column('letter_ref', sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column('certified', sa.Boolean(), nullable=False, server_default=sa.false()))
            batch_op.add_column(sa.Column('mail_batch_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('pages', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('tracking_enc', sa.LargeBinary(), nullable=True))
            batch_op.add_column(sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.create_foreign_key('notice_mail_batch_id_fkey', 'mail_batch', ['mail_batch_id'], ['id'])
            batch_op.create_unique_constraint('notice_letter_ref_once', ['letter_ref'])
            batch_op.create_index('notice_mail_batch', ['mail_batch_id'])
            _check(batch_op, 'notice_status_known', f"status IN {NEW_STATUSES}")
            _check(batch_op, 'notice_end_has_reason', NEW_REASON)
            for name, sql in MAIL_CHECKS.items():
                batch_op.create_check_constraint(name, sql)


def downgrade() -> None:
    bind = op.get_bind()
    # A mail-room clerk or a letter in a mail-room state cannot be kept by the older schema: refuse
    # rather than lose them or pretend a letter waiting for print was sent.
    if bind.execute(sa.text("SELECT count(*) FROM staff WHERE role = 'mailroom'")).scalar():
        raise RuntimeError("mail-room staff are on file; revision 0007 has no such role: downgrade refused")
    if bind.execute(sa.text(f"SELECT count(*) FROM notice WHERE status IN {MAIL}")).scalar():
        raise RuntimeError("letters are in mail-room states; revision 0007 has none: downgrade refused")
    with _rebuilt():
        with op.batch_alter_table('notice', schema=None) as batch_op:
            for name in MAIL_CHECKS:
                batch_op.drop_constraint(name, type_='check')
            _check(batch_op, 'notice_end_has_reason', OLD_REASON)
            _check(batch_op, 'notice_status_known', f"status IN {OLD_STATUSES}")
            batch_op.drop_index('notice_mail_batch')
            batch_op.drop_constraint('notice_letter_ref_once', type_='unique')
            batch_op.drop_constraint('notice_mail_batch_id_fkey', type_='foreignkey')
            for column in ('returned_at', 'tracking_enc', 'pages', 'mail_batch_id', 'certified', 'letter_ref'):
                batch_op.drop_column(column)
        with op.batch_alter_table('staff', schema=None) as batch_op:
            _check(batch_op, 'staff_role_known', f"role IN {OLD_ROLES}")
    op.drop_table('mail_batch')
