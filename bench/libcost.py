"""``python -m bench.libcost``: what the design card's libraries cost a read command at start-up.

`vcase case show` is measured against `import sqlmodel` (figure `case_show`). This
splits the difference into its phases, each in a fresh interpreter (median of
``--runs``), and measures what declaring vcase's tables costs with each way
SQLAlchemy offers, on tables of the same shape as ``engine.models`` (as many
tables, each with as many columns):

- SQLModel table classes (what vcase uses: pydantic and SQLAlchemy together);
- SQLAlchemy 2.0 declarative classes (``Mapped`` / ``mapped_column``);
- SQLAlchemy Core ``Table`` objects (no ORM classes at all).

Since issue 19 `vcase case show` takes a lean path (``engine.reader``: Core only,
no write path, the definitions uncompiled); its phases are measured too, against
the same baseline. The first table is what every other command still pays.

    python -m bench.libcost            # prints a table; --json for the numbers
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PHASES = r"""
import time, json
t0 = time.perf_counter()
import sqlmodel
t1 = time.perf_counter()
import engine.models
t2 = time.perf_counter()
import engine.api, click
t3 = time.perf_counter()
from engine.registry import default
default()
t4 = time.perf_counter()
print(json.dumps({"import sqlmodel (the baseline)": t1 - t0, "declaring vcase's tables (engine.models)": t2 - t1,
                  "the rest of the engine and click": t3 - t2, "the workflow registry (Machines built)": t4 - t3}))
"""

# The lean read path ``vcase case show`` takes since issue 19 (``engine.reader``): no ORM classes, no
# write path, the definitions uncompiled. Measured in a fresh interpreter against the same baseline.
LEAN = r"""
import time, json
t0 = time.perf_counter()
import sqlalchemy
t1 = time.perf_counter()
import engine.tables
t2 = time.perf_counter()
import engine.reader, click
t3 = time.perf_counter()
from engine.registry import definitions
definitions()
t4 = time.perf_counter()
print(json.dumps({"import sqlalchemy (Core)": t1 - t0, "the tables as Core (engine.tables)": t2 - t1,
                  "the read client, its rules and click (engine.reader)": t3 - t2,
                  "the definitions, uncompiled": t4 - t3}))
"""

SHAPES = r"""
import json
from sqlmodel import SQLModel
import engine.models
print(json.dumps([len(t.columns) for t in SQLModel.metadata.sorted_tables]))
"""

DECLARE = r"""
import json, sys, time
from typing import Optional
shape, style = json.loads(sys.argv[1]), sys.argv[2]
import sqlmodel
t = time.perf_counter()
if style == "sqlmodel":
    from sqlmodel import SQLModel, Field
    for i, n in enumerate(shape):
        ns = {"__annotations__": {f"c{j}": Optional[int] for j in range(n)}, "__tablename__": f"t{i}"}
        ns.update({f"c{j}": Field(default=None, primary_key=(j == 0)) for j in range(n)})
        type(f"T{i}", (SQLModel,), ns, table=True)
elif style == "declarative":
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
    class Base(DeclarativeBase):
        pass
    for i, n in enumerate(shape):
        ns = {"__annotations__": {f"c{j}": Mapped[Optional[int]] for j in range(n)}, "__tablename__": f"t{i}"}
        ns.update({f"c{j}": mapped_column(primary_key=(j == 0)) for j in range(n)})
        type(f"T{i}", (Base,), ns)
else:
    from sqlalchemy import Column, Integer, MetaData, Table
    md = MetaData()
    for i, n in enumerate(shape):
        Table(f"t{i}", md, *[Column(f"c{j}", Integer, primary_key=(j == 0)) for j in range(n)])
print(json.dumps(time.perf_counter() - t))
"""

STYLES = {"sqlmodel": "SQLModel table classes (as vcase)", "declarative": "SQLAlchemy 2.0 declarative classes",
          "core": "SQLAlchemy Core Table objects"}


def _py(code: str, *args: str) -> object:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(runs: int = 5) -> dict:
    phases: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, seconds in _py(PHASES).items():
            phases.setdefault(name, []).append(seconds)
    lean: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, seconds in _py(LEAN).items():
            lean.setdefault(name, []).append(seconds)
    shape = _py(SHAPES)
    declare = {style: statistics.median(_py(DECLARE, json.dumps(shape), style) for _ in range(runs)) for style in STYLES}
    return {"runs": runs, "tables": len(shape), "columns": sum(shape),
            "phases_ms": {k: statistics.median(v) * 1e3 for k, v in phases.items()},
            "lean_ms": {k: statistics.median(v) * 1e3 for k, v in lean.items()},
            "declare_ms": {k: v * 1e3 for k, v in declare.items()}}


def text(result: dict) -> str:
    base = result["phases_ms"]["import sqlmodel (the baseline)"]
    lines = [f"start-up of a read command, phase by phase (fresh interpreters, median of {result['runs']}):"]
    for name, ms in result["phases_ms"].items():
        lines.append(f"  {ms:7.1f} ms  {ms / base:5.2f} of the baseline  {name}")
    lines.append("the lean read path of `vcase case show` (engine.reader), phase by phase:")
    for name, ms in result["lean_ms"].items():
        lines.append(f"  {ms:7.1f} ms  {ms / base:5.2f} of the baseline  {name}")
    lean = sum(result["lean_ms"].values())
    lines.append(f"  {lean:7.1f} ms  {lean / base:5.2f} of the baseline  in all")
    lines.append(f"declaring {result['tables']} tables of vcase's shape ({result['columns']} columns), after import sqlmodel:")
    for style, ms in result["declare_ms"].items():
        lines.append(f"  {ms:7.1f} ms  {ms / base:5.2f} of the baseline  {STYLES[style]}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.libcost")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = measure(args.runs)
    print(json.dumps(result, indent=2) if args.json else text(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
