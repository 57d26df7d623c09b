"""One statement for many rows, with each column's conversion looked up once.

``session.execute(statement, rows)`` makes SQLAlchemy build every row's
parameters anew: it walks the compiled statement's binds and looks up each
type's converter, row after row (about a fifth of a fired timer's CPU). Here
the statement is compiled once for the batch, each bind's converter is taken
once from its type, and the driver gets plain tuples (or dicts) through
``exec_driver_sql``: the same SQL, the same converted values, the same
transaction and the same cursor events (so statement counters and the
SQLite ``BEGIN IMMEDIATE`` listener see it as before). Used on the scheduler's
hot path (``engine.batch``, ``engine.audit``, ``engine.outbox``);
``tests/test_bulk.py`` proves a row written here is the row SQLAlchemy writes,
type by type, on both databases.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.sql.elements import ClauseElement


def execute_many(session, statement: ClauseElement, rows: Sequence[dict[str, Any]]) -> int:
    """Run ``statement`` (an INSERT, or an UPDATE with ``bindparam``s) once per row of ``rows`` (all
    with the same keys) in the session's transaction; the rows it matched (an UPDATE's guard)."""
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    # for_executemany: as SQLAlchemy compiles it for many rows (on PostgreSQL, no RETURNING of the new ids)
    compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
    defaults = _scalar_defaults(compiled)
    if defaults is None:  # Python-side defaults computed per row (a callable): SQLAlchemy computes them
        return session.execute(statement, list(rows)).rowcount
    names = list(compiled.positiontup) if compiled.positiontup is not None else list(compiled.binds)
    columns = []  # per parameter: (the row's key, or None for a literal; the literal; its converter)
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            raise ValueError("execute_many takes no IN (...) lists; give each row's value instead")
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        key = bind.key if bind.key in keys else None  # else a literal, or a column's default: the same for every row
        literal = None if key is not None else defaults[bind.key] if bind.key in defaults else bind.effective_value
        columns.append((key, literal, convert))

    def values(row: dict[str, Any]) -> list[Any]:
        # None is converted too (a JSON column stores it as null), exactly as SQLAlchemy does
        return [(row[key] if key is not None else literal) if convert is None
                else convert(row[key] if key is not None else literal)
                for key, literal, convert in columns]

    if compiled.positiontup is not None:  # qmark / numeric (SQLite)
        params: list = [tuple(values(row)) for row in rows]
    else:  # named (psycopg's pyformat)
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        sent = [escaped.get(name, name) for name in names]
        params = [dict(zip(sent, values(row))) for row in rows]
    result = connection.exec_driver_sql(compiled.string, params)
    return result.rowcount


def _scalar_defaults(compiled) -> dict[str, Any] | None:
    """The columns an INSERT leaves to their Python-side defaults, each a constant (``False``, ``0``,
    ``'queued'``): the value SQLAlchemy would put in every row. None when one is computed per row (a
    callable, a sequence) or is an UPDATE's ``onupdate``: those are left to SQLAlchemy."""
    if compiled.update_prefetch:
        return None
    defaults = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not default.is_scalar:
            return None
        defaults[column.key] = default.arg
    return defaults


__all__ = ["execute_many"]
