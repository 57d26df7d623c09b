"""Custody and supervision events on a case, and their fan-out to processes.

Recording an event applies, as the system, the step each listening workflow
declares for that type to every live process of it on the case (for
notification: every registration), and arms advance notices for events in
the future. Everything happens in the caller's transaction.

Two defences against what went wrong in real systems:
- the mass-change guard: when the notices of a burst would reach more
  registrants within the window than the threshold, they are held for a
  victim-services review instead of going out (Oregon, 2015: ~8,000 false
  "released" alerts);
- corrections: correcting or cancelling an event cancels what has not gone
  out, and sends a correction to everyone who got the original.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import func, select, update
from sqlmodel import Session

from engine import audit, outbox, records, runtime, timers
from engine import settings as settings_mod
from engine.clock import add_local, describe, from_db, parse_when, require_utc
from engine.crypto import Vault
from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.models import CaseEvent, Notice, Process
from engine.permissions import SYSTEM, Actor, require
from engine.registry import Registry

SENT = ("sending", "sent", "confirmed", "mailed", "delivered")  # a letter has gone out once it is mailed
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of our clock a reported fact may be dated (a clock running slow)
FAN_OUT_TRIES = 5


def event_types(registry: Registry) -> list[str]:
    """The types a case event may have: what the newest definitions listen for."""
    return sorted({t for name in registry.names() for t in registry.latest(name).workflow.listens})


def moment(value: datetime | str, tz_name: str, what: str = "--at") -> datetime:
    """A time given by a caller: an aware datetime, or text a person typed, read in ``tz_name``."""
    return require_utc(value, what) if isinstance(value, datetime) else parse_when(value, tz_name, what)


def scheduled_types(registry: Registry) -> frozenset[str]:
    """Types that announce something to come (a release date, a hearing): the ones with advance notices.
    Every other type reports a fact, which cannot lie in the future."""
    return frozenset(t for name in registry.names() for t in registry.latest(name).workflow.advance)


def _check_when(registry: Registry, type_: str, at: datetime, now: datetime, tz_name: str) -> None:
    if type_ not in scheduled_types(registry) and at > now + CLOCK_SKEW:
        raise InvalidInput(f"{type_} reports what has happened, so --at cannot be in the future "
                           f"({describe(at, tz_name)} is after now, {describe(now, tz_name)}); "
                           f"record it when it happens")


def record(session: Session, vault: Vault, registry: Registry, actor: Actor, *, case_number: str, type_: str,
           at: datetime | str, details: str, now: datetime) -> dict[str, Any]:
    """Record an event and tell everyone registered for it; returns a summary. ``at`` typed by a
    person is read in the case's zone."""
    require(actor, "event.record")
    if type_ not in event_types(registry):
        raise InvalidInput(f"unknown event type {type_!r}; use one of: {', '.join(event_types(registry))}")
    records.plain_text(details, "the details", 2000, lines=True)
    case = records.case_by_number(session, case_number)
    at = moment(at, case.time_zone)
    _check_when(registry, type_, at, now, case.time_zone)
    event = CaseEvent(case_id=case.id, type=type_, at=at, details=details.strip(),
                      recorded_by=actor.login, recorded_at=now)
    session.add(event)
    session.flush()
    audit.append(session, at=now, actor=actor, action="case_event.record", case_id=case.id,
                 detail={"case_event": event.id, "type": type_, "at": event.at.isoformat()})
    return {**_fan_out(session, vault, registry, event, now), "at": describe(at, case.time_zone)}


def _fan_out(session: Session, vault: Vault, registry: Registry, event: CaseEvent, now: datetime,
             corrected: frozenset[int] = frozenset()) -> dict[str, Any]:
    """Apply the event to every live listening process; those in ``corrected`` got an
    earlier version of it and are sent the correction step instead."""
    policy = settings_mod.load(session, registry)
    notified, advance = 0, 0
    for name in registry.names():
        for process in _live(session, event.case_id, name):
            wf = registry.get(process.workflow, process.workflow_version).workflow  # the rules it started under
            step_event = wf.listens.get(event.type)
            if not step_event:
                continue
            step = "notify_correction" if process.id in corrected else step_event
            out = _apply_retrying(session, vault, registry, process, step, event.id, now)
            if out is None:  # not registered for this type, or paused: nothing to tell
                continue
            notified += 1 if out.notices else 0
            advance += _arm_advance(session, wf, process, event, now, policy)
    held = _mass_guard(session, event, now, policy, emergency=event.type in _emergencies(registry))
    return {"case_event": event.id, "type": event.type, "registrants_notified": notified,
            "advance_notices_armed": advance, "held_for_review": held}


def _apply_retrying(session: Session, vault: Vault, registry: Registry, process: Process, step: str,
                    case_event_id: int, now: datetime):
    """Apply a fan-out step as the system; None if the process does not take it now.

    A registrant or an advocate may change the registration at this very moment (its version moves
    on): that is the engine's own race, never the officer's, so the step is tried again on the
    process as it now is, a bounded number of times, each try in a savepoint."""
    for attempt in range(FAN_OUT_TRIES):
        try:
            with session.begin_nested():
                return runtime.apply(session, vault, registry, process_id=process.id, event=step, actor=SYSTEM,
                                     now=now, case_event_id=case_event_id)
        except NotAllowed:
            return None
        except Conflict:
            if attempt == FAN_OUT_TRIES - 1:
                raise
            session.expire(process)
            session.refresh(process)
    return None


def _live(session: Session, case_id: int, workflow: str) -> list[Process]:
    return list(session.execute(select(Process).where(
        Process.case_id == case_id, Process.workflow == workflow, Process.terminal.is_(False))
        .order_by(Process.id)).scalars())


def _arm_advance(session, wf, process: Process, event: CaseEvent, now: datetime, policy) -> int:
    step_event = wf.advance.get(event.type)
    if not step_event:
        return 0
    case = records.case_by_id(session, process.case_id)
    armed = 0
    for days in [int(d) for d in policy[wf.advance_days_setting].split(",") if d.strip()]:
        due = add_local(from_db(event.at), -timedelta(days=days), case.time_zone)
        if due > now:
            timers.schedule(session, process.id, f"advance-{event.id}-{days}d", step_event, due, now,
                            case_event_id=event.id)
            armed += 1
    return armed


def _emergencies(registry: Registry) -> frozenset[str]:
    return frozenset(t for name in registry.names() for t in registry.latest(name).workflow.emergencies)


def _mass_guard(session: Session, event: CaseEvent, now: datetime, policy, emergency: bool) -> int:
    """Hold this event's notices when the window's registrants exceed the threshold."""
    if emergency and policy.get("notification.mass_guard_emergencies", "exempt") == "exempt":
        return 0
    threshold = int(policy.get("notification.mass_threshold", "50"))
    window = timedelta(minutes=int(policy.get("notification.mass_window_minutes", "60")))
    recent = session.execute(
        select(func.count(func.distinct(Notice.recipient_party_id))).where(
            Notice.case_event_id.is_not(None), Notice.created_at >= now - window, Notice.status != "cancelled")
    ).scalar_one()
    if recent <= threshold:
        return 0
    reason = (f"mass-change guard: {recent} registrants in {int(window.total_seconds() // 60)} min exceeds "
              f"{threshold}; review with `vcase notices held`")
    held = session.execute(
        update(Notice).where(Notice.case_event_id == event.id, Notice.status == "queued")
        .values(status="held", status_reason=reason).execution_options(synchronize_session=False)
    ).rowcount
    if held:
        event.review = "held"  # what it armed (advance notices) is held with it when it fires (outbox.held_reason)
        session.add(event)
    return held


def correct(session: Session, vault: Vault, registry: Registry, actor: Actor, *, case_event_id: int,
            now: datetime, at: Optional[datetime] = None, details: Optional[str] = None,
            cancel: bool = False) -> dict[str, Any]:
    """Correct (new time or details) or cancel an event; everyone who got it is told."""
    require(actor, "event.record")
    original = session.get(CaseEvent, case_event_id)
    if original is None:
        raise NotFound(f"no case event {case_event_id}; `vcase event list CASE` shows them")
    if original.status != "recorded":
        raise NotAllowed(f"case event {case_event_id} was already {original.status}; correct the newest version")
    if not cancel and at is None and details is None:
        raise InvalidInput("give --at and/or --details for a correction, or --cancel")
    case = records.case_by_id(session, original.case_id)
    if at is not None:
        at = moment(at, case.time_zone)  # typed by a person: the case's zone, as when it was recorded
        _check_when(registry, original.type, at, now, case.time_zone)
    original.status = "cancelled" if cancel else "corrected"
    session.add(original)
    received = _recipients_of(session, original.id)
    unsent = outbox.cancel_for_case_event(session, original.id, "event corrected or cancelled")
    timers.cancel_for_case_event(session, original.id, "event corrected or cancelled")
    current = original
    if not cancel:
        current = CaseEvent(case_id=original.case_id, type=original.type,
                            at=at if at is not None else from_db(original.at),
                            details=details.strip() if details is not None else original.details,
                            corrects_id=original.id, recorded_by=actor.login, recorded_at=now)
        session.add(current)
        session.flush()
    audit.append(session, at=now, actor=actor, action="case_event.cancel" if cancel else "case_event.correct",
                 case_id=original.case_id, detail={"case_event": original.id, "replaced_by": None if cancel else current.id})
    summary = {"case_event": current.id, "status": original.status, "unsent_cancelled": unsent,
               "at": describe(from_db(current.at), case.time_zone)}
    if cancel:
        corrections = 0
        for process_id in sorted(received):
            process = session.get(Process, process_id)
            if _apply_retrying(session, vault, registry, process, "notify_correction", current.id, now) is not None:
                corrections += 1  # otherwise the registration ended: it hears nothing more
        summary["corrections_sent"] = corrections
        return summary
    summary.update(_fan_out(session, vault, registry, current, now, corrected=frozenset(received)))
    summary["corrections_sent"] = len(_recipients_of_corrections(session, current.id))
    return summary


def _recipients_of_corrections(session: Session, case_event_id: int) -> set[int]:
    rows = session.execute(select(Notice.process_id).where(
        Notice.case_event_id == case_event_id, Notice.template.like("%/correction"))).scalars()
    return set(rows)


def _recipients_of(session: Session, case_event_id: int) -> set[int]:
    """Processes whose notice about the event has gone out (or may have)."""
    rows = session.execute(select(Notice.process_id).where(
        Notice.case_event_id == case_event_id, Notice.status.in_(SENT))).scalars()
    return {r for r in rows if r is not None}


def list_events(session: Session, actor: Actor, case_number: str) -> list[dict[str, Any]]:
    require(actor, "event.list")
    case = records.case_by_number(session, case_number)
    rows = session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id))
    return [{"id": e.id, "type": e.type, "at": from_db(e.at).isoformat(), "details": e.details, "status": e.status,
             "corrects": e.corrects_id, "recorded_by": e.recorded_by} for (e,) in rows]
