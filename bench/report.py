"""``python -m bench.report [results.json ...]``: the figures as a Markdown table (for bench/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _fmt(value) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}"


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"**{'Quick' if results['quick'] else 'Full'} run, {results['date']}** (`{results['command'].strip()}`, "
        f"{results['seconds'] / 60:.1f} min): {m.get('nproc')} cores ({m.get('cpu', '?')}, `nproc` = {m.get('nproc')}), "
        f"{m.get('memory_gb', '?')} GB, Python {m.get('python')}, SQLite {m.get('sqlite')}, PostgreSQL "
        f"{str(m.get('postgresql', '-')).split(' ')[0]}, SQLAlchemy {m['packages']['sqlalchemy']}, APScheduler "
        f"{m['packages']['apscheduler']}, jinja2 {m['packages']['jinja2']}; vcase {m.get('vcase_commit', '?')}; "
        f"load average {m.get('loadavg_start')} at start, {m.get('loadavg_end')} at end.",
        "",
        "| figure | size | value | baseline (same run) | ratio | target | met | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in results["figures"]:
        met = {True: "met", False: "**missed**", None: "-"}[f["met"]]
        ratio = "-" if f["ratio"] is None else f"{_fmt(f['ratio'])} {f['ratio_label']}"
        base = f["baseline_label"] if f["baseline"] is None else f"{_fmt(f['baseline'])} ({f['baseline_label']})"
        lines.append(f"| {f['title'].strip()} | {f['size']} | {_fmt(f['value'])} {f['unit']} | {base} | {ratio} | "
                     f"{f['target']} | {met} | {f['notes'].replace('|', '/')} |")
    for name, error in results.get("errors", {}).items():
        lines.append(f"\n{name} failed: {error}")
    return "\n".join(lines)


def main(argv=None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)] or [HERE / "results.json"]
    for path in paths:
        print(markdown(json.loads(path.read_text())))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
