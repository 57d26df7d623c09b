"""Two writers at once: one wins, the other gets ``Conflict`` and writes nothing;
two schedulers at once fire every timer exactly once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from engine import firing, runtime
from engine.errors import Conflict
from engine.models import AuditEntry, Notice, Timer
from engine.permissions import resolve
from engine.registry import default
from tests.support import dump

ONLY_POSTGRES = pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                        indirect=True)


def in_review(agency) -> int:
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "s"})
    return pid


def count(store, model, *where) -> int:
    with store.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def process_row(store, pid: int) -> tuple:
    with store.engine.connect() as conn:
        return tuple(conn.execute(text("SELECT state, version FROM process WHERE id = :id"), {"id": pid}).one())


# -- stale expected_version (both databases) --------------------------------------------

def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(agency):
    pid = in_review(agency)
    seen = agency.vs.show_process(pid)["version"]  # both people look at version 2
    assert agency.vs.send(pid, "note", expected_version=seen)["version"] == seen + 1
    before = dump(agency.store)
    with pytest.raises(Conflict, match="changed since you read it"):
        agency.advocate.send(pid, "withdraw", agency.victim, expected_version=seen)
    with pytest.raises(Conflict):
        agency.vs.send(pid, "approve", expected_version=seen)
    assert dump(agency.store) == before
    assert agency.vs.send(pid, "approve", expected_version=seen + 1)["to"] == "done"


# -- a real race on PostgreSQL ----------------------------------------------------------

def race(agency, pid: int, contenders: dict[str, tuple[str, str, str | None]]) -> dict[str, object]:
    """Each contender, in its own thread and transaction, loads the process, waits for the
    others, then applies its event. Returns name -> "ok" or the exception raised."""
    store, registry = agency.store, default()
    barrier = threading.Barrier(len(contenders), timeout=20)
    results: dict[str, object] = {}

    def contender(name: str, event: str, login: str, party: str | None) -> None:
        try:
            with store.write() as session:
                actor = resolve(session, login, for_party=getattr(agency, party) if party else None)
                assert runtime.load_process(session, pid).version == 2  # both start from the same version
                barrier.wait()
                runtime.apply(session, store.vault, registry, process_id=pid, event=event, actor=actor,
                              now=agency.clock.now())
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the result is what the test inspects
            results[name] = exc

    threads = [threading.Thread(target=contender, args=(name, *spec)) for name, spec in contenders.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@ONLY_POSTGRES
@pytest.mark.parametrize("round_", range(3))
def test_two_sessions_racing_on_one_process_one_wins_on_postgres(store, agency, round_):
    pid = in_review(agency)
    entries = count(store, AuditEntry)
    results = race(agency, pid, {"approve": ("approve", "vera", None),
                                 "withdraw": ("withdraw", "avery", "victim")})
    winners = [name for name, r in results.items() if r == "ok"]
    losers = [r for r in results.values() if r != "ok"]
    assert len(winners) == 1 and len(losers) == 1, results
    assert isinstance(losers[0], Conflict), repr(losers[0])
    assert process_row(store, pid) == ({"approve": "done", "withdraw": "withdrawn"}[winners[0]], 3)
    assert count(store, AuditEntry) == entries + 1
    assert count(store, AuditEntry, AuditEntry.process_id == pid, AuditEntry.action == f"toy.{winners[0]}") == 1
    ended = count(store, Notice, Notice.process_id == pid, Notice.survives_withdrawal.is_(True))
    assert (ended > 0) == (winners[0] == "withdraw")  # the loser's notices were not written either


@ONLY_POSTGRES
def test_the_same_event_twice_at_once_applies_once_on_postgres(store, agency):
    pid = in_review(agency)
    results = race(agency, pid, {"first": ("note", "vera", None), "second": ("note", "vera", None)})
    assert sorted(type(r).__name__ if r != "ok" else r for r in results.values()) == ["Conflict", "ok"]
    assert process_row(store, pid) == ("review", 3)
    assert count(store, AuditEntry, AuditEntry.action == "toy.note") == 1


# -- two schedulers at once -----------------------------------------------------------------

def test_two_schedulers_fire_each_timer_exactly_once(store, agency):
    """On PostgreSQL the two workers really overlap (FOR UPDATE SKIP LOCKED); SQLite takes them in turn."""
    pids = [in_review(agency) for _ in range(12)]
    now = agency.clock.advance(timedelta(days=11))
    barrier = threading.Barrier(2, timeout=20)
    results: list[object] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            results.append(firing.fire_due(store, default(), now, size=3))
        except Exception as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.fired for r in results) == 12
    assert count(store, AuditEntry, AuditEntry.action == "toy.expire") == 12
    for pid in pids:
        assert count(store, AuditEntry, AuditEntry.action == "toy.expire", AuditEntry.process_id == pid) == 1
        assert process_row(store, pid) == ("done", 3)
    assert count(store, Timer, Timer.status == "fired") == 12
    assert firing.fire_due(store, default(), now).fired == 0


@ONLY_POSTGRES
def test_a_timer_that_collides_with_a_staff_event_is_not_lost(store, agency):
    """The deadline falls due while victim services is adding a note. Whether the scheduler
    waits for the note's row lock (and then finds the version moved on) or passes the
    process by, the deadline must survive for the next tick, never be dropped for good."""
    pid = in_review(agency)
    now = agency.clock.advance(timedelta(days=11))
    registry = default()
    fired: list[object] = []

    def scheduler() -> None:
        try:
            fired.append(firing.fire_due(store, registry, now))
        except Exception as exc:  # noqa: BLE001
            fired.append(exc)

    with store.write() as session:  # the staff event: holds the process row until it commits
        actor = resolve(session, "vera")
        runtime.apply(session, store.vault, registry, process_id=pid, event="note", actor=actor, now=now)
        worker = threading.Thread(target=scheduler)
        worker.start()
        _wait_until_blocked_or_done(store, worker)
    worker.join(30)
    assert not isinstance(fired[0], Exception), fired
    assert process_row(store, pid) == ("review", 3)
    assert [t for t in _timers(store, pid) if t[0] in ("pending", "fired")], _timers(store, pid)

    firing.fire_due(store, registry, now + timedelta(minutes=1))  # the next tick
    assert process_row(store, pid) == ("done", 4)
    assert count(store, AuditEntry, AuditEntry.action == "toy.expire") == 1


def _timers(store, pid: int) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT status, note FROM timer WHERE process_id = :p"), {"p": pid})]


def _wait_until_blocked_or_done(store, worker: threading.Thread, timeout: float = 10.0) -> None:
    """Until the scheduler has finished, or waits on a row lock held by the staff event."""
    deadline = time.monotonic() + timeout
    with store.engine.connect() as conn:
        while time.monotonic() < deadline and worker.is_alive():
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    assert not worker.is_alive(), "the scheduler neither finished nor waited for the lock"


@ONLY_POSTGRES
def test_a_deadlock_between_two_writers_is_a_conflict_not_busy(store, agency):
    """PostgreSQL breaks a deadlock by failing one transaction; that is a Conflict (try again), and the
    message "blocked by process" in its report must not make it look like a busy database."""
    barrier = threading.Barrier(2, timeout=20)
    results: dict[str, object] = {}

    def writer(first: str, second: str) -> None:
        touch = "UPDATE staff SET display_name = display_name WHERE login = :login"
        try:
            with store.write() as session:
                session.execute(text(touch), {"login": first})
                barrier.wait()
                session.execute(text(touch), {"login": second})
            results[first] = "ok"
        except Exception as exc:  # noqa: BLE001
            results[first] = exc

    threads = [threading.Thread(target=writer, args=pair) for pair in (("oscar", "avery"), ("avery", "oscar"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # a Transient (a kind of Conflict): nobody's fault, so the engine may try again where only it raced
    assert sorted(type(r).__name__ if r != "ok" else r for r in results.values()) == ["Transient", "ok"], results


@ONLY_POSTGRES
def test_two_schedulers_on_two_cases_do_not_deadlock(store, agency):
    agency.officer.open_case("2026-CR-0002", "Sam Second", "oscar", "America/Chicago")
    second = agency.advocate.add_party("2026-CR-0002", "victim", "Vic Second")["id"]
    agency.advocate.explain_confidentiality(second, "in_person")  # privacy.confidentiality_first
    pids = []
    for case in ("one", "two", "two", "one") * 2:  # due order: cases 1, 2, 2, 1, ... so batches of 2 cross
        number, party = (agency.case, agency.victim) if case == "one" else ("2026-CR-0002", second)
        pid = agency.advocate.start(number, "toy", party)["process"]
        agency.advocate.send(pid, "submit", party, params={"summary": "s"})
        pids.append(pid)
        agency.clock.advance(timedelta(minutes=1))
    now = agency.clock.advance(timedelta(days=11))
    barrier = threading.Barrier(2, timeout=20)
    results: list[object] = []

    def scheduler() -> None:
        barrier.wait()
        try:
            results.append(firing.fire_due(store, default(), now, size=2))
        except Exception as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(not isinstance(r, Exception) for r in results), results
    assert count(store, AuditEntry, AuditEntry.action == "toy.expire") == len(pids)
