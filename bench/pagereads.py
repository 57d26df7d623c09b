"""Which tables and indexes a fired step reads from disk: ``python -m bench.pagereads DB``.

On a statewide database what grows with its size is the pages a step must fetch: a thousand due
timers among a million instances touch a thousand leaves of each B-tree they read or write, and
where the machine's page cache does not hold the file those are disk reads. This fires the next
due group of a kept bench database (``VCASE_BENCH_KEY=... python -m bench --keep --workdir DIR``),
as the daemon does (``Store.daemon_mode()``, ``engine.firing.fire_due``), under ``strace``, and
counts each 4 KiB page SQLite reads from the database file (its own page cache missed: a disk read
unless the operating system's cache holds the page) by the table or index the page belongs to
(SQLite's ``dbstat``). Reads of the WAL are not counted.

    VCASE_KEY=<the bench key> python -m bench.pagereads /tmp/bench/idle-big.db [--json]

Needs ``strace`` (Debian: ``apt-get install strace``). A diagnostic, not a figure: it changes the
database (the group is fired), so run it on a copy you can spare.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = 4096
FIRE = """
import sys
from datetime import datetime, timedelta, timezone
from sqlalchemy import text
from engine.db import Store
from engine.firing import fire_due
from engine.registry import default
store = Store("sqlite:///" + sys.argv[1], [sys.argv[2]])
with store.engine.connect() as c:
    first = c.execute(text("SELECT min(due_at) FROM timer WHERE status = 'pending'")).scalar()
first = datetime.fromisoformat(str(first)).replace(tzinfo=timezone.utc)
with store.daemon_mode():
    print(fire_due(store, default(), first + timedelta(minutes=31)).fired)
"""
READ = re.compile(r"pread64\(\d+<(?P<path>[^>]*)>, .*?, (?P<size>\d+), (?P<offset>\d+)\) = \d+")


def page_owners(db: Path) -> dict[int, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT pageno, name FROM dbstat"))
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pagereads", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: VCASE_KEY=... python -m bench.pagereads /tmp/bench/idle-big.db")
    parser.add_argument("db", type=Path, help="a kept bench SQLite database (it is changed: a group is fired)")
    parser.add_argument("--key", default=os.environ.get("VCASE_KEY") or os.environ.get("VCASE_BENCH_KEY"),
                        help="the key the database is sealed with (default: VCASE_KEY or VCASE_BENCH_KEY)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    if not shutil.which("strace"):
        parser.error("strace is not installed (Debian: apt-get install strace)")
    if not args.key or not args.db.is_file():
        parser.error("give a kept bench database and its key (--key or VCASE_KEY)")
    owners = page_owners(args.db)
    real = os.path.realpath(args.db)
    with tempfile.NamedTemporaryFile("w+", suffix=".strace") as trace:
        done = subprocess.run(["strace", "-f", "-y", "-e", "trace=pread64", "-o", trace.name, sys.executable, "-c", FIRE,
                               str(args.db), args.key], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
        if done.returncode != 0:
            sys.exit(f"firing failed: {done.stderr.strip().splitlines()[-1:]}")
        fired = int(done.stdout.split()[-1])
        reads: collections.Counter[str] = collections.Counter()
        for line in Path(trace.name).read_text().splitlines():
            m = READ.search(line)
            if m and m["path"] == real and int(m["size"]) == PAGE:
                reads[owners.get(int(m["offset"]) // PAGE + 1, "(a page added since)")] += 1
    total = sum(reads.values())
    if args.json:
        print(json.dumps({"fired": fired, "page_reads": total, "by_btree": dict(reads.most_common())}, indent=2))
        return 0
    print(f"{fired:,} steps fired; {total:,} pages of {PAGE} bytes read from the database file "
          f"({total / max(1, fired):.1f} a step)")
    for name, n in reads.most_common():
        print(f"  {n:8,}  {n / max(1, fired):5.2f} a step  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
