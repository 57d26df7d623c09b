"""The vocabulary workflow definitions are written in, and the load-time checks.

A definition in ``workflows/`` is data: states, steps (source, event, target,
who may send it, guards, what it records, the notices it emits), timers
attached to states, and who may pause, resume or withdraw. Guards and
``record`` functions are pure: they get ``Facts`` and return a reason (or
``None``) or a dict of facts to store. Nothing here does I/O.

``check()`` enforces the rules every definition obeys; a definition that breaks
one fails loudly at load with ``DefinitionError`` naming the rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Callable, Iterable, Mapping, Optional

from engine.errors import DefinitionError

PAUSED = "paused"
WITHDRAWN = "withdrawn"
PAUSE, RESUME, WITHDRAW, START = "pause", "resume", "withdraw", "start"
GENERIC_EVENTS = (PAUSE, RESUME, WITHDRAW)
STAFF_ROLES = ("officer", "advocate", "victim_services", "facilitator", "parole_board", "admin", "mailroom")
SYSTEM_ROLE = "system"
# A victim-side party acting for themselves (the portal, a reply to a text): not staff, and admitted
# exactly where a definition lets the victim side act, by whatever staff roles it names for it.
SELF_ROLE = "self"
SIDES = ("victim", "offender")


@dataclass(frozen=True)
class Allow:
    """Who may send an event: one of ``roles``, acting for a party on ``side``
    (``None``: acting in their own capacity as staff)."""

    roles: frozenset[str]
    side: Optional[str] = None

    def admits(self, role: str, side: Optional[str]) -> bool:
        if role == SELF_ROLE:  # the victim themselves: wherever the victim side may act, nowhere else
            return side == self.side == "victim"
        return role in self.roles and side == self.side

    def names(self, role: str) -> bool:
        """Whether ``role`` may send this for some party (or as staff): the roles listed, and the
        victim themselves where it is for the victim side."""
        return role in self.roles or (role == SELF_ROLE and self.side == "victim")

    def describe(self) -> str:
        who = "/".join(sorted(self.roles))
        return f"{who} for the {self.side} side" if self.side else who


def allow(*roles: str, side: Optional[str] = None) -> Allow:
    return Allow(frozenset(roles), side)


SYSTEM = allow(SYSTEM_ROLE)


@dataclass(frozen=True)
class Param:
    """An argument an event takes. ``kind``: text, choice, when, staff, flag."""

    name: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    role: Optional[str] = None
    required: bool = True
    help: str = ""


def text(name: str, *, required: bool = True, help: str = "") -> Param:
    return Param(name, "text", required=required, help=help)


def choice(name: str, *options: str, required: bool = True, help: str = "") -> Param:
    return Param(name, "choice", choices=options, required=required, help=help)


def when(name: str, *, required: bool = True, help: str = "") -> Param:
    return Param(name, "when", required=required, help=help)


def staff(name: str, *, role: str, help: str = "") -> Param:
    return Param(name, "staff", role=role, help=help)


def flag(name: str, *, help: str = "") -> Param:
    return Param(name, "flag", required=False, help=help)


def codes(value: Any) -> list[str]:
    """A fact listing names or ids (a list, or comma-separated text), in order, without repeats."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    out: list[str] = []
    for item in (str(i).strip() for i in items):
        if item and item not in out:
            out.append(item)
    return out


@dataclass(frozen=True)
class Recipient:
    """Who a notice goes to, resolved by the engine: the victim-side party who
    started the process, the person under supervision, the case's officer, the
    staff member whose login a process fact holds, or the victim-side party
    whose id a process fact holds (``party_fact``)."""

    kind: str  # initiator | offender | officer | staff_fact | party_fact | contact_fact | case_contact
    fact: Optional[str] = None
    _: KW_ONLY  # the rest by name only: a filter given by position once landed in the wrong field
    level: Optional[str] = None  # case_contact: the process fact holding how far down the list to go
    registration: Optional["Subscription"] = None  # party_fact: only parties subscribed to this

    @property
    def audience(self) -> str:
        return {"initiator": "victim", "offender": "offender", "party_fact": "victim",
                "contact_fact": "partner", "case_contact": "responder"}.get(self.kind, "staff")


VICTIM = Recipient("initiator")
OFFENDER = Recipient("offender")
OFFICER = Recipient("officer")


def assigned(fact: str) -> Recipient:
    return Recipient("staff_fact", fact)


def partner_contact(fact: str) -> Recipient:
    """The community partner's contact whose id the process fact ``fact`` holds (audience
    ``partner``). What such a notice may say about the victim is the workflow's ``Sharing``: only
    the fields the victim consented to, and none once the process is withdrawn."""
    return Recipient("contact_fact", fact)


CASE_CONTACT_ROLES = ("law_enforcement", "prosecutor")


def case_contact(role: str, *, level: Optional[str] = None) -> Recipient:
    """The case's designated contact for ``role`` (law enforcement, the prosecutor: a partner contact
    the case names, ranked), audience ``responder``. ``level`` is the process fact saying how far
    down the case's list to go (0: the first; past the end, the last again: someone is always
    told). A responder's notice carries the victim's fields only as the workflow's ``Sharing``
    scope allows."""
    return Recipient("case_contact", role, level=level)


# What a victim may consent to share with a partner, by code: their name, how to reach them (the
# address of their first chosen channel), their language, and a short summary they agreed to.
SHAREABLE = ("name", "contact", "language", "summary")


@dataclass(frozen=True)
class Sharing:
    """How a process shares victim data with a community partner: ``partner`` is the process fact
    holding the partner's id (its name and contact details fill the partner_* fields of victim and
    staff notices), ``scope`` the fact listing the SHAREABLE codes the victim consented to, and
    ``summary`` the kind of the encrypted document holding the summary, read only to build a
    partner notice whose scope names it."""

    partner: str
    scope: str
    summary: str


@dataclass(frozen=True)
class Glimpse:
    """What a role outside ``readers`` may see of a process (an officer who must act on a report but
    may not read it): that it exists, when it started, the facts named in ``facts`` (codes and
    times, never victim data), and the latest ``document`` only if the process fact ``scope`` lists
    ``code`` (what the victim agreed to share). Read by ``engine.processes.glimpse``; anyone else
    outside ``readers`` is told the process does not exist."""

    roles: frozenset[str]
    facts: tuple[str, ...]
    document: Optional[str] = None
    scope: Optional[str] = None
    code: str = "summary"


@dataclass(frozen=True)
class Subscription:
    """An opt-in held by another process: a party counts as subscribed to ``topic`` when they started
    a live, unpaused process of ``workflow`` on the case whose fact ``fact`` lists ``topic`` (a
    notification registration listing ``letter_held``)."""

    workflow: str
    fact: str
    topic: str


def party_fact(fact: str, *, requires: Optional[Subscription] = None) -> Recipient:
    """The victim-side party whose id the process fact ``fact`` holds, and those who represent
    them (a guardian, next of kin); a minor or deceased party is reached only through those.
    With ``requires``, only whoever holds that subscription on the case: nobody else is told
    anything."""
    return Recipient("party_fact", fact, registration=requires)


@dataclass(frozen=True)
class Notify:
    """A notice emitted by a step: template ``<process>/<audience>/<template>``."""

    template: str
    to: Recipient
    emergency: bool = False
    if_fact: Optional[str] = None  # queued only when this process fact is true (after the step's record)
    items: Optional[str] = None  # a process fact holding a list of codes the template spells out (``items``)


def staff_with_role(role: str) -> Recipient:
    """Every active member of the agency's own staff with ``role`` (never a partner's staff): whom an
    agency-level process, which has no case and so no officer, tells (``Workflow.agency_level``)."""
    return Recipient("staff_role", role)


# Recipients an agency-level process may have: it has no case, so no party, officer or partner contact.
AGENCY_RECIPIENTS = ("staff_fact", "staff_role")


@dataclass(frozen=True)
class Grants:
    """Access a process grants the staff of community partners while it is in one of ``states``
    (an agreement in force): the partners whose ids the process fact ``partners`` lists may use the
    workflows listed in the fact ``workflows`` and the permission keys (``permissions.COMMANDS``)
    listed in the fact ``permissions``, until the moment in the fact ``until``. The engine records
    the grant when the process enters those states and ends it, in the same transaction, when it
    leaves them; ``permissions.resolve`` reads the grants in force when it builds an actor."""

    partners: str
    workflows: str
    permissions: str
    states: frozenset[str]
    until: Optional[str] = None


@dataclass(frozen=True)
class Facts:
    """Everything a guard or record function may look at."""

    state: str
    data: Mapping[str, Any]
    params: Mapping[str, Any]
    case: Mapping[str, Any]
    actor_role: str
    actor_side: Optional[str]
    settings: Mapping[str, str]
    now: datetime
    # The party the actor acts for ({} when acting as staff) and every party on the case, by id:
    # {"id", "kind", "side", "minor", "deceased", "represents"}; never names or contact details.
    actor_party: Mapping[str, Any] = field(default_factory=dict)
    parties: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    actor_login: str = ""  # the staff member acting (e.g. recorded as who follows a process up)


Guard = Callable[[Facts], Optional[str]]
Record = Callable[[Facts], Mapping[str, Any]]


@dataclass(frozen=True)
class Step:
    source: str | tuple[str, ...]
    event: str
    target: str
    by: tuple[Allow, ...]
    guards: tuple[Guard, ...] = ()
    params: tuple[Param, ...] = ()
    record: Optional[Record] = None
    notify: tuple[Notify, ...] = ()
    help: str = ""
    attach: Optional[str] = None  # the event carries a document of this kind (stored encrypted, versioned)
    # An internal step that arms its state's timers again (a reminder that repeats until answered).
    rearm: bool = False
    # Applies to a paused process too (an internal step, run by the system): the process stays paused,
    # its notices wait for resume, except emergencies when ``Workflow.emergencies_while_paused`` says so.
    while_paused: bool = False

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if isinstance(self.source, str) else tuple(self.source)


def name_of(state) -> str:
    """States may be given as members of the workflow's str Enum or as strings."""
    return state.value if isinstance(state, Enum) else str(state)


def step(source, event, target, *, by, guards=(), params=(), record=None, notify=(), help="", attach=None,
         while_paused=False, rearm=False) -> Step:
    """A transition. ``target == source`` is an internal step: timers keep running."""
    by = (by,) if isinstance(by, Allow) else tuple(by)
    sources = tuple(name_of(s) for s in source) if isinstance(source, (tuple, list, set, frozenset)) else name_of(source)
    return Step(sources, event, name_of(target), by, tuple(guards), tuple(params), record, tuple(notify), help, attach,
                rearm, while_paused)


@dataclass(frozen=True)
class TimerSpec:
    """A timed step armed when ``state`` is entered and cancelled when it is left.

    Due ``after`` the entry (wall-clock days in the case's time zone; with
    ``business``, that many weekdays, Saturday and Sunday not counted), or
    ``before`` the datetime stored in the process fact ``fact``. A setting of
    the same name (in days) overrides the default.
    """

    name: str
    state: str
    event: str
    after: Optional[timedelta] = None
    before: Optional[timedelta] = None
    fact: Optional[str] = None
    setting: Optional[str] = None
    business: bool = False
    unit: str = "days"  # what the setting counts: days, or minutes (an urgent step's interval)


def after(state: str, delta: timedelta, event: str, *, name: str, setting: Optional[str] = None,
          business: bool = False, unit: str = "days") -> TimerSpec:
    return TimerSpec(name, name_of(state), event, after=delta, setting=setting, business=business, unit=unit)


def before(fact: str, delta: timedelta, event: str, *, state: str, name: str, setting: Optional[str] = None) -> TimerSpec:
    return TimerSpec(name, name_of(state), event, before=delta, fact=fact, setting=setting)


@dataclass(frozen=True)
class Workflow:
    name: str
    version: int
    title: str
    states: type[Enum]
    initial: str
    finals: frozenset[str]
    steps: tuple[Step, ...]
    start_by: tuple[Allow, ...]
    readers: frozenset[str]
    victim_initiated: bool = False
    start_params: tuple[Param, ...] = ()
    start_guards: tuple[Guard, ...] = ()
    start_record: Optional[Record] = None
    start_notify: tuple[Notify, ...] = ()
    start_attach: Optional[str] = None
    timers: tuple[TimerSpec, ...] = ()
    pause_by: tuple[Allow, ...] = ()
    resume_by: tuple[Allow, ...] = ()
    withdraw_by: tuple[Allow, ...] = ()
    pause_notify: tuple[Notify, ...] = ()
    resume_notify: tuple[Notify, ...] = ()
    withdraw_notify: tuple[Notify, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    appointment: Optional[str] = None  # the process fact notices show as ``appointment``
    sharing: Optional[Sharing] = None  # what notices to a partner may carry (see ``Sharing``)
    # Case events (custody, supervision): type -> the step applied, as the system, to each live
    # process of this workflow on the case; ``advance``: type -> the step fired N days before the
    # event's time, N from the setting ``advance_days_setting`` ("30,7,1").
    listens: Mapping[str, str] = field(default_factory=dict)
    advance: Mapping[str, str] = field(default_factory=dict)
    advance_days_setting: Optional[str] = None
    emergencies: frozenset[str] = frozenset()  # case event types that go at once, on every channel
    # A process fact (true unless set false): emergency notices of ``while_paused`` steps go out at
    # once during a pause. Without it they wait for resume like the rest.
    emergencies_while_paused: Optional[str] = None
    # Not on a case (a formal agreement with partners): started without a case number, times in the
    # agency's zone (setting agency.time_zone), no case facts or parties, notices to staff only.
    agency_level: bool = False
    # The agency's duty, not something the victim asks for (an intimidation report escalated at once):
    # intake formalities such as the limits of confidentiality explained first never hold it back.
    duty: bool = False
    grants: Optional[Grants] = None  # access the process grants partners' staff (see ``Grants``)
    glimpse: Optional[Glimpse] = None  # what a role outside readers may see (see ``Glimpse``)
    # False: no agreement ever opens this workflow to a partner's staff, whatever a grant names (the
    # letter bank: a letter waits for the victim alone). Checked by ``permissions.Actor.within``.
    partner_staff: bool = True

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.value for s in self.states)

    @property
    def pausable(self) -> bool:
        return bool(self.pause_by)

    @property
    def withdrawable(self) -> bool:
        return bool(self.withdraw_by)

    def all_notices(self) -> Iterable[Notify]:
        yield from self.start_notify
        yield from self.pause_notify
        yield from self.resume_notify
        yield from self.withdraw_notify
        for s in self.steps:
            yield from s.notify

    def allows(self, event: Optional[str] = None) -> list[Allow]:
        """Who may send ``event`` in some state (every event of a running process if None)."""
        generic = {PAUSE: self.pause_by, RESUME: self.resume_by, WITHDRAW: self.withdraw_by}
        out = [a for e, by in generic.items() if event in (None, e) for a in by]
        return out + [a for s in self.steps if event in (None, s.event) for a in s.by]

    def edges(self) -> list[tuple[str, str, str]]:
        """(source, event, target) for every step, the generic ones included."""
        out = [(src, s.event, s.target) for s in self.steps for src in s.sources]
        live = [n for n in self.state_names if n not in self.finals and n != PAUSED]
        if self.pausable:
            out += [(n, PAUSE, PAUSED) for n in live] + [(PAUSED, RESUME, n) for n in live]
        if self.withdrawable:
            out += [(n, WITHDRAW, WITHDRAWN) for n in live + ([PAUSED] if self.pausable else [])]
        return out

    def fingerprint(self) -> str:
        """A digest of the rules; a change without a version bump is detected."""

        def names(fns) -> list[str]:
            return [f"{f.__module__}.{f.__qualname__}" for f in fns]

        shape = {
            "states": self.state_names,
            "initial": self.initial,
            "finals": sorted(self.finals),
            "edges": sorted(self.edges()),
            "by": sorted((s.event, a.describe()) for s in self.steps for a in s.by),
            "guards": sorted((s.event, g) for s in self.steps for g in names(s.guards)),
            "timers": sorted((t.name, t.state, t.event, str(t.after), str(t.before), t.fact or "")
                             + (("business",) if t.business else ()) + ((t.unit,) if t.unit != "days" else ())
                             for t in self.timers),
            "generic": [sorted(a.describe() for a in x) for x in (self.start_by, self.pause_by, self.resume_by, self.withdraw_by)],
        }
        rearming = sorted(s.event for s in self.steps if s.rearm)
        if rearming:  # only when set, as below
            shape["rearm"] = rearming
        if self.glimpse is not None:  # only when set: widening what a non-reader sees needs a new version
            gl = self.glimpse
            shape["glimpse"] = [sorted(gl.roles), list(gl.facts), gl.document or "", gl.scope or "", gl.code]
        if self.agency_level:  # only when set, so that the fingerprints of case-level definitions do not change
            shape["agency_level"] = True
        if self.grants is not None:  # widening what a process grants, or when, needs a new version
            g = self.grants
            shape["grants"] = [g.partners, g.workflows, g.permissions, sorted(g.states), g.until or ""]
        return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()


def check(wf: Workflow, template_exists: Callable[[str, str], bool] | None = None) -> None:
    """Raise DefinitionError on the first load rule ``wf`` breaks."""

    def fail(rule: str, detail: str) -> None:
        raise DefinitionError(wf.name, rule, detail)

    names = set(wf.state_names)
    if wf.initial not in names:
        fail("one initial state", f"initial state {wf.initial!r} is not one of the states")
    if not wf.finals or not wf.finals <= names:
        fail("final states exist", f"final states {sorted(wf.finals)} must be non-empty states of the workflow")
    if wf.pausable != (PAUSED in names):
        fail("paused is generic", "a pausable workflow has a 'paused' state, and only a pausable one")
    if wf.withdrawable and WITHDRAWN not in wf.finals:
        fail("withdrawn is final", "a withdrawable workflow has 'withdrawn' among its final states")
    seen: set[tuple[str, str]] = set()
    for s in wf.steps:
        if s.event in GENERIC_EVENTS + (START,):
            fail("generic events are the engine's", f"step event {s.event!r} is reserved")
        if s.target not in names or not set(s.sources) <= names:
            fail("steps use known states", f"step {s.event!r} uses a state that is not declared")
        for src in s.sources:
            if src in wf.finals:
                fail("nothing leaves a final state", f"step {s.event!r} leaves final state {src!r}")
            if src == PAUSED:
                fail("paused takes only resume and withdraw", f"step {s.event!r} leaves 'paused'")
            if (src, s.event) in seen:
                fail("one step per state and event", f"two steps for {s.event!r} from {src!r}")
            seen.add((src, s.event))
        if not s.by:
            fail("every step says who may send it", f"step {s.event!r} has no 'by'")
        if s.rearm and (s.target not in s.sources or any(a.roles != {SYSTEM_ROLE} for a in s.by)):
            fail("only the system's internal steps re-arm", f"step {s.event!r} re-arms but changes state or is sent by a person")
        if s.while_paused and (s.target not in s.sources or any(a.roles != {SYSTEM_ROLE} for a in s.by)):
            fail("only the system's internal steps pass a pause",
                 f"step {s.event!r} is while_paused but changes state or may be sent by a person")
    if wf.glimpse is not None and wf.glimpse.roles & (wf.readers | {"parole_board"}):
        fail("a glimpse is for those who do not read", "glimpse roles must be outside readers, and never the parole board")
    _check_graph(wf, fail)
    _check_timers(wf, fail)
    _check_agency_level(wf, fail)
    for event in list(wf.listens.values()) + list(wf.advance.values()):
        matching = [s for s in wf.steps if s.event == event]
        if not matching or not any(SYSTEM_ROLE in a.roles for s in matching for a in s.by):
            fail("case events fire steps the system may send", f"case-event step {event!r} is missing or not by the system")
    if wf.advance and not wf.advance_days_setting:
        fail("case events fire steps the system may send", "advance notices need advance_days_setting")
    if wf.victim_initiated and any(a.side != "victim" for a in wf.start_by):
        fail("only the victim side starts it", "a victim-initiated workflow's start_by may only admit the victim side")
    for n in wf.all_notices():
        if n.to.kind == "case_contact" and n.to.fact not in CASE_CONTACT_ROLES:
            fail("responders are a case's designated contacts", f"notice {n.template!r}: no contact role {n.to.fact!r}")
    if any(n.to.kind == "contact_fact" for n in wf.all_notices()) and wf.sharing is None:
        fail("partner notices share only what was consented", "a notice to a partner needs the workflow's sharing=")
    if template_exists is not None:
        for n in wf.all_notices():
            if not template_exists(wf.name, f"{n.to.audience}/{n.template}"):
                fail("every template exists", f"template {wf.name}/{n.to.audience}/{n.template} is missing")


def _check_graph(wf: Workflow, fail) -> None:
    edges = wf.edges()
    out: dict[str, set[str]] = {}
    for src, event, dst in edges:
        if event != RESUME:  # resume only returns to the state paused from: it reaches nothing new
            out.setdefault(src, set()).add(dst)
    reached, todo = {wf.initial}, [wf.initial]
    while todo:
        for nxt in out.get(todo.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    unreachable = set(wf.state_names) - reached
    if unreachable:
        fail("every state reachable", f"no path from {wf.initial!r} to {sorted(unreachable)}")
    for name in wf.state_names:
        if name in wf.finals or name == PAUSED:  # paused finishes through the state it resumes to
            continue
        seen, todo = {name}, [name]
        while todo and not (seen & wf.finals):
            for nxt in out.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        if not seen & wf.finals:
            fail("a path to a final state", f"state {name!r} can never finish")
    if wf.victim_initiated:
        for name in wf.state_names:
            if name not in wf.finals and WITHDRAWN not in out.get(name, set()):
                fail("withdrawn reachable from every non-terminal state", f"state {name!r} cannot be withdrawn")


def _check_timers(wf: Workflow, fail) -> None:
    names = set(wf.state_names)
    timer_names = [t.name for t in wf.timers]
    if len(set(timer_names)) != len(timer_names):
        fail("timer names are unique", f"duplicate timer names in {timer_names}")
    for t in wf.timers:
        if t.state not in names:
            fail("every timer exists", f"timer {t.name!r} is attached to unknown state {t.state!r}")
        if (t.after is None) == (t.before is None) or (t.before is not None and not t.fact):
            fail("every timer exists", f"timer {t.name!r} needs exactly one of after=, or before= with a fact")
        if t.unit not in ("days", "minutes"):
            fail("every timer exists", f"timer {t.name!r}: a setting counts days or minutes, not {t.unit!r}")
        if t.business and t.after is None:
            fail("every timer exists", f"timer {t.name!r}: business days count only after= a state is entered")
        steps = [s for s in wf.steps if s.event == t.event and t.state in s.sources]
        if not steps:
            fail("every timer exists", f"timer {t.name!r} fires {t.event!r}, which has no step from {t.state!r}")
        if not any(SYSTEM_ROLE in a.roles for a in steps[0].by):
            fail("timers fire as the system", f"step {t.event!r} from {t.state!r} does not admit the system")


def _check_agency_level(wf: Workflow, fail) -> None:
    """An agency-level process has no case: nobody acts for a party in it, nothing about a case
    reaches it, and it tells only staff."""
    if not wf.agency_level:
        if wf.grants is not None:
            fail("only agency-level processes grant access", "grants= needs agency_level=True")
        return
    if wf.victim_initiated or any(a.side for a in [*wf.start_by, *wf.allows()]):
        fail("agency-level processes have no parties", "nobody acts for a party in an agency-level process")
    if wf.listens or wf.advance:
        fail("agency-level processes have no parties", "an agency-level process hears no case events")
    for n in wf.all_notices():
        if n.to.kind not in AGENCY_RECIPIENTS:
            fail("agency-level processes tell only staff", f"notice {n.template!r} goes to {n.to.kind}, which needs a case")
    if wf.grants is not None and not wf.grants.states <= set(wf.state_names) - set(wf.finals):
        fail("only agency-level processes grant access", "a grant is in force only in live states of the workflow")
