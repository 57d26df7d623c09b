"""Intimidation and retaliation reports: the operations, each one transaction (issue 15).

The rules are in ``workflows/intimidation.py``; the engine enforces who may send each step, who
reads a report, and what each audience's notice may carry. Here:

- ``report`` does the whole recording in one transaction: the report is started (what happened is
  an encrypted document), the safe-contact choice, the evidence and the summary are attached as
  encrypted documents, and ``escalate`` queues the emergencies. A case with no designated
  law-enforcement or prosecutor contact is refused before anything is written: an unheard report
  is the failure this exists to prevent.
- ``order_granted`` records the order on the case with the same engine call as
  ``vcase case safety --order`` (``records.set_safety``), in the step's transaction, so letters
  and dialogue contact stop at once.
- ``refer`` starts a referral (``workflows/referral.py``) for the victim and links it.

Reading: victim staff read a report in full (documents only on request, each read audited). An
officer reads only that a report exists, its times and codes, and the summary if the victim agreed
to share it: never the account, the evidence, the safe-contact choice or the plan. The parole
board and any role with no part in it are told a report does not exist.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Optional

from sqlalchemy import select

from engine import documents, processes, records, runtime
from engine.errors import Hidden, InvalidInput, NotPermitted
from engine.models import CaseContact, Process
from engine.permissions import Actor, resolve
from services.letters import involved_roles

WORKFLOW = "intimidation"
SAFE_CHANNELS = ("phone", "sms", "email", "in_person", "through_advocate")
MAX_SUMMARY = 1000
MAX_DOCUMENT = 20_000  # characters: an account or a piece of evidence typed or pasted as text


def _workflow(app):
    return app.registry.latest(WORKFLOW).workflow


def _missing(report_id: int) -> str:
    return f"no intimidation report {report_id} that you may see; `vcase intimidation list CASE` shows a case's"


def _gate(session, app, report_id: Optional[int] = None) -> Actor:
    """The acting staff member; a role with no part in reports is told a named one does not exist."""
    actor = resolve(session, app.login, now=app.now())
    wf = _workflow(app)
    if actor.role not in involved_roles(wf) or not actor.within(wf):
        if report_id is not None:
            raise Hidden(_missing(report_id))
        raise NotPermitted(f"{actor.role.replace('_', ' ')} is not permitted to use intimidation reports")
    return actor


def _report(session, report_id: int) -> Process:
    process = session.get(Process, report_id) if 0 < report_id < 2**31 else None
    if process is None or process.workflow != WORKFLOW:
        raise Hidden(_missing(report_id))
    return process


def _text(value, what: str, limit: int) -> str:
    text = documents.as_text(value, what, max_bytes=limit * 4)
    if not text.strip():
        raise InvalidInput(f"{what} is empty")
    if len(text) > limit:
        raise InvalidInput(f"{what} is {len(text):,} characters; at most {limit:,}")
    return text


def safe_contact_text(channel: str, times: str, message_ok: bool) -> str:
    """The safe-contact choice as the text of its encrypted document (checked here, never a fact)."""
    if channel not in SAFE_CHANNELS:
        raise InvalidInput(f"--safe-channel must be one of: {', '.join(SAFE_CHANNELS)}")
    times = records.plain_text((times or "").strip(), "--safe-times", 200) or ""
    if not times:
        raise InvalidInput("--safe-times is empty: say when the victim may be contacted (e.g. 'weekdays 12:00-13:00')")
    return json.dumps({"channel": channel, "times": times, "message_ok": bool(message_ok)}, ensure_ascii=False)


def _outcome(out: runtime.Outcome, notices: int = 0) -> dict[str, Any]:
    result = {"report": out.process.id, "event": out.event, "notices": notices or len(out.notices)}
    if out.readable:
        result.update({"from": out.from_state, "to": out.to_state})
    return result


def _apply(s, app, process: Process, event: str, actor: Actor, params=None, document=None) -> runtime.Outcome:
    return runtime.apply(s, app.store.vault, app.registry, process_id=process.id, event=event, actor=actor,
                         now=app.now(), params=params, document=document)


def _victim_actor(s, app, process: Process, via: Optional[str]) -> Actor:
    return resolve(s, app.login, for_party=process.initiator_party_id, via=via, now=app.now())


# -- operations ----------------------------------------------------------------------------

def report(app, case_number: str, party: int, *, account: str | bytes, happened_at: str, by_whom: str,
           reached_via: str, safe_channel: str, safe_times: str, message_ok: bool = False,
           evidence: tuple = (), share: str = "", summary: Optional[str | bytes] = None,
           via: Optional[str] = None) -> dict[str, Any]:
    """Record a report for a victim-side party and escalate it, all in one transaction."""
    from workflows.intimidation import parse_share

    account = _text(account, "the account of what happened", MAX_DOCUMENT)
    pieces = [_text(e, "a piece of evidence", MAX_DOCUMENT) for e in evidence]
    safe = safe_contact_text(safe_channel, safe_times, message_ok)
    scope = parse_share(share)
    if ("summary" in scope) != (summary is not None):
        raise InvalidInput("give the summary (--summary-file) exactly when --share includes summary")
    if summary is not None:
        summary = _text(summary, "the summary", MAX_SUMMARY)
    with app.store.write() as s:
        _gate(s, app)
        actor = resolve(s, app.login, for_party=party, via=via, now=app.now())
        vault, now = app.store.vault, app.now()
        started = runtime.start(s, vault, app.registry, case_number=case_number, workflow=WORKFLOW, actor=actor,
                                now=now, params={"happened_at": happened_at, "by_whom": by_whom,
                                                 "reached_via": reached_via}, document=account)
        process = started.process
        # Checked after the start (which reads the typed time first), in the same transaction: a refusal
        # here writes nothing either.
        roles = set(s.execute(select(CaseContact.role).where(CaseContact.case_id == process.case_id)).scalars())
        missing = [r for r in ("law_enforcement", "prosecutor") if r not in roles]
        if missing:
            raise InvalidInput(f"case {case_number} has no designated {' or '.join(m.replace('_', ' ') for m in missing)} "
                               f"contact to escalate to; set them first: vcase case contacts {case_number} "
                               "--law-enforcement CONTACT --prosecutor CONTACT")
        _apply(s, app, process, "record_safe_contact", actor, document=safe)
        for piece in pieces:
            _apply(s, app, process, "add_evidence", actor, document=piece)
        if summary is not None:
            _apply(s, app, process, "record_summary", actor, document=summary)
        out = _apply(s, app, process, "escalate", actor, params={"share": ",".join(scope)} if scope else None)
        return _outcome(out)


def acknowledge(app, report_id: int, responder: str, action: str) -> dict[str, Any]:
    """Someone acted on the escalation: who, and what they did. Stops the re-escalation."""
    with app.store.write() as s:
        staff = _gate(s, app, report_id)
        process = _report(s, report_id)
        return _outcome(_apply(s, app, process, "acknowledge", staff, {"responder": responder, "action": action}))


def step(app, report_id: int, event: str, params: Optional[dict] = None, document=None, via: Optional[str] = None,
         victim_side: bool = False) -> dict[str, Any]:
    """A safety step (``victim_side``: staff act for the victim: a plan, a request, declining)."""
    with app.store.write() as s:
        staff = _gate(s, app, report_id)
        process = _report(s, report_id)
        actor = _victim_actor(s, app, process, via) if victim_side else staff
        return _outcome(_apply(s, app, process, event, actor, params, document))


def order_granted(app, report_id: int, kind: str, starts: date, ends: Optional[date] = None,
                  note: Optional[str] = None) -> dict[str, Any]:
    """The order was granted: the step, and the case's active order, in one transaction."""
    with app.store.write() as s:
        staff = _gate(s, app, report_id)
        process = _report(s, report_id)
        out = _apply(s, app, process, "order_granted", staff, {"kind": kind, **({"note": note} if note else {})})
        case = records.case_by_id(s, process.case_id)
        records.set_safety(s, staff, case.case_number, app.now(), order=(kind, starts, ends))
        return {**_outcome(out), "order_active": records.order_active(s, case.id, app.now().date())}


def refer(app, report_id: int, partner_id: int, contact_id: Optional[int] = None,
          via: Optional[str] = None) -> dict[str, Any]:
    """A relocation or shelter referral for the victim, offered and linked in one transaction (the
    victim then chooses with `vcase referral self` or `vcase referral consent`)."""
    from services.referrals import WORKFLOW as REFERRAL, _contact, active_partner

    with app.store.write() as s:
        _gate(s, app, report_id)
        process = _report(s, report_id)
        actor = _victim_actor(s, app, process, via)
        partner = active_partner(s, partner_id)
        contact = _contact(s, partner, contact_id)
        params = {"partner": str(partner.id), **({"contact": str(contact.id)} if contact else {})}
        case = records.case_by_id(s, process.case_id)
        referral = runtime.start(s, app.store.vault, app.registry, case_number=case.case_number, workflow=REFERRAL,
                                 actor=actor, now=app.now(), params=params)
        out = _apply(s, app, process, "link_referral", actor, {"referral": str(referral.process.id)})
        return {**_outcome(out), "referral": referral.process.id, "partner": partner.name}


def show(app, report_id: int) -> dict[str, Any]:
    """A report as the reader may see it: in full for victim staff (never a document's text); for an
    officer, that it exists, its times and codes, and the summary if the victim agreed to share it."""
    with app.store.write() as s:  # an officer's read of a shared summary is audited
        actor = _gate(s, app, report_id)
        _report(s, report_id)
        if runtime.reads(_workflow(app), actor):
            out = processes.show(s, app.registry, actor, report_id)
            out["documents"] = {kind: len(documents.versions(s, report_id, kind))
                                for kind in ("account", "safe_contact", "evidence", "summary", "safety_plan")}
            return out
        try:  # a glimpse, as the definition allows it (the officer), else "does not exist"
            return processes.glimpse(s, app.store.vault, app.registry, actor, report_id, app.now())
        except Hidden:
            raise Hidden(_missing(report_id)) from None


def read_document(app, report_id: int, kind: str) -> dict[str, Any]:
    """A document's text (account, safe_contact, evidence, summary, safety_plan), for victim staff; audited."""
    kinds = ("account", "safe_contact", "evidence", "summary", "safety_plan")
    if kind not in kinds:
        raise InvalidInput(f"a report's documents are: {', '.join(kinds)}")
    with app.store.write() as s:
        actor = _gate(s, app, report_id)
        _report(s, report_id)
        if not runtime.reads(_workflow(app), actor):  # the officer too: in the words a missing id gets
            raise Hidden(_missing(report_id))
        document, text = documents.read(s, app.store.vault, report_id, kind, actor, app.now())
        return {"report": report_id, "kind": kind, "version": document.version, "text": text}


def list_for_case(app, case_number: str) -> list[dict[str, Any]]:
    """The case's reports: in full for victim staff; for an officer, only that each exists and when."""
    with app.store.read() as s:
        actor = _gate(s, app)
        if runtime.reads(_workflow(app), actor):
            return processes.list_for_case(s, app.registry, actor, case_number, WORKFLOW)
        return processes.glimpses_for_case(s, app.registry, actor, case_number, WORKFLOW)


__all__ = ["report", "acknowledge", "step", "order_granted", "refer", "show", "read_document", "list_for_case"]
