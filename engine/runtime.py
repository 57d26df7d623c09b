"""Applying events: the one place a process changes.

``start()`` and ``apply()`` do everything an event means inside the caller's
transaction: permission (role and the side the actor acts for), guards, the
new state from the definition's Machine, a version bump guarded by optimistic
locking, timers armed, frozen, thawed or cancelled, one audit entry, and the
notices queued. Any refusal raises before the first write is flushed, and the
caller's rollback leaves nothing behind.

``decide()`` is the first half of ``apply()``: every check and the new state
and data, with nothing written. The scheduler's set-based path
(``engine.batch``) decides each timer's event with it and writes many at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from engine import agency as agency_mod, audit, documents, grants, outbox, records, timers
from engine import confidentiality
from engine import settings as settings_mod
from engine.clock import parse_when, require_utc
from engine.crypto import Vault
from engine.definition import (
    PAUSE, PAUSED, RESUME, START, WITHDRAW, WITHDRAWN, Allow, Facts, Notify, Param, Step, Workflow,
)
from engine.errors import Conflict, Hidden, InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import Case, Process, WorkflowPin
from engine.permissions import Actor, reads
from engine.registry import Compiled, Registry

MAX_TEXT = 2000
GENERIC_PARAMS = (Param("reason", "text", required=False, help="why (kept in the audit trail, never sent)"),)


@dataclass
class Outcome:
    process: Process
    event: str
    from_state: Optional[str]
    to_state: str
    audit_id: int
    notices: list[int] = field(default_factory=list)
    readable: bool = True  # False: the actor may act but not read, so their answer must not show states


def words(event: str) -> str:
    """An event as people say it ("invite offender", not invite_offender): refusals name events so,
    and a command may say them in its own words instead (``reword``)."""
    return event.replace("_", " ")


def refused(event: str, state: str, because: str, possible: Optional[list[str]] = None,
            kind: str = "state") -> NotAllowed:
    """A NotAllowed for an event that does not apply now, its sentence's parts kept on it so that a
    command can say it in its own words (``reword``): ``because`` follows the event's words,
    ``possible`` lists what the actor could do instead (None: not said), ``kind`` is "ended",
    "paused", "state" or "guard"."""
    exc = NotAllowed(_sentence(words(event), because, possible, words), event=event, state=state)
    exc.because, exc.possible, exc.kind = because, possible, kind
    return exc


def reword(exc: NotAllowed, what: str, name=words) -> Optional[str]:
    """``exc`` with ``what`` for its event and ``name(event)`` for each possible one; None if ``exc``
    was not made by ``refused``."""
    if not hasattr(exc, "because"):
        return None
    return _sentence(what, exc.because, exc.possible, name)


def _sentence(what: str, because: str, possible: Optional[list[str]], name) -> str:
    listed = ", ".join(name(e) for e in possible or ()) or "nothing you may do"
    return f"Can't {what}{because}" + ("" if possible is None else f" Possible now: {listed}.")


def possible_for(compiled: Compiled, state: str, actor: Actor) -> list[str]:
    """The events of ``state`` that ``actor``'s role may send (for some party, or as staff): never the
    system's own steps for a person."""
    wf = compiled.workflow
    return [e for e in compiled.events_from(state)
            if any(a.names(actor.role) for a in _allowed(wf, compiled.step(state, e), e))]


def missing_message(process_id: int) -> str:
    return f"no process {process_id} that you may see; `vcase process list CASE` shows the ones you may"


def load_process(session: Session, process_id: int) -> Process:
    process = session.get(Process, process_id)
    if process is None:
        raise NotFound(missing_message(process_id))
    return process


def check_readable(wf: Workflow, actor: Actor, process_id: Optional[int] = None) -> None:
    """Refuse a read by a role outside the definition's readers. A single process is refused in
    the words used for one that does not exist, so the refusal does not tell that it does."""
    if reads(wf, actor):
        return
    if process_id is not None:
        raise Hidden(missing_message(process_id))
    raise NotPermitted(f"{actor.role} is not permitted to read {wf.name} processes")


def ever_admits(wf: Workflow, actor: Actor, event: Optional[str] = None) -> bool:
    """Whether some state of ``wf`` lets ``actor`` send ``event`` (any event if None): an answer
    that depends on the definition only, never on a process's state."""
    return actor.within(wf) and any(a.admits(actor.role, actor.party_side) for a in wf.allows(event))


def start(session: Session, vault: Vault, registry: Registry, *, case_number: Optional[str], workflow: str,
          actor: Actor, now: datetime, params: Optional[Mapping[str, Any]] = None,
          document: Optional[str] = None) -> Outcome:
    """Start a process on a case (or, for an agency-level workflow, with no case number: on the
    agency), at the newest version of its definition."""
    now = require_utc(now, "now")
    compiled = registry.latest(workflow)
    wf = compiled.workflow
    agency_mod.no_case_for(wf.name, case_number, wf.agency_level)
    policy = settings_mod.load(session, registry)
    case = agency_mod.scope(policy) if wf.agency_level else records.case_by_number(session, case_number)
    _permit(wf.start_by, actor, START, wf)
    if actor.party_id is not None and actor.party_case_id != case.id:
        raise InvalidInput(f"party {actor.party_id} is not on case {case_number}")
    if wf.victim_initiated and actor.party_side != "victim":
        raise NotPermitted(f"only a victim-side party can start a {wf.name}; act --for the victim, guardian or next of kin")
    _pin(session, wf)
    if not wf.duty:
        confidentiality.require_explained(session, actor, START, policy)
    values = _parse(session, wf.start_params, params or {}, case.time_zone)
    facts = _facts(session, case, wf.initial, {}, values, actor, policy, now)
    _guard(wf.start_guards, START, facts)
    data = dict(wf.start_record(facts)) if wf.start_record else {}
    process = Process(
        case_id=case.id, agency_level=wf.agency_level, workflow=wf.name, workflow_version=wf.version,
        state=wf.initial, version=1,
        victim_initiated=wf.victim_initiated, initiator_party_id=actor.party_id, initiator_side=actor.party_side,
        data=data, terminal=wf.initial in wf.finals, started_at=now, updated_at=now,
    )
    session.add(process)
    session.flush()
    attached = _attach(session, vault, wf.start_attach, document, process.id, actor, now)
    armed = timers.arm(session, wf, process.id, wf.initial, data, now, case.time_zone, policy)
    granted = grants.sync(session, wf, process, wf.initial, now)
    audit_id = audit.append(session, at=now, actor=actor, action=f"{wf.name}.{START}", case_id=case.id,
                         process_id=process.id, to_state=wf.initial,
                         detail={"version": 1, "workflow_version": wf.version, "params": values,
                                 "timers": [t.name for t in armed], **attached,
                                 **({"access": granted} if granted else {})})
    queued = _notify(session, vault, wf, wf.start_notify, process, case, audit_id, now, policy)
    return Outcome(process, START, None, wf.initial, audit_id, queued)


def apply(session: Session, vault: Vault, registry: Registry, *, process_id: int, event: str, actor: Actor,
          now: datetime, params: Optional[Mapping[str, Any]] = None, expected_version: Optional[int] = None,
          timer: Optional[Mapping[str, Any]] = None, document: Optional[str] = None,
          case_event_id: Optional[int] = None) -> Outcome:
    """Apply ``event`` to a process; refuse with nothing written if it may not happen.

    An actor outside the definition's readers (an officer submitting a letter for its writer)
    may act where a step allows it, but every refusal they get is free of the process's state
    and workflow; one who may neither read nor act is told the process does not exist."""
    now = require_utc(now, "now")
    process = load_process(session, process_id)
    compiled = registry.get(process.workflow, process.workflow_version)
    wf = compiled.workflow
    if reads(wf, actor):
        return _apply(session, vault, registry, compiled, process, event, actor, now, params, expected_version, timer,
                      document, case_event_id)
    if not ever_admits(wf, actor):
        raise Hidden(missing_message(process_id))
    if not ever_admits(wf, actor, event):
        # Neither the step's name nor its words: they may name the process's kind or states.
        raise NotPermitted(f"{actor.describe()} is not permitted to take that step on process {process_id}")
    try:
        outcome = _apply(session, vault, registry, compiled, process, event, actor, now, params, expected_version,
                         timer, document, case_event_id)
        outcome.readable = False
        return outcome
    except (NotAllowed, NotPermitted):
        raise refused(event, "", f" now (process {process_id}); nothing was written, and its state is not "
                      "shown to your role: ask the staff who run it.") from None


@dataclass
class Change:
    """What one event will do to a process, decided before anything is written."""
    compiled: Compiled
    process: Any  # a Process, or a row with its columns (the batch path)
    case: Any
    step: Optional[Step]
    event: str
    source: str
    target: str
    data: dict
    values: dict
    actor: Actor
    now: datetime
    policy: Mapping[str, str]

    @property
    def wf(self) -> Workflow:
        return self.compiled.workflow


def decide(session: Session, registry: Registry, compiled: Compiled, process, event: str, actor: Actor,
           now: datetime, params=None, expected_version: Optional[int] = None, case=None) -> Change:
    """Everything an event means, checked and computed, with nothing written (but a first pin)."""
    wf = compiled.workflow
    _pin(session, wf)
    source = process.state
    if expected_version is not None and expected_version != process.version:
        raise Conflict(f"process {process.id} changed since you read it (version {expected_version}, now "
                       f"{process.version}); nothing was written: look again with `vcase process show {process.id}`")
    step = _find_step(compiled, source, event, process, actor)
    _permit(_allowed(wf, step, event), actor, event, wf)
    case = case if case is not None else agency_mod.case_or_scope(session, process, settings_mod.load(session, registry))
    if actor.party_id is not None and actor.party_case_id != case.id:
        raise InvalidInput(f"party {actor.party_id} is not on this process's case")
    _speaks_for_initiator(session, process, actor, event)
    policy = settings_mod.load(session, registry)
    if not wf.duty:
        confidentiality.require_explained(session, actor, event, policy)
    values = _parse(session, step.params if step else GENERIC_PARAMS, params or {}, case.time_zone)
    facts = _facts(session, case, source, process.data or {}, values, actor, policy, now)
    if step:
        _guard(step.guards, event, facts)
    if source == PAUSED and step is not None:  # a step that passes the pause leaves the process paused
        target = PAUSED
    else:
        target = compiled.target(source, event, resume_to=process.paused_from if event == RESUME else None)
    data = dict(process.data or {})
    if step and step.record:
        data.update(step.record(facts))
    return Change(compiled, process, case, step, event, source, target, data, values, actor, now, policy)


def audit_detail(change: Change, version: int, timer_changes: Mapping[str, Any], timer, case_event_id,
                 attached=None) -> dict[str, Any]:
    """The audit entry's detail for an applied change (``version``: the process's new version)."""
    detail: dict[str, Any] = {"version": version, "params": change.values, "timers": timer_changes, **(attached or {})}
    if timer:
        detail["timer"] = dict(timer)
    if case_event_id is not None:
        detail["case_event"] = case_event_id
    return detail


def _apply(session: Session, vault: Vault, registry: Registry, compiled: Compiled, process: Process, event: str, actor: Actor,
           now: datetime, params, expected_version, timer, document, case_event_id) -> Outcome:
    change = decide(session, registry, compiled, process, event, actor, now, params, expected_version)
    wf, step, source, target, case = change.wf, change.step, change.source, change.target, change.case
    if document is not None and not (step and step.attach):
        raise InvalidInput(f"{event} takes no document")
    _save(session, process, target, change.data, wf, source, event, now)
    attached = _attach(session, vault, step.attach if step else None, document, process.id, actor, now)
    timer_changes = _move_timers(session, wf, process, source, target, event, now, case.time_zone, change.policy,
                                 rearm=bool(step and step.rearm))
    detail = audit_detail(change, process.version, timer_changes, timer, case_event_id, attached)
    granted = grants.sync(session, wf, process, target, now) if target != source or step and step.record else {}
    if granted:
        detail["access"] = granted
    audit_id = audit.append(session, at=now, actor=actor, action=f"{wf.name}.{event}", case_id=case.id,
                         process_id=process.id, from_state=source, to_state=target, detail=detail)
    specs = notices_for(wf, step, event)
    if event == WITHDRAW:
        outbox.cancel_unsent(session, process.id, "process withdrawn")
    queued = _notify(session, vault, wf, specs, process, case, audit_id, now, change.policy, case_event_id,
                     survives_withdrawal=event == WITHDRAW)
    return Outcome(process, event, source, target, audit_id, queued)


# -- the pieces ----------------------------------------------------------------

def _attach(session, vault, kind: Optional[str], text: Optional[str], process_id: int, actor: Actor,
            now: datetime) -> dict[str, Any]:
    """Store the event's document as the next version; the audit gets its size, never its text."""
    if kind is None:
        if text is not None:
            raise InvalidInput("this event takes no document")
        return {}
    if text is None:
        raise InvalidInput(f"this event needs the {kind} text (--file PATH, or - for standard input)")
    document = documents.store(session, vault, process_id, kind, documents.as_text(text, f"the {kind}"), actor.login, now)
    return {"document": {"kind": kind, "version": document.version, "bytes": document.size}}


def _find_step(compiled: Compiled, source: str, event: str, process: Process, actor: Actor) -> Optional[Step]:
    wf = compiled.workflow
    if process.terminal:
        raise refused(event, source, f" when in {source}: process {process.id} has ended.", kind="ended")
    if event not in compiled.known_events():
        raise NotAllowed(f"{wf.name} has no event {event!r}; `vcase process events {process.id}` lists what can happen now",
                         event=event, state=source)
    if source == PAUSED and process.paused_from and _passes_pause(compiled, process.paused_from, event):
        return compiled.step(process.paused_from, event)
    if source == PAUSED and event not in (RESUME, WITHDRAW):
        raise refused(event, source, " when in paused: a paused process takes only resume or withdraw.",
                      kind="paused")
    if event not in compiled.events_from(source):
        raise refused(event, source, f" when in {source}.", possible_for(compiled, source, actor))
    return compiled.step(source, event)


def _passes_pause(compiled: Compiled, paused_from: str, event: str) -> bool:
    """A step the definition lets through a pause (the system's internal steps, such as telling a
    paused registrant about an escape): it applies, and the process stays paused."""
    step = compiled.step(paused_from, event)
    return bool(step and step.while_paused)


def _speaks_for_initiator(session: Session, process: Process, actor: Actor, event: str) -> None:
    """On a victim-initiated process the victim side is the victim who started it and the people who
    represent them (or whom they represent): another victim on the case, or a co-victim's guardian,
    does not act in their name."""
    if not process.victim_initiated or actor.party_side != "victim" or process.initiator_party_id is None:
        return
    acting, initiator = actor.party_id, process.initiator_party_id
    parties = records.case_parties(session, process.case_id)
    if initiator in (acting, parties[acting]["represents"]) or parties[initiator]["represents"] == acting:
        return
    raise NotPermitted(f"party {acting} is not the victim who started process {process.id}, nor their "
                       f"representative: only they may {event} it (act --for party {initiator})")


def _allowed(wf: Workflow, step: Optional[Step], event: str) -> tuple[Allow, ...]:
    if step is not None:
        return step.by
    return {PAUSE: wf.pause_by, RESUME: wf.resume_by, WITHDRAW: wf.withdraw_by}[event]


def _permit(allows: tuple[Allow, ...], actor: Actor, event: str, wf: Workflow) -> None:
    if not actor.within(wf):  # a partner's staff member, outside what their agreement grants
        raise NotPermitted(f"{actor.login} (staff of a partner) is not permitted to {words(event)} in a {wf.name}: "
                           "no agreement in force grants it to their partner")
    if any(a.admits(actor.role, actor.party_side) for a in allows):
        return
    who = "; ".join(a.describe() for a in allows) or "nobody"
    raise NotPermitted(f"{actor.describe()} is not permitted to {words(event)} in a {wf.name} (permitted: {who})")


def _guard(guards, event: str, facts: Facts) -> None:
    for guard in guards:
        reason = guard(facts)
        if reason:
            raise refused(event, facts.state, f" now: {reason}.", kind="guard")


def _facts(session, case: Case, state: str, data, values, actor: Actor, policy, now: datetime) -> Facts:
    parties = records.case_parties(session, case.id)
    return Facts(state=state, data=data, params=values, case=records.case_facts(session, case, now),
                 actor_role=actor.role, actor_side=actor.party_side, settings=policy, now=now,
                 actor_party=parties.get(actor.party_id, {}) if actor.party_id is not None else {}, parties=parties,
                 actor_login=actor.login)


def _parse(session: Session, specs: tuple[Param, ...], raw: Mapping[str, Any], tz: str) -> dict[str, Any]:
    """Check an event's arguments against its declared parameters."""
    known = {p.name for p in specs}
    extra = sorted(set(raw) - known)
    if extra:
        raise InvalidInput(f"unexpected argument {extra[0]!r}; this event takes: {', '.join(sorted(known)) or 'none'}")
    values: dict[str, Any] = {}
    for p in specs:
        value = raw.get(p.name)
        if value is None or value == "":
            if p.required and p.kind != "flag":
                raise InvalidInput(f"missing {p.name}: {p.help or 'required'}")
            if p.kind == "flag":
                values[p.name] = False
            continue
        values[p.name] = _convert(session, p, value, tz)
    return values


def _convert(session: Session, p: Param, value: Any, tz: str) -> Any:
    if p.kind == "flag":
        return bool(value)
    if p.kind == "when":
        moment = require_utc(value, p.name) if isinstance(value, datetime) else parse_when(str(value), tz, p.name)
        return moment.isoformat()
    text = records.plain_text(str(value).strip(), p.name, MAX_TEXT, lines=True)
    if p.kind == "choice" and text not in p.choices:
        raise InvalidInput(f"{p.name} must be one of: {', '.join(p.choices)} (got {text!r})")
    if p.kind == "staff":
        records.staff_by_login(session, text, role=p.role)
    return text


def _pin(session: Session, wf: Workflow) -> None:
    """Refuse a definition whose rules changed without a version bump (checked once a transaction)."""
    checked = session.info.setdefault("vcase.pins", set())
    if (wf.name, wf.version, id(wf)) in checked:
        return
    pin = session.get(WorkflowPin, (wf.name, wf.version))
    fingerprint = wf.fingerprint()
    if pin is None:
        session.add(WorkflowPin(workflow=wf.name, version=wf.version, fingerprint=fingerprint))
        session.flush()
    elif pin.fingerprint != fingerprint:
        raise NotAllowed(
            f"workflow {wf.name} version {wf.version} has changed since processes started on it; "
            "give the new rules a new version and keep the old one in the module's VERSIONS"
        )
    checked.add((wf.name, wf.version, id(wf)))


def _save(session: Session, process: Process, target: str, data: dict, wf: Workflow, source: str, event: str,
          now: datetime) -> None:
    paused_from = source if event == PAUSE else process.paused_from if source == target == PAUSED else None
    changed = session.execute(
        update(Process).where(Process.id == process.id, Process.version == process.version)
        .values(state=target, paused_from=paused_from, data=data, version=process.version + 1,
                terminal=target in wf.finals, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict(f"process {process.id} was changed by someone else at the same time; nothing was written, try again")
    for name, value in (("state", target), ("paused_from", paused_from), ("data", data),
                        ("version", process.version + 1), ("terminal", target in wf.finals), ("updated_at", now)):
        set_committed_value(process, name, value)  # what the guarded UPDATE wrote, without a reload


def _move_timers(session, wf: Workflow, process: Process, source: str, target: str, event: str,
                 now: datetime, tz: str, policy, rearm: bool = False) -> dict[str, Any]:
    if event == PAUSE:
        return {"frozen": timers.freeze_all(session, process.id, now)}
    if event == RESUME:
        return {"rearmed": timers.thaw_all(session, process.id, now)}
    if target == source and not rearm:
        return {}
    cancelled = timers.cancel_all(session, process.id, f"left {source} by {event}")
    armed = [] if target in wf.finals else timers.arm(session, wf, process.id, target, process.data or {}, now, tz, policy)
    return {"cancelled": cancelled, "armed": [t.name for t in armed]}


def notices_for(wf: Workflow, step: Optional[Step], event: str) -> tuple[Notify, ...]:
    if step is not None:
        return step.notify
    return {PAUSE: wf.pause_notify, RESUME: wf.resume_notify, WITHDRAW: wf.withdraw_notify}[event]


def _notify(session, vault, wf: Workflow, specs, process: Process, case: Case, audit_id: int, now: datetime,
            policy, case_event_id: Optional[int] = None, survives_withdrawal: bool = False) -> list[int]:
    """Queue the notices of an event; their ids."""
    rows = notice_rows(session, vault, wf, specs, process, case, audit_id, now, policy, case_event_id, survives_withdrawal)
    return outbox.insert(session, rows)


def notice_rows(session, vault, wf: Workflow, specs, process, case, audit_id: int, now: datetime, policy,
                case_event_id: Optional[int] = None, survives_withdrawal: bool = False) -> list[dict[str, Any]]:
    if not specs:
        return []
    appointment = (process.data or {}).get(wf.appointment) if wf.appointment else None
    through = bool(wf.emergencies_while_paused) and (process.data or {}).get(wf.emergencies_while_paused) is not False
    return outbox.rows(session, vault, specs, process=process, case=case, cause=f"audit/{audit_id}", now=now,
                       settings=policy, appointment=appointment, case_event_id=case_event_id,
                       survives_withdrawal=survives_withdrawal, emergencies_through_pause=through,
                       sharing=wf.sharing)


__all__ = ["apply", "start", "Outcome", "refused", "reword", "words", "possible_for", "load_process", "check_readable", "reads",
           "ever_admits", "WITHDRAWN"]
