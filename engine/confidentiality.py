"""The limits of confidentiality, explained to a victim-side party (seed 000).

A systems-based advocate (staff employed by the agency, as every staff member
with no partner is) must make sure the victim understands what can and
cannot stay confidential. ``record`` keeps that it was explained: to whom, by
whom, when and how. With the setting ``privacy.confidentiality_first`` (on by
default) the runtime refuses systems-based staff acting for a victim-side
party (starting a process or applying an event: recording what the victim
says or asks for) until it is on record for that party, for whoever
represents them, or for whom they represent (``require_explained``).
Stopping (withdraw, pause) is never held back: a victim's "stop" is
recorded whatever else is missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import or_, select
from sqlmodel import Session

from engine import audit
from engine.clock import from_db
from engine.definition import PAUSE, WITHDRAW
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.models import ConfidentialityExplained, Party, Staff
from engine.permissions import Actor, require

METHODS = ("in_person", "phone", "in_writing", "video")
SETTING = "privacy.confidentiality_first"
NEVER_HELD_BACK = (WITHDRAW, PAUSE)


def victim_side(session: Session, party_id: int,
                what: str = "the limits of confidentiality are recorded") -> Party:
    """The party, refused if unknown or not on the victim side (``what``: what is only for that side)."""
    party = session.get(Party, party_id) if 0 < party_id < 2**31 else None
    if party is None:
        raise NotFound(f"no party {party_id}; `vcase party list CASE` shows the parties of a case")
    if party.side != "victim":
        raise InvalidInput(f"party {party_id} is not on the victim side: {what} for victims, survivors, "
                           "co-victims, witnesses and their representatives")
    return party


def record(session: Session, actor: Actor, party_id: int, method: str, now: datetime) -> dict[str, Any]:
    """Keep that ``actor`` explained the limits of confidentiality to the party, ``method``."""
    require(actor, "confidentiality.record")
    if method not in METHODS:
        raise InvalidInput(f"unknown method {method!r}; use one of: {', '.join(METHODS)}")
    party = victim_side(session, party_id)
    row = ConfidentialityExplained(case_id=party.case_id, party_id=party.id, explained_by=actor.login,
                                   method=method, explained_at=now)
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor, action="party.confidentiality_explained", case_id=party.case_id,
                 detail={"party": party.id, "method": method})
    return view(row)


def view(row: ConfidentialityExplained) -> dict[str, Any]:
    return {"party": row.party_id, "explained_by": row.explained_by, "method": row.method,
            "explained_at": from_db(row.explained_at).isoformat()}


def records(session: Session, actor: Actor, party_id: int) -> list[dict[str, Any]]:
    """When, how and by whom the limits were explained to the party (oldest first)."""
    require(actor, "party.show")
    party = victim_side(session, party_id)
    rows = session.execute(select(ConfidentialityExplained).where(ConfidentialityExplained.party_id == party.id)
                           .order_by(ConfidentialityExplained.explained_at, ConfidentialityExplained.id)).scalars()
    return [view(r) for r in rows]


def explained(session: Session, party_id: int) -> bool:
    """On record for the party, for someone who represents them, or for whom they represent."""
    party = session.get(Party, party_id)
    if party is None:
        return False
    related = [party.id] + ([party.represents_id] if party.represents_id else [])
    representatives = select(Party.id).where(Party.represents_id == party.id)
    found = session.execute(select(ConfidentialityExplained.id).where(
        or_(ConfidentialityExplained.party_id.in_(related), ConfidentialityExplained.party_id.in_(representatives)))
        .limit(1)).first()
    return found is not None


def applies(session: Session, actor: Actor, policy: Mapping[str, str]) -> bool:
    """Whether the rule binds this staff member: the setting is on and they are the agency's own
    (systems-based) staff, not a community partner's advocate."""
    if policy.get(SETTING, "yes") != "yes":
        return False
    staff = session.get(Staff, actor.staff_id) if actor.staff_id is not None else None
    return staff is not None and staff.partner_id is None


def require_explained(session: Session, actor: Actor, event: str, policy: Mapping[str, str]) -> None:
    """Refuse systems-based staff acting for a victim-side party before the limits were explained."""
    if actor.party_id is None or actor.party_side != "victim" or event in NEVER_HELD_BACK:
        return
    if not applies(session, actor, policy):
        return
    if explained(session, actor.party_id):
        return
    raise NotAllowed(f"first record that the limits of confidentiality were explained to party {actor.party_id} "
                     f"(`vcase party confidentiality {actor.party_id} --method in_person`): agency staff record it "
                     f"before anything the victim says or asks for (setting {SETTING})", event=event)
