"""``python -m bench.profile``: where the time of one fired timer goes.

Builds a database of ``--n`` due timers (the same data as the firing figure),
fires a warm-up batch, then fires the rest under cProfile (and pyinstrument
when installed), counting SQL statements per step. Writes ``bench/profile.txt``:

- statements per fired step, by kind (SELECT / INSERT / UPDATE / SAVEPOINT ...);
- the engine's own functions (engine/, notices/) by cumulative time, with
  file:line and % of the total;
- where the time lands by library (SQLAlchemy, the driver, Fernet, babel,
  jinja2, json/hashlib, pydantic);
- pyinstrument's call tree (the hot path, condensed).

    python -m bench.profile                  # SQLite, 3,000 due
    python -m bench.profile --pg             # also on PostgreSQL (a vcase_bench_profile database)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import data as D  # noqa: E402

UTC = timezone.utc
TREE_N = 500  # idle timers left for the pyinstrument pass (fired with a clock a year ahead)

BUCKETS = [  # (label, substring of the file path), first match wins, by tottime
    ("sqlite3 driver (C)", "sqlite3."),
    ("psycopg driver", "psycopg"),
    ("SQLAlchemy ORM", "sqlalchemy/orm"),
    ("SQLAlchemy Core/engine/sql", "sqlalchemy/"),
    ("SQLModel / pydantic", "sqlmodel/"),
    ("SQLModel / pydantic", "pydantic"),
    ("cryptography (AES-GCM; Fernet before issue 19)", "cryptography"),
    ("babel (date formatting)", "babel/"),
    ("jinja2", "jinja2/"),
    ("transitions", "transitions/"),
    ("json / hashlib", "json/"),
    ("json / hashlib", "hashlib"),
    ("engine + notices code", str(ROOT / "engine")),
    ("engine + notices code", str(ROOT / "notices")),
    ("engine + notices code", str(ROOT / "workflows")),
]


def _bucket(key) -> str:
    filename, _, name = key
    where = f"{filename}:{name}"
    for label, needle in BUCKETS:
        if needle in where:
            return label
    return "other (stdlib, builtins)"


def profile_once(url: str, n: int, warm: int, out: io.StringIO, label: str) -> dict:
    from sqlalchemy import event

    from engine.db import Store
    from engine.firing import fire_due
    from engine.registry import default

    now = datetime.now(UTC).replace(microsecond=0)
    # warm-up group first (due earlier), then the measured group
    plan, warm_at = D.warmed(now, warm, n, idle=TREE_N)
    built = D.build(url, plan, now)
    store = Store(built.url, [built.key])
    registry = default()
    fire_due(store, registry, warm_at)  # warm: caches, compiled statements
    statements: Counter = Counter()

    @event.listens_for(store.engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):
        statements[statement.split(None, 1)[0].upper()] += 1

    profiler = cProfile.Profile()
    t = time.perf_counter()
    profiler.enable()
    result = fire_due(store, registry, now)
    profiler.disable()
    elapsed = time.perf_counter() - t
    fired = max(1, result.fired)
    out.write(f"\n=== {label}: {result.fired:,} steps fired under cProfile in {elapsed:.2f}s "
              f"({elapsed / fired * 1e3:.2f} ms/step with profiling overhead)\n")
    out.write(f"SQL statements per step: {sum(statements.values()) / fired:.1f}  "
              + ", ".join(f"{k} {v / fired:.2f}" for k, v in statements.most_common()) + "\n")
    stats = pstats.Stats(profiler)
    total = sum(v[2] for v in stats.stats.values())  # total tottime
    top = max(v[3] for v in stats.stats.values())  # cumulative of the root
    buckets: Counter = Counter()
    for key, (cc, nc, tt, ct, callers) in stats.stats.items():
        buckets[_bucket(key)] += tt
    out.write("\nself time by library (tottime, % of all):\n")
    for name, tt in buckets.most_common():
        out.write(f"  {tt / total * 100:5.1f}%  {name}\n")
    out.write(f"\nengine functions by cumulative time (% of fire_due's {top:.2f}s; per step in ms):\n")
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
        if any(str(ROOT / p) in filename for p in ("engine", "notices", "workflows")):
            rows.append((ct, nc, f"{os.path.relpath(filename, ROOT)}:{line}({name})"))
    for ct, nc, where in sorted(rows, reverse=True)[:45]:
        out.write(f"  {ct / top * 100:5.1f}%  {ct / fired * 1e3:7.3f} ms  {nc / fired:6.2f} calls/step  {where}\n")
    out.write("\nlibrary functions by cumulative time (top 25):\n")
    lib = []
    for (filename, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
        if not any(str(ROOT / p) in filename for p in ("engine", "notices", "workflows", "bench")):
            short = filename.split("site-packages/")[-1] if "site-packages" in filename else os.path.basename(filename)
            lib.append((ct, nc, f"{short}:{line}({name})"))
    for ct, nc, where in sorted(lib, reverse=True)[:25]:
        out.write(f"  {ct / top * 100:5.1f}%  {nc / fired:7.2f} calls/step  {where}\n")
    store.dispose()
    return {"label": label, "fired": result.fired, "seconds": elapsed, "statements_per_step": sum(statements.values()) / fired,
            "statements": {k: v / fired for k, v in statements.items()}, "buckets": {k: v / total for k, v in buckets.items()},
            "key": built.key, "url": built.url}


def pyinstrument_tree(url: str, key: str, out: io.StringIO, label: str, n: int) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        out.write("\n(pyinstrument not installed: `.venv/bin/pip install pyinstrument` for the call tree)\n")
        return
    from engine.db import Store
    from engine.firing import fire_batch
    from engine.registry import default

    store = Store(url, [key])
    profiler = Profiler(interval=0.0005)
    registry = default()
    profiler.start()
    fire_batch(store, registry, datetime.now(UTC) + timedelta(days=400), n)  # everything idle is due then
    profiler.stop()
    out.write(f"\n=== {label}: pyinstrument, one batch of {n} (idle timers, due by then)\n")
    out.write(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False))
    store.dispose()


def profile_case_show(out: io.StringIO, tmp: Path) -> None:
    """Where `vcase case show` spends its wall time: imports (by top-level module) and the work itself."""
    import subprocess

    from bench import procs as P

    now = datetime.now(UTC).replace(microsecond=0)
    built = D.build(D.sqlite_url(tmp / "show.db"), D.Plan(instances=5000, groups=[], idle_lo=now + timedelta(days=1),
                                                        idle_hi=now + timedelta(days=365)), now)
    env = P.vcase_env(built.url, built.key, tmp, user="avery")
    cmd = [sys.executable, "-X", "importtime", "cli.py", "case", "show", D.case_number(500)]
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True)  # warm .pyc
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, module = line.split("|", 2)
        if not cumulative.strip().isdigit():
            continue  # the header line
        depth = (len(module) - len(module.lstrip()) - 1) // 2
        rows.append((depth, int(cumulative), module.strip()))
    total = sum(r[1] for r in rows if r[0] == 0)
    out.write(f"\n=== `vcase case show` imports (python -X importtime): {total / 1e3:.0f} ms of imports; "
              "heaviest top-level imports and their heaviest children (cumulative ms):\n")
    for depth, cum, name in sorted((r for r in rows if r[0] <= 1), key=lambda r: -r[1])[:14]:
        out.write(f"  {cum / 1e3:7.1f} ms  {'  ' * depth}{name}\n")
    prof = tmp / "show.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "cli.py", "case", "show", D.case_number(500)],
                   cwd=ROOT, env=env, capture_output=True)
    stats = pstats.Stats(str(prof))
    top = max(v[3] for v in stats.stats.values())
    wanted = ("engine/", "notices/", "commands/", "cli.py", "workflows/")
    picked = []
    for (filename, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
        if any(w in filename for w in wanted) and str(ROOT) in filename:
            picked.append((ct, f"{os.path.relpath(filename, ROOT)}:{line}({name})"))
    out.write(f"\n`vcase case show` under cProfile ({top:.2f}s): vcase functions by cumulative time\n")
    for ct, where in sorted(picked, reverse=True)[:25]:
        out.write(f"  {ct / top * 100:5.1f}%  {ct * 1e3:7.1f} ms  {where}\n")


def profile_render(out: io.StringIO) -> None:
    from notices import contexts
    from notices import render as R

    ctx = contexts.VictimContext(recipient_name="Maria Lopez", case_number="2026-CR-0042", agency_name="Victim Services Unit",
                                 agency_phone="1-800-555-0100", sent_on="Monday, March 2, 2026, 9:00 AM CST",
                                 appointment="Monday, March 2, 2026, 8:00 AM CST", details="", previous="")
    template = "en/notification/victim/released.email"
    R.render(template, contexts.as_dict(ctx))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20_000):
        R.render(template, contexts.as_dict(ctx))
    profiler.disable()
    stats = pstats.Stats(profiler)
    top = sum(v[2] for v in stats.stats.values())
    out.write(f"\n=== notice rendering: 20,000 x render.render(template, contexts.as_dict(context)) under cProfile "
              f"({top:.2f}s); functions by cumulative time\n")
    rows = []
    for (filename, line, name), (cc, nc, tt, ct, callers) in stats.stats.items():
        short = filename.split("site-packages/")[-1] if "site-packages" in filename else (
            os.path.relpath(filename, ROOT) if str(ROOT) in filename else os.path.basename(filename))
        rows.append((ct, nc, f"{short}:{line}({name})"))
    for ct, nc, where in sorted(rows, reverse=True)[:18]:
        out.write(f"  {ct / top * 100:5.1f}%  {nc / 20_000:6.2f} calls/render  {where}\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--n", type=int, default=3000, help="due timers fired under the profiler")
    p.add_argument("--pg", action="store_true", help="also profile on PostgreSQL")
    p.add_argument("--pg-url", default=os.environ.get("VCASE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--out", type=Path, default=HERE / "profile.txt")
    p.add_argument("--what", default="firing,case_show,render", help="comma-separated: firing, case_show, render")
    args = p.parse_args(argv)
    out = io.StringIO()
    out.write(f"vcase timer-firing profile, {datetime.now(UTC):%Y-%m-%d %H:%M UTC}, {os.cpu_count()} cores, "
              f"Python {sys.version.split()[0]}\n")
    from bench.figures import STEP

    out.write(f"each step: {STEP}\n")
    what = {w.strip() for w in args.what.split(",")}
    with tempfile.TemporaryDirectory(prefix="vcase-profile-") as tmp:
        if "case_show" in what:
            profile_case_show(out, Path(tmp))
        if "render" in what:
            profile_render(out)
        if "firing" not in what:
            args.pg = False
        res = None if "firing" not in what else profile_once(D.sqlite_url(Path(tmp) / "profile.db"), args.n, 500, out, "SQLite")
        if res:
            pyinstrument_tree(res["url"], res["key"], out, "SQLite", TREE_N)
        if args.pg:
            name = "vcase_bench_profile"
            url = D.pg_create(args.pg_url, name)
            try:
                res = profile_once(url, args.n, 500, out, "PostgreSQL")
                pyinstrument_tree(res["url"], res["key"], out, "PostgreSQL", TREE_N)
            finally:
                D.pg_drop(args.pg_url, name)
    args.out.write_text(out.getvalue())
    print(out.getvalue())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
