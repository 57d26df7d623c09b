"""Reading processes: show, list, history, and what may happen next.

Every read checks the definition's ``readers``: restorative processes are
invisible to supervision- and parole-facing roles, and a listing for such a
role does not mention them at all (not even that none exist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Optional

from sqlalchemy import select
from sqlmodel import Session

from engine import timers as timers_mod
from engine import settings as settings_mod
from engine.clock import from_db
from engine.definition import PAUSE, PAUSED, RESUME, WITHDRAW, Facts, Step
from engine.models import AuditEntry, Case, Process
from engine.permissions import Actor, reads
from engine.records import case_by_number
from engine.registry import Registry
from engine.agency import case_or_scope
from engine.runtime import _allowed, _facts, check_readable, load_process, possible_for
from engine.views import process_view as view, readable_processes


def show(session: Session, registry: Registry, actor: Actor, process_id: int) -> dict[str, Any]:
    process = load_process(session, process_id)
    wf = registry.get(process.workflow, process.workflow_version).workflow
    check_readable(wf, actor, process_id)
    out = view(process, wf.title)
    out["case_number"] = session.get(Case, process.case_id).case_number if process.case_id is not None else None
    out["timers"] = [
        {"name": t.name, "event": t.event, "status": t.status, "due_at": from_db(t.due_at).isoformat(),
         "remaining_seconds": t.remaining_seconds}
        for t in timers_mod.for_process(session, process_id) if t.status in timers_mod.LIVE
    ]
    return out


def list_for_case(session: Session, registry: Registry, actor: Actor, case_number: str,
                  workflow: Optional[str] = None) -> list[dict[str, Any]]:
    if actor.scope is not None:  # a partner's staff member sees a case only if an agreement grants it
        from engine.permissions import require

        require(actor, "case.show")
    case = case_by_number(session, case_number)
    if workflow:
        check_readable(registry.latest(workflow).workflow, actor)
    return readable_processes(session, registry.definition, actor, case.id, workflow)


def glimpse(session: Session, vault, registry: Registry, actor: Actor, process_id: int, now) -> dict[str, Any]:
    """What a role outside the definition's readers may see of one process (``Workflow.glimpse``);
    a role the definition gives no glimpse is told the process does not exist. Reading the shared
    document is audited."""
    from engine import documents
    from engine.errors import Hidden
    from engine.runtime import missing_message

    process = load_process(session, process_id)
    wf = registry.get(process.workflow, process.workflow_version).workflow
    gl = wf.glimpse
    if gl is None or actor.role not in gl.roles or not actor.within(wf):
        raise Hidden(missing_message(process_id))
    out = _glimpse_view(session, process, gl)
    if gl.document and gl.scope and gl.code in ((process.data or {}).get(gl.scope) or ()):
        _, out[gl.document] = documents.read(session, vault, process.id, gl.document, actor, now)
    return out


def glimpses_for_case(session: Session, registry: Registry, actor: Actor, case_number: str,
                      workflow: str) -> list[dict[str, Any]]:
    """The processes of ``workflow`` on a case as a glimpse-holding role sees them (never a document)."""
    from engine.errors import NotPermitted

    gl = registry.latest(workflow).workflow.glimpse
    if gl is None or actor.role not in gl.roles:
        raise NotPermitted(f"{actor.role} is not permitted to read {workflow} processes")
    case = case_by_number(session, case_number)
    rows = session.execute(select(Process).where(Process.case_id == case.id, Process.workflow == workflow)
                           .order_by(Process.id)).scalars()
    return [_glimpse_view(session, p, registry.get(p.workflow, p.workflow_version).workflow.glimpse or gl)
            for p in rows]


def _glimpse_view(session: Session, process: Process, gl) -> dict[str, Any]:
    data = process.data or {}
    return {"id": process.id, "workflow": process.workflow,
            "case_number": session.get(Case, process.case_id).case_number if process.case_id is not None else None,
            "reported_at": from_db(process.started_at).isoformat(), **{k: data[k] for k in gl.facts if k in data}}


def list_agency(session: Session, registry: Registry, actor: Actor, workflow: str,
                live_only: bool = True) -> list[dict[str, Any]]:
    """The agency-level processes of ``workflow`` (no case), for a role that may read them."""
    check_readable(registry.latest(workflow).workflow, actor)
    query = select(Process).where(Process.agency_level.is_(True), Process.workflow == workflow).order_by(Process.id)
    if live_only:
        query = query.where(Process.terminal.is_(False))
    out = []
    for process in session.execute(query).scalars():
        wf = registry.get(process.workflow, process.workflow_version).workflow
        if reads(wf, actor):
            out.append(view(process, wf.title))
    return out


def history(session: Session, registry: Registry, actor: Actor, process_id: int) -> list[dict[str, Any]]:
    process = load_process(session, process_id)
    check_readable(registry.get(process.workflow, process.workflow_version).workflow, actor, process_id)
    rows = session.execute(select(AuditEntry).where(AuditEntry.process_id == process_id)
                           .order_by(AuditEntry.id)).scalars()
    return [
        {"at": from_db(e.at).isoformat(), "action": e.action.split(".", 1)[-1], "from": e.from_state, "to": e.to_state,
         "actor": e.actor_login, "role": e.actor_role, "for_party": e.on_behalf_of, "via": e.via,
         "timer": e.detail.get("timer")}
        for e in rows
    ]


def next_events(session: Session, registry: Registry, actor: Actor, process_id: int, now) -> list[dict[str, Any]]:
    """What the reader may do next: each event of the current state that their role may send (for a
    party, or as staff; never the system's own steps), who may send it, and what blocks it now.

    ``blocked`` is every guard's reason that can be decided before the event's arguments are given;
    ``needs`` names the arguments the other guards read (they are checked when the event is sent)."""
    process = load_process(session, process_id)
    compiled = registry.get(process.workflow, process.workflow_version)
    wf = compiled.workflow
    check_readable(wf, actor, process_id)
    if process.terminal:
        return []
    case = case_or_scope(session, process, settings_mod.load(session, registry))
    facts = _facts(session, case, process.state, process.data or {}, {}, actor, settings_mod.load(session, registry), now)
    out = []
    for event in possible_for(compiled, process.state, actor):
        step = compiled.step(process.state, event)
        reasons, needs = preview_guards(step, facts) if step else ([], [])
        target = process.paused_from if event == RESUME else (step.target if step else {PAUSE: PAUSED, WITHDRAW: "withdrawn"}[event])
        out.append({
            "event": event, "to": target, "who": [a.describe() for a in _allowed(wf, step, event)],
            "params": [p.name for p in step.params] if step else [], "blocked": "; ".join(reasons) or None,
            "needs": needs,
            "help": step.help if step else {PAUSE: "put on hold; timers freeze", RESUME: "continue where it was paused",
                                            WITHDRAW: "end it now; pending timers and notices are cancelled"}[event],
        })
    return out


class _Unknown(Exception):
    """A guard read an argument the event has not been given."""

    def __init__(self, name: Optional[str]):
        super().__init__(name)
        self.name = name


class _NotGiven(Mapping):
    """The arguments of an event not sent yet: any read stops the guard (``.get`` too, so a guard
    that treats a missing flag as "no" is not reported as refusing)."""

    def __getitem__(self, key):
        raise _Unknown(key)

    def __iter__(self):
        raise _Unknown(None)

    def __len__(self):
        raise _Unknown(None)


def preview_guards(step: Step, facts: Facts) -> tuple[list[str], list[str]]:
    """Each reason a guard of ``step`` gives now, and the arguments the guards that read them need."""
    reasons: list[str] = []
    needs: list[str] = []
    unknown = replace(facts, params=_NotGiven())
    for guard in step.guards:
        try:
            reason = guard(unknown)
        except _Unknown as exc:
            for name in [exc.name] if exc.name else [p.name for p in step.params]:
                if name not in needs:
                    needs.append(name)
            continue
        if reason:
            reasons.append(reason)
    return reasons, needs


SIDES = ("victim", "offender")


def of_workflow(session: Session, registry: Registry, actor: Actor, process_id: int, workflow: str) -> Process:
    """A process of ``workflow`` that the actor's role may read or act on in some capacity; any
    other is refused in the words used for one that does not exist."""
    from engine.errors import Hidden
    from engine.runtime import missing_message

    process = session.get(Process, process_id)
    if process is None or process.workflow != workflow:
        raise Hidden(missing_message(process_id))
    wf = registry.get(process.workflow, process.workflow_version).workflow
    if not (reads(wf, actor) or (actor.within(wf) and any(actor.role in a.roles for a in wf.allows()))):
        raise Hidden(missing_message(process_id))
    return process


def party_for_side(session: Session, process: Process, side: str) -> int:
    """The party a staff member acts for when they act "for the victim" (the victim-side party who
    started the process) or "for the offender" (the case's person under supervision)."""
    from engine.errors import InvalidInput
    from engine.records import offender_party

    if side == "offender":
        return offender_party(session, process.case_id).id
    if side == "victim" and process.initiator_party_id is not None and process.initiator_side == "victim":
        return process.initiator_party_id
    raise InvalidInput(f"process {process.id} has no {side} to act for; name the party with --for PARTY")
