"""What a victim does in the portal, and what they see there.

Access (invitations, sign-in, sessions, CSRF) is ``services.portal_access``; its calls are
re-exported here, so the web layer has one door. Everything the victim does is the engine's own
call, made as the party themselves (``permissions.self_actor``, role ``self``, ``via=portal``): a
step is allowed exactly where the workflow lets the victim side act, and is recorded in the audit
as ``self:<party id>``. A process or notice that is not theirs is "not found", never "not
permitted". Nothing here is written to a log, and no error names a person or a contact detail.

The confidentiality-first rule (``engine.confidentiality``) binds agency staff recording what a
victim says; a victim acting for themselves is not staff, so it does not hold them back.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import select

from engine import audit, confirm_tokens, delivery, records, runtime
from engine import settings as settings_mod
from engine.clock import from_db
from engine.errors import NotFound
from engine.models import DELIVERED_STATUSES, ContactRequest, Notice, Party, Process
from engine.permissions import Actor, require, self_actor
from services.portal_access import (  # noqa: F401  (the web layer's one door)
    SessionEnded, SignInRefused, Viewer, csrf_ok, csrf_token, invite, revoke, set_pin, sign_in, sign_out,
    signed_in, status,
)

# What a victim may do to a process from the portal (each also allowed by the workflow for the victim
# side, or the engine refuses it): pausing, resuming and withdrawing their own processes, changing a
# registration's events, and asking for, deferring or declining a held letter.
PORTAL_EVENTS = ("pause", "resume", "withdraw", "change_events", "request", "defer", "decline")
REGISTRATION = "notification"
DIALOGUE = "dialogue"
LETTER = "letter_bank"
SHOWN_LETTER_STATES = ("held", "retention_review", "victim_requested")


def requests(app, open_only: bool = True) -> list[dict[str, Any]]:
    """Victims who asked through the portal to be contacted (party and case, never what about)."""
    from engine.models import Case

    with app.store.read() as s:
        require(app._actor(s), "portal.manage")
        query = (select(ContactRequest, Case.case_number).join(Case, Case.id == ContactRequest.case_id)
                 .order_by(ContactRequest.asked_at))
        if open_only:
            query = query.where(ContactRequest.handled_at.is_(None))
        return [{"id": r.id, "case_number": number, "party": r.party_id, "asked_at": from_db(r.asked_at).isoformat(),
                 "handled_by": r.handled_by} for r, number in s.execute(query)]


# -- what the victim sees ---------------------------------------------------------------------------

def _own_processes(session, party_id: int) -> list[Process]:
    """The processes a party started (registrations, dialogues), and the letters their notices told
    them of, while those are in the bank."""
    started = session.execute(select(Process).where(Process.initiator_party_id == party_id)
                              .order_by(Process.id)).scalars().all()
    told = select(Notice.process_id).where(Notice.recipient_party_id == party_id, Notice.process_id.is_not(None),
                                           Notice.status.in_(DELIVERED_STATUSES))
    letters = session.execute(select(Process).where(Process.workflow == LETTER, Process.id.in_(told),
                                                     Process.state.in_(SHOWN_LETTER_STATES))
                              .order_by(Process.id)).scalars().all()
    return list(started) + [p for p in letters if p.id not in {x.id for x in started}]


def _own(session, party_id: int, process_id: int) -> Process:
    """One of the party's processes; any other id (another party's, none at all) is not found."""
    for process in _own_processes(session, party_id):
        if process.id == process_id:
            return process
    raise NotFound("not_found")


def _process_view(app, session, actor: Actor, process: Process) -> dict[str, Any]:
    compiled = app.registry.get(process.workflow, process.workflow_version)
    actions = [] if process.terminal else [e for e in runtime.possible_for(compiled, process.state, actor)
                                             if e in PORTAL_EVENTS]
    if process.state == "paused" and not process.terminal:
        actions = [e for e in ("resume", "withdraw") if e in actions]
    return {"id": process.id, "workflow": process.workflow, "state": process.state, "ended": process.terminal,
            "events": (process.data or {}).get("events", []) if process.workflow == REGISTRATION else [],
            "started_at": from_db(process.started_at).isoformat(), "actions": actions}


def overview(app, who: Viewer) -> dict[str, Any]:
    """The party's own page: how they are reached, their registrations and processes, what they may
    do, and whether they may ask for a dialogue. Contact details are shown masked."""
    with app.store.read() as s:
        party = s.get(Party, who.party_id)
        actor = self_actor(s, who.party_id, "portal")
        processes = [_process_view(app, s, actor, p) for p in _own_processes(s, who.party_id)]
        policy = settings_mod.load(s, app.registry)
        vault = app.store.vault
        live_dialogue = any(p["workflow"] == DIALOGUE and not p["ended"] for p in processes)
        asked = s.execute(select(ContactRequest.id).where(ContactRequest.party_id == who.party_id,
                                                          ContactRequest.handled_at.is_(None))).first() is not None
        return {
            "party": party.id, "kind": party.kind, "language": party.language, "time_zone": party.time_zone or "",
            "channels": [c for c in party.channels.split(",") if c],
            "reachable": {"email": party.email_enc is not None, "sms": party.phone_enc is not None,
                          "letter": party.address_enc is not None},
            "masked": {"email": _mask(vault.decrypt_optional(party.email_enc)),
                       "sms": _mask(vault.decrypt_optional(party.phone_enc), keep=2)},
            "registrations": [p for p in processes if p["workflow"] == REGISTRATION],
            "dialogues": [p for p in processes if p["workflow"] == DIALOGUE],
            "letters": [p for p in processes if p["workflow"] == LETTER],
            "may_request_dialogue": not live_dialogue, "contact_asked": asked,
            "agency": policy["agency.name"], "agency_phone": policy["agency.phone"],
        }


def _mask(value: Optional[str], keep: int = 0) -> Optional[str]:
    """``m•••@example.org``, ``•••• 01``: enough to recognise, not to read out."""
    if not value:
        return None
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}•••@{domain}"
    digits = [c for c in value if c.isdigit()]
    return "•••• " + "".join(digits[-keep:])


def notices(app, who: Viewer) -> list[dict[str, Any]]:
    """Every notice sent (or waiting to be sent) to the party, newest first, with its delivery state."""
    with app.store.read() as s:
        rows = s.execute(select(Notice).where(Notice.recipient_party_id == who.party_id,
                                              Notice.status != "cancelled")
                         .order_by(Notice.id.desc()).limit(200)).scalars().all()
        confirmed = {delivery.group_of(n) for n in rows if n.status == "confirmed"}
        return [_notice_row(app, n, confirmed=confirmed) for n in rows]


def _notice_row(app, n: Notice, with_body: bool = False, confirmed: frozenset | set = frozenset()) -> dict[str, Any]:
    subject = app.store.vault.decrypt(n.subject_enc).strip()
    if not subject:  # a text has no subject line: its first words stand for it
        body = " ".join(app.store.vault.decrypt(n.body_enc).split())
        subject = body if len(body) <= 70 else body[:69].rsplit(" ", 1)[0] + "…"
    out = {"id": n.id, "subject": subject, "channel": n.channel, "status": n.status,
           "emergency": n.emergency, "sent_at": from_db(n.sent_at).isoformat() if n.sent_at else None,
           "confirmed_at": from_db(n.confirmed_at).isoformat() if n.confirmed_at else None,
           # one copy confirmed (on any channel) confirms them all: no button on the others
           "confirmable": n.status == "sent" and n.emergency and delivery.group_of(n) not in confirmed}
    if with_body:
        out["body"] = app.store.vault.decrypt(n.body_enc)
    return out


def notice(app, who: Viewer, notice_id: int) -> dict[str, Any]:
    with app.store.read() as s:
        n = s.get(Notice, notice_id) if 0 < notice_id < 2**63 else None
        if n is None or n.recipient_party_id != who.party_id or n.status == "cancelled":
            raise NotFound("not_found")
        group = delivery.group_of(n)
        mine = s.execute(select(Notice).where(Notice.recipient_party_id == who.party_id,
                                              Notice.status == "confirmed")).scalars()
        return _notice_row(app, n, with_body=True, confirmed={delivery.group_of(x) for x in mine} & {group})


def registration_events() -> tuple[str, ...]:
    """What a registration may list (the notification workflow's event types)."""
    from workflows.notification import EVENT_TYPES

    return EVENT_TYPES


# -- what the victim does ---------------------------------------------------------------------------

def confirm_notice(app, who: Viewer, notice_id: int) -> dict[str, Any]:
    """Confirm receipt (stops the fallback to a letter), as the party, through the engine's call."""
    with app.store.write() as s:
        n = delivery.confirm(s, self_actor(s, who.party_id, "portal"), notice_id, app.now())
        return {"id": n.id, "status": n.status}


def act(app, who: Viewer, process_id: int, event: str, params: Optional[dict] = None) -> dict[str, Any]:
    """One of ``PORTAL_EVENTS`` on one of the party's own processes, as the party themselves."""
    if event not in PORTAL_EVENTS:
        raise NotFound("not_found")
    with app.store.write() as s:
        _own(s, who.party_id, process_id)
        out = runtime.apply(s, app.store.vault, app.registry, process_id=process_id, event=event,
                            actor=self_actor(s, who.party_id, "portal"), now=app.now(), params=params)
        return {"process": out.process.id, "event": event, "state": out.to_state}


def change_events(app, who: Viewer, process_id: int, events: list[str]) -> dict[str, Any]:
    return act(app, who, process_id, "change_events", {"events": ",".join(events)})


def register(app, who: Viewer, events: list[str]) -> dict[str, Any]:
    """A new registration for notices on the party's case, started by the party themselves."""
    return _start(app, who, REGISTRATION, {"events": ",".join(events)})


def request_dialogue(app, who: Viewer) -> dict[str, Any]:
    """The victim asks for a dialogue: the most victim-initiated path there is."""
    return _start(app, who, DIALOGUE, {})


def _start(app, who: Viewer, workflow: str, params: dict) -> dict[str, Any]:
    from engine.models import Case

    with app.store.write() as s:
        case = s.get(Case, who.case_id)
        out = runtime.start(s, app.store.vault, app.registry, case_number=case.case_number, workflow=workflow,
                            actor=self_actor(s, who.party_id, "portal"), now=app.now(), params=params)
        return {"process": out.process.id, "state": out.to_state}


def opt_out_all(app, who: Viewer) -> int:
    """Withdraw every live registration of the party at once (an opt-out takes effect now)."""
    with app.store.write() as s:
        actor = self_actor(s, who.party_id, "portal")
        done = 0
        for p in _own_processes(s, who.party_id):
            if p.workflow == REGISTRATION and not p.terminal:
                runtime.apply(s, app.store.vault, app.registry, process_id=p.id, event="withdraw", actor=actor,
                              now=app.now())
                done += 1
        return done


def change_choices(app, who: Viewer, channels: Optional[list[str]] = None, language: Optional[str] = None,
                   time_zone: Optional[str] = None) -> dict[str, Any]:
    with app.store.write() as s:
        party = records.change_choices(s, app.store.vault, self_actor(s, who.party_id, "portal"), who.party_id,
                                       app.now(), channels=tuple(channels) if channels is not None else None,
                                       language=language, time_zone=time_zone)
        return {"channels": [c for c in party.channels.split(",") if c], "language": party.language}


def ask_contact(app, who: Viewer) -> dict[str, Any]:
    """Ask an advocate to contact them; asked again while one is open, nothing more is written."""
    now = app.now()
    with app.store.write() as s:
        open_one = s.execute(select(ContactRequest).where(ContactRequest.party_id == who.party_id,
                                                          ContactRequest.handled_at.is_(None))).scalar_one_or_none()
        if open_one is not None:
            return {"request": open_one.id, "new": False}
        row = ContactRequest(case_id=who.case_id, party_id=who.party_id, asked_at=now)
        s.add(row)
        s.flush()
        audit.append(s, at=now, actor=self_actor(s, who.party_id, "portal"), action="portal.contact_request",
                     case_id=who.case_id, detail={"party": who.party_id, "request": row.id})
        return {"request": row.id, "new": True}


# -- confirm links (no sign-in) -------------------------------------------------------------------

def link_notice(app, token: str) -> dict[str, Any]:
    """What a confirm link's page shows before the button: the notice's subject and language only.
    NotFound for a used, expired or unknown link (one wording)."""
    if not token or len(token) > 100:
        raise NotFound("link_invalid")
    with app.store.read() as s:
        try:
            row = confirm_tokens.find_link(s, app.store.vault, token, app.now())
        except NotFound:
            raise NotFound("link_invalid") from None
        n = s.get(Notice, row.notice_id)
        return {"subject": app.store.vault.decrypt(n.subject_enc), "language": n.language}


def confirm_link(app, token: str) -> dict[str, Any]:
    """POST of a confirm link: the notice is confirmed once, the link is spent."""
    if not token or len(token) > 100:
        raise NotFound("link_invalid")
    with app.store.write() as s:
        try:
            row = confirm_tokens.find_link(s, app.store.vault, token, app.now())
        except NotFound:
            raise NotFound("link_invalid") from None
        n = delivery.confirm_by_token(s, row, app.now(), "portal")
        return {"language": n.language}


__all__ = ["invite", "revoke", "status", "requests", "sign_in", "signed_in", "set_pin", "sign_out", "overview",
           "notices", "notice", "confirm_notice", "act", "change_events", "register", "request_dialogue",
           "opt_out_all", "change_choices", "ask_contact", "link_notice", "confirm_link", "csrf_token", "csrf_ok",
           "SignInRefused", "SessionEnded", "Viewer", "PORTAL_EVENTS"]
