"""Durable timers: arming, cancelling, freezing and thawing, and finding what is due.

The ``timer`` table is the truth. A timer is armed when its state is entered
and cancelled when the state is left; pause freezes it with its remaining
time and resume re-arms it with that time. Firing is claimed by a guarded
status update, so two workers can never fire one timer twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping, Optional

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from engine.clock import add_local, from_db, parse_when, require_utc, zone
from engine.definition import TimerSpec, Workflow
from engine.models import Timer
from engine.redact import scrub

LIVE = ("pending", "frozen")


def due_at(spec: TimerSpec, entered: datetime, data: Mapping, tz: str, settings: Mapping[str, str]) -> Optional[datetime]:
    """When ``spec`` falls due for a state entered at ``entered``; None if it cannot."""
    delta = spec.after if spec.after is not None else spec.before
    if spec.setting and settings.get(spec.setting):
        value = float(settings[spec.setting])
        delta = timedelta(minutes=value) if spec.unit == "minutes" else timedelta(days=value)
    if spec.business:
        return add_business_days(entered, delta.days, tz)
    if spec.after is not None:
        return add_local(entered, delta, tz)
    anchor = data.get(spec.fact or "")
    if not anchor:
        return None
    return add_local(parse_when(anchor), -delta, tz)


def add_business_days(start: datetime, count: int, tz: str) -> datetime:
    """``count`` weekdays after ``start`` at the same wall-clock time in ``tz`` (Saturday and Sunday
    are not counted; a start on a weekend counts from the Monday). Public holidays are not known."""
    local = require_utc(start).astimezone(zone(tz))
    day = local.date()
    left = count
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return add_local(start, timedelta(days=(day - local.date()).days), tz)


def arm(session: Session, wf: Workflow, process_id: int, state: str, data: Mapping, now: datetime,
        tz: str, settings: Mapping[str, str]) -> list[Timer]:
    """Arm the timers of ``state``; a reminder whose moment has already passed is not armed."""
    armed = []
    for spec in wf.timers:
        if spec.state != state:
            continue
        when = due_at(spec, now, data, tz, settings)
        if when is None or (spec.before is not None and when <= now):
            continue
        timer = Timer(process_id=process_id, name=spec.name, event=spec.event, due_at=when, created_at=now)
        session.add(timer)
        armed.append(timer)
    session.flush()
    return armed


def cancel_all(session: Session, process_id: int, note: str) -> int:
    return session.execute(
        update(Timer).where(Timer.process_id == process_id, Timer.status.in_(LIVE))
        .values(status="cancelled", remaining_seconds=None, note=note)
        .execution_options(synchronize_session=False)
    ).rowcount


def freeze_all(session: Session, process_id: int, now: datetime) -> int:
    timers = session.execute(select(Timer).where(Timer.process_id == process_id, Timer.status == "pending")).scalars().all()
    for timer in timers:
        timer.remaining_seconds = max(0.0, (from_db(timer.due_at) - now).total_seconds())
        timer.status = "frozen"
    session.flush()
    return len(timers)


def thaw_all(session: Session, process_id: int, now: datetime) -> int:
    timers = session.execute(select(Timer).where(Timer.process_id == process_id, Timer.status == "frozen")).scalars().all()
    for timer in timers:
        timer.due_at = now + timedelta(seconds=timer.remaining_seconds or 0.0)
        timer.remaining_seconds = None
        timer.status = "pending"
    session.flush()
    return len(timers)


def claim(session: Session, timer_id: int, now: datetime) -> bool:
    """Mark one timer fired; False if another worker (or a withdrawal) got there first."""
    return session.execute(
        update(Timer).where(Timer.id == timer_id, Timer.status == "pending")
        .values(status="fired", fired_at=now).execution_options(synchronize_session=False)
    ).rowcount == 1


def refuse(session: Session, refused: list[tuple[int, Exception]]) -> None:
    """Cancel pending timers whose event could not apply, each with the reason."""
    if refused:
        t = Timer.__table__.c
        session.execute(update(Timer.__table__).where(t.id == bindparam("tid"), t.status == "pending")
                        .values(status="cancelled", note=bindparam("why")),
                        [{"tid": tid, "why": f"could not fire: {scrub(exc, limit=480)}"} for tid, exc in refused])


def due_rows(session: Session, now: datetime, limit: int, skip_locked: bool = False) -> list:
    """The due timers, oldest first, as rows (id, process_id, name, event, due_at, case_event_id)."""
    t = Timer.__table__.c
    query = (select(t.id, t.process_id, t.name, t.event, t.due_at, t.case_event_id)
             .where(t.status == "pending", t.due_at <= now).order_by(t.due_at, t.id).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query))


def next_due(session: Session, until: datetime) -> Optional[datetime]:
    value = session.execute(
        select(Timer.due_at).where(Timer.status == "pending", Timer.due_at <= until).order_by(Timer.due_at).limit(1)
    ).scalar()
    return from_db(value)


def for_process(session: Session, process_id: int) -> list[Timer]:
    return list(session.execute(select(Timer).where(Timer.process_id == process_id).order_by(Timer.due_at, Timer.id)).scalars())


def schedule(session: Session, process_id: int, name: str, event: str, due: datetime, now: datetime,
             case_event_id: Optional[int] = None) -> Timer:
    """A one-off timer not tied to a state (an advance notice before a scheduled release)."""
    timer = Timer(process_id=process_id, name=name, event=event, due_at=due, created_at=now,
                  case_event_id=case_event_id)
    session.add(timer)
    session.flush()
    return timer


def cancel_for_case_event(session: Session, case_event_id: int, note: str) -> int:
    """Cancel the live timers armed for a case event (its advance notices)."""
    return session.execute(
        update(Timer).where(Timer.case_event_id == case_event_id, Timer.status.in_(LIVE))
        .values(status="cancelled", remaining_seconds=None, note=note)
        .execution_options(synchronize_session=False)
    ).rowcount


def count_for_case_event(session: Session, case_event_id: int) -> int:
    """How many live timers a case event armed (its advance notices still to come)."""
    from sqlalchemy import func

    return session.execute(select(func.count()).where(
        Timer.case_event_id == case_event_id, Timer.status.in_(LIVE))).scalar_one()
