"""The daemon's log while it works through a backlog: a progress line every --log-every seconds
(timers fired, notices worked, what is still due), never APScheduler's "maximum number of running
instances reached" each interval, and no victim data in any line."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

from engine.models import Party, Process, Timer
from engine.redact import scrub
from engine.scheduler import Daemon, Progress
from tests.test_scheduler import count, daemon_env, daemon_log, wait_for

ROOT = Path(__file__).parent.parent
BACKLOG = 1500


def _backlog(admin, n: int = BACKLOG) -> None:
    """``n`` toy processes in review, each with its timer overdue by a day (bulk-loaded)."""
    party = admin.as_user("avery").add_party("2026-CR-0001", "victim", "Bulk Victim", email="bulk@example.org")["id"]
    with admin.store.engine.begin() as conn:
        case_id = conn.execute(select(Party.case_id).where(Party.id == party)).scalar_one()
        past = admin.clock.now() - timedelta(days=1)
        conn.execute(insert(Process), [dict(case_id=case_id, workflow="toy", workflow_version=1, state="review",
                                            version=2, victim_initiated=True, initiator_party_id=party,
                                            initiator_side="victim", data={"summary": "bulk"}, terminal=False,
                                            started_at=past, updated_at=past) for _ in range(n)])
        ids = conn.execute(select(Process.id).order_by(Process.id)).scalars().all()
        conn.execute(insert(Timer), [dict(process_id=p, name="review_deadline", event="expire", due_at=past,
                                          status="pending", created_at=past) for p in ids])
        conn.execute(text("INSERT INTO workflow_pin (workflow, version, fingerprint) VALUES ('toy', 1, :f)"),
                     {"f": __import__("tests.toy_workflow", fromlist=["WORKFLOW"]).WORKFLOW.fingerprint()})


def test_a_backlog_logs_progress_and_no_skipped_runs(store, agency, tmp_path):
    _backlog(agency.admin)
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "cli.py", "scheduler", "run", "--interval", "0.05", "--batch", "25",
                             "--log-every", "0.3"], cwd=ROOT, env=daemon_env(store, outbox=tmp_path), stderr=log,
                            stdout=subprocess.DEVNULL, text=True)
    proc.log_path = log.name
    pending = select(func.count()).select_from(Timer).where(Timer.status == "pending")
    try:
        wait_for(lambda: count(store, pending) == 0 or proc.poll() is not None, seconds=300, every=0.1)
        wait_for(lambda: "due now: 0 timer(s)" in daemon_log(proc), seconds=30, every=0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, daemon_log(proc)
    out = daemon_log(proc)
    assert count(store, pending) == 0, out
    progress = [line for line in out.splitlines() if line.startswith("fired ")]
    assert len(progress) >= 2, out  # while working, not only at the end
    assert sum(int(line.split()[1].replace(",", "")) for line in progress) == BACKLOG, out
    assert "due now:" in progress[0]
    assert "maximum number of running instances" not in out and "skipped" not in out, out
    assert "bulk@example.org" not in out and "Bulk Victim" not in out


def test_progress_is_said_every_interval_while_working_and_once_when_done(agency):
    lines, now = [], [0.0]
    progress = Progress(agency.admin, lines.append, every=10.0, clock=lambda: now[0])
    progress.add("timers", 400)
    progress.add("notices", 380)
    assert lines == []  # not yet ten seconds
    now[0] = 10.5
    progress.add("timers", 12)
    assert len(lines) == 1 and lines[0].startswith("fired 412 timer(s), worked 380 notice(s) in 10s; due now: ")
    progress.due(idle=True)
    assert len(lines) == 1  # nothing done since: nothing said
    progress.add("timers", 3)
    progress.due(idle=True)  # the backlog is cleared: said at once
    assert len(lines) == 2 and lines[1].startswith("fired 3 timer(s)")


def test_a_failed_pass_is_logged_without_contact_details(agency, monkeypatch):
    import engine.scheduler as scheduler

    def broken(*_a, **_k):
        raise RuntimeError("550 5.1.1 <maria@example.org>: mailbox unavailable; call +1 312 555 0101")

    monkeypatch.setattr(scheduler, "tick", broken)
    lines = []
    Daemon(agency.admin, say=lines.append)._tick()
    assert lines and "maria@example.org" not in lines[0] and "555 0101" not in lines[0]
    assert lines[0] == "tick failed, will retry: RuntimeError: " + scrub(
        "550 5.1.1 <maria@example.org>: mailbox unavailable; call +1 312 555 0101")


def test_the_daemon_runs_with_the_page_cache_asked_for_and_refuses_a_bad_size(store, agency, tmp_path):
    env = daemon_env(store, outbox=tmp_path)
    refused = subprocess.run([sys.executable, "cli.py", "scheduler", "run", "--cache-mib", "4"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Invalid value for '--cache-mib': 4 is not in the range 8<=x<=65536" in refused.stderr

    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "cli.py", "scheduler", "run", "--interval", "0.1", "--cache-mib", "96"],
                            cwd=ROOT, env=env, stderr=log, stdout=subprocess.DEVNULL, text=True)
    proc.log_path = log.name
    try:
        wait_for(lambda: " running: every " in daemon_log(proc) or proc.poll() is not None, seconds=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, daemon_log(proc)
    running = next(line for line in daemon_log(proc).splitlines() if " running: every " in line)
    if store.is_sqlite:  # read back from a connection of the daemon's, not echoed from the option
        assert "every 0.1s, page cache 96 MiB;" in running, running
    else:
        assert "page cache" not in running, running
