"""Queueing notices in the caller's transaction (the transactional outbox).

A notice is rendered when it is queued, so a template error fails the event
that caused it instead of reaching a person as raw text. The subject and
body are stored encrypted. Quiet hours move a routine notice's ``not_before``
to the next morning in the recipient's zone; emergencies go at once on every
channel the recipient chose. The context a template sees is built for its
audience only (``notices.contexts``). ``rows()`` renders an event's notices
without writing; ``insert()`` writes many in one statement, so a scheduler
batch queues all its notices at once.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any, Iterable, Mapping, Optional

from sqlalchemy import insert as insert_stmt, update
from sqlmodel import Session

from engine.clock import UTC, describe, from_db, parse_when, zone
from engine.crypto import Vault
from engine.definition import PAUSED, Notify
from engine.errors import InvalidInput, NotFound
from engine.models import Case, CaseEvent, Notice, Party, Process, Staff
from engine.records import offender_party, reached_through, staff_by_login, subscribed

UNSENT = ("queued", "held")


def quiet_until(now: datetime, tz_name: str, start: str, end: str) -> datetime:
    """``now`` if outside quiet hours in ``tz_name``, else the end of them (UTC)."""
    local = now.astimezone(zone(tz_name))
    q_start, q_end = time.fromisoformat(start), time.fromisoformat(end)
    t = local.time()
    inside = (q_start <= t or t < q_end) if q_start > q_end else (q_start <= t < q_end)
    if not inside:
        return now
    wake = local.replace(hour=q_end.hour, minute=q_end.minute, second=0, microsecond=0)
    if wake <= local:
        wake = (local + timedelta(days=1)).replace(hour=q_end.hour, minute=q_end.minute, second=0, microsecond=0)
    return wake.astimezone(UTC)


def send_time(when: datetime, emergency: bool, tz_name: str, settings: Mapping[str, str]) -> datetime:
    """The earliest moment a notice may go out at or after ``when``: emergencies at once, anything else
    outside the recipient's quiet hours. Every path that sets or moves a delivery time (queueing, a
    retry, a release from review, a fallback) and the moment of sending itself go through here."""
    if emergency:
        return when
    return quiet_until(when, tz_name, settings["notices.quiet_start"], settings["notices.quiet_end"])


def recipient_zone(session: Session, notice: Notice) -> str:
    """The time zone quiet hours are read in for a stored notice: the party's own, else the case's."""
    case = session.get(Case, notice.case_id)
    if notice.recipient_party_id:
        party = session.get(Party, notice.recipient_party_id)
        return _where(party, case)[1]
    return case.time_zone


def _party_channels(party: Party, emergency: bool) -> list[str]:
    chosen = [c for c in party.channels.split(",") if c] or ["letter"]
    reachable = [c for c in chosen if c == "letter" or (c == "email" and party.email_enc) or (c == "sms" and party.phone_enc)]
    return (reachable if emergency else reachable[:1]) or ["letter"]


def _recipients(session: Session, vault: Vault, spec: Notify, process: Process, case: Case) -> list[tuple[Any, list[str]]]:
    """(party or staff row, channels) for each recipient of ``spec``."""
    kind = spec.to.kind
    if kind == "initiator":
        party = session.get(Party, process.initiator_party_id) if process.initiator_party_id else None
        if party is None:
            return []
        # A minor or deceased victim is reached through their guardian or next of kin, never directly.
        reached = reached_through(session, case.id, party.id) if party.is_minor or party.is_deceased else [party]
        return [(p, _party_channels(p, spec.emergency)) for p in reached]
    if kind == "offender":
        return [(offender_party(session, case.id), ["letter"])]
    if kind == "party_fact":
        parties = reached_through(session, case.id, (process.data or {}).get(spec.to.fact or ""))
        if spec.to.registration:
            parties = [p for p in parties if subscribed(session, case.id, p.id, spec.to.registration)]
        return [(p, _party_channels(p, spec.emergency)) for p in parties]
    if kind == "officer":
        staff = [session.get(Staff, case.officer_id)]
    else:
        login = (process.data or {}).get(spec.to.fact or "")
        staff = [staff_by_login(session, login)] if login else []
    return [(s, ["email" if s.email else "letter"]) for s in staff]


def _who(vault: Vault, row: Any, case: Case) -> tuple[str, str, str]:
    """(name, language, time zone) of a recipient."""
    if isinstance(row, Party):
        name = case.supervised_person if row.kind == "supervised_person" else vault.decrypt(row.name_enc)
        return (name, *_where(row, case))
    return (row.display_name, *_where(row, case))


def _where(row: Any, case: Case) -> tuple[str, str]:
    """(language, time zone) of a recipient."""
    if isinstance(row, Party):
        return row.language, row.time_zone or case.time_zone
    return "en", case.time_zone


def build_context(vault: Vault, audience: str, row: Any, case: Case, process: Optional[Process],
                  event: Optional[CaseEvent], previous: Optional[CaseEvent], now: datetime,
                  settings: Mapping[str, str], appointment: Optional[datetime], items=()):
    """The audience's context type, filled with only the fields it has."""
    from notices import contexts

    name, language, tz = _who(vault, row, case)
    moment = from_db(event.at) if event is not None else appointment
    values = dict(
        recipient_name=name, case_number=case.case_number, agency_name=settings["agency.name"],
        agency_phone=settings["agency.phone"], sent_on=contexts.format_moment(now, language, tz),
        appointment=contexts.format_moment(moment, language, tz),
        process_ref=f"{process.workflow} #{process.id}" if process else "", state=process.state if process else "",
        details=event.details if event else "",
        previous=contexts.format_moment(from_db(previous.at), language, tz) if previous else "",
        items=contexts.codes(items),
    )
    wanted = contexts.field_names(audience)
    return contexts.CONTEXTS[audience](**{k: v for k, v in values.items() if k in wanted})


def _row(vault: Vault, *, key: str, template: str, audience: str, row: Any, case: Any, process: Any, channel: str,
         context, emergency: bool, now: datetime, settings: Mapping[str, str], case_event_id: Optional[int],
         fallback_of: Optional[int] = None, survives_withdrawal: bool = False, through_pause: bool = False,
         held: Optional[str] = None) -> dict[str, Any]:
    """One notice, rendered and encrypted, as the values of its row (``held``: the review it waits for)."""
    from notices import contexts, render

    language, tz = _where(row, case)
    values = contexts.as_dict(context)
    rendered = render.render(f"{language}/{template}.{channel}", values)
    is_party = isinstance(row, Party)
    return dict(
        idempotency_key=key, case_id=case.id, process_id=process.id if process is not None else None,
        recipient_party_id=row.id if is_party else None, recipient_staff_id=None if is_party else row.id,
        audience=audience, template=template, language=language, channel=channel, emergency=emergency,
        status="held" if held else "queued", status_reason=held, attempts=0,
        survives_withdrawal=survives_withdrawal, through_pause=through_pause,
        subject_enc=vault.encrypt(rendered.subject), body_enc=vault.encrypt(rendered.body),
        context_enc=vault.encrypt(json.dumps(values)),
        not_before=send_time(now, emergency, tz, settings),
        created_at=now, case_event_id=case_event_id, fallback_of=fallback_of,
    )


def held_reason(event: Optional[CaseEvent]) -> Optional[str]:
    """Why a notice about ``event`` must wait: the event is held for review by the mass-change guard."""
    if event is None or event.review != "held":
        return None
    return f"held with case event {event.id} for review (mass-change guard); `vcase notices held --event {event.id}`"


def insert(session: Session, rows: list[dict[str, Any]], ids: bool = True) -> list[int]:
    """Insert notice rows in one statement; their ids, in order (none if ``ids`` is False)."""
    if not rows:
        return []
    table = Notice.__table__
    if not ids:
        session.execute(insert_stmt(table), rows)
        return []
    result = session.execute(insert_stmt(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def rows(
    session: Session, vault: Vault, specs: Iterable[Notify], *, process: Any, case: Any, cause: str,
    now: datetime, settings: Mapping[str, str], appointment: Optional[str] = None,
    case_event_id: Optional[int] = None, survives_withdrawal: bool = False, emergencies_through_pause: bool = False,
) -> list[dict[str, Any]]:
    """The notices ``specs`` mean for ``process`` now, as rows to insert (nothing is written).

    Notices about a case event held for review are held with it. On a paused process they wait for
    resume, except emergencies when ``emergencies_through_pause``."""
    event = session.get(CaseEvent, case_event_id) if case_event_id else None
    previous = session.get(CaseEvent, event.corrects_id) if event and event.corrects_id else None
    moment = parse_when(appointment) if appointment else None
    held = held_reason(event)
    paused = process.state == PAUSED
    out = []
    for index, spec in enumerate(specs):
        if spec.if_fact and not (process.data or {}).get(spec.if_fact):
            continue
        for row, channels in _recipients(session, vault, spec, process, case):
            audience = spec.to.audience
            items = (process.data or {}).get(spec.items) if spec.items else ()
            context = build_context(vault, audience, row, case, process, event, previous, now, settings, moment, items)
            for channel in channels:
                who = f"{'p' if isinstance(row, Party) else 's'}{row.id}"
                out.append(_row(
                    vault, key=f"{cause}/{index}/{who}/{channel}",
                    template=f"{process.workflow}/{audience}/{spec.template}", audience=audience, row=row, case=case,
                    process=process, channel=channel, context=context, emergency=spec.emergency, now=now,
                    settings=settings, case_event_id=case_event_id, survives_withdrawal=survives_withdrawal,
                    through_pause=paused and spec.emergency and emergencies_through_pause, held=held))
    return out


def requeue_on_channel(session: Session, vault: Vault, notice: Notice, channel: str, now: datetime,
                       settings: Mapping[str, str]) -> Notice:
    """The same notice, rendered anew for another channel (a fallback) from the same inputs."""
    from notices import contexts

    case = session.get(Case, notice.case_id)
    process = session.get(Process, notice.process_id) if notice.process_id else None
    row = session.get(Party, notice.recipient_party_id) if notice.recipient_party_id else session.get(Staff, notice.recipient_staff_id)
    if notice.context_enc is not None:
        context = contexts.from_dict(notice.audience, json.loads(vault.decrypt(notice.context_enc)))
    else:  # a notice queued before revision 0002 kept no context
        event = session.get(CaseEvent, notice.case_event_id) if notice.case_event_id else None
        previous = session.get(CaseEvent, event.corrects_id) if event and event.corrects_id else None
        context = build_context(vault, notice.audience, row, case, process, event, previous, now, settings, None)
    fallback = _row(vault, key=f"{notice.idempotency_key}/fallback/{channel}", template=notice.template,
                    audience=notice.audience, row=row, case=case, process=process, channel=channel, context=context,
                    emergency=notice.emergency, now=now, settings=settings, case_event_id=notice.case_event_id,
                    fallback_of=notice.id, survives_withdrawal=notice.survives_withdrawal,
                    through_pause=notice.through_pause)
    return session.get(Notice, insert(session, [fallback])[0])


def preview(session: Session, vault: Vault, template: str, party_id: int, channel: str, now: datetime,
            settings: Mapping[str, str], at: Optional[str] = None) -> dict[str, str]:
    """Render ``<process>/<audience>/<name>`` for a party without queueing anything; ``at`` (the time
    the notice is about) is read in the party's zone, as the notice would show it."""
    from engine.errors import RenderError
    from notices import contexts, render

    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no party {party_id}; `vcase party list CASE` shows the parties of a case")
    parts = template.split("/")
    if len(parts) != 3 or parts[1] not in contexts.CONTEXTS:
        raise InvalidInput(f"a template is <process>/<audience>/<name>, e.g. notification/victim/released (got {template!r})")
    audience = parts[1]
    if (audience == "offender") != (party.side == "offender") or audience == "staff":
        raise InvalidInput(f"template {template} is for the {audience}; party {party_id} is on the {party.side} side")
    case = session.get(Case, party.case_id)
    tz = _where(party, case)[1]
    appointment = parse_when(at, tz, "--at") if at is not None else None
    context = build_context(vault, audience, party, case, None, None, None, now, settings, appointment)
    try:
        rendered = render.render(f"{party.language}/{template}.{channel}", contexts.as_dict(context))
    except RenderError as exc:
        if exc.field == "appointment":
            raise InvalidInput(f"{template} shows the time of what it is about: give --at "
                               f"(read in the recipient's zone, {tz})") from None
        if exc.field:
            raise InvalidInput(f"{template} needs a value for {exc.field}, which a preview does not have") from None
        raise
    out = {"template": template, "language": party.language, "channel": channel, "subject": rendered.subject,
           "body": rendered.body}
    if appointment is not None:
        out["at"] = describe(appointment, tz)
    return out


def cancel_unsent(session: Session, process_id: int, reason: str) -> int:
    """Cancel every notice of a process that has not gone out yet."""
    if not reason:
        raise InvalidInput("a cancellation needs a reason")
    return session.execute(
        update(Notice).where(Notice.process_id == process_id, Notice.status.in_(UNSENT + ("sending",)))
        .values(status="cancelled", status_reason=reason).execution_options(synchronize_session=False)
    ).rowcount


def cancel_for_case_event(session: Session, case_event_id: int, reason: str) -> int:
    """Cancel the notices about a case event that have not gone out."""
    return session.execute(
        update(Notice).where(Notice.case_event_id == case_event_id, Notice.status.in_(UNSENT))
        .values(status="cancelled", status_reason=reason).execution_options(synchronize_session=False)
    ).rowcount
