"""Several OS processes run `vcase` commands and scheduler ticks against one database at once.

Four workers (tests/stress_worker.py) pause, resume, prepare and withdraw the
same dialogues, record case events, deliver notices and tick the scheduler
for a bounded time, as different users. Afterwards: no command hung, every
refusal was one clean `Error:` line (a race is a refusal, never a crash), and
the six invariants of test_invariants hold, including "every state change has
exactly one audit entry", which a lost update would break.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from tests.conftest import KEY
from tests.test_dialogue import drive
from tests.test_invariants import check_invariants
from tests.test_scheduler import ROOT

WORKERS, SECONDS = 4, 12.0


def test_four_processes_at_once_keep_every_invariant(agency, tmp_path):
    pids = [drive(agency, "preparation") for _ in range(3)] + [drive(agency, "offender_invited")]
    env = {"VCASE_DATABASE_URL": agency.store.url, "VCASE_KEY": KEY, "VCASE_OUTBOX": str(tmp_path / "outbox"),
           "VCASE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    logs = [tmp_path / f"worker{n}.jsonl" for n in range(WORKERS)]
    workers = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "stress_worker.py"), str(log), str(SECONDS),
                                 str(n), ",".join(map(str, pids)), agency.case], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"worker{n}.err", "w"))
               for n, log in enumerate(logs)]
    codes = [w.wait(timeout=SECONDS + 120) for w in workers]  # none left hanging
    assert codes == [0] * WORKERS, [(tmp_path / f"worker{n}.err").read_text() for n in range(WORKERS)]
    results = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    outcomes = Counter()
    for r in results:
        assert r["code"] in (0, 1), r
        if r["code"] == 1:
            lines = [line for line in r["stderr"].splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("Error: ") and "unexpected" not in lines[0], r
            outcomes["busy" if "busy" in lines[0] else "changed" if "at the same time" in lines[0]
                     else "refused"] += 1
        else:
            outcomes["applied"] += 1
    assert outcomes["applied"] > 20 and len(results) > 50
    check_invariants(agency.store, agency)
    print(f"{len(results)} commands from {WORKERS} processes in {SECONDS:.0f} s: {dict(outcomes)}")
