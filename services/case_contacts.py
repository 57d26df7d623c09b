"""A case's designated law-enforcement and prosecutor contacts (issue 15).

Each is a contact of a partner in the directory (``partner_contact``),
designated for one role on one case and ranked by ``position``: the case's
escalation list, which an urgent report goes down one contact at a time
(``workflows/intimidation.py``). Setting a role replaces that role's list in
one transaction; the change is on the audit trail (contact ids, never
names). The list holds no victim data, so whoever may act on a case's
safety reads it; the parole board does not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import delete, select

from engine import audit, records
from engine.errors import InvalidInput, NotFound
from engine.models import CASE_CONTACT_ROLES, CaseContact, Partner, PartnerContact
from engine.permissions import Actor, require, resolve

MAX_PER_ROLE = 10


def parse_ids(value: Optional[str], what: str) -> Optional[list[int]]:
    """``"3,5"`` -> [3, 5]; None when not given; a value that is not a list of ids is refused."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",")]
    if not value.strip() or any(not p.isdigit() or not 0 < int(p) < 2**31 for p in parts):
        raise InvalidInput(f"{what} takes contact ids separated by commas (vcase partner show PARTNER), "
                           f"got {value[:40]!r}")
    ids = [int(p) for p in parts]
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"{what} names a contact twice")
    if len(ids) > MAX_PER_ROLE:
        raise InvalidInput(f"{what} names {len(ids)} contacts; at most {MAX_PER_ROLE}")
    return ids


def _active_contact(session, contact_id: int) -> PartnerContact:
    contact = session.get(PartnerContact, contact_id)
    partner = session.get(Partner, contact.partner_id) if contact else None
    if contact is None or not contact.active or partner is None or partner.retired_at is not None:
        raise NotFound(f"no active contact {contact_id} of an active partner; `vcase partner show PARTNER` lists them")
    return contact


def designate(session, actor: Actor, case_number: str, role: str, contact_ids: list[int], now: datetime) -> None:
    """Replace the case's list for ``role`` with ``contact_ids``, in that order (first is called first)."""
    require(actor, "case.contacts")
    if role not in CASE_CONTACT_ROLES:
        raise InvalidInput(f"role must be one of: {', '.join(CASE_CONTACT_ROLES)}")
    case = records.case_by_number(session, case_number)
    for contact_id in contact_ids:
        _active_contact(session, contact_id)
    session.execute(delete(CaseContact).where(CaseContact.case_id == case.id, CaseContact.role == role))
    for position, contact_id in enumerate(contact_ids, start=1):
        session.add(CaseContact(case_id=case.id, contact_id=contact_id, role=role, position=position,
                                designated_by=actor.login, designated_at=now))
    session.flush()
    audit.append(session, at=now, actor=actor, action="case.contacts", case_id=case.id,
                 detail={"role": role, "contacts": contact_ids})


def listing(session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(CaseContact, PartnerContact, Partner)
        .join(PartnerContact, PartnerContact.id == CaseContact.contact_id)
        .join(Partner, Partner.id == PartnerContact.partner_id)
        .where(CaseContact.case_id == case_id).order_by(CaseContact.role, CaseContact.position)).all()
    return [{"role": cc.role, "position": cc.position, "contact": c.id, "name": c.name, "partner": p.name,
             "partner_id": p.id, "email": c.email or p.referral_email, "phone": c.phone, "active": c.active}
            for cc, c, p in rows]


def set_contacts(app, case_number: str, law_enforcement: Optional[list[int]] = None,
                 prosecutor: Optional[list[int]] = None) -> dict[str, Any]:
    """Designate the case's law-enforcement and/or prosecutor contacts (one transaction)."""
    if law_enforcement is None and prosecutor is None:
        raise InvalidInput("nothing to set: give --law-enforcement and/or --prosecutor")
    with app.store.write() as s:
        actor = resolve(s, app.login, now=app.now())
        for role, ids in (("law_enforcement", law_enforcement), ("prosecutor", prosecutor)):
            if ids is not None:
                designate(s, actor, case_number, role, ids, app.now())
        case = records.case_by_number(s, case_number)
        return {"case": case_number, "contacts": listing(s, case.id)}


def show(app, case_number: str) -> dict[str, Any]:
    with app.store.read() as s:
        require(resolve(s, app.login, now=app.now()), "case.contacts")
        case = records.case_by_number(s, case_number)
        return {"case": case_number, "contacts": listing(s, case.id)}
