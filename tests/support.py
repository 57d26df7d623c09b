"""Helpers shared by tests: a full dump of the database to prove nothing changed."""

from __future__ import annotations

from sqlalchemy import inspect, text

TABLES_IGNORED = {"alembic_version"}


def dump(store) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    out = {}
    with store.engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table in TABLES_IGNORED:
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted((tuple(map(repr, r)) for r in rows))
    return out
