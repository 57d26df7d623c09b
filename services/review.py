"""Reviewing what the mass-change guard held, as events and in bulk.

When a burst of case events would notify more registrants than the
threshold, each event past it is held for review (``case_event.review =
'held'``) with its notices. Whatever the event causes later (the advance
notices its timers queue) is held with it (``outbox.held_reason``), so
nothing the event set in motion reaches anyone unreviewed.

A review decides whole events: releasing an event lets all its held notices
go (outside quiet hours); discarding it cancels its notices and the timers it
armed, and marks it cancelled, since it did not happen. A selection by notice
ids is widened to the events those notices belong to, and the count a person
confirmed must still be the count when the change is made (another reviewer
may have acted in between).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional, Sequence

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from engine import audit, records, timers
from engine.clock import from_db, parse_when, require_utc
from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.models import CaseEvent, Notice
from engine.outbox import recipient_zone, send_time
from engine.permissions import Actor, require


@dataclass(frozen=True)
class Selection:
    """Which held notices a review is about; at least one filter, or ``everything``."""
    ids: Sequence[int] = ()
    case_number: Optional[str] = None
    event_id: Optional[int] = None
    event_type: Optional[str] = None
    since: Optional[datetime | str] = None  # as typed: read in the case's zone, else in ``agency_zone``
    everything: bool = False
    agency_zone: str = "UTC"

    @property
    def empty(self) -> bool:
        return not (self.ids or self.case_number or self.event_id or self.event_type or self.since or self.everything)


def _held_query(session: Session, selection: Selection):
    query = (select(Notice).outerjoin(CaseEvent, Notice.case_event_id == CaseEvent.id)
             .where(Notice.status == "held"))
    if selection.ids:
        query = query.where(Notice.id.in_(list(selection.ids)))
    if selection.case_number:
        query = query.where(Notice.case_id == records.case_by_number(session, selection.case_number).id)
    if selection.event_id:
        query = query.where(Notice.case_event_id == selection.event_id)
    if selection.event_type:
        query = query.where(CaseEvent.type == selection.event_type)
    if selection.since:
        query = query.where(Notice.created_at >= _since(session, selection))
    return query


def _since(session: Session, selection: Selection) -> datetime:
    if isinstance(selection.since, datetime):
        return require_utc(selection.since, "--since")
    tz = records.case_by_number(session, selection.case_number).time_zone if selection.case_number else selection.agency_zone
    return parse_when(selection.since, tz, "--since")


def list_held(session: Session, actor: Actor, selection: Selection, limit: int, offset: int = 0
              ) -> tuple[list[Notice], int]:
    """A page of held notices matching ``selection`` (all held ones if it is empty), and the total."""
    require(actor, "notice.read")
    query = _held_query(session, selection)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page = session.execute(query.order_by(Notice.case_event_id, Notice.id).limit(limit).offset(offset)).scalars()
    return list(page), total


def held_events(session: Session, actor: Actor, selection: Selection) -> list[dict[str, Any]]:
    """The held events in ``selection``, one row each: what a reviewer decides on."""
    require(actor, "notice.read")
    sub = _held_query(session, selection).subquery()
    rows = session.execute(
        select(sub.c.case_event_id, func.count(), func.min(sub.c.created_at))
        .group_by(sub.c.case_event_id).order_by(sub.c.case_event_id)).all()
    out = []
    for event_id, count, first in rows:
        event = session.get(CaseEvent, event_id) if event_id is not None else None
        out.append({
            "case_event": event_id, "type": event.type if event else None,
            "case": records.case_by_id(session, event.case_id).case_number if event else None,
            "at": from_db(event.at).isoformat() if event else None, "held_notices": count,
            "advance_notices_armed": timers.count_for_case_event(session, event_id) if event_id else 0,
            "held_since": from_db(first).isoformat()})
    return out


def plan(session: Session, actor: Actor, selection: Selection) -> dict[str, Any]:
    """What a review of ``selection`` would touch, widened to whole events: shown before asking."""
    require(actor, "notice.review")
    if selection.empty:
        raise InvalidInput("say which held notices: notice ids, --case, --event, --type, --since, or --all")
    notices = session.execute(_held_query(session, selection)).scalars().all()
    event_ids = sorted({n.case_event_id for n in notices if n.case_event_id is not None})
    loose = sorted(n.id for n in notices if n.case_event_id is None)
    widened = session.execute(select(Notice.id).where(
        Notice.status == "held", or_(Notice.case_event_id.in_(event_ids), Notice.id.in_(loose)))).scalars().all()
    armed = sum(timers.count_for_case_event(session, e) for e in event_ids)
    missing = sorted(set(selection.ids) - {n.id for n in notices})
    if missing:
        raise NotAllowed(f"notice {missing[0]} is not held; `vcase notices held` lists the held ones")
    return {"events": event_ids, "notices": len(widened), "loose_notices": loose, "advance_notices_armed": armed,
            "cases": len({n.case_id for n in notices})}


def decide(session: Session, actor: Actor, selection: Selection, now: datetime, settings: Mapping[str, str],
           release: bool, reason: Optional[str], expected_notices: Optional[int] = None) -> dict[str, Any]:
    """Release or discard what ``selection`` names, as whole events; ``expected_notices`` is the
    count the person confirmed (refused, with nothing written, if it changed since)."""
    require(actor, "notice.review")
    if not release and not (reason or "").strip():
        raise InvalidInput("discarding needs --reason (it is kept on record)")
    if reason:
        records.plain_text(reason, "the reason", 500)
    scope = plan(session, actor, selection)
    if expected_notices is not None and scope["notices"] != expected_notices:
        raise Conflict(f"the held notices changed while you were deciding ({expected_notices} then, "
                       f"{scope['notices']} now); nothing was written: look again with `vcase notices held`")
    if scope["notices"] == 0:
        raise NotAllowed("no held notices match; `vcase notices held` lists the held ones")
    cancelled_timers = 0
    for event_id in scope["events"]:
        event = session.get(CaseEvent, event_id, with_for_update=True)
        changed = _release(session, event_id, None, now, settings) if release else _discard(
            session, event_id, None, actor, reason)
        if not release:
            cancelled_timers += timers.cancel_for_case_event(session, event_id, f"discarded in review: {reason}")
            if event.status == "recorded":
                event.status = "cancelled"
        event.review = "released" if release else "discarded"
        session.add(event)
        audit.append(session, at=now, actor=actor, action="case_event.release" if release else "case_event.discard",
                     case_id=event.case_id, detail={"case_event": event_id, "notices": changed, "reason": reason,
                                                    "timers_cancelled": None if release else cancelled_timers})
    for notice_id in scope["loose_notices"]:
        notice = session.get(Notice, notice_id)
        _release(session, None, notice_id, now, settings) if release else _discard(session, None, notice_id, actor, reason)
        audit.append(session, at=now, actor=actor, action="notice.release" if release else "notice.discard",
                     case_id=notice.case_id, process_id=notice.process_id, detail={"notice": notice_id, "reason": reason})
    session.flush()
    return {"events": len(scope["events"]), "notices": scope["notices"], "timers_cancelled": cancelled_timers}


def _targets(session: Session, event_id: Optional[int], notice_id: Optional[int]):
    where = Notice.case_event_id == event_id if event_id is not None else Notice.id == notice_id
    return select(Notice).where(where, Notice.status == "held")


def _release(session: Session, event_id, notice_id, now: datetime, settings) -> int:
    count = 0
    for notice in list(session.execute(_targets(session, event_id, notice_id)).scalars()):
        wake = send_time(max(from_db(notice.not_before), now), notice.emergency, recipient_zone(session, notice),
                         settings)
        notice.status, notice.status_reason, notice.not_before = "queued", None, wake
        session.add(notice)
        count += 1
    return count


def _discard(session: Session, event_id, notice_id, actor: Actor, reason: Optional[str]) -> int:
    where = Notice.case_event_id == event_id if event_id is not None else Notice.id == notice_id
    statuses = ("held", "queued") if event_id is not None else ("held",)  # an event's queued ones go with it
    return session.execute(
        update(Notice).where(where, Notice.status.in_(statuses))
        .values(status="cancelled", status_reason=f"discarded in review by {actor.login}: {reason}"[:500])
        .execution_options(synchronize_session=False)).rowcount
