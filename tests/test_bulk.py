"""``engine.bulk.execute_many`` writes what SQLAlchemy writes, type by type, on both databases.

The scheduler's batch writes its notices, audit entries, timer claims and process versions through
it (``engine.batch``, ``engine.audit``, ``engine.outbox``); ``tests/test_batch.py`` compares whole
agencies. Here each kind of column is checked on its own: aware datetimes, JSON (a dict, and None,
which SQLAlchemy stores as JSON null), booleans, sealed bytes, NULLs and literals in the statement,
and an UPDATE's count of the rows its guard matched.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, bindparam, insert, select, update

from engine import tables
from engine.bulk import execute_many

NOW = datetime(2026, 12, 2, 15, 30, 12, 345678, tzinfo=timezone.utc)
AUDIT = tables.audit_entry


def _entries(base: int, n: int) -> list[dict]:
    return [dict(id=base + i, stream=f"test:{base}", seq=i + 1, at=NOW + timedelta(seconds=i), actor_login="scheduler",
                 actor_role="system", on_behalf_of=None if i % 2 else 7, via=None, case_id=None, process_id=None,
                 action="test.bulk", from_state="a", to_state=None,
                 detail={"n": i, "nested": {"list": [1, "two", None], "flag": True}, "text": "é ☂"},
                 prev_hash="0" * 64, hash=f"{i:064d}") for i in range(n)]


def _read(store, lo: int, hi: int) -> list[tuple]:
    with store.read() as s:
        return [tuple(row) for row in s.execute(select(AUDIT).where(AUDIT.c.id >= lo, AUDIT.c.id < hi)
                                                 .order_by(AUDIT.c.id))]


def test_an_insert_reads_back_as_the_same_rows_as_sqlalchemys(store):
    rows = 5
    with store.write() as s:
        s.execute(insert(AUDIT), _entries(900_000, rows))
        execute_many(s, insert(AUDIT), _entries(910_000, rows))
    theirs, ours = _read(store, 900_000, 900_000 + rows), _read(store, 910_000, 910_000 + rows)
    assert len(ours) == rows
    skip = {AUDIT.c.keys().index(k) for k in ("id", "stream")}
    for a, b in zip(theirs, ours):
        assert [v for i, v in enumerate(a) if i not in skip] == [v for i, v in enumerate(b) if i not in skip]
    # and as stored, byte for byte (the audit chain hashes what verify reads back)
    with store.engine.connect() as conn:
        raw = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT at, detail, on_behalf_of, to_state FROM audit_entry WHERE id IN (900001, 910001) ORDER BY id")]
    assert raw[0] == raw[1]


def test_none_in_a_json_column_is_stored_as_sqlalchemy_stores_it(store):
    with store.write() as s:
        execute_many(s, insert(AUDIT), [dict(_entries(920_000, 1)[0], detail=None)])
        s.execute(insert(AUDIT), [dict(_entries(930_000, 1)[0], detail=None)])
    with store.engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql(
            "SELECT CAST(detail AS TEXT) FROM audit_entry WHERE id IN (920000, 930000) ORDER BY id")]
    assert stored[0] == stored[1]


def test_an_update_counts_the_rows_its_guard_matched_and_applies_literals(store):
    with store.write() as s:
        s.execute(insert(tables.audit_stream), [{"stream": f"test:{i}", "seq": 1, "head_hash": "a"} for i in range(4)])
    heads = tables.audit_stream
    statement = (update(heads).where(heads.c.stream == bindparam("s"), heads.c.seq == bindparam("old"))
                 .values(seq=bindparam("seq"), head_hash="b"))
    with store.write() as s:
        moved = execute_many(s, statement, [{"s": "test:0", "old": 1, "seq": 2}, {"s": "test:1", "old": 9, "seq": 2},
                                            {"s": "test:2", "old": 1, "seq": 2}])
    assert moved == 2  # the guard refused test:1 (stale), as the batch's Conflict check relies on
    with store.read() as s:
        got = dict(s.execute(select(heads.c.stream, heads.c.head_hash).where(heads.c.stream.like("test:%"))).all())
    assert got == {"test:0": "b", "test:1": "a", "test:2": "b", "test:3": "a"}


def test_it_takes_no_in_lists(store):
    statement = update(tables.audit_stream).where(tables.audit_stream.c.stream.in_(bindparam("many", expanding=True)))
    with pytest.raises(ValueError, match="no IN"):
        with store.write() as s:
            execute_many(s, statement.values(seq=1), [{"many": ["x"]}])


def test_a_column_with_a_python_default_is_left_to_sqlalchemy(store):
    """A statement whose table computes a value in Python goes the ordinary way (same rows)."""
    from sqlalchemy import Integer, MetaData, String, Table

    md = MetaData()
    scratch = Table("bulk_scratch", md, Column("id", Integer, primary_key=True), Column("note", String(20)),
                    Column("made", String(20), default=lambda: "by default"))
    md.create_all(store.engine)
    try:
        with store.write() as s:
            execute_many(s, insert(scratch), [{"id": 1, "note": "x"}, {"id": 2, "note": "y"}])
        with store.read() as s:
            assert s.execute(select(scratch.c.made).order_by(scratch.c.id)).scalars().all() == ["by default"] * 2
    finally:
        md.drop_all(store.engine)


def test_the_sql_is_what_sqlalchemy_sends_for_many_rows(store):
    """Compiled for many rows: on PostgreSQL an INSERT without RETURNING (nothing reads the new ids)."""
    from sqlalchemy import event

    sent = []

    def record(conn, cursor, statement, params, context, executemany):
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        rows = [dict(login=f"bulk{i}", display_name="B", role="advocate", active=True, created_at=NOW)
                for i in range(3)]  # no id given: SQLAlchemy would return the new ids of one row
        with store.write() as s:
            execute_many(s, insert(tables.staff), rows)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    inserts = [q for q in sent if q.startswith("INSERT")]
    assert len(inserts) == 1 and "RETURNING" not in inserts[0].upper()


def test_constant_defaults_are_written_as_sqlalchemy_writes_them_without_falling_back(store):
    """A column left to a constant default (the notice's ``certified``, ``status``, ``attempts``...)
    gets that constant on the fast path (one executemany, no per-row SQLAlchemy parameters), and the
    rows read back as SQLAlchemy's own insert writes them."""
    from sqlalchemy import Boolean, Integer, MetaData, String, Table, event

    md = MetaData()
    scratch = Table("bulk_defaults", md, Column("id", Integer, primary_key=True), Column("note", String(20)),
                    Column("status", String(16), nullable=False, default="queued"),
                    Column("attempts", Integer, nullable=False, default=0),
                    Column("certified", Boolean, nullable=False, default=False),
                    Column("flagged", Boolean, nullable=False, default=True))
    md.create_all(store.engine)
    sent = []

    def record(conn, cursor, statement, params, context, executemany):
        sent.append((statement, executemany and context.compiled is None))  # not SQLAlchemy's own compile

    try:
        with store.write() as s:
            s.execute(insert(scratch), [{"id": 1, "note": "x"}, {"id": 2, "note": "y"}])
        event.listen(store.engine, "before_cursor_execute", record)
        try:
            with store.write() as s:
                execute_many(s, insert(scratch), [{"id": 11, "note": "x"}, {"id": 12, "note": "y"}])
        finally:
            event.remove(store.engine, "before_cursor_execute", record)
        with store.read() as s:
            rows = [tuple(r)[1:] for r in s.execute(select(scratch).order_by(scratch.c.id))]
        assert rows[:2] == rows[2:] == [("x", "queued", 0, False, True), ("y", "queued", 0, False, True)]
        inserts = [(q, many) for q, many in sent if q.startswith("INSERT")]
        assert len(inserts) == 1 and inserts[0][1], inserts  # one executemany, straight to the driver
    finally:
        md.drop_all(store.engine)
