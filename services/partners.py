"""The partner directory: the community organizations the agency works with (issue 14, seed 002).

A partner is an organization, never a person on a case: its advocate model
(community-based, systems-based or hybrid), its sector, the VOCA service
categories it offers, its languages, where and when it serves, its hotline,
whether its communications with victims are privileged, and how it takes
referrals, with named contacts ranked by who is called first. No victim data
is kept here, so every staff role that refers victims may read it (not the
parole board); victim services and admins keep it.

A partner is never deleted: retiring one keeps the record (referrals point at
it), hides it from the default list, and ``active_partner`` refuses it for new
work. Every value is checked before anything is written, each problem in one
line naming the field; every change is on the audit trail (stream ``system``).
``import_csv`` adds a spreadsheet of partners, all rows or none, with the
problems named by row and column (``services.csvfile``).

Each public function takes the ``engine.api.App`` and is one transaction.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable, Optional, Union

from sqlalchemy import select

from engine import audit, records
from engine.clock import from_db
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.models import PARTNER_MODELS, PARTNER_SECTORS, PARTNER_SERVICES, Partner, PartnerContact
from engine.permissions import Actor, require
from services import csvfile
from services.csvfile import NO, YES, DryRun, ImportRefused, Problems, same_name

FIELDS = ("name", "model", "sector", "services", "languages", "service_area", "hours", "hotline_24_7",
          "hotline_phone", "privileged", "referral_method", "referral_email")
CONTACT_FIELDS = ("name", "role", "email", "phone", "escalation_order")
CONTACT_COLUMNS = ("contact_name", "contact_role", "contact_email", "contact_phone")
COLUMNS = FIELDS + CONTACT_COLUMNS
REQUIRED = ("name", "model", "sector")
MAX_ROWS = 2_000
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")  # ISO 639 with optional subtags: en, es-mx, ase
Ref = Union[int, str]  # a partner's id, or its name


class Bad(InvalidInput):
    """What is wrong with one value, in words that never quote it (the caller names the field)."""


# -- checking one value ------------------------------------------------------------------------

def _text(limit: int, required: bool = False, lines: bool = False) -> Callable[[Any], Any]:
    def check(value):
        value = (value or "").strip()
        if required and not value:
            raise Bad("is empty")
        try:
            records.plain_text(value, "it", limit, lines=lines)
        except InvalidInput:
            raise Bad(f"contains a control character or is longer than {limit} characters") from None
        return value
    return check


def _word(value) -> str:
    return csvfile.column_name(value or "")  # "Community-based" -> community_based


def _choice(values: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value):
        word = _word(value)
        if word not in values:
            raise Bad(f"must be one of: {', '.join(values)}" + ("" if word else " (it is empty)"))
        return word
    return check


def _items(value) -> list[str]:
    return [item.strip() for item in re.split(r"[,;|]", value or "") if item.strip()]


def _services(value) -> str:
    chosen = [_word(s) for s in _items(value)]
    unknown = [n for n, s in enumerate(chosen, start=1) if s not in PARTNER_SERVICES]
    if unknown:
        raise Bad(f"item {unknown[0]} is not a service; use: {', '.join(PARTNER_SERVICES)}")
    return ",".join(dict.fromkeys(chosen))


def _languages(value) -> str:
    codes = [c.lower() for c in _items(value)]
    if not codes:
        raise Bad("is empty; give at least one language code, e.g. en or en,es")
    unknown = [n for n, c in enumerate(codes, start=1) if not LANGUAGE.fullmatch(c)]
    if unknown:
        raise Bad(f"item {unknown[0]} is not a language code (two or three letters, e.g. en, es, vi, ase)")
    joined = ",".join(dict.fromkeys(codes))
    if len(joined) > 100:
        raise Bad("lists more than 100 characters of language codes")
    return joined


def _yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    word = (value or "").strip().lower()
    if word not in YES + NO:
        raise Bad("must be yes or no")
    return word in YES


def _email(value) -> Optional[str]:
    value = (value or "").strip()
    if value and (any(ord(c) < 32 or ord(c) == 127 for c in value) or not csvfile.is_email(value)):
        raise Bad("is not an e-mail address (name@example.org)")
    return value or None


def _phone(value) -> Optional[str]:
    value = (value or "").strip()
    if value and not csvfile.is_phone(value):
        raise Bad("is not a phone number (7 to 15 digits, e.g. +1 312 555 0101)")
    return value or None


def _order(value) -> Optional[int]:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise Bad("must be a whole number from 1 to 999 (1 is called first)")
    return int(text)


CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _text(200, required=True), "model": _choice(PARTNER_MODELS), "sector": _choice(PARTNER_SECTORS),
    "services": _services, "languages": _languages, "service_area": _text(300), "hours": _text(200),
    "hotline_24_7": _yes_no, "hotline_phone": _phone, "privileged": _yes_no, "referral_method": _text(300),
    "referral_email": _email,
}
CONTACT_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _text(200, required=True), "role": _text(100), "email": _email, "phone": _phone,
    "escalation_order": _order,
}


FILTERS: dict[str, Callable[[Any], Any]] = {
    "sector": CHECKS["sector"], "model": CHECKS["model"], "service": _choice(PARTNER_SERVICES), "language": _languages,
}


def _clean(values: dict[str, Any], checks: dict[str, Callable[[Any], Any]], what: str = "") -> dict[str, Any]:
    """Each given value checked and normalised; the first problem refused as ``field ...``."""
    out = {}
    for field, value in values.items():
        if field not in checks:
            raise InvalidInput(f"{what}{field} is not a field; the fields are: {', '.join(checks)}")
        try:
            out[field] = checks[field](value)
        except Bad as bad:
            raise InvalidInput(f"{what}{field} {bad}") from None
    return out


def _whole(p) -> None:
    """What must hold of the record as a whole, after every change."""
    if p.hotline_24_7 and not p.hotline_phone:
        raise Bad("hotline_24_7 is yes but there is no hotline_phone")


def _contact_whole(c) -> None:
    if not c.email and not c.phone:
        raise Bad("a contact needs an email or a phone")


# -- finding ---------------------------------------------------------------------------------

def find(session, ref: Ref) -> Partner:
    """A partner by id, or by name (spaces and case do not matter); retired ones too. A number is
    read as an id first, then as a name (a helpline may be called "211")."""
    text = str(ref).strip()
    if text.isdigit() and 0 < int(text) < 2**63:
        partner = session.get(Partner, int(text))
        if partner is not None:
            return partner
    wanted = same_name(text)
    for partner in session.execute(select(Partner)).scalars():
        if same_name(partner.name) == wanted:
            return partner
    what = f"partner {text}" if text.isdigit() else "partner of this name"
    raise NotFound(f"no {what}; `vcase partner list --all` shows them")


def active_partner(session, partner_id: int) -> Partner:
    """The partner to choose for new work (a referral): refused if it does not exist or is retired.
    Raises ``NotFound`` or ``NotAllowed``; the caller has checked the actor's permission."""
    partner = session.get(Partner, partner_id) if 0 < partner_id < 2**63 else None
    if partner is None:
        raise NotFound(f"no partner {partner_id}; `vcase partner list` shows the active ones")
    if partner.retired_at is not None:
        raise NotAllowed(f"partner {partner.id} ({partner.name}) was retired on "
                         f"{from_db(partner.retired_at).date().isoformat()} and takes no new work; "
                         "choose an active partner (`vcase partner list`)")
    return partner


def _same_name_taken(session, name: str, other_than: Optional[int] = None) -> Optional[int]:
    wanted = same_name(name)
    for pid, existing in session.execute(select(Partner.id, Partner.name)):
        if pid != other_than and same_name(existing) == wanted:
            return pid
    return None


# -- views -----------------------------------------------------------------------------------

def view(p: Partner) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "model": p.model, "sector": p.sector,
            "services": [s for s in p.services.split(",") if s], "languages": [x for x in p.languages.split(",") if x],
            "service_area": p.service_area, "hours": p.hours, "hotline_24_7": p.hotline_24_7,
            "hotline_phone": p.hotline_phone, "privileged": p.privileged, "referral_method": p.referral_method,
            "referral_email": p.referral_email, "retired": p.retired_at is not None,
            "retired_at": from_db(p.retired_at).isoformat() if p.retired_at else None,
            "created_at": from_db(p.created_at).isoformat(), "updated_at": from_db(p.updated_at).isoformat()}


def contact_view(c: PartnerContact) -> dict[str, Any]:
    return {"id": c.id, "partner": c.partner_id, "name": c.name, "role": c.role, "email": c.email, "phone": c.phone,
            "escalation_order": c.escalation_order, "active": c.active}


def _contacts(session, partner_id: int, include_inactive: bool = False) -> list[PartnerContact]:
    query = select(PartnerContact).where(PartnerContact.partner_id == partner_id)
    if not include_inactive:
        query = query.where(PartnerContact.active.is_(True))
    rows = list(session.execute(query).scalars())
    return sorted(rows, key=lambda c: (not c.active, c.escalation_order is None, c.escalation_order or 0, c.id))


# -- partners --------------------------------------------------------------------------------

def add_partner(session, actor: Actor, values: dict[str, Any], now: datetime, source: str = "") -> Partner:
    """Insert one checked partner (``values`` already cleaned) and audit it, in the caller's transaction."""
    taken = _same_name_taken(session, values["name"])
    if taken is not None:
        raise InvalidInput(f"a partner of this name is already in the directory (partner {taken}); "
                           "names are unique: `vcase partner update` changes it")
    partner = Partner(**{"languages": "en", **values}, created_at=now, updated_at=now)
    _whole(partner)
    session.add(partner)
    session.flush()
    audit.append(session, at=now, actor=actor, action="partner.add",
                 detail={"partner": partner.id, **{f: getattr(partner, f) for f in FIELDS},
                         **({"source": source} if source else {})})
    return partner


def add(app, **values) -> dict[str, Any]:
    """Add a partner: ``name``, ``model`` and ``sector`` are required; see ``FIELDS``."""
    missing = [f for f in REQUIRED if values.get(f) in (None, "")]
    if missing:
        raise InvalidInput(f"{missing[0]} is required (needed: {', '.join(REQUIRED)})")
    clean = _clean({k: v for k, v in values.items() if v is not None}, CHECKS)
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "partner.manage")
        return view(add_partner(s, actor, clean, app.now()))


def update(app, ref: Ref, **changes) -> dict[str, Any]:
    """Change the given fields (None: unchanged; "" clears an optional one). A retired partner can
    still be corrected."""
    clean = _clean({k: v for k, v in changes.items() if v is not None}, CHECKS)
    if not clean:
        raise InvalidInput("nothing to change; give at least one field")
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "partner.manage")
        partner = find(s, ref)
        if "name" in clean:
            taken = _same_name_taken(s, clean["name"], other_than=partner.id)
            if taken is not None:
                raise InvalidInput(f"a partner of this name is already in the directory (partner {taken})")
        changed = {f: [getattr(partner, f), v] for f, v in clean.items() if getattr(partner, f) != v}
        for field, (_, new) in changed.items():
            setattr(partner, field, new)
        _whole(partner)
        if changed:
            partner.updated_at = app.now()
            s.flush()
            audit.append(s, at=app.now(), actor=actor, action="partner.update",
                         detail={"partner": partner.id, "changed": changed})
        return {**view(partner), "changed": sorted(changed)}


def retire(app, ref: Ref, reason: str = "") -> dict[str, Any]:
    """Retire a partner: kept (referrals point at it), hidden from default lists, refused for new work."""
    reason = _clean({"reason": reason}, {"reason": _text(300)})["reason"]
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "partner.manage")
        partner = find(s, ref)
        if partner.retired_at is not None:
            raise InvalidInput(f"partner {partner.id} is already retired "
                               f"(since {from_db(partner.retired_at).date().isoformat()})")
        partner.retired_at = partner.updated_at = app.now()
        s.flush()
        audit.append(s, at=app.now(), actor=actor, action="partner.retire",
                     detail={"partner": partner.id, "reason": reason})
        return view(partner)


def reinstate(app, ref: Ref) -> dict[str, Any]:
    """Undo a retirement: the partner can be chosen for new work again."""
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "partner.manage")
        partner = find(s, ref)
        if partner.retired_at is None:
            raise InvalidInput(f"partner {partner.id} is not retired")
        partner.retired_at, partner.updated_at = None, app.now()
        s.flush()
        audit.append(s, at=app.now(), actor=actor, action="partner.reinstate", detail={"partner": partner.id})
        return view(partner)


def show(app, ref: Ref, include_inactive: bool = False) -> dict[str, Any]:
    """A partner with its contacts, first to call first."""
    with app.store.read() as s:
        require(app._actor(s), "partner.read")
        partner = find(s, ref)
        return {**view(partner), "contacts": [contact_view(c) for c in _contacts(s, partner.id, include_inactive)]}


def list_partners(app, sector: Optional[str] = None, service: Optional[str] = None, language: Optional[str] = None,
                  model: Optional[str] = None, which: str = "active") -> list[dict[str, Any]]:
    """The directory, by name. ``which``: active (the default), retired or all. ``language`` matches
    a partner's code or its main part (``es`` finds ``es-mx``)."""
    filters = _clean({k: v for k, v in (("sector", sector), ("service", service), ("model", model),
                                        ("language", language)) if v is not None}, FILTERS)
    sector, service, model, language = (filters.get(k) for k in ("sector", "service", "model", "language"))
    if which not in ("active", "retired", "all"):
        raise InvalidInput("which must be active, retired or all")
    with app.store.read() as s:
        require(app._actor(s), "partner.read")
        query = select(Partner)
        if sector:
            query = query.where(Partner.sector == sector)
        if model:
            query = query.where(Partner.model == model)
        if which != "all":
            query = query.where(Partner.retired_at.is_(None) if which == "active" else Partner.retired_at.isnot(None))
        out = [view(p) for p in s.execute(query).scalars()]
    if service:
        out = [p for p in out if service in p["services"]]
    if language:
        out = [p for p in out if any(c == language or c.split("-")[0] == language for c in p["languages"])]
    return sorted(out, key=lambda p: (same_name(p["name"]), p["id"]))


# -- contacts --------------------------------------------------------------------------------

def _add_contact(session, actor: Actor, partner: Partner, values: dict[str, Any], now: datetime) -> PartnerContact:
    contact = PartnerContact(partner_id=partner.id, **values)
    _contact_whole(contact)
    session.add(contact)
    session.flush()
    audit.append(session, at=now, actor=actor, action="partner.contact.add",
                 detail={"partner": partner.id, "contact": contact.id, "fields": sorted(values)})
    return contact


def add_contact(app, ref: Ref, **values) -> dict[str, Any]:
    """A named contact at a partner: ``name``, and an ``email`` or a ``phone``; ``role``,
    ``escalation_order`` (1 is called first) optional."""
    clean = _clean({k: v for k, v in values.items() if v is not None}, CONTACT_CHECKS, "contact ")
    if "name" not in clean:
        raise InvalidInput("contact name is required")
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "partner.manage")
        return contact_view(_add_contact(s, actor, find(s, ref), clean, app.now()))


def _contact(session, contact_id: int) -> PartnerContact:
    contact = session.get(PartnerContact, contact_id) if 0 < contact_id < 2**63 else None
    if contact is None:
        raise NotFound(f"no partner contact {contact_id}; `vcase partner contact list PARTNER` shows them")
    return contact


def update_contact(app, contact_id: int, active: Optional[bool] = None, **changes) -> dict[str, Any]:
    """Change a contact's fields (None: unchanged, "" clears); ``active=False`` deactivates it (kept)."""
    clean = _clean({k: v for k, v in changes.items() if v is not None}, CONTACT_CHECKS, "contact ")
    if active is not None:
        clean["active"] = bool(active)
    if not clean:
        raise InvalidInput("nothing to change; give at least one field")
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "partner.manage")
        contact = _contact(s, contact_id)
        changed = sorted(f for f, v in clean.items() if getattr(contact, f) != v)
        for field in changed:
            setattr(contact, field, clean[field])
        _contact_whole(contact)
        if changed:
            s.flush()
            audit.append(s, at=app.now(), actor=actor, action="partner.contact.update",
                         detail={"partner": contact.partner_id, "contact": contact.id, "fields": changed})
        return {**contact_view(contact), "changed": changed}


def list_contacts(app, ref: Ref, include_inactive: bool = False) -> list[dict[str, Any]]:
    with app.store.read() as s:
        require(app._actor(s), "partner.read")
        return [contact_view(c) for c in _contacts(s, find(s, ref).id, include_inactive)]


# -- import ----------------------------------------------------------------------------------

def import_csv(app, data: bytes, dry_run: bool = False,
               progress: Optional[Callable[[int, int], None]] = None) -> dict[str, Any]:
    """Add the partners (and each one's first contact) of a CSV file in one transaction, or none.

    Raises ``ImportRefused`` listing every row's problems; ``progress(done, total)`` after each
    row written. A name already in the directory (retired too), or twice in the file, is refused,
    never updated or skipped. With ``dry_run`` all is done and rolled back."""
    try:
        with app.store.write() as s:
            actor = app._actor(s)
            require(actor, "partner.manage")
            header, lines = csvfile.read(data, COLUMNS, REQUIRED, MAX_ROWS)
            rows = [_row(number, header, cells) for number, cells in lines]
            _check_names(s, rows)
            problems = [p for _, _, _, row_problems in rows for p in row_problems]
            if problems:
                raise ImportRefused(problems, len(rows))
            created = []
            for done, (number, values, contact, _) in enumerate(rows, start=1):
                partner = add_partner(s, actor, values, app.now(), source=f"import row {number}")
                person = _add_contact(s, actor, partner, contact, app.now()) if contact else None
                created.append({"row": number, "partner": partner.id, "name": partner.name,
                                "contact": person.id if person else None})
                if progress:
                    progress(done, len(rows))
            report = {"dry_run": dry_run, "rows": len(rows), "partners": len(rows),
                      "contacts": sum(1 for c in created if c["contact"]), "created": [] if dry_run else created}
            if dry_run:
                raise DryRun(report)
            return report
    except DryRun as done:
        return done.report


def _row(number: int, header: list[str], cells: list[str]):
    """(row number, partner values, contact values or None, problems) of one row."""
    problems = Problems(number)
    raw = csvfile.cells(number, header, cells, problems)
    values: dict[str, Any] = {}
    for field in FIELDS:
        if field not in raw or (field == "languages" and not raw[field]):
            continue  # the column's default
        try:
            values[field] = CHECKS[field](raw[field])
        except Bad as bad:
            problems(field, str(bad))
    if not any(f in problems for f in ("hotline_24_7", "hotline_phone")):
        try:
            _whole(SimpleNamespace(**{"hotline_24_7": False, "hotline_phone": None, **values}))
        except Bad as bad:
            problems("hotline_phone", str(bad))
    contact: Optional[dict[str, Any]] = None
    if any(raw.get(c) for c in CONTACT_COLUMNS):
        contact = {}
        for column in CONTACT_COLUMNS:
            try:
                contact[column[len("contact_"):]] = CONTACT_CHECKS[column[len("contact_"):]](raw.get(column, ""))
            except Bad as bad:
                problems(column, str(bad))
        if not any(c in problems for c in CONTACT_COLUMNS):
            try:
                _contact_whole(SimpleNamespace(**contact))
            except Bad as bad:
                problems("contact_email", f"{bad} (contact_email or contact_phone)")
        contact["escalation_order"] = 1
    return number, values, contact, problems.lines


def _check_names(session, rows) -> None:
    """No name already in the directory, and none twice in the file."""
    existing = {same_name(name): pid for pid, name in session.execute(select(Partner.id, Partner.name))}
    seen: dict[str, int] = {}
    for number, values, _, problems in rows:
        if "name" not in values:
            continue
        key = same_name(values["name"])
        if key in existing:
            problems.append(f"row {number}: name: a partner of this name is already in the directory "
                            f"(partner {existing[key]}); refused, not updated")
        elif key in seen:
            problems.append(f"row {number}: name: the same name is on row {seen[key]}")
        else:
            seen[key] = number


__all__ = ["add", "update", "retire", "reinstate", "show", "list_partners", "add_contact", "update_contact",
           "list_contacts", "import_csv", "active_partner", "find", "view", "contact_view", "ImportRefused",
           "FIELDS", "CONTACT_FIELDS", "COLUMNS", "REQUIRED", "MAX_ROWS"]
