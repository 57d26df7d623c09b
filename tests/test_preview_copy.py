"""``vcase scheduler tick --until DATE --on-a-copy PATH``: the preview copies the SQLite database
itself, with the backup API, so committed work still in the write-ahead log (a daemon running) is
in the copy; the real database is only read. PostgreSQL is not copied: refused, saying what to do."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from engine.models import Setting
from tests.support import dump


def _files(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (path, Path(f"{path}-wal")) if p.exists()}


def _timer_case(agency) -> int:
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "wants a letter"})  # a 10-day timer
    return pid


def _sqlite_only(store):
    if not store.is_sqlite:
        pytest.skip("the copy is SQLite's; PostgreSQL is refused (test_postgres_is_not_copied)")
    return Path(store.engine.url.database)


def test_the_copy_has_committed_wal_data_and_the_real_database_is_untouched(run, store, agency, tmp_path):
    database = _sqlite_only(store)
    _timer_case(agency)
    committed = sqlite3.connect(database, isolation_level=None)
    committed.execute("PRAGMA wal_autocheckpoint=0")  # a daemon's work, still in the write-ahead log
    committed.execute("INSERT INTO setting (key, value) VALUES ('preview.committed', 'yes')")
    pending = sqlite3.connect(database, isolation_level=None)
    pending.execute("BEGIN IMMEDIATE")
    pending.execute("INSERT INTO setting (key, value) VALUES ('preview.uncommitted', 'yes')")
    try:
        assert os.path.getsize(f"{database}-wal") > 0
        with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as stale:  # what `cp vcase.db` sees
            assert stale.execute("SELECT count(*) FROM setting WHERE key = 'preview.committed'").fetchone() == (0,)
        before, files = dump(store), _files(database)
        copy = tmp_path / "preview.db"
        code, out, err = run("ada", "scheduler", "tick", "--until", "2030-01-01", "--on-a-copy", str(copy))
        assert code == 0, err
        assert str(copy) in out and "fired 1 timer(s)" in out and "2030-01-01 00:00 UTC" in out
        assert dump(store) == before and _files(database) == files
    finally:
        pending.rollback()
        pending.close()
        committed.close()
    assert copy.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(copy) as c:
        keys = {k for (k,) in c.execute("SELECT key FROM setting WHERE key LIKE 'preview.%'")}
        assert keys == {"preview.committed"}
        assert c.execute("SELECT status FROM timer").fetchall() == [("fired",)]
    with sqlite3.connect(database) as real:
        assert real.execute("SELECT status FROM timer").fetchall() == [("pending",)]


def test_an_existing_file_or_a_missing_folder_is_refused(run, store, agency, tmp_path):
    _sqlite_only(store)
    _timer_case(agency)
    taken = tmp_path / "taken.db"
    taken.write_text("mine")
    before = dump(store)
    for target, says in ((taken, "already exists"), (tmp_path / "no" / "such.db", "no folder")):
        code, out, err = run("ada", "scheduler", "tick", "--until", "2030-01-01", "--on-a-copy", str(target))
        assert code == 1 and says in err and len(err.strip().splitlines()) == 1, err
    assert taken.read_text() == "mine" and not (tmp_path / "no").exists()
    assert dump(store) == before


def test_until_is_read_in_the_agency_zone_and_echoed(run, store, agency, tmp_path):
    _sqlite_only(store)
    _timer_case(agency)
    with store.write() as s:
        s.add(Setting(key="agency.time_zone", value="America/Chicago"))
    before = dump(store)
    gap = tmp_path / "gap.db"
    code, out, err = run("ada", "scheduler", "tick", "--until", "2027-03-14T02:30", "--on-a-copy", str(gap))
    assert code == 1 and "does not exist in America/Chicago" in err and "--until" in err, err
    assert not gap.exists() and dump(store) == before
    copy = tmp_path / "preview.db"
    code, out, err = run("ada", "scheduler", "tick", "--until", "2027-03-14T10:00", "--on-a-copy", str(copy))
    assert code == 0, err
    assert "2027-03-14 10:00 CDT (-05:00, America/Chicago)" in out


def test_on_a_copy_and_until_go_together(run, store, agency, tmp_path):
    before = dump(store)
    code, out, err = run("ada", "scheduler", "tick", "--on-a-copy", str(tmp_path / "x.db"))
    assert code == 2 and "--until" in err
    assert not (tmp_path / "x.db").exists() and dump(store) == before


def test_postgres_is_not_copied(run, store, agency, tmp_path):
    if store.is_sqlite:
        pytest.skip("PostgreSQL only")
    _timer_case(agency)
    before = dump(store)
    target = tmp_path / "preview.db"
    code, out, err = run("ada", "scheduler", "tick", "--until", "2030-01-01", "--on-a-copy", str(target))
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "createdb -T" in lines[0] and "--on-a-copy postgresql://" in lines[0], err
    assert not target.exists()
    code, out, err = run("ada", "scheduler", "tick", "--until", "2030-01-01", "--on-a-copy", store.url)
    assert code == 1 and "agency's own database" in err, err
    assert dump(store) == before
