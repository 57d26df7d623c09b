"""One OS process of the stress test: random `vcase` commands for a while, each result logged.

    python tests/stress_worker.py LOG SECONDS SEED PID,PID,... CASE

It runs the real CLI entry point (`cli.main`) in a loop, as the user each
command belongs to, and appends one JSON line per command: the arguments,
the exit code and what it printed on stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cli  # noqa: E402


def commands(pid: str, case: str) -> list[tuple[str, list[str]]]:
    return [
        ("avery", ["dialogue", "pause", pid, "--by", "victim", "--reason", "needs time"]),
        ("avery", ["dialogue", "resume", pid, "--by", "victim"]),
        ("fay", ["dialogue", "pause", pid, "--by", "facilitator"]),
        ("fay", ["dialogue", "resume", pid, "--by", "facilitator"]),
        ("fay", ["dialogue", "prep-session", pid, "--party", "victim"]),
        ("fay", ["dialogue", "ready", pid, "--party", "offender"]),
        ("oscar", ["dialogue", "pause", pid, "--by", "offender"]),
        ("oscar", ["event", "record", case, "transfer", "--at", "2026-12-01T10:00"]),
        ("vera", ["notices", "deliver"]),
        ("ada", ["scheduler", "tick"]),
        ("pat", ["process", "show", pid]),
        ("avery", ["case", "show", case, "--json"]),
        ("avery", ["dialogue", "withdraw", pid, "--by", "victim", "--reason", "done"]),
    ]


def main() -> None:
    log, seconds, seed, pids, case = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), sys.argv[5]
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    with open(log, "a", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            user, args = rng.choice(commands(rng.choice(pids), case)[:-1] if rng.random() < 0.97
                                    else commands(rng.choice(pids), case)[-1:])
            os.environ["VCASE_USER"] = user
            err, std = io.StringIO(), io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
                code = cli.main(args)
            out.write(json.dumps({"user": user, "args": args, "code": code, "stderr": err.getvalue()}) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
