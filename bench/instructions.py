"""``python -m bench.instructions``: CPU instructions one fired timer costs, counted, not timed.

Seconds on a shared VM move by tens of percent from one hour to the next;
instructions do not. This builds the firing figure's data (``bench.data``: a
registration's advance notice, one audit entry and one e-mail notice a step)
with ``--n`` timers due plus a warm-up group, then runs a child Python under
``valgrind --tool=callgrind`` that opens the database, fires the warm-up group
(caches, compiled statements) with nothing counted, and fires the measured group
inside ``sys.call_tracing`` -- a C function called nowhere else, so callgrind's
``--toggle-collect=sys_call_tracing`` counts exactly that call. It prints the
instructions per fired step (``--json`` for the figures).

    python -m bench.instructions                 # 1,000 due, SQLite
    python -m bench.instructions --n 2000 --before /tmp/old   # the same database fired by another checkout too

``--before`` gives a before/after on one database: the same child runs from a
worktree of an older commit on a copy of the data (``git worktree add /tmp/old REV``).
Needs valgrind (Debian's package).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import data as D  # noqa: E402

UTC = timezone.utc

CHILD = r"""
import sys
from datetime import datetime
sys.path.insert(0, sys.argv[1])
from engine.db import Store
from engine.firing import fire_due
from engine.registry import default
url, key, warm_at, now = sys.argv[2], sys.argv[3], datetime.fromisoformat(sys.argv[4]), datetime.fromisoformat(sys.argv[5])
store = Store(url, [key])
registry = default()
fire_due(store, registry, warm_at)
result = sys.call_tracing(fire_due, (store, registry, now))
print(result.fired)
"""


def count(checkout: Path, url: str, key: str, warm_at: datetime, now: datetime, tmp: Path) -> tuple[int, int]:
    """(instructions, steps fired) of firing the group due at ``now`` with the code in ``checkout``."""
    out = tmp / f"callgrind.{os.getpid()}.{checkout.name}.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCASE_")}
    env.update(PYTHONHASHSEED="0", PYTHONPATH=str(checkout))
    done = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=sys_call_tracing",
                           f"--callgrind-out-file={out}", sys.executable, "-c", CHILD, str(checkout), url, key,
                           warm_at.isoformat(), now.isoformat()],
                          cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the child exited {done.returncode}: {done.stderr.strip()[-800:]}")
    fired = int(done.stdout.strip().splitlines()[-1])
    totals = re.search(r"^(?:totals|summary): (\d+)", out.read_text(), re.M)
    out.unlink()
    return int(totals.group(1)), fired


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="timers due in the measured group (default 1,000)")
    ap.add_argument("--warm", type=int, default=500, help="timers fired first, not counted (default 500)")
    ap.add_argument("--before", type=Path, help="another checkout (a git worktree) to count on a copy of the same data")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    now = datetime.now(UTC).replace(microsecond=0)
    plan, warm_at = D.warmed(now, args.warm, args.n)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="vcase-instr-") as tmp:
        tmp = Path(tmp)
        built = D.build(D.sqlite_url(tmp / "after.db"), plan, now)
        runs = [("after", ROOT, built.url)]
        if args.before:
            D.copy_sqlite(str(tmp / "after.db"), str(tmp / "before.db"))
            runs.insert(0, ("before", args.before.resolve(), D.sqlite_url(tmp / "before.db")))
        for label, checkout, url in runs:
            instructions, fired = count(checkout, url, built.key, warm_at, now, tmp)
            figures[label] = {"checkout": str(checkout), "fired": fired, "instructions": instructions,
                              "per_step": round(instructions / max(1, fired))}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for label, f in figures.items():
            print(f"{label}: {f['fired']:,} steps fired, {f['instructions']:,} instructions, {f['per_step']:,} a step ({f['checkout']})")
        if "before" in figures:
            print(f"after / before: {figures['after']['per_step'] / figures['before']['per_step']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
