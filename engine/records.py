"""Staff, cases, parties and protective orders: the records processes run on.

Each function takes the caller's session and never commits. Views returned
to callers are plain dicts, filtered by the reader's role: a party's name and
contact details are decrypted only for roles that may see victims.

Who sees what of a victim-side party (DOMAIN.md, principle 4):

- advocates, victim services, facilitators and admins: name, e-mail, phone,
  postal address and the party's choices (channels, language, time zone);
- an officer: that the party exists, its kind and whom it represents. An
  agency whose officers enforce no-contact or stay-away conditions can set
  ``privacy.officer_sees_victim_address=yes``: officers then also see the
  victim side's names and postal addresses, never e-mail, phone or choices;
- the parole board: nothing (``party.show`` refuses it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import func, select
from sqlmodel import Session

from engine import audit
from engine.clock import zone
from engine.crypto import Vault
from engine.errors import InvalidInput, NotFound, NotPermitted
from engine.definition import PAUSED
from engine.models import CHANNELS, LANGUAGES, ROLES, VICTIM_SIDE_KINDS, Case, Party, Process, ProtectiveOrder, Staff
from engine.permissions import Actor, require

# Who sees what of a party, and a case's own fields: ``engine.views`` (read through ``engine.tables``, so
# the lean ``vcase case show`` runs the same rules).
from engine.views import ORDERS_CACHE, case_view, order_active, viewer


# -- staff -----------------------------------------------------------------

def add_staff(session: Session, actor: Actor, login: str, name: str, role: str, now: datetime, email: Optional[str] = None,
              partner: Optional[int] = None) -> Staff:
    """A staff member; with ``partner``, a member of a community partner's staff (never an admin), who
    may use only what that partner's agreement in force grants (``permissions.Scope``)."""
    require(actor, "staff.add")
    if partner is not None:
        from engine.models import Partner

        found = session.get(Partner, partner) if 0 < partner < 2**31 else None
        if found is None or found.retired_at is not None:
            raise NotFound(f"no active partner {partner}; `vcase partner list` shows them")
        if role == "admin":
            raise InvalidInput("a partner's staff member cannot be an admin: admins are the agency's own")
    return _insert_staff(session, actor, login, name, role, now, email, partner)


def bootstrap_admin(session: Session, login: str, name: str, now: datetime) -> Optional[Staff]:
    """The first admin, created by ``vcase init`` when there is no staff yet."""
    if session.execute(select(func.count()).select_from(Staff)).scalar_one():
        return None
    from engine.permissions import SYSTEM

    return _insert_staff(session, SYSTEM, login, name, "admin", now, None)


def _insert_staff(session, actor, login, name, role, now, email, partner=None) -> Staff:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if not login.strip() or len(login) > 64 or any(c.isspace() for c in login):
        raise InvalidInput("a login is 1-64 characters without spaces")
    plain_text(login, "the login", 64)
    plain_text(name, "the name", 200)
    plain_text(email, "the email address", 200)
    if session.execute(select(Staff.id).where(Staff.login == login)).first():
        raise InvalidInput(f"staff login {login!r} already exists")
    staff = Staff(login=login, display_name=name, role=role, email=email, created_at=now, partner_id=partner)
    session.add(staff)
    session.flush()
    audit.append(session, at=now, actor=actor, action="staff.add",
                 detail={"login": login, "role": role, **({"partner": partner} if partner is not None else {})})
    return staff


def list_staff(session: Session, actor: Actor) -> list[dict[str, Any]]:
    require(actor, "staff.list")
    rows = session.execute(select(Staff).order_by(Staff.login)).scalars()
    return [{"login": s.login, "name": s.display_name, "role": s.role, "email": s.email, "active": s.active,
             "partner": s.partner_id} for s in rows]


def agency_staff(session: Session, role: str) -> list[Staff]:
    """The agency's own active staff with ``role`` (never a partner's staff), by login."""
    return list(session.execute(select(Staff).where(Staff.role == role, Staff.active.is_(True),
                                                    Staff.partner_id.is_(None)).order_by(Staff.login)).scalars())


def staff_by_login(session: Session, login: str, role: Optional[str] = None) -> Staff:
    staff = session.execute(select(Staff).where(Staff.login == login)).scalar_one_or_none()
    if staff is None:
        raise NotFound(f"no staff member {login!r}; `vcase staff list` shows them")
    if role and staff.role != role:
        raise InvalidInput(f"{login} is {staff.role}, not {role}")
    return staff


# -- cases -----------------------------------------------------------------

def open_case(
    session: Session, vault: Vault, actor: Actor, *, case_number: str, supervised_person: str,
    officer_login: str, time_zone: str, now: datetime, ipv: bool = False,
) -> Case:
    require(actor, "case.open")
    zone(time_zone)
    if not case_number.strip() or len(case_number) > 64:
        raise InvalidInput("a case number is 1-64 characters")
    plain_text(case_number, "the case number", 64)
    plain_text(supervised_person, "the name of the person under supervision", 200)
    if not supervised_person.strip():
        raise InvalidInput("give the name of the person under supervision (--person)")
    if session.execute(select(Case.id).where(Case.case_number == case_number)).first():
        raise InvalidInput(f"case {case_number} already exists; `vcase case show {case_number}` shows it")
    officer = staff_by_login(session, officer_login, role="officer")
    case = Case(case_number=case_number, supervised_person=supervised_person, officer_id=officer.id,
                time_zone=time_zone, ipv=ipv, created_at=now)
    session.add(case)
    session.flush()
    person = Party(case_id=case.id, kind="supervised_person", side="offender",
                   name_enc=vault.encrypt(supervised_person), channels="letter", created_at=now)
    session.add(person)
    session.flush()
    audit.append(session, at=now, actor=actor, action="case.open", case_id=case.id,
                 detail={"case_number": case_number, "officer": officer_login, "time_zone": time_zone, "ipv": ipv})
    return case


def transfer_case(session: Session, actor: Actor, case_number: str, now: datetime, *, officer_login: Optional[str],
                  time_zone: Optional[str]) -> Case:
    """A new supervising officer or jurisdiction; registrations stay with the case."""
    require(actor, "case.open")
    case = case_by_number(session, case_number)
    detail: dict[str, Any] = {}
    if officer_login:
        case.officer_id, detail["officer"] = staff_by_login(session, officer_login, role="officer").id, officer_login
    if time_zone:
        zone(time_zone)
        case.time_zone, detail["time_zone"] = time_zone, time_zone
    if not detail:
        raise InvalidInput("give --officer and/or --tz for the transfer")
    session.add(case)
    session.flush()
    audit.append(session, at=now, actor=actor, action="case.transfer", case_id=case.id, detail=detail)
    return case


def set_supervision_end(session: Session, actor: Actor, case_number: str, now: datetime, ends_on: Optional[date]) -> Case:
    """The date supervision ends (None: not set). The letter bank's retention policy reads it."""
    require(actor, "case.open")
    case = case_by_number(session, case_number)
    case.supervision_ends_on = ends_on
    session.add(case)
    session.flush()
    audit.append(session, at=now, actor=actor, action="case.supervision_end", case_id=case.id,
                 detail={"supervision_ends_on": ends_on.isoformat() if ends_on else None})
    return case


def case_by_number(session: Session, case_number: str) -> Case:
    case = session.execute(select(Case).where(Case.case_number == case_number)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no case {case_number!r}; `vcase case list` shows the cases")
    return case


def case_by_id(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def set_safety(
    session: Session, actor: Actor, case_number: str, now: datetime, *, ipv: Optional[bool] = None,
    misconduct: Optional[bool] = None, order: Optional[tuple[str, date, Optional[date]]] = None,
) -> Case:
    """Record safety flags: intimate partner violence, misconduct toward the victim, or an order."""
    require(actor, "case.safety")
    case = case_by_number(session, case_number)
    detail: dict[str, Any] = {}
    if ipv is not None:
        case.ipv, detail["ipv"] = ipv, ipv
    if misconduct is not None:
        case.misconduct_toward_victim, detail["misconduct_toward_victim"] = misconduct, misconduct
    if order is not None:
        kind, starts, ends = order
        if ends is not None and ends < starts:
            raise InvalidInput("an order cannot end before it starts")
        session.add(ProtectiveOrder(case_id=case.id, kind=kind, starts_on=starts, ends_on=ends))
        detail["order"] = {"kind": kind, "starts_on": starts.isoformat(), "ends_on": ends.isoformat() if ends else None}
    if not detail:
        raise InvalidInput("nothing to record: give --ipv/--no-ipv, --misconduct/--no-misconduct or --order")
    session.info.pop(ORDERS_CACHE, None)
    session.add(case)
    session.flush()
    audit.append(session, at=now, actor=actor, action="case.safety", case_id=case.id, detail=detail)
    return case


# Per-transaction caches (``session.info``): a scheduler batch reads each case's parties and orders
# once. The writers below drop them, so a later read in the same transaction sees the change.
PARTIES_CACHE = "vcase.parties"


def case_parties(session: Session, case_id: int) -> dict[int, dict[str, Any]]:
    """What guards may know of each party on a case (never names or contact details)."""
    cache = session.info.setdefault(PARTIES_CACHE, {})
    if case_id not in cache:
        cache[case_id] = {p.id: _party_facts(p)
                          for p in session.execute(select(Party).where(Party.case_id == case_id)).scalars()}
    return cache[case_id]


def _party_facts(p) -> dict[str, Any]:
    return {"id": p.id, "kind": p.kind, "side": p.side, "minor": p.is_minor, "deceased": p.is_deceased,
            "represents": p.represents_id}


def prefetch(session: Session, cases: list[Case], now: datetime) -> None:
    """Read what guards know of many cases' parties and orders, in two queries a chunk, into this
    transaction's caches (for a scheduler batch)."""
    parties = session.info.setdefault(PARTIES_CACHE, {})
    orders = session.info.setdefault(ORDERS_CACHE, {})
    ids = [c.id for c in cases if c.id not in parties]
    for case_id in ids:
        parties[case_id] = {}
    t = Party.__table__.c
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for p in session.execute(select(t.id, t.case_id, t.kind, t.side, t.is_minor, t.is_deceased, t.represents_id)
                                 .where(t.case_id.in_(chunk))).all():
            parties[p.case_id][p.id] = _party_facts(p)
        found = session.execute(select(ProtectiveOrder.case_id, ProtectiveOrder.starts_on, ProtectiveOrder.ends_on)
                                .where(ProtectiveOrder.case_id.in_(chunk))).all()
        by_case: dict[int, list] = {}
        for case_id, starts, ends in found:
            by_case.setdefault(case_id, []).append((starts, ends))
        in_chunk = set(chunk)
        for case in (c for c in cases if c.id in in_chunk):
            on = now.astimezone(zone(case.time_zone)).date()
            orders[(case.id, on)] = any(s <= on and (e is None or e >= on) for s, e in by_case.get(case.id, ()))


def case_facts(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    """What guards may know about a case: its safety flags as of ``now`` (nothing for the agency's
    own scope, which stands for the case of an agency-level process)."""
    if case.id is None:
        return {}
    local_today = now.astimezone(zone(case.time_zone)).date()
    return {
        "case_number": case.case_number, "time_zone": case.time_zone, "ipv": case.ipv,
        "order_active": order_active(session, case.id, local_today),
        "misconduct_toward_victim": case.misconduct_toward_victim,
        "supervision_ends_on": case.supervision_ends_on.isoformat() if case.supervision_ends_on else None,
    }


def list_cases(session: Session, actor: Actor, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
    require(actor, "case.list")
    rows = session.execute(select(Case).order_by(Case.case_number).limit(limit)).scalars()
    return [case_view(session, c, now) for c in rows]


def plain_text(value: Optional[str], what: str, max_length: int = 2000, lines: bool = False) -> Optional[str]:
    """Refuse control characters (terminal escapes, NUL, bells) in text a person typed; names,
    numbers and notes are shown on terminals and in notices. ``lines``: newlines and tabs allowed."""
    if value is None:
        return None
    allowed = "\n\r\t" if lines else ""
    bad = [c for c in value if (ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed]
    if bad:
        raise InvalidInput(f"{what} contains a control character (code {ord(bad[0])}); type it again as plain text")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is longer than {max_length} characters")
    return value


# -- parties ---------------------------------------------------------------

def add_party(
    session: Session, vault: Vault, actor: Actor, *, case_number: str, kind: str, name: str, now: datetime,
    email: Optional[str] = None, phone: Optional[str] = None, address: Optional[str] = None,
    channels: tuple[str, ...] = (), language: str = "en", time_zone: Optional[str] = None,
    represents: Optional[int] = None, minor: bool = False, deceased: bool = False,
) -> Party:
    require(actor, "party.add")
    case = case_by_number(session, case_number)
    if kind not in VICTIM_SIDE_KINDS:
        raise InvalidInput(f"unknown party kind {kind!r}; use one of: {', '.join(VICTIM_SIDE_KINDS)}")
    if language not in LANGUAGES:
        raise InvalidInput(f"unsupported language {language!r}; use one of: {', '.join(LANGUAGES)}")
    bad = [c for c in channels if c not in CHANNELS]
    if bad:
        raise InvalidInput(f"unknown channel {bad[0]!r}; use one of: {', '.join(CHANNELS)}")
    if time_zone:
        zone(time_zone)
    if not name.strip():
        raise InvalidInput("a party needs a name")
    plain_text(name, "the name", 200)
    for value, what in ((email, "the email address"), (phone, "the phone number")):
        plain_text(value, what, 200)
    plain_text(address, "the address", 500, lines=True)
    if kind in ("guardian", "next_of_kin"):
        if represents is None:
            raise InvalidInput(f"a {kind} must name whom they represent: --represents PARTY_ID")
        target = session.get(Party, represents)
        if target is None or target.case_id != case.id or target.side != "victim":
            raise InvalidInput(f"party {represents} is not a victim-side party on case {case_number}")
    party = Party(
        case_id=case.id, kind=kind, side="victim", represents_id=represents, is_minor=minor, is_deceased=deceased,
        name_enc=vault.encrypt(name), email_enc=vault.encrypt_optional(email), phone_enc=vault.encrypt_optional(phone),
        address_enc=vault.encrypt_optional(address), channels=",".join(channels), language=language,
        time_zone=time_zone, created_at=now, phone_index=phone_index(vault, phone),
    )
    session.add(party)
    session.info.pop(PARTIES_CACHE, None)
    session.flush()
    audit.append(session, at=now, actor=actor, action="party.add", case_id=case.id,
                 detail={"party": party.id, "kind": kind, "channels": list(channels), "language": language})
    return party


def show_party(session: Session, vault: Vault, actor: Actor, party_id: int) -> dict[str, Any]:
    """One party as the reader's role may see it (see the module's docstring)."""
    require(actor, "party.show")
    view = viewer(session, actor)
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no party {party_id}; `vcase party list CASE` shows the parties of a case")
    return view(vault, party, True)


def offender_party(session: Session, case_id: int) -> Party:
    party = session.execute(
        select(Party).where(Party.case_id == case_id, Party.kind == "supervised_person")
    ).scalar_one_or_none()
    if party is None:  # the schema has no way to express "exactly one"; open_case creates it
        raise NotPermitted(f"case {case_id} has no supervised person on record")
    return party


def subscribed(session: Session, case_id: int, party_id: int, sub) -> bool:
    """True if the party started a live, unpaused process of ``sub.workflow`` on the case whose fact
    ``sub.fact`` lists ``sub.topic`` (``engine.definition.Subscription``)."""
    live = session.execute(select(Process).where(
        Process.case_id == case_id, Process.workflow == sub.workflow, Process.initiator_party_id == party_id,
        Process.terminal.is_(False), Process.state != PAUSED)).scalars()
    return any(sub.topic in ((p.data or {}).get(sub.fact) or ()) for p in live)


def reached_through(session: Session, case_id: int, party_id: Any) -> list[Party]:
    """The victim-side party ``party_id`` and the parties who represent them (guardian, next of
    kin); a minor or deceased party is reached only through their representatives."""
    try:
        party = session.get(Party, int(party_id))
    except (TypeError, ValueError):
        return []
    if party is None or party.case_id != case_id or party.side != "victim":
        return []
    representatives = session.execute(select(Party).where(
        Party.case_id == case_id, Party.represents_id == party.id, Party.side == "victim").order_by(Party.id)).scalars()
    reached = [] if party.is_minor or party.is_deceased else [party]
    return reached + [p for p in representatives if not p.is_minor and not p.is_deceased]


def phone_digits(phone: Optional[str]) -> str:
    """A phone number as the digits a text message's sender shows: ``+1 312 555 0101`` and
    ``+13125550101`` are the same; ten digits are read as a North American number (country code 1)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    return "1" + digits if len(digits) == 10 else digits


def phone_index(vault: Vault, phone: Optional[str]) -> Optional[str]:
    """The blind index of a phone number (``Vault.blind_index``), None for none."""
    digits = phone_digits(phone)
    return vault.blind_index(digits) if len(digits) >= 7 else None


def change_choices(session: Session, vault: Vault, actor: Actor, party_id: int, now: datetime, *,
                   channels: Optional[tuple[str, ...]] = None, language: Optional[str] = None,
                   time_zone: Optional[str] = None) -> Party:
    """Change how a victim-side party is reached: channels (most preferred first; each needs its
    contact detail on file), language, time zone. Staff who add parties may, and the party themselves
    (role ``self``) for their own record only; one audit entry names what changed, never a detail."""
    from engine.definition import SELF_ROLE

    party = session.get(Party, party_id) if 0 < party_id < 2**31 else None
    if actor.role == SELF_ROLE:
        if party is None or party.id != actor.party_id:
            raise NotFound(f"no party {party_id}")
    else:
        require(actor, "party.add")
        if party is None:
            raise NotFound(f"no party {party_id}; `vcase party list CASE` shows the parties of a case")
    if party.side != "victim":
        raise InvalidInput(f"party {party_id} is not on the victim side")
    changed: dict[str, Any] = {}
    if channels is not None:
        bad = [c for c in channels if c not in CHANNELS]
        if bad:
            raise InvalidInput(f"unknown channel {bad[0]!r}; use one of: {', '.join(CHANNELS)}")
        have = {"email": party.email_enc, "sms": party.phone_enc, "letter": party.address_enc}
        missing = [c for c in channels if have[c] is None]
        if missing:
            raise InvalidInput(f"no contact detail on file for {missing[0]}: ask victim services to add it")
        party.channels, changed["channels"] = ",".join(dict.fromkeys(channels)), list(dict.fromkeys(channels))
    if language is not None:
        if language not in LANGUAGES:
            raise InvalidInput(f"unsupported language {language!r}; use one of: {', '.join(LANGUAGES)}")
        party.language = changed["language"] = language
    if time_zone is not None:
        if time_zone:
            zone(time_zone)
        party.time_zone = time_zone or None
        changed["time_zone"] = "changed"  # where someone lives is not for the audit's plain text
    session.add(party)
    session.info.pop(PARTIES_CACHE, None)
    session.flush()
    audit.append(session, at=now, actor=actor, action="party.choices", case_id=party.case_id,
                 detail={"party": party.id, **changed})
    return party
