"""Creating and upgrading the schema (``vcase init``) with the shipped Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from engine.db import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(store: Store) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after)."""
    from alembic import command

    before = store.schema_revision()
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    return before, store.schema_revision() or ""


def store_key_check(store: Store) -> bool:
    """Record the key check value once; verify it on later runs. True if new."""
    with store.engine.begin() as conn:
        stored = conn.execute(text("SELECT value FROM meta WHERE key = 'key_check'")).scalar()
        if stored is None:
            conn.execute(text("INSERT INTO meta (key, value) VALUES ('key_check', :v)"), {"v": store.vault.check_value()})
            return True
    store.vault.verify_check_value(stored)
    return False


def restrict_file(store: Store) -> None:
    """A SQLite database file is readable by its owner only, like the key."""
    import os

    database = store.engine.url.database
    if store.is_sqlite and database and database != ":memory:" and os.path.exists(database):
        os.chmod(database, 0o600)
