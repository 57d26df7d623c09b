"""``python -m bench.floor``: what the database alone costs for the statements a fired step sends.

The firing target (issue 19: 10,000 steps a second; 5,000 a PostgreSQL daemon)
leaves 100 us a step for everything. How much of that the database itself
takes is measured here, on the same data and the same connection settings,
side by side:

1. the engine fires ``--n`` due timers (``bench.data``'s firing figure: one
   audit entry and one e-mail notice a step) on one copy of a database, with
   every statement, its parameters as the driver got them, and every commit
   recorded at the driver (``before_cursor_execute``, ``commit``);
2. the engine fires the same timers on a second copy, timed, with nothing
   recording;
3. the recording is replayed on a third copy straight through the driver
   (sqlite3, or psycopg with ``--pg-url``), timed: the same SQL, the same
   values, the same transactions, the rows of every SELECT fetched, and no
   Python of vcase's at all. It must leave the database as the recorded run
   left it (audit entries and their hashes, notices, timers, process
   versions), or the run fails.

All three run inside ``Store.daemon_mode()`` (on SQLite the daemon's page
cache and its checkpoint thread), after the same warm-up group. The replay is
the floor for any code that sends these statements: the engine's time over it
is what Python costs. The replay's writes alone (INSERT, UPDATE, DELETE and
the commits, the reads skipped) are the floor for any code at all that writes
what a step must write with this schema; with ``--bare``, also on a copy
stripped of every index of the write-hot tables that only readers use (a
case's history, a process's notices, the reports): the floor for any schema
that still keeps the trail and the outbox findable.

    python -m bench.floor                 # 5,000 due, 3 rounds (fresh copies each)
    python -m bench.floor --n 100000 --rounds 1 --json    # the firing figure's size
    python -m bench.floor --n 100000 --batch 2000 --cache-mib 256
    python -m bench.floor --n 10000 --pg-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import data as D  # noqa: E402

UTC = timezone.utc
WRITES = ("INSERT", "UPDATE", "DELETE")
# What a step's own statements need of the write-hot tables' indexes: the due timers' order, the audit
# chain's (stream, seq) and its heads', the outbox's delivery order, and the unique keys (constraints, kept
# as they are). Every other index there serves a reader (a case's history, a process's notices, a
# withdrawal's cancellations, the reports): ``--bare`` measures the writes without them.
BARE_KEEPS = {"timer_due", "notice_due"}
WRITE_HOT = ("timer", "process", "audit_entry", "audit_stream", "notice")


def _fire(url: str, key: str, warm_at: datetime, now: datetime, record: bool, batch: int = 500) -> tuple[float, int, list]:
    """(seconds, steps fired, the recording) of the engine firing the group due at ``now``."""
    from sqlalchemy import event

    from engine.db import Store
    from engine.firing import fire_due
    from engine.registry import default

    store = Store(url, [key])
    registry = default()
    tape: list = []
    with store.daemon_mode():
        fire_due(store, registry, warm_at)
        if record:
            def statement(conn, cursor, sql, params, context, executemany):
                tape.append(("sql", sql, params, executemany))

            event.listen(store.engine, "before_cursor_execute", statement)
            event.listen(store.engine, "commit", lambda conn: tape.append(("commit",)))
            event.listen(store.engine, "rollback", lambda conn: tape.append(("rollback",)))
        started = time.perf_counter()
        result = fire_due(store, registry, now, size=batch)
        seconds = time.perf_counter() - started
    store.dispose()
    return seconds, result.fired, tape


def _replay(url: str, key: str, warm_at: datetime, tape: list, writes_only: bool,
            spent: dict | None = None) -> float:
    """Seconds to send ``tape`` through the driver (sqlite3, psycopg), on a database the engine warmed
    as above."""
    from engine.db import Store
    from engine.firing import fire_due
    from engine.registry import default

    store = Store(url, [key])
    with store.daemon_mode():
        fire_due(store, default(), warm_at)  # the same state, caches and WAL as the engine's runs
        raw = store.engine.raw_connection()
        conn = raw.driver_connection
        cursor = conn.cursor()
        started = time.perf_counter()
        for item in tape:
            if item[0] == "commit":
                conn.commit()
            elif item[0] == "rollback":
                conn.rollback()
            else:
                _, sql, params, many = item
                verb = sql.lstrip().split(None, 1)[0].upper()
                if writes_only and verb not in WRITES + ("BEGIN", "SAVEPOINT", "RELEASE"):
                    continue
                at = time.perf_counter()
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
                    if cursor.description is not None:  # a SELECT, or a write's RETURNING
                        cursor.fetchall()
                if spent is not None:
                    shape = " ".join(sql.split())[:90]
                    spent[shape] = spent.get(shape, 0.0) + time.perf_counter() - at
        seconds = time.perf_counter() - started
        raw.close()
    store.dispose()
    return seconds


def _strip_indexes(url: str) -> list[str]:
    """Drop every index of the write-hot tables but ``BARE_KEEPS`` and the unique constraints; their names."""
    from sqlalchemy import create_engine, inspect, text

    from engine.config import normalise_url

    engine = create_engine(normalise_url(url))
    dropped = []
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in WRITE_HOT:
            for index in inspector.get_indexes(table):
                if index["name"] in BARE_KEEPS or index.get("unique"):
                    continue
                conn.execute(text(f'DROP INDEX "{index["name"]}"'))
                dropped.append(index["name"])
    engine.dispose()
    return dropped


def _fingerprint(url: str) -> str:
    """A digest of what a firing writes (audit entries, notices, timers, process versions), to prove
    the replay wrote exactly what the recorded engine run wrote."""
    import hashlib

    from sqlalchemy import create_engine, text

    from engine.config import normalise_url

    engine = create_engine(normalise_url(url))
    h = hashlib.sha256()
    with engine.connect() as conn:
        for query in ("SELECT id, stream, seq, hash FROM audit_entry ORDER BY id",
                      # the measured group's notices (the warm-up's are sealed anew in each copy)
                      "SELECT id, idempotency_key, body_enc, not_before FROM notice "
                      "WHERE created_at = (SELECT max(created_at) FROM notice) ORDER BY id",
                      "SELECT id, status, fired_at FROM timer ORDER BY id", "SELECT id, version FROM process ORDER BY id"):
            for row in conn.execute(text(query)):
                h.update(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)).encode())
    engine.dispose()
    return h.hexdigest()


class Copies:
    """Fresh copies of the built database: files for SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL."""

    def __init__(self, tmp: Path, pg_admin: str | None):
        self.tmp, self.pg_admin, self.made = tmp, pg_admin, []

    def source(self) -> str:
        if self.pg_admin:
            self.made.append("vcase_floor_source")
            return D.pg_create(self.pg_admin, "vcase_floor_source")
        return D.sqlite_url(self.tmp / "source.db")

    def copy(self, name: str) -> str:
        if self.pg_admin:
            self.made.append(f"vcase_floor_{name}")
            return D.pg_create(self.pg_admin, f"vcase_floor_{name}", template="vcase_floor_source")
        D.copy_sqlite(str(self.tmp / "source.db"), str(self.tmp / f"{name}.db"))
        return D.sqlite_url(self.tmp / f"{name}.db")

    def drop(self) -> None:
        for name in dict.fromkeys(self.made):
            D.pg_drop(self.pg_admin, name)


def measure(n: int, rounds: int = 3, batch: int = 500, bare: bool = False, pg_url: str | None = None,
            say=lambda message: None) -> dict:
    """The engine, its statements replayed, and their writes alone (and with ``bare``, without the
    reader indexes), on ``n`` due timers, median of ``rounds`` rounds on fresh copies."""
    now = datetime.now(UTC).replace(microsecond=0)
    plan, warm_at = D.warmed(now, 500, n)
    engine_s, replay_s, writes_s, bare_s, spent, dropped = [], [], [], [], {}, []
    with tempfile.TemporaryDirectory(prefix="vcase-floor-") as tmp:
        copies = Copies(Path(tmp), pg_url)
        try:
            built = D.build(copies.source(), plan, now)
            for k in range(rounds):
                say(f"  round {k + 1} of {rounds}: the engine recorded, the engine timed, the replays ...")
                names = ("record", "engine", "replay", "writes") + (("bare",) if bare else ())
                urls = {name: copies.copy(name) for name in names}
                _, fired, tape = _fire(urls["record"], built.key, warm_at, now, record=True, batch=batch)
                seconds, fired_again, _ = _fire(urls["engine"], built.key, warm_at, now, record=False, batch=batch)
                assert fired == fired_again == n, (fired, fired_again)
                engine_s.append(seconds)
                replay_s.append(_replay(urls["replay"], built.key, warm_at, tape, writes_only=False, spent=spent))
                writes_s.append(_replay(urls["writes"], built.key, warm_at, tape, writes_only=True))
                if bare:
                    dropped = _strip_indexes(urls["bare"])
                    bare_s.append(_replay(urls["bare"], built.key, warm_at, tape, writes_only=True))
                if _fingerprint(urls["replay"]) != _fingerprint(urls["record"]):
                    raise SystemExit("the replay did not write what the engine wrote: its figure would mean nothing")
        finally:
            if pg_url:
                copies.drop()
        verbs: dict[str, int] = {}
        for item in tape:
            verb = item[0] if item[0] != "sql" else item[1].lstrip().split(None, 1)[0].upper()
            verbs[verb] = verbs.get(verb, 0) + (len(item[2]) if item[0] == "sql" and item[3] else 1)
    med = statistics.median
    from engine import db

    return {
        "database": "postgresql" if pg_url else "sqlite", "due": n, "rounds": rounds, "batch": batch,
        "cache_kib": db.DAEMON_CACHE_KIB,
        "engine_steps_per_s": round(n / med(engine_s)), "replay_steps_per_s": round(n / med(replay_s)),
        "writes_only_steps_per_s": round(n / med(writes_s)),
        "engine_us_per_step": round(med(engine_s) / n * 1e6, 1),
        "replay_us_per_step": round(med(replay_s) / n * 1e6, 1),
        "writes_only_us_per_step": round(med(writes_s) / n * 1e6, 1),
        "engine_over_replay": round(med(engine_s) / med(replay_s), 2),
        "rows_sent_per_step": {k: round(v / n, 3) for k, v in sorted(verbs.items())},
        "statements_us_per_step": {shape: round(t / rounds / n * 1e6, 1)
                                   for shape, t in sorted(spent.items(), key=lambda kv: -kv[1])[:8]},
        **({"bare_writes_steps_per_s": round(n / med(bare_s)), "bare_writes_us_per_step":
            round(med(bare_s) / n * 1e6, 1), "bare_dropped": dropped} if bare else {}),
        "engine_all": engine_s, "replay_all": replay_s, "writes_all": writes_s, "bare_all": bare_s,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="timers due in the measured group (default 5,000)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each on fresh copies (default 3)")
    ap.add_argument("--batch", type=int, default=500, help="timers a transaction (the daemon's --batch; default 500)")
    ap.add_argument("--cache-mib", type=int, help="the daemon's page cache for all three (default: the engine's, "
                    "engine.db.DAEMON_CACHE_KIB)")
    ap.add_argument("--bare", action="store_true", help="also replay the writes on a copy without the write-hot "
                    "tables' reader indexes (what a step's own statements need kept)")
    ap.add_argument("--pg-url", help="PostgreSQL instead of SQLite: an admin URL (databases vcase_floor_* are made "
                    "and dropped), e.g. postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if args.cache_mib:
        import engine.db

        engine.db.DAEMON_CACHE_KIB = args.cache_mib * 1024
    figures = measure(args.n, args.rounds, args.batch, args.bare, args.pg_url)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{figures['database']}, {args.n:,} due, median of {args.rounds} rounds on fresh copies:")
    print(f"  the engine:                    {figures['engine_steps_per_s']:>7,} steps/s  {figures['engine_us_per_step']:7.1f} us a step")
    print(f"  its statements, replayed:      {figures['replay_steps_per_s']:>7,} steps/s  {figures['replay_us_per_step']:7.1f} us a step")
    print(f"  their writes alone, replayed:  {figures['writes_only_steps_per_s']:>7,} steps/s  {figures['writes_only_us_per_step']:7.1f} us a step")
    if args.bare:
        print(f"  the writes, only the indexes a step needs: {figures['bare_writes_steps_per_s']:>7,} steps/s  "
              f"{figures['bare_writes_us_per_step']:7.1f} us a step (dropped: {', '.join(figures['bare_dropped'])})")
    print(f"  the engine over its statements: {figures['engine_over_replay']}x")
    print("  rows or statements sent a step: " + ", ".join(f"{k} {v}" for k, v in figures["rows_sent_per_step"].items()))
    print("  the replay's costliest statements (us a step):")
    for shape, us in figures["statements_us_per_step"].items():
        print(f"    {us:7.1f}  {shape}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
