"""The services log: what victim-services staff gave a victim-side party, each operation one transaction.

Staff record services by the PMT's item codes (``services.pmt_catalog``); what vcase did itself
(a notice delivered, a referral made, a safety plan) is read from where it happened
(``services.service_sources``), never typed again. A contact with someone who does not give
their name is recorded as anonymous: counted apart, never tied to a case.

A party's profile (what they chose to say about themselves for the funder's report) is
self-reported and optional; every question can be answered "not reported", and an unanswered
one counts as "not tracked". It is stored encrypted as one document and read back only by staff
who may read the services log. Recording it is recording what the victim says: agency staff must
first have explained the limits of confidentiality (``engine.confidentiality``).

Officers and the parole board have no part in any of it.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Optional

from sqlmodel import Session

from engine import audit, confidentiality, settings
from engine.clock import describe, parse_when
from engine.errors import InvalidInput, NotFound
from engine.models import Case, Party, PartyProfile, ServiceEntry
from engine.permissions import VIA, Actor, require, resolve
from services import service_sources
from services.pmt_catalog import ITEMS, NONE, NOT_REPORTED, NOT_TRACKED, QUESTIONS

MAX_ITEMS = 40  # items in one contact


def items(codes: Iterable[str]) -> list[str]:
    """The item codes as typed (``a1``, ``E1,E2``), checked; refused with the list's words."""
    out: list[str] = []
    for raw in codes:
        for code in str(raw).split(","):
            code = code.strip().upper()
            if not code:
                continue
            if code not in ITEMS:
                raise InvalidInput(f"unknown service item {code!r}; `vcase service items` lists the PMT's codes "
                                   "(A1-A4, B1-B10, C1-C7, D1-D3, E1-E11, COMP)")
            out.append(code)
    if not out:
        raise InvalidInput("name at least one service item (--item A1); `vcase service items` lists them")
    if len(out) > MAX_ITEMS:
        raise InvalidInput(f"{len(out)} items in one contact; at most {MAX_ITEMS}")
    return out


def _victim_party(session: Session, party_id: int) -> Party:
    return confidentiality.victim_side(session, party_id, "the services log is")


def _when(session: Session, at: Optional[str], zone_name: str, now: datetime) -> datetime:
    if at is None:
        return now
    moment = parse_when(at, zone_name, "--at")
    if moment > now:
        raise InvalidInput(f"--at {at} is in the future; record a service once it was given")
    return moment


def _entries(session: Session, actor: Actor, party: Optional[Party], codes: list[str], at: datetime,
             now: datetime) -> str:
    contact = secrets.token_hex(8)
    session.add_all([ServiceEntry(case_id=party.case_id if party else None, party_id=party.id if party else None,
                                  anonymous=party is None, item=code, at=at, contact=contact,
                                  recorded_by=actor.login, recorded_at=now) for code in codes])
    session.flush()
    audit.append(session, at=now, actor=actor, action="service.record" if party else "service.anonymous",
                 case_id=party.case_id if party else None,
                 detail={"party": party.id if party else None, "items": codes, "at": at.isoformat()})
    return contact


def record(app, party_id: int, codes: Iterable[str], at: Optional[str] = None,
           via: Optional[str] = None) -> dict[str, Any]:
    """Services given to a victim-side party in one contact; ``at`` as typed, in the case's zone."""
    return record_many(app, [party_id], codes, at, via)[0]


def record_many(app, party_ids: Iterable[int], codes: Iterable[str], at: Optional[str] = None,
                via: Optional[str] = None) -> list[dict[str, Any]]:
    """The same services to several parties (a support group, a court accompaniment of a family), in
    one transaction: all of them or none. ``at`` as typed, in each party's case zone."""
    codes, ids = items(codes), list(dict.fromkeys(party_ids))
    if not ids:
        raise InvalidInput("name at least one party")
    with app.store.write() as s:
        actor = resolve(s, app.login, via=via, now=app.now())
        require(actor, "service.record")
        out = []
        for party_id in ids:
            party = _victim_party(s, party_id)
            zone_name = s.get(Case, party.case_id).time_zone
            moment = _when(s, at, zone_name, app.now())
            _entries(s, actor, party, codes, moment, app.now())
            out.append({"party": party.id, "items": codes, "at": describe(moment, zone_name)})
        return out


def _at_problem(said: str, zone_name: str) -> str:
    """What is wrong with a row's time, in words that never quote the cell."""
    if "does not exist" in said:
        return f"is a local time that does not exist in {zone_name} (the clocks went forward)"
    if "twice" in said:
        return f"happens twice in {zone_name} (the clocks went back): add its offset, e.g. -05:00"
    if "future" in said:
        return "is in the future"
    return "is not a date and time such as 2027-01-05T14:30"


IMPORT_COLUMNS = ("party", "anonymous", "items", "at", "via")
MAX_ROWS = 20_000


def import_csv(app, data: bytes, dry_run: bool = False,
               progress: Optional[Callable[[int, int], None]] = None) -> dict[str, Any]:
    """A services log kept elsewhere (a hotline's sheet, a court-watch list), one contact per row, in
    one transaction or not at all. Columns: ``party`` (a victim-side party id) or ``anonymous`` (yes),
    ``items`` (codes, e.g. "C2,A3"), ``at`` (in the party's case zone, or the agency's for an
    anonymous contact), ``via`` (optional). Problems are named by row and column, never by value."""
    from services import csvfile
    from services.csvfile import YES, DryRun, ImportRefused

    header, rows = csvfile.read(data, IMPORT_COLUMNS, ("items", "at"), MAX_ROWS)
    try:
        with app.store.write() as s:
            actor = resolve(s, app.login, now=app.now())
            require(actor, "service.record")
            agency_zone = settings.engine_value(s, "agency.time_zone")
            planned, problems = [], []
            for number, cells in rows:
                raw = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
                row_problems = []

                def bad(column: str, what: str) -> None:
                    row_problems.append(f"row {number}: {column}: {what}")

                anonymous = raw.get("anonymous", "").lower() in YES and raw.get("anonymous", "") != ""
                party = None
                if anonymous and raw.get("party"):
                    bad("party", "is given for an anonymous contact; leave it empty")
                elif not anonymous:
                    if not raw.get("party", "").isdigit():
                        bad("party", "must be a party id (or set anonymous to yes)")
                    else:
                        try:
                            party = _victim_party(s, int(raw["party"]))
                        except (InvalidInput, NotFound):
                            bad("party", "is not a victim-side party")
                try:
                    codes = items([raw.get("items", "")])
                except InvalidInput:
                    bad("items", "must be PMT item codes such as A1,C2 (`vcase service items`)")
                    codes = []
                zone_name = s.get(Case, party.case_id).time_zone if party else agency_zone
                try:
                    moment = _when(s, raw.get("at", ""), zone_name, app.now())
                except InvalidInput as exc:
                    bad("at", _at_problem(str(exc), zone_name))
                    moment = None
                if raw.get("via") and raw["via"] not in VIA:
                    bad("via", f"must be one of {', '.join(VIA)}")
                problems.extend(row_problems)
                if not row_problems:
                    planned.append((party, codes, moment, raw.get("via") or None))
            if problems:
                raise ImportRefused(problems, len(rows))
            for done, (party, codes, moment, via) in enumerate(planned, start=1):
                _entries(s, replace(actor, via=via), party, codes, moment, app.now())
                if progress:
                    progress(done, len(planned))
            report = {"contacts": len(planned), "anonymous": sum(1 for p in planned if p[0] is None),
                      "items": sum(len(p[1]) for p in planned), "dry_run": dry_run}
            if dry_run:
                raise DryRun(report)
            return report
    except DryRun as done:
        return done.report


def record_anonymous(app, codes: Iterable[str], at: Optional[str] = None) -> dict[str, Any]:
    """A contact with someone who did not give their name (a hotline call): counted apart, no case;
    ``at`` as typed, in the agency's zone."""
    codes = items(codes)
    with app.store.write() as s:
        actor = resolve(s, app.login, now=app.now())
        require(actor, "service.record")
        zone_name = settings.engine_value(s, "agency.time_zone")
        moment = _when(s, at, zone_name, app.now())
        _entries(s, actor, None, codes, moment, app.now())
        return {"anonymous": True, "items": codes, "at": describe(moment, zone_name)}


def list_for(app, party_id: int) -> dict[str, Any]:
    """Every service a party was given, staff-recorded and automatic, oldest first."""
    with app.store.read() as s:
        actor = resolve(s, app.login, now=app.now())
        require(actor, "service.read")
        party = _victim_party(s, party_id)
        zone_name = s.get(Case, party.case_id).time_zone
        rows = [{"at": describe(g["at"], zone_name), "item": g["item"], "service": ITEMS[g["item"]],
                 "source": g["source"]} for g in service_sources.for_party(s, party.id, party.case_id)]
        return {"party": party.id, "services": rows}


# -- the profile ------------------------------------------------------------------------------

def _answers(question: str, given: Iterable[str]) -> list[str]:
    allowed, many = QUESTIONS[question]
    extra = (NONE,) if question == "classification" else ()
    values: list[str] = []
    for raw in given:
        for value in str(raw).split(","):
            value = value.strip().lower().replace(" ", "_").replace("-", "_") if question != "age" else value.strip()
            if not value:
                continue
            if value not in (*allowed, *extra, NOT_REPORTED, NOT_TRACKED):
                choices = ", ".join((*allowed, *extra, NOT_REPORTED, NOT_TRACKED))
                raise InvalidInput(f"unknown {question} answer {value!r}; use one of: {choices}")
            if value not in values:
                values.append(value)
    if len(values) > 1 and (not many or set(values) & {NOT_REPORTED, NOT_TRACKED, NONE}):
        raise InvalidInput(f"give one {question} answer" if not many else
                           f"{question}: {NOT_REPORTED}, {NOT_TRACKED} or {NONE} stands alone")
    return values


def _decrypt(app, row: Optional[PartyProfile]) -> dict[str, list[str]]:
    return json.loads(app.store.vault.decrypt(row.profile_enc)) if row is not None else {}


def set_profile(app, party_id: int, answers: Mapping[str, Iterable[str]], via: Optional[str] = None) -> dict[str, Any]:
    """Change the answers given (the others stay); an empty list clears one back to "not tracked"."""
    checked = {q: _answers(q, values) for q, values in answers.items() if values is not None}
    if not checked:
        raise InvalidInput("give at least one answer (--victimization, --classification, --race, --gender, --age)")
    with app.store.write() as s:
        require(resolve(s, app.login, now=app.now()), "service.record")
        party = _victim_party(s, party_id)
        actor = resolve(s, app.login, for_party=party.id, via=via, now=app.now())
        confidentiality.require_explained(s, actor, "profile", settings.load(s, app.registry))
        row = s.get(PartyProfile, party.id)
        profile = _decrypt(app, row)
        profile.update({q: v for q, v in checked.items() if v})
        for q in [q for q, v in checked.items() if not v]:
            profile.pop(q, None)
        token = app.store.vault.encrypt(json.dumps(profile, sort_keys=True))
        if row is None:
            row = PartyProfile(party_id=party.id, profile_enc=token, updated_by=actor.login, updated_at=app.now())
        else:
            row.profile_enc, row.updated_by, row.updated_at = token, actor.login, app.now()
        s.add(row)
        s.flush()
        # The audit says which questions changed, never the answers.
        audit.append(s, at=app.now(), actor=actor, action="service.profile", case_id=party.case_id,
                     detail={"party": party.id, "questions": sorted(checked)})
        return _view(party.id, profile)


def show_profile(app, party_id: int) -> dict[str, Any]:
    with app.store.read() as s:
        actor = resolve(s, app.login, now=app.now())
        require(actor, "service.read")
        party = _victim_party(s, party_id)
        return _view(party.id, _decrypt(app, s.get(PartyProfile, party.id)))


def _view(party_id: int, profile: Mapping[str, list[str]]) -> dict[str, Any]:
    return {"party": party_id, **{q: list(profile.get(q) or [NOT_TRACKED]) for q in QUESTIONS}}
