"""The scheduler: on time, once, across restarts, crashes and several workers.

Daemons run as real subprocesses (`cli.py scheduler run`) against the test
database; email goes to a real SMTP server on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from services import notify_api as N
from engine.models import AuditEntry, Notice, Party, Process, Timer, Worker
from engine.scheduler import status, tick
from tests.conftest import KEY, TESTS
from tests.support import SmtpSink, daytime_zone

ROOT = Path(__file__).parent.parent


def daemon_env(store, smtp=None, outbox=None) -> dict:
    env = {**os.environ, "VCASE_DATABASE_URL": store.url, "VCASE_KEY": KEY, "PYTHONPATH": str(ROOT),
           "VCASE_WORKFLOWS": "tests.toy_workflow", "VCASE_TEMPLATE_DIRS": str(TESTS / "templates")}
    if smtp:
        env.update(VCASE_SMTP_HOST="127.0.0.1", VCASE_SMTP_PORT=str(smtp.port), VCASE_SMTP_FROM="n@doc.example")
    if outbox:
        env["VCASE_OUTBOX"] = str(outbox)
    return env


def start_daemon(env, interval="0.2", batch="100") -> subprocess.Popen:
    """A daemon subprocess; its log goes to a file (a pipe nobody reads would fill and block it)."""
    import tempfile

    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "cli.py", "scheduler", "run", "--interval", interval, "--batch", batch],
                            cwd=ROOT, env=env, stderr=log, stdout=subprocess.DEVNULL, text=True)
    proc.log_path = log.name
    wait_for(lambda: "running" in Path(log.name).read_text() or proc.poll() is not None, seconds=60, every=0.05)
    assert "running" in Path(log.name).read_text(), Path(log.name).read_text()
    return proc


def daemon_log(proc) -> str:
    return Path(proc.log_path).read_text()


def wait_for(condition, seconds=120.0, every=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    raise AssertionError("condition not reached in time")


def count(store, query) -> int:
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


@pytest.fixture
def toy(agency):
    """A toy process in review: its 10-day timer is pending."""
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "s"})
    agency.process = pid
    return agency


def test_timer_due_during_downtime_fires_once_after_restart(toy):
    toy.clock.advance(timedelta(days=15))  # the daemon was down when the timer fell due
    first = tick(toy.admin, "w1")
    again = tick(toy.admin, "w2")  # a restart, or a second worker: nothing left to fire
    assert (first.fired, again.fired) == (1, 0)
    [entry] = [h for h in toy.advocate.history(toy.process) if h["action"] == "expire"]
    assert entry["timer"]["due_at"] == "2026-03-12T14:00:00+00:00"
    assert entry["timer"]["fired_at"] == "2026-03-17T15:00:00+00:00"
    assert toy.advocate.show_process(toy.process)["state"] == "done"


def test_overdue_timers_fire_in_due_order(agency):
    pids = []
    for i in range(3):
        pids.append(agency.advocate.start(agency.case, "toy", agency.victim)["process"])
        agency.clock.advance(timedelta(hours=1))
    for pid in reversed(pids):  # armed in reverse order: the last started is due last anyway
        agency.advocate.send(pid, "submit", agency.victim, params={"summary": "s"})
        agency.clock.advance(timedelta(minutes=5))
    agency.clock.advance(timedelta(days=30))
    tick(agency.admin)
    with agency.store.read() as s:
        fired = s.execute(select(AuditEntry.process_id).where(AuditEntry.action == "toy.expire")
                          .order_by(AuditEntry.seq)).scalars().all()
    assert fired == list(reversed(pids))


def test_status_shows_workers_and_the_oldest_overdue_item(toy):
    toy.clock.advance(timedelta(days=11))
    before = status(toy.admin)
    # the "request received" notice queued 11 days ago is older than the timer due 25 hours ago
    assert before["due_timers"] == 1 and before["queued_notices"] == 1
    assert before["oldest_overdue_seconds"] == 11 * 86400
    tick(toy.admin, "host:1:abc")
    after = status(toy.admin)
    assert after["due_timers"] == 0 and after["queued_notices"] == 0 and after["oldest_overdue"] is None
    assert [w["worker"] for w in after["workers"]] == ["host:1:abc"]
    assert after["workers"][0]["fired"] == 1


def test_sigterm_stops_the_daemon_cleanly(toy, tmp_path):
    proc = start_daemon(daemon_env(toy.store, outbox=tmp_path))
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert "stopped" in daemon_log(proc)
    with toy.store.read() as s:
        assert [w.status for w in s.execute(select(Worker)).scalars()] == ["stopped"]


@pytest.mark.postgres
@pytest.mark.slow
def test_two_daemons_drain_10000_timers_each_exactly_once(store, admin, tmp_path):
    """Bulk-load 10,000 due timers over 100 cases, then two daemons drain them."""
    if store.is_sqlite:
        pytest.skip("several daemons on one database is the PostgreSQL deployment (SQLite: one writer at a time)")
    pg_store = store
    cases, parties = 100, []
    for i in range(cases):
        admin.as_user("oscar").open_case(f"BULK-{i:03}", f"Person {i}", "oscar", "America/Chicago")
        parties.append(admin.as_user("avery").add_party(f"BULK-{i:03}", "victim", f"V{i}")["id"])
    with pg_store.engine.begin() as conn:
        case_ids = dict(conn.execute(select(Party.id, Party.case_id).where(Party.id.in_(parties))).all())
        past = admin.clock.now() - timedelta(days=1)
        rows = [dict(case_id=case_ids[parties[n % cases]], workflow="toy", workflow_version=1, state="review",
                     version=2, victim_initiated=True, initiator_party_id=parties[n % cases], initiator_side="victim",
                     data={"summary": "bulk"}, terminal=False, started_at=past, updated_at=past) for n in range(10_000)]
        conn.execute(insert(Process), rows)
        ids = conn.execute(select(Process.id).order_by(Process.id)).scalars().all()
        conn.execute(insert(Timer), [dict(process_id=p, name="review_deadline", event="expire", due_at=past,
                                          status="pending", created_at=past) for p in ids])
        conn.execute(text("INSERT INTO workflow_pin (workflow, version, fingerprint) VALUES ('toy', 1, :f)"),
                     {"f": __import__("tests.toy_workflow", fromlist=["WORKFLOW"]).WORKFLOW.fingerprint()})
    env = daemon_env(pg_store, outbox=tmp_path)
    daemons = [start_daemon(env, batch="200"), start_daemon(env, batch="200")]
    try:
        wait_for(lambda: count(pg_store, select(func.count()).select_from(Timer).where(Timer.status == "pending")) == 0,
                 seconds=600, every=0.5)
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        codes = [d.wait(timeout=60) for d in daemons]
    assert codes == [0, 0]
    fired = count(pg_store, select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "toy.expire"))
    distinct = count(pg_store, select(func.count(func.distinct(AuditEntry.process_id))).where(AuditEntry.action == "toy.expire"))
    assert fired == distinct == 10_000
    with pg_store.engine.connect() as conn:
        shares = conn.execute(select(Worker.fired).where(Worker.fired > 0)).scalars().all()
    assert len(shares) == 2 and sum(shares) == 10_000  # both daemons did part of the work


def registrants(agency, n: int, time_zone=None) -> list[int]:
    """``n`` registrants for release, transfer and furlough (in ``time_zone``: a daemon test on the real
    clock passes ``daytime_zone()``, since quiet hours are checked again when a notice is sent)."""
    ids = []
    for i in range(n):
        party = agency.advocate.add_party(agency.case, "survivor", f"Survivor {i}", email=f"s{i}@example.org",
                                          channels=("email",), time_zone=time_zone)
        agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
        ids.append(N.register(agency.advocate, agency.case, party["id"], "released,transfer,furlough")["process"])
    return ids


def test_sigkill_mid_batch_loses_nothing_and_repeats_carry_the_same_message_id(agency, tmp_path):
    smtp = SmtpSink()
    smtp.delay = 0.01
    smtp.start()
    try:
        registrants(agency, 40, daytime_zone())
        for kind in ("released", "transfer", "furlough"):
            N.record_event(agency.officer, agency.case, kind, agency.clock.now(), "")
        with agency.store.read() as s:
            expected = s.execute(select(Notice.idempotency_key).where(Notice.status == "queued")).scalars().all()
        assert len(expected) == 40 * 4  # registration confirmations + three events
        env = daemon_env(agency.store, smtp=smtp, outbox=tmp_path)
        kills = 0
        while count(agency.store, select(func.count()).select_from(Notice).where(Notice.status == "queued")) and kills < 5:
            daemon = start_daemon(env, batch="25")
            seen = len(smtp.messages)
            wait_for(lambda: len(smtp.messages) >= seen + 10 or not count(
                agency.store, select(func.count()).select_from(Notice).where(Notice.status == "queued")), seconds=60, every=0.01)
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
            kills += 1
        assert kills >= 2, "the backlog should outlast at least two kills"
        daemon = start_daemon(env, batch="25")
        wait_for(lambda: not count(agency.store, select(func.count()).select_from(Notice).where(
            Notice.status.in_(("queued", "sending")))), seconds=120)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        with agency.store.read() as s:
            sent = {n.message_id: n for n in s.execute(select(Notice)).scalars()}
        assert all(n.status == "sent" for n in sent.values()) and len(sent) == len(expected)
        received = [m["Message-ID"] for m in smtp.messages]
        assert set(received) == set(sent)  # every notice arrived: none lost
        repeats = len(received) - len(set(received))
        for mid in set(received):  # a repeat is the same email again, recognisable by its Message-ID
            copies = [m for m in smtp.messages if m["Message-ID"] == mid]
            assert len({(m["To"], m["Subject"]) for m in copies}) == 1
        print(f"kills survived: {kills}, repeats after kills: {repeats}")
    finally:
        smtp.stop()


def test_withdrawal_during_a_running_delivery_wins(agency, tmp_path, monkeypatch):
    """A delivery pass is mid-send when a registrant opts out: whatever had not gone out
    when the withdrawal committed never goes out."""
    smtp = SmtpSink()
    smtp.gate = threading.Event()
    smtp.start()
    monkeypatch.setenv("VCASE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VCASE_SMTP_PORT", str(smtp.port))
    try:
        [mine, other] = registrants(agency, 2)
        agency.admin.outbox = tmp_path
        N.record_event(agency.officer, agency.case, "released", agency.clock.now(), "")
        worker = threading.Thread(target=lambda: N.deliver(agency.admin, batch=50))
        worker.start()
        wait_for(lambda: smtp.waiting >= 1, seconds=30, every=0.01)  # the pass is inside a send
        withdrawn_at = {}

        def withdraw():
            party = agency.advocate.show_process(mine)["initiator_party"]
            agency.advocate.send(mine, "withdraw", party)
            withdrawn_at["t"] = time.monotonic()

        opt_out = threading.Thread(target=withdraw)
        opt_out.start()
        time.sleep(0.5)
        assert "t" not in withdrawn_at  # the withdrawal waits for the pass holding the notices
        smtp.gate.set()
        worker.join(30)
        opt_out.join(30)
        N.deliver(agency.admin)
        # What the withdrawal itself queues (a confirmation that survives it) may go out after it, from
        # this pass's next batch or the next pass; nothing else of the withdrawn process may.
        received = {m["Message-ID"]: m.received_at for m in smtp.messages}
        with agency.store.read() as s:
            mine_sent = s.execute(select(Notice).where(Notice.process_id == mine, Notice.status == "sent",
                                                       Notice.survives_withdrawal.is_(False))).scalars().all()
            assert mine_sent, "the pass was inside a send of the registrant's own notices"
            for n in mine_sent:
                assert received[n.message_id] < withdrawn_at["t"], "sent after the withdrawal"
            for mid, at in received.items():
                if at >= withdrawn_at["t"]:
                    notice = s.execute(select(Notice).where(Notice.message_id == mid)).scalar_one()
                    assert notice.process_id != mine or notice.survives_withdrawal, "sent after the withdrawal"
    finally:
        smtp.gate.set()
        smtp.stop()


def test_timeline_shows_what_happened_and_what_is_next_per_role(toy):
    N.register(toy.advocate, toy.case, toy.victim, "released")
    N.record_event(toy.officer, toy.case, "parole_hearing", toy.clock.now() + timedelta(days=60), "")
    mine = toy.advocate.timeline(toy.case)
    assert [e["what"] for e in mine["happened"]][:3] == ["case.open", "party.add", "party.add"]
    assert any(e["what"] == "toy.submit" for e in mine["happened"])
    assert any(s["what"] == "toy.expire" for s in mine["scheduled"])
    parole = toy.parole.timeline(toy.case)
    seen = " ".join(str(e) for e in parole["happened"] + parole["scheduled"])
    assert "toy" not in seen and "party" not in seen and "notification" not in seen and "notice" not in seen
    assert any(e["what"] == "case_event.record" for e in parole["happened"])
