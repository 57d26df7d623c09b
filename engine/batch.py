"""Firing many due timers in a few set-based statements.

Each timer's event is decided by the code that decides every event
(``runtime.decide``: the definition's step, guards and records, as the
system); only the writing differs from one event at a time. The batch reads
its processes, cases, parties, orders and case events in a handful of
queries, then writes each table once: the timers claimed, the processes
moved (each guarded by its version), the timers of states left and entered,
the audit entries chained in memory after their streams' heads, and the
notices. It all shares the caller's transaction, so a failure leaves nothing.

A timer this path does not take is returned to the caller to fire alone: a
second timer of a process already in the batch (it must see the first one's
result), and a step that pauses, resumes, withdraws or carries a document. If
writing the set fails (a notice that cannot be rendered, a race), the set is
undone and every timer is returned to fire alone, each failing only itself.

What one timer's event decides never depends on another process (guards see
their own process, its case and parties), so deciding the whole batch before
writing any of it is the same as deciding one at a time. Notices are built
after the batch's moves are written: one that reads another process (a
letter's notice reads the victim's registrations) sees it as the batch left
it. No timer today changes a registration, so the two paths agree; a timer
that did would belong with the ones fired alone. ``tests/test_batch.py``
proves the paths write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlmodel import Session

from engine import audit, outbox, records, runtime, timers
from engine.clock import from_db
from engine.crypto import Vault
from engine.definition import PAUSE, RESUME, WITHDRAW
from engine.errors import Conflict, VcaseError
from engine.models import Case, CaseEvent, Party, Process, Timer
from engine.permissions import SYSTEM
from engine.registry import Registry

ALONE = (PAUSE, RESUME, WITHDRAW)
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
                                    case=cases[process.case_id])
        except VcaseError as exc:
            skipped.append((t, exc))
            continue
        if t.event in ALONE or (change.step is not None and change.step.attach):
            alone.append(t)
            continue
        changes.append((t, change))
    savepoint = session.begin_nested()
    try:
        _claim(session, changes, now)
        _cancel(session, skipped)
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


def _due_order(t) -> tuple:
    return from_db(t.due_at), t.id


def _read(session: Session, due: list[Any], now: datetime) -> tuple[dict[int, Any], dict[int, Any], list]:
    """The batch's processes and cases (as rows: nothing here is changed through the ORM), and what
    its guards and notices read (parties, orders, case events) into the session's caches and
    identity map; the identity map keeps rows only while they are held, so the third item is to be
    held until the batch is written."""
    processes = {p.id: p for p in _in(session, PROCESS, PROCESS.c.id, {t.process_id for t in due})}
    cases = {c.id: c for c in _in(session, CASE, CASE.c.id, {p.case_id for p in processes.values()})}
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
    claimed = session.execute(
        update(TIMER).where(TIMER.c.id == bindparam("tid"), TIMER.c.status == "pending")
        .values(status="fired", fired_at=now), [{"tid": t.id} for t, _ in changes]).rowcount
    if claimed != len(changes):
        raise Conflict("timers in this batch were fired or cancelled by someone else at the same time")


def _cancel(session: Session, skipped: list) -> None:
    if skipped:
        session.execute(
            update(TIMER).where(TIMER.c.id == bindparam("tid"), TIMER.c.status == "pending")
            .values(status="cancelled", note=bindparam("why")),
            [{"tid": t.id, "why": f"could not fire: {exc}"[:500]} for t, exc in skipped])


def _write(session: Session, vault: Vault, changes: list, now: datetime) -> None:
    if not changes:
        return
    _move_processes(session, changes, now)
    moved = _move_timers(session, changes, now)
    entries = []
    for t, change in changes:
        p = change.process
        detail = runtime.audit_detail(change, p.version + 1, moved.get(p.id, {}), _timer_detail(t, now), t.case_event_id)
        entries.append(dict(at=now, actor=SYSTEM, action=f"{change.wf.name}.{change.event}", case_id=p.case_id,
                            process_id=p.id, from_state=change.source, to_state=change.target, detail=detail))
    ids = audit.append_many(session, entries)
    rows = []
    for (t, change), audit_id in zip(changes, ids):
        view = _After(change)
        rows.extend(runtime.notice_rows(session, vault, change.wf, runtime.notices_for(change.wf, change.step, change.event),
                                        view, change.case, audit_id, now, change.policy, t.case_event_id))
    outbox.insert(session, rows, ids=False)


def _timer_detail(t, now: datetime) -> dict[str, str]:
    return {"name": t.name, "due_at": from_db(t.due_at).isoformat(), "fired_at": now.isoformat()}


def _move_processes(session: Session, changes: list, now: datetime) -> None:
    params = [{"pid": c.process.id, "old": c.process.version, "state": c.target, "data": c.data,
               "version": c.process.version + 1, "terminal": c.target in c.wf.finals} for _, c in changes]
    count = session.execute(
        update(PROCESS).where(PROCESS.c.id == bindparam("pid"), PROCESS.c.version == bindparam("old"))
        .values(state=bindparam("state"), paused_from=None, data=bindparam("data"), version=bindparam("version"),
                terminal=bindparam("terminal"), updated_at=now), params).rowcount
    if count != len(params):
        raise Conflict("processes in this batch were changed by someone else at the same time; nothing was written")


def _move_timers(session: Session, changes: list, now: datetime) -> dict[int, dict[str, Any]]:
    """Cancel the live timers of each state left and arm those of each state entered; what the audit
    records of it, by process. A step that stays in its state leaves its timers running."""
    leaving = [(t, c) for t, c in changes if c.target != c.source]
    if not leaving:
        return {}
    ids = [c.process.id for _, c in leaving]
    live: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        for pid, status in session.execute(select(TIMER.c.process_id, TIMER.c.status).where(
                TIMER.c.process_id.in_(ids[i:i + 500]), TIMER.c.status.in_(timers.LIVE))):
            live[pid] = live.get(pid, 0) + 1
    session.execute(
        update(TIMER).where(TIMER.c.process_id == bindparam("pid"), or_(*(TIMER.c.status == s for s in timers.LIVE)))
        .values(status="cancelled", remaining_seconds=None, note=bindparam("why")),
        [{"pid": c.process.id, "why": f"left {c.source} by {c.event}"} for _, c in leaving])
    moved, armed = {}, []
    for _, c in leaving:
        plan = [] if c.target in c.wf.finals else timers.to_arm(c.wf, c.target, c.data, now, c.case.time_zone, c.policy)
        armed.extend({"process_id": c.process.id, "name": spec.name, "event": spec.event, "due_at": when,
                      "created_at": now, "status": "pending"} for spec, when in plan)
        moved[c.process.id] = {"cancelled": live.get(c.process.id, 0), "armed": [spec.name for spec, _ in plan]}
    if armed:
        session.execute(insert(TIMER), armed)
    return moved


class _After:
    """A process as the batch left it, for the notices: the notices of an event see its new state and data."""

    def __init__(self, change):
        p = change.process
        self.id, self.case_id, self.workflow, self.initiator_party_id = p.id, p.case_id, p.workflow, p.initiator_party_id
        self.state, self.data = change.target, change.data


__all__ = ["fire", "Fired"]
