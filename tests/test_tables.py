"""``engine.tables`` (the Core view read commands use) says what ``engine.models`` says.

The schema is declared once, as SQLModel classes; ``tools/make_tables.py``
writes the Core view from them. If someone changes a model and forgets to
run it, a read command would read a column that is not there or miss one, so
these fail first.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlmodel import SQLModel

import engine.models  # noqa: F401
from engine import tables

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("make_tables", ROOT / "tools" / "make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_file_is_what_the_generator_writes_from_the_models():
    assert (ROOT / "engine" / "tables.py").read_text() == _generator().source(), \
        "engine/tables.py is out of date: run `python tools/make_tables.py`"


def test_every_table_and_column_agrees_with_the_models():
    models = SQLModel.metadata.tables
    assert set(tables.metadata.tables) == set(models)
    for name, model_table in models.items():
        core = tables.metadata.tables[name]
        assert [c.name for c in core.columns] == [c.name for c in model_table.columns], name
        for ours, theirs in zip(core.columns, model_table.columns):
            where = f"{name}.{ours.name}"
            assert ours.primary_key == theirs.primary_key, where
            assert ours.nullable == theirs.nullable, where
            # the same Python type comes back, and the same SQL type is compiled for both databases
            expected = str if type(theirs.type).__name__ == "AutoString" else theirs.type.python_type  # SQLModel's str
            assert ours.type.python_type is expected, where
            for dialect in ("sqlite", "postgresql"):
                d = importlib.import_module(f"sqlalchemy.dialects.{dialect}").dialect()
                assert ours.type.compile(d) == theirs.type.compile(d), (where, dialect)
            assert getattr(ours.type, "timezone", None) == getattr(theirs.type, "timezone", None), where


def test_a_row_read_through_the_core_view_equals_the_orm_row(tmp_path):
    """A party written through the ORM reads back the same, value for value and type for type."""
    from datetime import datetime, timezone

    from sqlalchemy import select

    from engine.db import Store
    from engine import schema
    from engine.crypto import new_key
    from engine.models import Case, Party, Staff

    store = Store(f"sqlite:///{tmp_path / 'v.db'}", [new_key()])
    schema.upgrade(store)
    now = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
    with store.write() as s:
        staff = Staff(login="o", display_name="O", role="officer", created_at=now)
        s.add(staff)
        s.flush()
        case = Case(case_number="T-1", supervised_person="X", officer_id=staff.id, time_zone="America/Chicago",
                    created_at=now)
        s.add(case)
        s.flush()
        s.add(Party(case_id=case.id, kind="survivor", side="victim", name_enc=store.vault.encrypt("N"),
                    channels="email", language="es", is_minor=True, is_deceased=False, created_at=now))
    with store.read() as s:
        orm = s.execute(select(Party)).scalar_one()
        with store.engine.connect() as conn:
            core = conn.execute(select(tables.party)).one()
        for column in tables.party.columns:
            mine, theirs = getattr(core, column.name), getattr(orm, column.name)
            assert mine == theirs and type(mine) is type(theirs), column.name
    store.dispose()
