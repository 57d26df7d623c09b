"""Firing many due timers in a few set-based statements.

Each timer's event is decided by the code that decides every event
(``runtime.decide``: the definition's step, guards and records, as the
system); only the writing differs from one event at a time. The batch reads
its processes, cases, parties, orders and case events in a handful of
queries, then writes each table once: the timers claimed, the process
versions bumped (each guarded by the version it was decided on), the audit
entries chained in memory after their streams' heads, and the notices. It
all shares the caller's transaction, so a failure leaves nothing.

The set path takes only steps that change nothing another timer's event or
notice could read: the process stays in its state, records no fact and
carries no document (reminders, advance notices, check-ins), so it arms and
cancels no timer either. Every other timer is returned to the caller to fire
alone, in due order: a step that moves its process (a lapse, a close, a
retention review), one that records, pause, resume and withdraw, and a second
timer of a process already in the batch. If writing the set fails (a notice
that cannot be rendered, a race), the set is undone and every timer is
returned to fire alone, each failing only itself. ``tests/test_batch.py``
proves both paths write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlmodel import Session

from engine import audit, outbox, records, runtime, timers
from engine.bulk import execute_many
from engine.clock import from_db
from engine.crypto import Vault
from engine.errors import Conflict, VcaseError
from engine.models import Case, CaseEvent, Party, Process, Timer
from engine.permissions import SYSTEM
from engine.registry import Registry

TIMER, PROCESS, CASE = Timer.__table__, Process.__table__, Case.__table__


@dataclass
class Fired:
    fired: int = 0
    skipped: int = 0


def fire(session: Session, vault: Vault, registry: Registry, due: list[Any], now: datetime) -> tuple[Fired, list[Any]]:
    """Fire ``due`` (timer rows, oldest first); the ones to fire one at a time are returned."""
    first, alone, seen = [], [], set()
    for t in due:
        (alone if t.process_id in seen else first).append(t)
        seen.add(t.process_id)
    processes, cases, held = _read(session, first, now)
    changes, skipped = [], []
    for t in first:
        process = processes.get(t.process_id)
        try:
            if process is None:
                raise VcaseError(runtime.missing_message(t.process_id))
            compiled = registry.get(process.workflow, process.workflow_version)
            change = runtime.decide(session, registry, compiled, process, t.event, SYSTEM, now,
                                    case=cases.get(process.case_id))  # None: an agency-level process
        except VcaseError as exc:
            skipped.append((t, exc))
            continue
        if not _changes_nothing_shared(change):
            alone.append(t)
            continue
        changes.append((t, change))
    savepoint = session.begin_nested()
    try:
        _claim(session, changes, now)
        timers.refuse(session, [(t.id, exc) for t, exc in skipped])
        _write(session, vault, changes, now)
        savepoint.commit()
    except VcaseError:
        # A notice that cannot be rendered, or a race the locks did not stop: undo the set and let
        # each timer fire (or fail, with its reason) on its own, so one cannot hold back the rest.
        savepoint.rollback()
        return Fired(), sorted(due, key=_due_order)
    finally:
        del held
    return Fired(len(changes), len(skipped)), sorted(alone, key=_due_order)


def _changes_nothing_shared(change) -> bool:
    """A step that stays in its state and records and attaches nothing (pause, resume and withdraw
    have no step): all it writes is its own version, audit entry and notices."""
    step = change.step
    return (step is not None and change.target == change.source and step.record is None and step.attach is None
            and not step.rearm)


def _due_order(t) -> tuple:
    return from_db(t.due_at), t.id


def _read(session: Session, due: list[Any], now: datetime) -> tuple[dict[int, Any], dict[int, Any], list]:
    """The batch's processes and cases (as rows: nothing here is changed through the ORM), and what
    its guards and notices read (parties, orders, case events) into the session's caches and
    identity map; the identity map keeps rows only while they are held, so the third item is to be
    held until the batch is written."""
    processes = {p.id: p for p in _in(session, PROCESS, PROCESS.c.id, {t.process_id for t in due})}
    cases = {c.id: c for c in _in(session, CASE, CASE.c.id,
                                  {p.case_id for p in processes.values() if p.case_id is not None})}
    records.prefetch(session, list(cases.values()), now)
    held: list = _in(session, Party, Party.id, {p.initiator_party_id for p in processes.values() if p.initiator_party_id})
    events = _in(session, CaseEvent, CaseEvent.id, {t.case_event_id for t in due if t.case_event_id is not None})
    held += events + _in(session, CaseEvent, CaseEvent.id, {e.corrects_id for e in events if e.corrects_id})
    return processes, cases, held


def _in(session: Session, what, column, ids: set) -> list:
    """Rows of ``what`` whose ``column`` is in ``ids``: ORM objects for a model, plain rows for a table."""
    ids = sorted(ids)
    found = []
    for i in range(0, len(ids), 500):
        result = session.execute(select(what).where(column.in_(ids[i:i + 500])))
        found.extend(result.all() if isinstance(what, Table) else result.scalars().all())
    return found


def _claim(session: Session, changes: list, now: datetime) -> None:
    """Mark the timers fired, each by its primary key and only if still pending. This transaction
    selected them as pending and holds them (SQLite's write lock; PostgreSQL's row locks), so all
    are claimed; if one were not, the batch is refused whole and tried again at the next tick."""
    if not changes:
        return
    claimed = execute_many(session, update(TIMER).where(TIMER.c.id == bindparam("tid"), TIMER.c.status == "pending")
                           .values(status="fired", fired_at=now), [{"tid": t.id} for t, _ in changes])
    if claimed != len(changes):
        raise Conflict("timers in this batch were fired or cancelled by someone else at the same time")


def _write(session: Session, vault: Vault, changes: list, now: datetime) -> None:
    if not changes:
        return
    _bump_versions(session, changes, now)
    entries = []
    for t, change in changes:
        p = change.process
        detail = runtime.audit_detail(change, p.version + 1, {}, _timer_detail(t, now), t.case_event_id)
        entries.append(dict(at=now, actor=SYSTEM, action=f"{change.wf.name}.{change.event}", case_id=p.case_id,
                            process_id=p.id, from_state=change.source, to_state=change.target, detail=detail))
    ids = audit.append_many(session, entries)
    rows = []
    for (t, change), audit_id in zip(changes, ids):
        rows.extend(runtime.notice_rows(session, vault, change.wf, runtime.notices_for(change.wf, change.step, change.event),
                                        change.process, change.case, audit_id, now, change.policy, t.case_event_id))
    outbox.insert(session, rows, ids=False)


def _timer_detail(t, now: datetime) -> dict[str, str]:
    return {"name": t.name, "due_at": from_db(t.due_at).isoformat(), "fired_at": now.isoformat()}


def _bump_versions(session: Session, changes: list, now: datetime) -> None:
    """The only change to a process the set path makes: its version (optimistic lock) and time."""
    params = [{"pid": c.process.id, "old": c.process.version} for _, c in changes]
    count = execute_many(session, update(PROCESS).where(PROCESS.c.id == bindparam("pid"), PROCESS.c.version == bindparam("old"))
                         .values(version=PROCESS.c.version + 1, updated_at=now), params)
    if count != len(params):
        raise Conflict("processes in this batch were changed by someone else at the same time; nothing was written")


__all__ = ["fire", "Fired"]
