"""Writes engine/tables.py: the schema's tables as plain SQLAlchemy Core, for readers.

The schema is declared once, as SQLModel classes in ``engine/models.py`` (and
created by the migrations in ``engine/migrations``). Declaring those classes
costs a read command about a third of ``import sqlmodel`` again (issue 19,
``python -m bench.libcost``); the same tables as Core ``Table`` objects cost
about 15 ms. So a read command that needs no ORM (``vcase case show``) reads
through ``engine.tables``, which this script derives from the models: every
column with its type, nullability and primary key (no indexes, foreign keys
or constraints: nothing creates tables from it). Run from the repository root
after changing ``engine/models.py``; the file it writes is committed, and
``tests/test_tables.py`` fails while it differs from what this writes.

    python tools/make_tables.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "engine" / "tables.py"

HEADER = '''"""The schema's tables as SQLAlchemy Core, for read paths that need no ORM.

Written by ``tools/make_tables.py`` from ``engine/models.py`` (the schema's one
declaration; the migrations create it): columns, types, nullability and
primary keys only. Do not edit; run ``python tools/make_tables.py`` after
changing the models (``tests/test_tables.py`` checks the two agree).
"""

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()
'''


def type_source(column) -> str:
    kind = type(column.type).__name__
    if kind == "AutoString":  # SQLModel's str column: a VARCHAR of its length
        length = getattr(column.type, "length", None)
        return f"String({length})" if length else "String()"
    if kind == "DateTime":
        return "DateTime(timezone=True)" if column.type.timezone else "DateTime()"
    if kind in ("Boolean", "Date", "Float", "Integer", "JSON", "LargeBinary"):
        return f"{kind}()"
    raise SystemExit(f"tools/make_tables.py: column {column.table.name}.{column.name} has type {kind}, "
                     "which this script does not know; add it to type_source()")


def source() -> str:
    sys.path.insert(0, str(ROOT))
    from sqlmodel import SQLModel

    import engine.models  # noqa: F401  (declares the tables)

    out = [HEADER]
    for table in sorted(SQLModel.metadata.tables.values(), key=lambda t: t.name):
        name = table.name if table.name.isidentifier() else table.name + "_"
        out.append(f"\n{name} = Table(\n    {table.name!r}, metadata,\n")
        for column in table.columns:
            extra = ", primary_key=True" if column.primary_key else ""
            extra += "" if column.nullable or column.primary_key else ", nullable=False"
            out.append(f"    Column({column.name!r}, {type_source(column)}{extra}),\n")
        out.append(")\n")
    return "".join(out)


def main() -> None:
    TARGET.write_text(source())
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
