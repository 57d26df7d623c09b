"""The letter bank's operations.

Operations: each takes the ``App`` and is one transaction, like the methods of
``engine.api.App``. Each refuses a role that has no part in the letter bank
(the parole board) before it looks up anything else, and a role that may not
read letters (supervision) before it looks up a letter, so neither can learn
from an error whether a letter exists. An actor who may act on a letter but
not read it (the officer, for the writer) is not told its state either.
The process rules themselves are in ``workflows/letter_bank.py``.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from sqlmodel import Session

from engine import documents, processes, runtime
from engine.clock import from_db
from engine.definition import SYSTEM_ROLE, Workflow
from engine.errors import NotFound, NotPermitted
from engine.models import Process
from engine.permissions import Actor, resolve
from services.acting import apply_worded

WORKFLOW = "letter_bank"
KIND = "letter"


# -- generic helpers -------------------------------------------------------------------

def involved_roles(wf: Workflow) -> frozenset[str]:
    """Every staff role a definition gives any part: its readers and whoever may send an event."""
    allows = [*wf.start_by, *wf.allows()]
    return frozenset(wf.readers | {r for a in allows for r in a.roles}) - {SYSTEM_ROLE}


# -- operations --------------------------------------------------------------------------

def _workflow(app) -> Workflow:
    return app.registry.latest(WORKFLOW).workflow


def _gate(session: Session, app, *, reading: bool = False) -> Actor:
    """The acting staff member, refused before anything about letters is looked up."""
    actor = resolve(session, app.login)
    wf = _workflow(app)
    if actor.role not in involved_roles(wf):
        raise NotPermitted(f"{actor.role} is not permitted to use the letter bank")
    if reading and actor.role not in wf.readers:
        raise NotPermitted(f"{actor.role} is not permitted to read letters")
    return actor


def _letter(session: Session, process_id: int) -> Process:
    process = session.get(Process, process_id)
    if process is None or process.workflow != WORKFLOW:
        raise NotFound(f"no letter {process_id}; `vcase letter list CASE` shows a case's letters")
    return process


def _outcome(session: Session, out: runtime.Outcome) -> dict[str, Any]:
    versions = documents.versions(session, out.process.id, KIND)
    result = {"letter": out.process.id, "event": out.event, "notices": len(out.notices),
              "letter_version": versions[-1].version if versions else None}
    if out.readable:
        result.update({"from": out.from_state, "to": out.to_state})
    return result


def submit(app, case_number: str, victim: int, for_party: int, text: str | bytes,
           via: Optional[str] = None) -> dict[str, Any]:
    """Log a letter written by the person under supervision (staff act for them)."""
    with app.store.write() as s:
        _gate(s, app)
        text = documents.as_text(text, "the letter")
        actor = resolve(s, app.login, for_party=for_party, via=via)
        out = runtime.start(s, app.store.vault, app.registry, case_number=case_number, workflow=WORKFLOW,
                            actor=actor, now=app.now(), params={"victim": str(victim)}, document=text)
        return _outcome(s, out)


def send(app, process_id: int, event: str, for_party: Optional[int] = None, via: Optional[str] = None,
         params: Optional[Mapping[str, Any]] = None, document: Optional[str | bytes] = None) -> dict[str, Any]:
    """Apply an event to a letter. Someone who may not read letters is told only that it cannot
    happen now, never the state the letter is in (the engine's refusals, in the letter bank's words)."""
    with app.store.write() as s:
        staff = _gate(s, app)
        if document is not None:
            document = documents.as_text(document, "the letter")
        wf = _workflow(app)
        _letter(s, process_id)
        actor = resolve(s, app.login, for_party=for_party, via=via)
        out = apply_worded(s, app, wf, staff.role, actor, process_id, event, "letter", params, document)
        return _outcome(s, out)


def show(app, process_id: int) -> dict[str, Any]:
    """A letter's record (never its text): state, facts, versions, live timers."""
    with app.store.read() as s:
        actor = _gate(s, app, reading=True)
        _letter(s, process_id)
        out = processes.show(s, app.registry, actor, process_id)
        out["versions"] = [{"version": d.version, "bytes": d.size, "written_by": d.created_by,
                            "at": from_db(d.created_at).isoformat()} for d in documents.versions(s, process_id, KIND)]
        return out


def read_text(app, process_id: int, version: Optional[int] = None) -> dict[str, Any]:
    """The letter's text (the latest version unless given); every read is an audit entry."""
    with app.store.write() as s:
        actor = _gate(s, app, reading=True)
        process = _letter(s, process_id)
        runtime.check_readable(app.registry.get(process.workflow, process.workflow_version).workflow, actor,
                               process_id)
        document, text = documents.read(s, app.store.vault, process_id, KIND, actor, app.now(), version)
        return {"letter": process_id, "version": document.version, "text": text, "written_by": document.created_by,
                "at": from_db(document.created_at).isoformat()}


def list_for_case(app, case_number: str) -> list[dict[str, Any]]:
    with app.store.read() as s:
        actor = _gate(s, app, reading=True)
        rows = processes.list_for_case(s, app.registry, actor, case_number, WORKFLOW)
        for row in rows:
            row["versions"] = len(documents.versions(s, row["id"], KIND))
        return rows


__all__ = ["involved_roles", "submit", "send", "show", "read_text",
           "list_for_case"]
