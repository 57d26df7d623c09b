"""One `vcase` command at two versions of the code, alternately, on one kept database:
``python -m bench.ab``.

A before/after that the figures cannot give when the bench's data changes in the same commit as the
code: both versions read the same database (kept by ``python -m bench --keep``), run after run in
turn, beside a baseline command of the current code. Prints the medians, each version's ratio to
the baseline, and whether both printed the same output.

    git worktree add /tmp/before <commit>
    VCASE_KEY=<bench key> python -m bench.ab --db /tmp/bench/idle-big.db --before /tmp/before \\
        --user vera --baseline "case show BENCH-0100600" -- report pmt --quarter 2026Q3 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.procs import vcase_env

ROOT = Path(__file__).resolve().parent.parent


def run(root: Path, argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(root / "cli.py"), *argv], cwd=root, env=dict(env, PYTHONPATH=str(root)),
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`vcase {shlex.join(argv)}` failed in {root}: {done.stderr.strip().splitlines()[-1:]}")
    return elapsed, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--db", type=Path, required=True, help="a kept bench SQLite database")
    parser.add_argument("--key", default=os.environ.get("VCASE_KEY") or os.environ.get("VCASE_BENCH_KEY"),
                        help="its key (default: VCASE_KEY or VCASE_BENCH_KEY)")
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the earlier code (a git worktree)")
    parser.add_argument("--user", default="vera", help="the login the commands run as (default: vera, victim services)")
    parser.add_argument("--baseline", default="", help="a command of the current code timed beside them")
    parser.add_argument("--runs", type=int, default=10, help="runs of each, after one warm-up (default: 10)")
    parser.add_argument("--json", action="store_true", help="print the timings as JSON")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the vcase command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not args.key or not args.db.is_file() or not (args.before / "cli.py").is_file():
        parser.error("give --db (a kept database), its key, --before (a checkout) and the command after --")
    # what a bench command gets (bench.procs.vcase_env); each run then points PYTHONPATH at its checkout
    env = vcase_env(f"sqlite:///{args.db.resolve()}", args.key, args.db.resolve().parent / "ab-home", user=args.user)
    plan = {"before": (args.before.resolve(), command), "after": (ROOT, command)}
    if args.baseline:
        plan["baseline"] = (ROOT, shlex.split(args.baseline))
    times: dict[str, list[float]] = {k: [] for k in plan}
    printed: dict[str, str] = {}
    for r in range(args.runs + 1):  # the first round warms the caches and is not counted
        for label, (root, argv_) in plan.items():
            elapsed, printed[label] = run(root, argv_, env)
            if r:
                times[label].append(elapsed)
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {"command": shlex.join(command), "runs": args.runs, "median": median, "all": times,
              "same_output": printed["before"] == printed["after"]}
    if args.baseline:
        result["ratio"] = {k: median[k] / median["baseline"] for k in ("before", "after")}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"vcase {result['command']}, median of {args.runs} alternating runs:")
    for label in plan:
        ratio = f", {result['ratio'][label]:.2f}x the baseline" if args.baseline and label != "baseline" else ""
        print(f"  {label:8s} {median[label]:.3f} s{ratio}")
    print(f"  same output before and after: {'yes' if result['same_output'] else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
