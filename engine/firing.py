"""Firing due timers: each one applied through the engine, exactly once.

A batch is one transaction; each timer gets a savepoint, so one that cannot
apply (its process moved on) is recorded and skipped without losing the
others. The guarded status update makes firing idempotent: a second worker,
or a restart, finds the timer already fired. On PostgreSQL, workers claim
batches with ``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from engine import runtime, timers
from engine.clock import from_db
from engine.db import Store
from engine.errors import VcaseError
from engine.models import Process, Timer
from engine.permissions import SYSTEM
from engine.registry import Registry


@dataclass
class BatchResult:
    fired: int = 0
    skipped: int = 0

    def __iadd__(self, other: "BatchResult") -> "BatchResult":
        self.fired += other.fired
        self.skipped += other.skipped
        return self


def fire_batch(store: Store, registry: Registry, now: datetime, limit: int = 500) -> BatchResult:
    """Fire up to ``limit`` timers due at ``now``, oldest first, in one transaction."""
    result = BatchResult()
    with store.write() as session:
        for timer in timers.due(session, now, limit, skip_locked=not store.is_sqlite):
            due_at = from_db(timer.due_at)
            if not store.is_sqlite and not _lock_process(session, timer.process_id):
                continue  # someone is changing that process right now (a withdrawal?): next tick
            savepoint = session.begin_nested()
            try:
                if not timers.claim(session, timer.id, now):
                    savepoint.rollback()
                    continue
                runtime.apply(session, store.vault, registry, process_id=timer.process_id, event=timer.event,
                              actor=SYSTEM, now=now, case_event_id=timer.case_event_id,
                              timer={"name": timer.name, "due_at": due_at.isoformat(), "fired_at": now.isoformat()})
                savepoint.commit()
                result.fired += 1
            except VcaseError as exc:
                savepoint.rollback()
                session.execute(update(Timer).where(Timer.id == timer.id, Timer.status == "pending")
                                .values(status="cancelled", note=f"could not fire: {exc}"[:500])
                                .execution_options(synchronize_session=False))
                result.skipped += 1
    return result


def _lock_process(session, process_id: int) -> bool:
    """Lock the timer's process without waiting. A worker holding timer locks never waits
    for a process lock, so it cannot deadlock with a withdrawal (process, then timers); and
    as each process has its own audit chain, the only stream heads it locks are those of
    processes it already holds."""
    return session.execute(select(Process.id).where(Process.id == process_id)
                           .with_for_update(skip_locked=True)).first() is not None


def fire_due(store: Store, registry: Registry, now: datetime, batch: int = 500) -> BatchResult:
    """Fire everything due at ``now`` in bounded batches."""
    total = BatchResult()
    while True:
        result = fire_batch(store, registry, now, batch)
        total += result
        if result.fired + result.skipped < batch:
            return total


def run_until(store: Store, registry: Registry, clock, until: datetime) -> BatchResult:
    """Move a simulated clock forward to ``until``, firing each timer at its own due time, in order."""
    total = BatchResult()
    while True:
        with store.read() as session:
            nxt = timers.next_due(session, until)
        if nxt is None:
            clock.set(until)
            return total
        clock.set(max(nxt, clock.now()))
        total += fire_due(store, registry, clock.now())
