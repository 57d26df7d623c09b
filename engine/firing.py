"""Firing due timers: each one applied through the engine, exactly once.

A batch is one transaction. Its timers are decided and written as a set
(``engine.batch``); those the set path leaves (a step that moves its process
or records a fact, a second timer of one process) then fire one at a time,
each in a savepoint, so one that cannot apply (its process moved on) is
recorded and skipped without losing the others. The guarded status update makes firing
idempotent: a second worker, or a restart, finds the timer already fired. On
PostgreSQL, workers claim batches with ``FOR UPDATE SKIP LOCKED`` and lock the
timers' processes without waiting; SQLite has one writer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import select

from engine import batch, runtime, timers
from engine.clock import from_db
from engine.db import Store
from engine.errors import VcaseError
from engine.models import Process
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


def fire_batch(store: Store, registry: Registry, now: datetime, limit: int = 500, one_at_a_time: bool = False) -> BatchResult:
    """Fire up to ``limit`` timers due at ``now``, oldest first, in one transaction: set-based
    (``engine.batch``), with the timers it leaves fired one at a time after it. ``one_at_a_time``
    fires them all singly (the reference the batch path is tested against)."""
    result = BatchResult()
    with store.write() as session:
        due = timers.due_rows(session, now, limit, skip_locked=not store.is_sqlite)
        if not store.is_sqlite:
            locked = _lock_processes(session, {t.process_id for t in due})
            due = [t for t in due if t.process_id in locked]  # the rest: someone is changing them (a withdrawal?)
        if not one_at_a_time:
            done, due = batch.fire(session, store.vault, registry, due, now)
            result.fired, result.skipped = done.fired, done.skipped
        for timer in due:
            fired = _fire_one(session, store, registry, timer, now)
            result.fired += fired is True
            result.skipped += fired is False
    return result


def _fire_one(session, store: Store, registry: Registry, timer, now: datetime) -> Optional[bool]:
    """Fire one timer in a savepoint: True if fired, False if it could not apply (it is cancelled
    with the reason), None if someone else fired or cancelled it first."""
    savepoint = session.begin_nested()
    try:
        if not timers.claim(session, timer.id, now):
            savepoint.rollback()
            return None
        runtime.apply(session, store.vault, registry, process_id=timer.process_id, event=timer.event,
                      actor=SYSTEM, now=now, case_event_id=timer.case_event_id,
                      timer={"name": timer.name, "due_at": from_db(timer.due_at).isoformat(), "fired_at": now.isoformat()})
        savepoint.commit()
        return True
    except VcaseError as exc:
        savepoint.rollback()
        timers.refuse(session, [(timer.id, exc)])
        return False


def _lock_processes(session, process_ids: set[int]) -> set[int]:
    """Lock the timers' processes without waiting; the ones locked. A worker holding timer locks never
    waits for a process lock, so it cannot deadlock with a withdrawal (process, then timers); and as
    each process has its own audit chain, the only stream heads it locks are those of processes it holds."""
    ids = sorted(process_ids)
    locked: set[int] = set()
    for i in range(0, len(ids), 500):
        locked.update(session.execute(select(Process.id).where(Process.id.in_(ids[i:i + 500]))
                                      .with_for_update(skip_locked=True)).scalars())
    return locked


def fire_due(store: Store, registry: Registry, now: datetime, size: int = 500, one_at_a_time: bool = False) -> BatchResult:
    """Fire everything due at ``now`` in bounded batches."""
    total = BatchResult()
    while True:
        result = fire_batch(store, registry, now, size, one_at_a_time)
        total += result
        if result.fired + result.skipped < size:
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
