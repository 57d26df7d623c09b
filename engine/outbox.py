"""Queueing notices in the caller's transaction (the transactional outbox).

A notice is rendered when it is queued, so a template error fails the event
that caused it instead of reaching a person as raw text. The subject and
body are stored encrypted. Quiet hours move a routine notice's ``not_before``
to the next morning in the recipient's zone; emergencies go at once on every
channel the recipient chose.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Iterable, Mapping, Optional

from sqlalchemy import update
from sqlmodel import Session

from engine.clock import UTC, parse_when, zone
from engine.crypto import Vault
from engine.definition import Notify
from engine.errors import InvalidInput
from engine.models import Case, Notice, Party, Process, Staff
from engine.records import offender_party, staff_by_login

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
        wake = wake.replace(tzinfo=zone(tz_name))
    return wake.astimezone(UTC)


def _party_channels(vault: Vault, party: Party, emergency: bool) -> list[str]:
    chosen = [c for c in party.channels.split(",") if c] or ["letter"]
    reachable = [c for c in chosen if c == "letter" or (c == "email" and party.email_enc) or (c == "sms" and party.phone_enc)]
    return reachable if emergency else reachable[:1]


def _recipients(session: Session, vault: Vault, spec: Notify, process: Process, case: Case) -> list[tuple[Any, str, str, list[str]]]:
    """(row, name, language, channels) for each recipient of ``spec``."""
    kind = spec.to.kind
    if kind == "initiator":
        party = session.get(Party, process.initiator_party_id) if process.initiator_party_id else None
        parties = [party] if party else []
        return [(p, vault.decrypt(p.name_enc), p.language, _party_channels(vault, p, spec.emergency)) for p in parties]
    if kind == "offender":
        p = offender_party(session, case.id)
        return [(p, case.supervised_person, p.language, ["letter"])]
    if kind == "officer":
        staff = [session.get(Staff, case.officer_id)]
    else:
        login = (process.data or {}).get(spec.to.fact or "")
        staff = [staff_by_login(session, login)] if login else []
    return [(s, s.display_name, "en", ["email" if s.email else "letter"]) for s in staff]


def queue(
    session: Session, vault: Vault, specs: Iterable[Notify], *, process: Process, case: Case, cause: str,
    now: datetime, settings: Mapping[str, str], appointment: Optional[str] = None,
) -> list[Notice]:
    from notices import contexts, render

    queued = []
    for index, spec in enumerate(specs):
        for row, name, language, channels in _recipients(session, vault, spec, process, case):
            audience = spec.to.audience
            tz = getattr(row, "time_zone", None) or case.time_zone
            moment = parse_when(appointment) if appointment else None
            values = dict(
                recipient_name=name, case_number=case.case_number, agency_name=settings["agency.name"],
                agency_phone=settings["agency.phone"], sent_on=contexts.format_moment(now, language, tz),
                appointment=contexts.format_moment(moment, language, tz),
                process_ref=f"{process.workflow} #{process.id}", state=process.state,
            )
            wanted = contexts.field_names(audience)
            context = contexts.CONTEXTS[audience](**{k: v for k, v in values.items() if k in wanted})
            for channel in channels:
                path = render.path_for(language, process.workflow, f"{audience}/{spec.template}", channel)
                rendered = render.render(path, contexts.as_dict(context))
                not_before = now if spec.emergency else quiet_until(
                    now, tz, settings["notices.quiet_start"], settings["notices.quiet_end"])
                is_party = isinstance(row, Party)
                notice = Notice(
                    idempotency_key=f"{cause}/{index}/{'p' if is_party else 's'}{row.id}/{channel}",
                    case_id=case.id, process_id=process.id,
                    recipient_party_id=row.id if is_party else None, recipient_staff_id=None if is_party else row.id,
                    audience=audience, template=f"{process.workflow}/{audience}/{spec.template}", language=language,
                    channel=channel, emergency=spec.emergency, subject_enc=vault.encrypt(rendered.subject),
                    body_enc=vault.encrypt(rendered.body), not_before=not_before, created_at=now,
                )
                session.add(notice)
                queued.append(notice)
    session.flush()
    return queued


def cancel_unsent(session: Session, process_id: int, reason: str) -> int:
    """Cancel every notice of a process that has not gone out yet."""
    if not reason:
        raise InvalidInput("a cancellation needs a reason")
    return session.execute(
        update(Notice).where(Notice.process_id == process_id, Notice.status.in_(UNSENT + ("sending",)))
        .values(status="cancelled", status_reason=reason).execution_options(synchronize_session=False)
    ).rowcount
