"""Operations for victim notification: registrations, case events, notices, delivery.

Each function takes the ``App`` and is one transaction, like the methods of
``engine.api.App`` (kept in their own module to keep each small).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select

from engine import delivery, outbox, records
from services import case_events
from services import review as review_mod
from engine import settings as settings_mod
from engine.clock import from_db
from engine.errors import NotFound
from engine.models import Notice
from engine.permissions import require
from engine.redact import scrub


def register(app, case_number: str, for_party: int, events: str, via: Optional[str] = None,
             while_paused: Optional[str] = None) -> dict[str, Any]:
    """``while_paused``: "send" (the default) or "hold": whether emergencies go out during a pause."""
    params = {"events": events, **({"emergencies_while_paused": while_paused} if while_paused else {})}
    return app.start(case_number, "notification", for_party, via, params)


def record_event(app, case_number: str, type_: str, at: datetime | str, details: str = "") -> dict[str, Any]:
    """``at``: an aware datetime, or the time as typed, read in the case's zone. An officer recording an
    escape is never refused for a race the engine itself had (``Store.write_retrying``)."""
    now = app.now()
    return app.store.write_retrying(lambda s: case_events.record(
        s, app.store.vault, app.registry, app._actor(s), case_number=case_number, type_=type_, at=at,
        details=details, now=now))


def correct_event(app, case_event_id: int, at: datetime | str | None = None, details: Optional[str] = None,
                  cancel: bool = False) -> dict[str, Any]:
    now = app.now()
    return app.store.write_retrying(lambda s: case_events.correct(
        s, app.store.vault, app.registry, app._actor(s), case_event_id=case_event_id, now=now, at=at,
        details=details, cancel=cancel))


def list_events(app, case_number: str) -> list[dict[str, Any]]:
    with app.store.read() as s:
        return case_events.list_events(s, app._actor(s), case_number)


def _row(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "case_id": n.case_id, "process": n.process_id, "template": n.template, "audience": n.audience,
            "channel": n.channel, "language": n.language, "status": n.status, "reason": scrub(n.status_reason) if n.status_reason else None,  # older rows kept raw server replies
            "emergency": n.emergency, "not_before": from_db(n.not_before).isoformat(), "attempts": n.attempts,
            "sent_at": from_db(n.sent_at).isoformat() if n.sent_at else None, "message_id": n.message_id,
            "case_event": n.case_event_id, "fallback_of": n.fallback_of,
            "recipient": f"party {n.recipient_party_id}" if n.recipient_party_id else f"staff {n.recipient_staff_id}"}


def list_notices(app, case_number: Optional[str] = None, status: Optional[str] = None,
                 process_id: Optional[int] = None, limit: int = 200) -> list[dict[str, Any]]:
    with app.store.read() as s:
        require(app._actor(s), "notice.read")
        query = select(Notice).order_by(Notice.id.desc()).limit(limit)
        if case_number:
            query = query.where(Notice.case_id == records.case_by_number(s, case_number).id)
        if status:
            query = query.where(Notice.status == status)
        if process_id:
            query = query.where(Notice.process_id == process_id)
        return [_row(n) for n in s.execute(query).scalars()]


def show_notice(app, notice_id: int) -> dict[str, Any]:
    with app.store.read() as s:
        require(app._actor(s), "notice.read")
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotFound(f"no notice {notice_id}; `vcase notices list` shows them")
        from engine.mailroom import mail_record

        return {**_row(notice), **mail_record(s, app.store.vault, notice),
                "subject": app.store.vault.decrypt(notice.subject_enc), "body": app.store.vault.decrypt(notice.body_enc)}


def confirm(app, notice_id: int) -> dict[str, Any]:
    with app.store.write() as s:
        return _row(delivery.confirm(s, app._actor(s), notice_id, app.now()))


def review_held(app, notice_ids: list[int], release: bool, reason: Optional[str] = None) -> int:
    """Release or discard held notices by id (widened to the whole events they belong to)."""
    return review(app, review_mod.Selection(ids=tuple(notice_ids)), release, reason)["notices"]


def _zoned(s, app, selection: "review_mod.Selection") -> "review_mod.Selection":
    """The selection with the agency's zone, in which a typed --since without a case is read."""
    zone = settings_mod.load(s, app.registry).get("agency.time_zone", "UTC")
    return dataclasses.replace(selection, agency_zone=zone)


def held(app, selection: "review_mod.Selection", limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """A page of held notices and the total."""
    with app.store.read() as s:
        rows, total = review_mod.list_held(s, app._actor(s), _zoned(s, app, selection), limit, offset)
        return {"notices": [_row(n) for n in rows], "total": total, "offset": offset}


def held_events(app, selection: "review_mod.Selection") -> list[dict[str, Any]]:
    with app.store.read() as s:
        return review_mod.held_events(s, app._actor(s), _zoned(s, app, selection))


def review_plan(app, selection: "review_mod.Selection") -> dict[str, Any]:
    """What a review would touch (whole events), to show before asking."""
    with app.store.read() as s:
        return review_mod.plan(s, app._actor(s), _zoned(s, app, selection))


def review(app, selection: "review_mod.Selection", release: bool, reason: Optional[str] = None,
           expected_notices: Optional[int] = None) -> dict[str, Any]:
    with app.store.write() as s:
        return review_mod.decide(s, app._actor(s), _zoned(s, app, selection), app.now(), settings_mod.load(s, app.registry),
                                 release, reason, expected_notices)


def preview(app, template: str, party_id: int, channel: str, at: Optional[str] = None) -> dict[str, str]:
    with app.store.read() as s:
        require(app._actor(s), "notice.read")
        return outbox.preview(s, app.store.vault, template, party_id, channel, app.now(),
                              settings_mod.load(s, app.registry), at)


def deliver(app, batch: int = 50, worker: str = "", progress=None, via=None) -> delivery.DeliveryResult:
    """Send everything due now (the scheduler's delivery pass, ``engine.delivery.deliver_pass``)."""
    return delivery.deliver_pass(app, batch, worker, progress, via)


__all__ = ["register", "record_event", "correct_event", "list_events", "list_notices", "show_notice", "confirm",
           "review_held", "held", "held_events", "review_plan", "review", "preview", "deliver"]
