"""Schema revisions: a database made by an earlier vcase upgrades in place, and a
command against an old schema says to run `vcase init` instead of failing later."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import inspect

from engine.db import SCHEMA_REVISION, Store
from engine.errors import SchemaError
from engine.schema import alembic_config, upgrade
from tests.conftest import KEY, fresh_pg_database


@contextmanager
def empty_store(kind: str, tmp_path):
    if kind == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'old.db'}", [KEY])
        yield store
        store.dispose()
        return
    with fresh_pg_database("vcase_migrate") as url:
        store = Store(url, [KEY])
        try:
            yield store
        finally:
            store.dispose()


def _migrate(store: Store, revision: str) -> None:
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_0001_database_upgrades_to_the_current_revision(kind, tmp_path):
    with empty_store(kind, tmp_path) as store:
        _migrate(store, "0001")
        assert store.schema_revision() == "0001"
        with pytest.raises(SchemaError, match="revision 0001.*run `vcase init` to upgrade"):
            store.check_ready()
        assert "registration" in inspect(store.engine).get_table_names()
        assert upgrade(store) == ("0001", SCHEMA_REVISION)
        tables = inspect(store.engine).get_table_names()
        assert "registration" not in tables
        assert "context_enc" in {c["name"] for c in inspect(store.engine).get_columns("notice")}
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0001")
        assert "registration" in inspect(store.engine).get_table_names()
        assert upgrade(store) == ("0001", SCHEMA_REVISION)
