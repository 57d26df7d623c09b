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

from sqlalchemy import insert as insert_stmt, select, update
from sqlalchemy.orm import object_session
from sqlmodel import Session

from engine.bulk import execute_many
from engine.clock import UTC, describe, from_db, parse_when, zone
from engine.crypto import Vault
from engine.definition import PAUSED, WITHDRAWN, Notify, Sharing
from engine.errors import InvalidInput, NotFound
from engine.models import Case, CaseEvent, Document, Notice, Partner, PartnerContact, Party, Process, Staff
from engine.records import offender_party, reached_through, staff_by_login, subscribed

UNSENT = ("queued", "held")
# Letters the mail room has not handed to the post office: a withdrawal or a correction cancels them too
# (``vcase mailroom mailed`` then names the printed ones to pull from the batch).
NOT_MAILED = ("awaiting_print", "printed")


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
    """The time zone quiet hours are read in for a stored notice: the party's own, else the case's
    (the agency's for an agency-level process, which has no case)."""
    if notice.case_id is None:
        from engine.agency import agency_zone

        return agency_zone(session)
    case = session.get(Case, notice.case_id)
    if notice.recipient_party_id:
        party = session.get(Party, notice.recipient_party_id)
        return _where(party, case)[1]
    return case.time_zone  # staff and a partner's contact: the case's zone


def _party_channels(party: Party, emergency: bool) -> list[str]:
    chosen = [c for c in party.channels.split(",") if c] or ["letter"]
    reachable = [c for c in chosen if c == "letter" or (c == "email" and party.email_enc) or (c == "sms" and party.phone_enc)]
    return (reachable if emergency else reachable[:1]) or ["letter"]


def _recipients(session: Session, vault: Vault, spec: Notify, process: Process, case: Case,
                sharing: Optional[Sharing] = None, survives_withdrawal: bool = False) -> list[tuple[Any, list[str]]]:
    """(party, staff or partner contact row, channels) for each recipient of ``spec``."""
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
    if kind == "contact_fact":
        contact = partner_contact(session, (process.data or {}).get(spec.to.fact or ""))
        if contact is None:
            return []
        _check_partner(session, contact, sharing, process, survives_withdrawal)
        return [(contact, [contact_channel(contact)])]
    if kind == "case_contact":
        contact = designated_contact(session, case.id, spec.to.fact or "", (process.data or {}).get(spec.to.level or ""))
        return [(contact, responder_channels(contact, spec.emergency))] if contact is not None else []
    if kind == "officer":
        staff = [session.get(Staff, case.officer_id)]
    elif kind == "staff_role":  # the agency's own staff with a role (an agency-level process's notices)
        from engine.records import agency_staff

        staff = agency_staff(session, spec.to.fact or "")
    else:
        login = (process.data or {}).get(spec.to.fact or "")
        staff = [staff_by_login(session, login)] if login else []
    return [(s, ["email" if s.email else "letter"]) for s in staff]


def designated_contact(session: Session, case_id: int, role: str, level: Any) -> Optional[PartnerContact]:
    """The case's designated contact for ``role`` ``level`` places down its list (0: the first);
    past the end of the list, the last one (someone is always told). Inactive contacts are skipped."""
    from engine.models import CaseContact

    listed = session.execute(
        select(PartnerContact).join(CaseContact, CaseContact.contact_id == PartnerContact.id)
        .where(CaseContact.case_id == case_id, CaseContact.role == role, PartnerContact.active.is_(True))
        .order_by(CaseContact.position)).scalars().all()
    if not listed:
        return None
    index = int(level) if str(level or 0).isdigit() else 0
    return listed[min(index, len(listed) - 1)]


def responder_channels(contact: PartnerContact, emergency: bool) -> list[str]:
    """An emergency goes on every channel the contact has (e-mail, a text to their phone); else the first.
    With neither, a letter for the mail room."""
    have = (["email"] if contact_email(contact) else []) + (["sms"] if contact.phone else [])
    return (have if emergency else have[:1]) or ["letter"]


def partner_contact(session: Session, contact_id: Any) -> Optional[PartnerContact]:
    """The partner contact a process fact names (None if it names none)."""
    if contact_id in (None, ""):
        return None
    contact = session.get(PartnerContact, int(contact_id)) if str(contact_id).isdigit() else None
    if contact is None:
        raise InvalidInput(f"no partner contact {contact_id}; `vcase partner show PARTNER` lists its contacts")
    return contact


def _check_partner(session: Session, contact: PartnerContact, sharing: Optional[Sharing], process: Process,
                   survives_withdrawal: bool) -> None:
    """A partner notice goes only to a contact of the partner the process names, and a retired
    partner gets nothing new (a stop notice still reaches it)."""
    named = (process.data or {}).get(sharing.partner) if sharing else None
    if sharing is None or str(named) != str(contact.partner_id):
        raise InvalidInput(f"partner contact {contact.id} is not a contact of the partner this process names")
    partner = session.get(Partner, contact.partner_id)
    if partner.retired_at is not None and not survives_withdrawal:
        raise InvalidInput(f"partner {partner.id} ({partner.name}) is retired and takes no new work")


def contact_email(contact: PartnerContact) -> Optional[str]:
    """Where e-mail to a partner's contact goes: their own address, else the partner's referral address."""
    partner = object_session(contact).get(Partner, contact.partner_id)
    return contact.email or partner.referral_email


def contact_channel(contact: PartnerContact) -> str:
    """E-mail when there is an address; otherwise a letter for the mail room (no SMS to a partner)."""
    return "email" if contact_email(contact) else "letter"


def partner_language(contact: PartnerContact) -> str:
    """English, unless the partner works only in languages other than English and one of them has
    templates: then the first such."""
    from notices.render import LANGUAGES

    partner = object_session(contact).get(Partner, contact.partner_id)
    spoken = [code.strip() for code in (partner.languages or "").split(",") if code.strip()]
    if not spoken or "en" in spoken:
        return "en"
    return next((code for code in spoken if code in LANGUAGES), "en")


def _who(vault: Vault, row: Any, case: Case) -> tuple[str, str, str]:
    """(name, language, time zone) of a recipient."""
    if isinstance(row, Party):
        name = case.supervised_person if row.kind == "supervised_person" else vault.decrypt(row.name_enc)
        return (name, *_where(row, case))
    if isinstance(row, PartnerContact):
        return (row.name, *_where(row, case))
    return (row.display_name, *_where(row, case))


def _where(row: Any, case: Case) -> tuple[str, str]:
    """(language, time zone) of a recipient."""
    if isinstance(row, Party):
        return row.language, row.time_zone or case.time_zone
    if isinstance(row, PartnerContact):
        return partner_language(row), case.time_zone
    return "en", case.time_zone


def build_context(vault: Vault, audience: str, row: Any, case: Case, process: Optional[Process],
                  event: Optional[CaseEvent], previous: Optional[CaseEvent], now: datetime,
                  settings: Mapping[str, str], appointment: Optional[datetime], items=(),
                  shared: Optional[Mapping[str, str]] = None):
    """The audience's context type, filled with only the fields it has (``shared``: the partner's
    details and, for a partner, the victim's consented fields: see ``shared_values``)."""
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
        items=contexts.codes(items), supervised_person=getattr(case, "supervised_person", ""),  # none on the agency
        **(shared or {}),
    )
    wanted = contexts.field_names(audience)
    return contexts.CONTEXTS[audience](**{k: v for k, v in values.items() if k in wanted})


def shared_values(session: Session, vault: Vault, sharing: Optional[Sharing], process: Any, audience: str,
                  language: str) -> dict[str, str]:
    """The partner's details a notice may show (its name, and for the victim how to reach it), and
    for a partner's contact the victim's fields the victim consented to share: nothing outside the
    consent scope is read or decrypted, and nothing at all once the process is withdrawn."""
    data = (process.data or {}) if process is not None else {}
    if audience == "responder":
        return responder_values(session, vault, sharing, process) if sharing is not None else {}
    if sharing is None or not data.get(sharing.partner):
        return {}
    partner = session.get(Partner, int(data[sharing.partner]))
    if partner is None:
        return {}
    out = {"partner_name": partner.name}
    if audience == "victim":
        out.update(partner_phone=partner.hotline_phone or "", partner_email=partner.referral_email or "",
                   partner_hours=partner.hours or "", partner_how=partner.referral_method or "")
    if audience != "partner" or process.state == WITHDRAWN:
        return out
    scope = set(data.get(sharing.scope) or ())
    victim = session.get(Party, process.initiator_party_id) if process.initiator_party_id else None
    if victim is not None and "name" in scope:
        out["victim_name"] = vault.decrypt(victim.name_enc)
    if victim is not None and "contact" in scope:
        out["victim_contact"] = _first_address(vault, victim)
    if victim is not None and "language" in scope:
        out["victim_language"] = _language_name(victim.language, language)
    if "summary" in scope:
        document = session.execute(select(Document).where(
            Document.process_id == process.id, Document.kind == sharing.summary)
            .order_by(Document.version.desc()).limit(1)).scalar_one_or_none()
        out["summary"] = vault.decrypt(document.body_enc) if document is not None else ""
    return out


def responder_values(session: Session, vault: Vault, sharing: Sharing, process: Any) -> dict[str, str]:
    """For a designated responder (law enforcement, the prosecutor): the victim's name, how to reach
    them and the summary, each only if the victim agreed (the ``scope`` fact); the victim's address
    never. A withdrawal does not stop what the agency must tell, but it shares nothing more."""
    data = process.data or {}
    scope = set(data.get(sharing.scope) or ())
    out: dict[str, str] = {}
    victim = session.get(Party, process.initiator_party_id) if process.initiator_party_id else None
    if victim is not None and "name" in scope:
        out["victim_name"] = vault.decrypt(victim.name_enc)
    if victim is not None and "contact" in scope:
        out["victim_contact"] = _first_address(vault, victim)
    if "summary" in scope:
        document = session.execute(select(Document).where(
            Document.process_id == process.id, Document.kind == sharing.summary)
            .order_by(Document.version.desc()).limit(1)).scalar_one_or_none()
        out["summary"] = vault.decrypt(document.body_enc) if document is not None else ""
    return out


def _first_address(vault: Vault, party: Party) -> str:
    """The address of the party's first chosen channel that has one (e-mail, a phone for texts,
    or a postal address)."""
    fields = {"email": party.email_enc, "sms": party.phone_enc, "letter": party.address_enc}
    for channel in [c for c in party.channels.split(",") if c] + ["email", "sms", "letter"]:
        value = vault.decrypt_optional(fields.get(channel))
        if value:
            return value
    return ""


def _language_name(code: str, in_language: str) -> str:
    from babel import Locale

    try:
        return Locale.parse(code).get_display_name(in_language) or code
    except Exception:  # an unknown code is shown as it is
        return code


def _row(vault: Vault, *, key: str, template: str, audience: str, row: Any, case: Any, process: Any, channel: str,
         context, emergency: bool, now: datetime, settings: Mapping[str, str], case_event_id: Optional[int],
         fallback_of: Optional[int] = None, survives_withdrawal: bool = False, through_pause: bool = False,
         held: Optional[str] = None) -> dict[str, Any]:
    """One notice, rendered and encrypted, as the values of its row (``held``: the review it waits for)."""
    from notices import contexts, render

    language, tz = _where(row, case)
    values = contexts.as_dict(context)
    rendered = render.render(f"{language}/{template}.{channel}", values)
    is_party, is_contact = isinstance(row, Party), isinstance(row, PartnerContact)
    return dict(
        idempotency_key=key, case_id=case.id, process_id=process.id if process is not None else None,
        recipient_party_id=row.id if is_party else None,
        recipient_staff_id=None if is_party or is_contact else row.id,
        recipient_contact_id=row.id if is_contact else None,
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
        execute_many(session, insert_stmt(table), rows)
        return []
    result = session.execute(insert_stmt(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def rows(
    session: Session, vault: Vault, specs: Iterable[Notify], *, process: Any, case: Any, cause: str,
    now: datetime, settings: Mapping[str, str], appointment: Optional[str] = None,
    case_event_id: Optional[int] = None, survives_withdrawal: bool = False, emergencies_through_pause: bool = False,
    sharing: Optional[Sharing] = None,
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
        for row, channels in _recipients(session, vault, spec, process, case, sharing, survives_withdrawal):
            audience = spec.to.audience
            items = (process.data or {}).get(spec.items) if spec.items else ()
            shared = shared_values(session, vault, sharing, process, audience, _where(row, case)[0])
            context = build_context(vault, audience, row, case, process, event, previous, now, settings, moment, items,
                                    shared)
            for channel in channels:
                who = f"{_letter(row)}{row.id}"
                out.append(_row(
                    vault, key=f"{cause}/{index}/{who}/{channel}",
                    template=f"{process.workflow}/{audience}/{spec.template}", audience=audience, row=row, case=case,
                    process=process, channel=channel, context=context, emergency=spec.emergency, now=now,
                    settings=settings, case_event_id=case_event_id, survives_withdrawal=survives_withdrawal,
                    through_pause=paused and spec.emergency and emergencies_through_pause, held=held))
    return out


def _letter(row: Any) -> str:
    """A recipient's kind in an idempotency key: p (party), c (partner contact), s (staff)."""
    return "p" if isinstance(row, Party) else "c" if isinstance(row, PartnerContact) else "s"


def requeue_on_channel(session: Session, vault: Vault, notice: Notice, channel: str, now: datetime,
                       settings: Mapping[str, str]) -> Notice:
    """The same notice, rendered anew for another channel (a fallback) from the same inputs."""
    from notices import contexts

    case = session.get(Case, notice.case_id)
    process = session.get(Process, notice.process_id) if notice.process_id else None
    row = (session.get(Party, notice.recipient_party_id) if notice.recipient_party_id
           else session.get(PartnerContact, notice.recipient_contact_id) if notice.recipient_contact_id
           else session.get(Staff, notice.recipient_staff_id))
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
    if (audience == "offender") != (party.side == "offender") or audience in ("staff", "partner"):
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
        update(Notice).where(Notice.process_id == process_id, Notice.status.in_(UNSENT + ("sending",) + NOT_MAILED))
        .values(status="cancelled", status_reason=reason).execution_options(synchronize_session=False)
    ).rowcount


def cancel_for_case_event(session: Session, case_event_id: int, reason: str) -> int:
    """Cancel the notices about a case event that have not gone out."""
    return session.execute(
        update(Notice).where(Notice.case_event_id == case_event_id, Notice.status.in_(UNSENT + NOT_MAILED))
        .values(status="cancelled", status_reason=reason).execution_options(synchronize_session=False)
    ).rowcount
