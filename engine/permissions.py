"""Who is acting, and what each role may do outside the workflows.

Every command runs as a staff member (``VCASE_USER`` or the login name). A
mutating command may act *for* a party on the case (an advocate recording a
victim's own request) and records how the request was made. Workflow events
are permitted by their definitions; everything else is in ``COMMANDS`` below,
the one table the role-matrix test is generated from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select

from engine import tables
from engine.db import flushed
from engine.definition import SELF_ROLE, SYSTEM_ROLE
from engine.errors import InvalidInput, NotFound, NotPermitted

# The readers here take a session or a plain connection (``Store.reading``): they read through
# ``engine.tables``, so a read command that needs no ORM resolves its actor without loading it.

VIA = ("phone", "in_person", "in_writing", "email", "video")
# How a victim-side party acted for themselves (never typed by staff: ``self_actor`` sets it).
SELF_VIA = ("portal", "sms")
ALL_STAFF = frozenset({"officer", "advocate", "victim_services", "facilitator", "parole_board", "admin"})
VICTIM_STAFF = frozenset({"advocate", "victim_services", "admin"})
MAIL_STAFF = frozenset({"mailroom", "victim_services", "admin"})

COMMANDS: dict[str, frozenset[str]] = {
    "staff.add": frozenset({"admin"}),
    "staff.list": frozenset({"admin", "victim_services"}),
    "case.open": frozenset({"officer", "admin"}),
    "case.list": ALL_STAFF,
    "case.show": ALL_STAFF,
    "case.safety": frozenset({"officer", "advocate", "victim_services", "admin"}),
    "party.add": frozenset({"officer", "advocate", "victim_services", "admin"}),
    "party.show": frozenset({"officer", "advocate", "victim_services", "facilitator", "admin"}),
    "audit.verify": frozenset({"admin", "victim_services"}),
    "event.record": frozenset({"officer", "victim_services", "admin"}),
    "event.list": frozenset({"officer", "advocate", "victim_services", "parole_board", "admin"}),
    "notice.read": frozenset({"advocate", "victim_services", "admin"}),
    "notice.review": frozenset({"victim_services", "admin"}),
    "notice.confirm": frozenset({"advocate", "victim_services", "admin"}),
    "scheduler.status": frozenset({"admin", "victim_services", "officer"}),
    "settings.set": frozenset({"admin"}),
    # Interest on file: a request for a victim-initiated process from someone who may not start it.
    "interest.record": frozenset({"officer", "advocate", "victim_services", "facilitator", "admin"}),
    "interest.read": frozenset({"advocate", "victim_services", "admin"}),
    # The limits of confidentiality explained to a victim-side party (seed 000): staff who speak with victims.
    "confidentiality.record": frozenset({"officer", "advocate", "victim_services", "facilitator"}),
    # The partner directory holds organizations, not victim data: whoever refers victims reads it.
    "partner.read": frozenset({"officer", "advocate", "victim_services", "facilitator", "admin"}),
    "partner.manage": frozenset({"victim_services", "admin"}),
    # A case's designated law-enforcement and prosecutor contacts (issue 15): no victim data.
    "case.contacts": frozenset({"officer", "advocate", "victim_services", "admin"}),
    # The services log (issue 16): what victim-services staff gave a victim-side party, and the
    # funder's quarterly report built from it. Never supervision: officers and the board have no part.
    "service.record": frozenset({"advocate", "victim_services"}),
    "service.read": frozenset({"advocate", "victim_services", "admin"}),
    "report.pmt": frozenset({"victim_services", "admin"}),
    # The mail room (issue 18): print the day's letters, record hand-off, tracking, delivery and returns.
    # The mail-room role reads no case, party or notice: it sees references, page counts and states.
    "mailroom.print": MAIL_STAFF,
    "mailroom.record": MAIL_STAFF,
    "mailroom.read": MAIL_STAFF,
    # The victim portal (issue 17): issuing, revoking and reading a party's access, and the requests
    # victims make there to be contacted. Staff who work with victims; never supervision.
    "portal.manage": frozenset({"advocate", "victim_services", "admin"}),
    # A key rotation's second half (issue 19): every stored secret sealed again under the newest key.
    "key.rotate": frozenset({"admin"}),
}

# What each key of COMMANDS lets a person do, and the commands that need it: a refusal says it in
# these words ("an officer is not permitted to add staff members (vcase staff add is for: admin)").
WORDS: dict[str, tuple[str, str]] = {
    "staff.add": ("add staff members", "vcase staff add"),
    "staff.list": ("list staff members", "vcase staff list"),
    "case.open": ("open or transfer a case or record when supervision ends",
                  "vcase case open / transfer / supervision"),
    "case.list": ("list cases", "vcase case list"),
    "case.show": ("see a case", "vcase case show / timeline"),
    "case.safety": ("record safety flags or orders", "vcase case safety"),
    "party.add": ("add a party to a case", "vcase party add"),
    "party.show": ("see the parties of a case", "vcase party show / list"),
    "audit.verify": ("verify the audit trail", "vcase audit verify"),
    "event.record": ("record or correct custody and supervision events", "vcase event record / correct"),
    "event.list": ("list custody and supervision events", "vcase event list"),
    "notice.read": ("read notices", "vcase notices list / show / held / preview"),
    "notice.review": ("release or discard held notices", "vcase notices release / discard"),
    "notice.confirm": ("confirm that a notice was received", "vcase notices confirm"),
    "scheduler.status": ("see the scheduler's status", "vcase scheduler status"),
    "settings.set": ("change agency settings", "vcase settings set"),
    "interest.record": ("keep a request from the person under supervision on file", "vcase dialogue interest"),
    "interest.read": ("read requests kept on file", "vcase dialogue interests"),
    "confidentiality.record": ("record that the limits of confidentiality were explained",
                               "vcase party confidentiality --method"),
    "partner.read": ("read the partner directory", "vcase partner list / show / contact list"),
    "partner.manage": ("change the partner directory", "vcase partner add / update / retire / import / contact"),
    "case.contacts": ("designate or read a case's law-enforcement and prosecutor contacts", "vcase case contacts"),
    "service.record": ("record services given to a victim or their profile", "vcase service record / anonymous / profile"),
    "service.read": ("read the services log", "vcase service list / profile"),
    "report.pmt": ("run the VOCA quarterly report", "vcase report pmt"),
    "mailroom.print": ("print the day's letters", "vcase mailroom batch"),
    "mailroom.record": ("record what happened to a letter", "vcase mailroom mailed / tracking / delivered / returned"),
    "mailroom.read": ("see the mail room's batches", "vcase mailroom list / show"),
    "portal.manage": ("issue, revoke or read a victim's portal access", "vcase portal invite / revoke / status / requests"),
    "key.rotate": ("seal stored values again under the newest key", "vcase key reseal"),
}
ROLE_WORDS = {"officer": "an officer", "advocate": "an advocate", "victim_services": "victim services",
              "facilitator": "a facilitator", "parole_board": "the parole board", "admin": "an admin",
              "mailroom": "the mail room",
              SYSTEM_ROLE: "the scheduler", SELF_ROLE: "the victim themselves"}


@dataclass(frozen=True)
class Scope:
    """What a member of a community partner's staff may use now: the workflows and permission keys
    granted by their partner's agreements in force (``engine.grants``), within what their role may
    do anyway. None on an actor: the agency's own staff, limited by their role only."""

    partner_id: int
    workflows: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Actor:
    login: str
    role: str
    staff_id: Optional[int] = None
    party_id: Optional[int] = None
    party_side: Optional[str] = None
    party_case_id: Optional[int] = None
    via: Optional[str] = None
    scope: Optional[Scope] = None  # a partner's staff member: only what their partner's agreement grants

    def within(self, workflow) -> bool:
        """Whether the actor's scope (if they have one) includes ``workflow`` (a definition, or its
        name); a definition closed to partners' staff (``Workflow.partner_staff``) never is."""
        if self.scope is None:
            return True
        if not getattr(workflow, "partner_staff", True):
            return False
        return getattr(workflow, "name", workflow) in self.scope.workflows

    def describe(self) -> str:
        side = f" for the {self.party_side} side" if self.party_side else ""
        return f"{self.role}{side}"


SYSTEM = Actor(login="scheduler", role=SYSTEM_ROLE)


def require(actor: Actor, command: str) -> None:
    if actor.role not in COMMANDS[command]:
        raise NotPermitted(refusal(actor.role, command))
    if actor.scope is not None and command not in actor.scope.permissions:
        raise NotPermitted(f"{actor.login} (staff of partner {actor.scope.partner_id}) is not permitted to "
                           f"{WORDS[command][0]}: no agreement in force grants it to their partner")


def reads(wf, actor: Actor) -> bool:
    """Whether a definition's ``readers`` admit ``actor`` (restorative processes are invisible to
    supervision- and parole-facing roles; a partner's staff read only what their scope holds)."""
    return (actor.role in wf.readers and actor.within(wf)) or actor.role == "system"


def refusal(role: str, command: str) -> str:
    """Why ``role`` may not do ``command``, in the words of the commands people type."""
    what, commands = WORDS[command]
    allowed = ", ".join(sorted(r.replace("_", " ") for r in COMMANDS[command]))
    verb = "are" if "/" in commands else "is"
    return f"{ROLE_WORDS.get(role, role)} is not permitted to {what} ({commands} {verb} for: {allowed})"


def resolve(session: Any, login: str, *, for_party: Optional[int] = None, via: Optional[str] = None,
            now: Optional[datetime] = None) -> Actor:
    """The acting staff member, optionally acting for a party; unknown users are refused.

    A member of a partner's staff carries a ``Scope``: what their partner's agreements in force at
    ``now`` grant (nothing at all without ``now``: a caller that does not say when gets no access)."""
    if not login:
        raise NotPermitted("no user: set VCASE_USER to your vcase login")
    staff = flushed(session).execute(select(tables.staff).where(tables.staff.c.login == login)).one_or_none()
    if staff is None or not staff.active:
        raise NotPermitted(f"{login!r} is not an active vcase user; ask an admin to run `vcase staff add {login} ...`")
    if via is not None and via not in VIA:
        raise InvalidInput(f"unknown --via {via!r}; use one of: {', '.join(VIA)}")
    scope = None
    if staff.partner_id is not None:
        from engine.grants import scope_at

        workflows, permissions = scope_at(session, staff.partner_id, now)
        scope = Scope(staff.partner_id, workflows, permissions)
    actor = Actor(login=staff.login, role=staff.role, staff_id=staff.id, via=via, scope=scope)
    if for_party is None:
        return actor
    party = _party(session, for_party)
    if party is None:
        raise NotFound(f"no party {for_party}; `vcase party list CASE` shows the parties of a case")
    return replace(actor, party_id=party.id, party_side=party.side, party_case_id=party.case_id)


def _party(session: Any, party_id: int):
    """The party's id, side and case (None if there is no such party)."""
    p = tables.party.c
    return flushed(session).execute(select(p.id, p.side, p.case_id).where(p.id == party_id)).one_or_none()


def self_actor(session: Any, party_id: int, via: str) -> Actor:
    """A victim-side party acting for themselves (``via`` portal or sms): role ``self``, admitted by a
    definition exactly where the victim side may act (``Allow.admits``), by no permission of
    ``COMMANDS``, and recorded in the audit as ``self:<party id>``. Never the offender side."""
    if via not in SELF_VIA:
        raise InvalidInput(f"unknown way of acting for oneself {via!r}; use one of: {', '.join(SELF_VIA)}")
    party = _party(session, party_id) if 0 < party_id < 2**31 else None
    if party is None or party.side != "victim":
        raise NotFound(f"no party {party_id}")
    return Actor(login=f"self:{party.id}", role=SELF_ROLE, party_id=party.id, party_side=party.side,
                 party_case_id=party.case_id, via=via)
