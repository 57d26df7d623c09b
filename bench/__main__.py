"""``python -m bench``: the figures of issue 7, each beside its baseline, as a table and JSON.

    python -m bench                    # full sizes (see bench/README.md)
    python -m bench --quick            # small sizes: a smoke run for CI (< 2 minutes)
    python -m bench --only fire_sqlite --fire-n 20000
    python -m bench --out /tmp/results.json

Benchmarks, not tests: nothing here asserts a time; a missed target is reported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import figures as F  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse(argv):
    sizes = F.Sizes()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run (< 2 minutes)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help=f"run only this figure (repeatable, or comma-separated): {', '.join(F.FIGURES)}")
    p.add_argument("--out", type=Path, default=HERE / "results.json", help="JSON output (default: bench/results.json)")
    p.add_argument("--pg-url", default=os.environ.get("VCASE_BENCH_PG_URL", DEFAULT_PG),
                   help="PostgreSQL server (maintenance database) where vcase_bench_* databases are created and "
                        "dropped; '' skips the PostgreSQL figure (default: %(default)s)")
    p.add_argument("--workdir", type=Path, default=None, help="where the SQLite files go (default: a temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    for f in dataclasses.fields(F.Sizes):
        default = getattr(sizes, f.name)
        kind = type(default)
        if kind is tuple:
            p.add_argument(f"--{f.name.replace('_', '-')}", type=lambda v: tuple(float(x) for x in v.split(",")),
                           default=None, metavar="A,B", help=f"default {','.join(map(str, default))}")
        else:
            p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=None, metavar="N",
                           help=f"default {default:,}" if kind is int else f"default {default}")
    args = p.parse_args(argv)
    values = dataclasses.asdict(sizes)
    if args.quick:
        values.update(F.QUICK)
    for name in values:
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    args.sizes = F.Sizes(**values)
    only = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in only if n not in F.FIGURES]
    if unknown:
        p.error(f"unknown figure {unknown[0]!r}; choose from {', '.join(F.FIGURES)}")
    args.names = only or list(F.FIGURES)
    return args


def machine(pg_url: str) -> dict:
    import sqlite3

    info = {"loadavg_start": _loadavg(), "nproc": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform()}
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
        info["nproc"] = int(nproc) if nproc else info["nproc"]
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gb"] = round(int(mem) / 1024 / 1024, 1)
    except OSError:
        pass
    if pg_url:
        try:
            from sqlalchemy import text

            from bench.data import pg_admin

            engine = pg_admin(pg_url)
            with engine.connect() as conn:
                info["postgresql"] = conn.execute(text("SHOW server_version")).scalar()
            engine.dispose()
        except Exception as exc:  # reported, not fatal
            info["postgresql"] = f"unavailable: {type(exc).__name__}"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "engine", "notices", "workflows", "commands", "cli.py"],
                               cwd=ROOT, capture_output=True, text=True).stdout.split("\n")
        info["vcase_commit"] = head + (f" + uncommitted changes to {len([d for d in dirty if d.strip()])} file(s)"
                                       if any(d.strip() for d in dirty) else "")
    except OSError:
        pass
    import apscheduler
    import jinja2
    import sqlalchemy

    info["packages"] = {"sqlalchemy": sqlalchemy.__version__, "apscheduler": apscheduler.__version__,
                        "jinja2": jinja2.__version__}
    return info


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def show(results: dict, console) -> None:
    from rich.table import Table

    m = results["machine"]
    t = Table(title=f"vcase benchmarks: {'quick' if results['quick'] else 'full'} run, {results['date']}, "
                    f"{m.get('nproc')} cores, Python {m.get('python')}, SQLite {m.get('sqlite')}, "
                    f"PostgreSQL {m.get('postgresql', '-')}", title_justify="left", header_style="bold")
    for col, width in (("figure", 34), ("size", 20), ("value", 18), ("baseline", 30), ("ratio", 14),
                       ("target", 18), ("met", 6), ("notes", 44)):
        t.add_column(col, overflow="fold", max_width=width)
    for f in results["figures"]:
        met = {True: "[green]met[/]", False: "[red]missed[/]", None: "-"}[f["met"]]
        ratio = "-" if f["ratio"] is None else f"{fmt(f['ratio'])} {f['ratio_label']}"
        base = f["baseline_label"] if f["baseline"] is None else f"{fmt(f['baseline'])} ({f['baseline_label']})"
        t.add_row(f["title"], f["size"], f"{fmt(f['value'])} {f['unit']}", base, ratio, f["target"], met, f["notes"])
    console.print(t)
    for name, error in results.get("errors", {}).items():
        console.print(f"[red]{name} failed:[/] {error}")


def main(argv=None) -> int:
    from rich.console import Console

    args = parse(sys.argv[1:] if argv is None else argv)
    console = Console(stderr=True, highlight=False)

    def say(message: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}", markup=True, highlight=False)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vcase-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = F.Ctx(args.sizes, workdir, args.pg_url or None, say)
    started = time.perf_counter()
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
               "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
               "machine": machine(args.pg_url), "sizes": dataclasses.asdict(args.sizes), "step": F.STEP,
               "figures": [], "errors": {}}
    say(f"work folder {workdir}; figures: {', '.join(args.names)}")
    say(f"each fired step: {F.STEP}")
    try:
        for name in args.names:
            say(f"[bold]{name}[/]")
            t = time.perf_counter()
            try:
                for fig in F.FIGURES[name](ctx):
                    results["figures"].append(fig.as_dict())
            except Exception as exc:  # one figure failing does not lose the others
                results["errors"][name] = f"{type(exc).__name__}: {exc}"
                say(f"[red]{name} failed[/]: {type(exc).__name__}: {exc}")
                traceback.print_exc()
            say(f"  ({time.perf_counter() - t:.0f}s)")
    finally:
        for name in ctx.pg_databases:
            try:
                from bench.data import pg_drop

                pg_drop(args.pg_url, name)
            except Exception:
                pass
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results["machine"]["loadavg_end"] = _loadavg()
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    show(results, Console(width=max(200, Console().width), highlight=False))
    say(f"done in {results['seconds']:.0f}s; wrote {args.out}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
