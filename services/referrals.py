"""Referrals to community partners: the operations, each one transaction.

The rules are in ``workflows/referral.py``; the engine enforces who may send
each event, the consent scope and what a partner notice may carry. Here:
the partner must be in the directory and not retired when a referral is
offered or consented to; the contact a partner notice goes to must belong to
that partner; the summary is checked (short, plain text) and stored as an
encrypted document in the same transaction as the consent.

Every operation refuses a role with no part in referrals (the parole board,
facilitators) before it looks anything up, and a role that may act but not
read (the officer) is never told a referral's state.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import select
from sqlmodel import Session

from engine import documents, processes, runtime
from engine.errors import Hidden, InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import Partner, PartnerContact, Process
from engine.permissions import Actor, resolve
from services.acting import apply_worded
from services.letters import involved_roles

WORKFLOW = "referral"
OUTCOMES = {"started": "start_services", "declined": "partner_declines", "not_reached": "could_not_reach"}


def _workflow(app):
    return app.registry.latest(WORKFLOW).workflow


def _gate(session: Session, app, *, reading: bool = False, process_id: Optional[int] = None) -> Actor:
    """The acting staff member, refused before anything about referrals is looked up. A role that
    may not read referrals, asking for one, is told it does not exist (never whether it does)."""
    actor = resolve(session, app.login, now=app.now())
    wf = _workflow(app)
    if reading and process_id is not None and actor.role not in wf.readers:
        raise Hidden(_missing(process_id))
    if actor.role not in involved_roles(wf):
        raise NotPermitted(f"{actor.role.replace('_', ' ')} is not permitted to use referrals")
    if reading and actor.role not in wf.readers:
        raise NotPermitted(f"{actor.role.replace('_', ' ')} is not permitted to read referrals")
    return actor


def _referral(session: Session, process_id: int) -> Process:
    process = session.get(Process, process_id) if 0 < process_id < 2**31 else None
    if process is None or process.workflow != WORKFLOW:
        raise Hidden(_missing(process_id))
    return process


def _missing(process_id: int) -> str:
    return f"no referral {process_id} that you may see; `vcase referral list CASE` shows a case's"


def active_partner(session: Session, partner_id: int) -> Partner:
    """The partner, refused if unknown or retired (the directory's own check when it is installed)."""
    try:
        from services.partners import active_partner as directory_check
    except ImportError:  # the directory's service is not installed: the same rule, read here
        directory_check = None
    if directory_check is not None:
        return directory_check(session, partner_id)
    partner = session.get(Partner, partner_id) if 0 < partner_id < 2**31 else None
    if partner is None:
        raise NotFound(f"no partner {partner_id}; `vcase partner list` shows the active ones")
    if partner.retired_at is not None:
        raise NotAllowed(f"partner {partner.id} ({partner.name}) is retired and takes no new referrals")
    return partner


def _contact(session: Session, partner: Partner, contact_id: Optional[int]) -> Optional[PartnerContact]:
    """The named contact (it must be the partner's, and active), else the partner's first active one
    by escalation order; None if it has none."""
    if contact_id is not None:
        contact = session.get(PartnerContact, contact_id) if 0 < contact_id < 2**31 else None
        if contact is None or contact.partner_id != partner.id or not contact.active:
            raise NotFound(f"partner {partner.id} has no active contact {contact_id}; "
                           f"`vcase partner show {partner.id}` lists its contacts")
        return contact
    contacts = session.execute(select(PartnerContact).where(
        PartnerContact.partner_id == partner.id, PartnerContact.active.is_(True))).scalars().all()
    ranked = sorted(contacts, key=lambda c: (c.escalation_order is None, c.escalation_order or 0, c.id))
    return ranked[0] if ranked else None


def _outcome(out: runtime.Outcome) -> dict[str, Any]:
    result = {"referral": out.process.id, "event": out.event, "notices": len(out.notices)}
    if out.readable:
        result.update({"from": out.from_state, "to": out.to_state})
    return result


def _apply(session, app, staff: Actor, process: Process, event: str, actor: Actor, params=None, document=None):
    """The event, with the refusals a non-reader gets free of the referral's state."""
    return apply_worded(session, app, _workflow(app), staff.role, actor, process.id, event, "referral", params,
                        document)


def _victim_actor(session, app, process: Process, for_party: Optional[int], via: Optional[str]) -> Actor:
    party = for_party if for_party is not None else processes.party_for_side(session, process, "victim")
    return resolve(session, app.login, for_party=party, via=via, now=app.now())


# -- operations ----------------------------------------------------------------------------

def offer(app, case_number: str, victim: int, partner_id: int, contact_id: Optional[int] = None,
          via: Optional[str] = None) -> dict[str, Any]:
    """Offer a referral to ``partner_id`` for a victim-side party (staff act for them)."""
    with app.store.write() as s:
        _gate(s, app)
        partner = active_partner(s, partner_id)
        contact = _contact(s, partner, contact_id)
        params = {"partner": str(partner.id), **({"contact": str(contact.id)} if contact else {})}
        actor = resolve(s, app.login, for_party=victim, via=via, now=app.now())
        out = runtime.start(s, app.store.vault, app.registry, case_number=case_number, workflow=WORKFLOW,
                            actor=actor, now=app.now(), params=params)
        out.readable = runtime.reads(_workflow(app), actor)  # the officer offers it, and reads nothing back
        result = _outcome(out)
        result["partner"] = partner.name
        return result


def self_refer(app, process_id: int, for_party: Optional[int] = None, via: Optional[str] = None) -> dict[str, Any]:
    """The victim will contact the partner themselves: they are sent its details, it gets nothing."""
    with app.store.write() as s:
        staff = _gate(s, app)
        process = _referral(s, process_id)
        return _outcome(_apply(s, app, staff, process, "self_refer", _victim_actor(s, app, process, for_party, via)))


def consent(app, process_id: int, share: list[str] | str, summary: Optional[str | bytes] = None,
            for_party: Optional[int] = None, via: Optional[str] = None) -> dict[str, Any]:
    """The victim consents to a referral sharing exactly ``share`` (codes); with ``summary`` in it,
    the summary text is stored encrypted first, in the same transaction."""
    from workflows.referral import MAX_SUMMARY, parse_scope

    scope = parse_scope(share if isinstance(share, str) else ",".join(share))
    if ("summary" in scope) != (summary is not None):
        raise InvalidInput("give the summary text (--summary-file) exactly when the scope includes summary")
    if summary is not None:
        summary = documents.as_text(summary, "the summary", max_bytes=MAX_SUMMARY * 4)
        if len(summary) > MAX_SUMMARY:
            raise InvalidInput(f"the summary is {len(summary):,} characters; a short summary is at most {MAX_SUMMARY:,}")
    with app.store.write() as s:
        staff = _gate(s, app)
        process = _referral(s, process_id)
        if staff.role in _workflow(app).readers:  # a non-reader learns nothing of the partner from a refusal
            partner = active_partner(s, int((process.data or {}).get("partner", 0)))
            contact = _contact(s, partner, (process.data or {}).get("contact"))
            if contact is None:
                raise NotAllowed(f"partner {partner.id} ({partner.name}) has no active contact to send a referral to; "
                                 "add one, or record a self-referral")
        actor = _victim_actor(s, app, process, for_party, via)
        if summary is not None:
            _apply(s, app, staff, process, "record_summary", actor, document=summary)
        return _outcome(_apply(s, app, staff, process, "consent", actor, params={"share": ",".join(scope)}))


def record(app, process_id: int, event: str, note: Optional[str] = None) -> dict[str, Any]:
    """Staff record what the partner said or did (acknowledge, an outcome) or close the referral."""
    with app.store.write() as s:
        staff = _gate(s, app)
        process = _referral(s, process_id)
        params = {"note": note} if note else None
        return _outcome(_apply(s, app, staff, process, event, staff, params=params))


def withdraw(app, process_id: int, reason: Optional[str] = None, for_party: Optional[int] = None,
             via: Optional[str] = None) -> dict[str, Any]:
    """The victim withdraws consent: the partner is told to stop; nothing more is sent."""
    with app.store.write() as s:
        staff = _gate(s, app)
        process = _referral(s, process_id)
        params = {"reason": reason} if reason else None
        return _outcome(_apply(s, app, staff, process, "withdraw", _victim_actor(s, app, process, for_party, via),
                               params=params))


def show(app, process_id: int) -> dict[str, Any]:
    """A referral's record: state, facts (never the summary's text), the partner, live timers."""
    with app.store.read() as s:
        actor = _gate(s, app, reading=True, process_id=process_id)
        _referral(s, process_id)
        out = processes.show(s, app.registry, actor, process_id)
        partner = s.get(Partner, int(out["facts"].get("partner", 0)) or 0)
        out["partner"] = {"id": partner.id, "name": partner.name} if partner else None
        out["summary_versions"] = len(documents.versions(s, process_id, "summary"))
        return out


def read_summary(app, process_id: int) -> dict[str, Any]:
    """The summary's text, for those who read referrals; the read is audited."""
    with app.store.write() as s:
        actor = _gate(s, app, reading=True, process_id=process_id)
        _referral(s, process_id)
        document, text = documents.read(s, app.store.vault, process_id, "summary", actor, app.now())
        return {"referral": process_id, "version": document.version, "summary": text}


def list_for_case(app, case_number: str) -> list[dict[str, Any]]:
    with app.store.read() as s:
        actor = _gate(s, app, reading=True)
        rows = processes.list_for_case(s, app.registry, actor, case_number, WORKFLOW)
        names = dict(s.execute(select(Partner.id, Partner.name)).all())
        for row in rows:
            row["partner"] = names.get(int(row["facts"].get("partner", 0)))
        return rows


__all__ = ["offer", "self_refer", "consent", "record", "withdraw", "show", "read_summary", "list_for_case",
           "OUTCOMES"]
