"""A long-running worker's SQLite tuning (issue 19, ``Store.daemon_mode``): its own page cache, and
the WAL copied back into the database by a thread of its own while the worker writes."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from sqlalchemy import text

from engine import db
from engine.db import Store


def _pragma(store: Store, name: str) -> int:
    with store.read() as s:
        return s.execute(text(f"PRAGMA {name}")).scalar_one()


def _main_file(store: Store) -> str:
    return hashlib.sha256(Path(store.engine.url.database).read_bytes()).hexdigest()


def _write_some(admin, n: int = 5) -> None:
    for i in range(n):
        admin.set_setting("agency.phone", f"+1 312 555 01{i:02d}")


def test_the_daemon_tunes_its_connections_and_checkpoints_on_its_own_thread(sqlite_store, clock, tmp_path):
    from tests.conftest import build_admin

    admin = build_admin(sqlite_store, clock, tmp_path / "outbox")
    assert _pragma(sqlite_store, "cache_size") == -2000  # SQLite's default outside the daemon
    with sqlite_store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _main_file(sqlite_store)
    _write_some(admin)
    time.sleep(0.6)
    assert _main_file(sqlite_store) == before  # a few pages: they wait in the WAL for the next checkpoint

    with sqlite_store.daemon_mode():
        assert _pragma(sqlite_store, "cache_size") == -db.DAEMON_CACHE_KIB
        assert _pragma(sqlite_store, "wal_autocheckpoint") == db.DAEMON_AUTOCHECKPOINT_PAGES
        _write_some(admin)
        deadline = time.monotonic() + 5
        while _main_file(sqlite_store) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _main_file(sqlite_store) != before  # the checkpoint thread copied the WAL back
    assert _pragma(sqlite_store, "cache_size") == -2000  # undone on leaving
    assert admin.verify_audit()["ok"]


def test_daemon_mode_leaves_postgresql_as_it_is(store):
    with store.daemon_mode():
        with store.read() as s:
            s.execute(text("SELECT 1"))


def test_the_daemons_page_cache_can_be_sized(sqlite_store):
    """``vcase scheduler run --cache-mib``: a statewide SQLite file fires faster with a bigger cache
    (bench/README.md); each connection the daemon opens gets it, and leaving undoes it."""
    assert sqlite_store.page_cache_kib() == 2000
    with sqlite_store.daemon_mode(cache_kib=131_072):
        assert _pragma(sqlite_store, "cache_size") == -131_072
        assert sqlite_store.page_cache_kib() == 131_072
    with sqlite_store.daemon_mode():
        assert sqlite_store.page_cache_kib() == db.DAEMON_CACHE_KIB
    assert sqlite_store.page_cache_kib() == 2000


def test_a_cache_size_is_no_concern_of_postgresql(pg_store):
    with pg_store.daemon_mode(cache_kib=131_072):
        assert pg_store.page_cache_kib() is None
