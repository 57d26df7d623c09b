"""Registrations for victim notices in bulk: a CSV import, and a list across the agency.

``import_csv`` turns each row of a file into a victim-side party on an existing
case and, unless the row says ``none``, a notification registration for it. It
checks every row before writing anything and reports each problem as
``row N: column: what is wrong`` (rows numbered as a spreadsheet shows them:
the header is row 1). A problem never quotes the cell: a shifted column could
put a name or an address where a kind was expected. When every row is good,
all of them are written in one transaction through the calls staff make one
at a time (``records.add_party``, then ``runtime.start``), so permissions,
guards, audit entries and confirmation notices are exactly theirs. A dry run
does the same work and rolls it back.

A row whose name is already a victim-side party on its case (or an earlier
row's, on the same case) is refused, never skipped: importing the same list
twice must not register anyone twice, and a namesake needs a person's look.

Kept beside ``services.notify_api``; each public function takes the ``App``
and is one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from sqlalchemy import String, cast, func, or_, select

from engine import records, runtime
from engine.clock import from_db, zone
from engine.errors import InvalidInput, NotPermitted, VcaseError
from engine.models import CHANNELS, LANGUAGES, VICTIM_SIDE_KINDS, Case, Party, Process
from engine.permissions import COMMANDS, Actor, resolve
from engine.redact import scrub
from services import csvfile
from services.csvfile import MAX_BYTES, NO, YES, DryRun, ImportRefused, is_email, is_phone, same_name

WORKFLOW = "notification"
MAX_ROWS = 5_000
COLUMNS = ("case", "kind", "name", "email", "phone", "address", "channels", "language", "time_zone",
           "minor", "deceased", "represents", "events")
REQUIRED = ("case", "kind", "name", "events")
REPRESENTATIVES = ("guardian", "next_of_kin")
ROW_REF = re.compile(r"row\s*:?\s*(\d+)", re.IGNORECASE)


@dataclass
class Row:
    """One checked row: what ``records.add_party`` and ``runtime.start`` will be given."""
    number: int
    case_number: str
    kind: str
    name: str
    email: Optional[str]
    phone: Optional[str]
    address: Optional[str]
    channels: tuple[str, ...]
    language: str
    time_zone: Optional[str]
    minor: bool
    deceased: bool
    represents: Optional[int]  # an existing party's id
    represents_row: Optional[int]  # or an earlier row of this file
    events: Optional[str]  # None: a party only, no registration
    party_id: Optional[int] = None
    process_id: Optional[int] = None
    notices: int = 0
    problems: list[str] = field(default_factory=list)

    def values(self) -> list[str]:
        return [v for v in (self.name, self.email, self.phone, self.address) if v]


# -- import ----------------------------------------------------------------------------------

def import_csv(app, data: bytes, via: Optional[str] = None, dry_run: bool = False,
               progress: Optional[Callable[[int, int], None]] = None, explained: Optional[str] = None) -> dict[str, Any]:
    """Add the parties and registrations of a CSV file in one transaction, or nothing.

    Raises ``ImportRefused`` listing every row's problems; ``progress(done, total)`` is called
    after each write. With ``dry_run`` everything is done and rolled back: the report says
    what would have been created. ``explained``: how the limits of confidentiality were explained
    to every person in the file (e.g. in_writing, on the registration form), recorded for each
    party it adds; without it, agency staff may not register them while the setting
    privacy.confidentiality_first is yes."""
    try:
        with app.store.write() as s:
            actor = app._actor(s, via=via)
            _may_import(app, actor)
            rows, total = _parse(data)
            _confidentiality_said(s, app, actor, rows, explained)
            _check(s, app.store.vault, rows)
            problems = [p for r in rows for p in r.problems]
            if problems:
                raise ImportRefused(problems, total)
            _write(s, app, actor, rows, total, via, progress, explained)
            report = _report(rows, dry_run)
            if dry_run:
                raise DryRun(report)
            return report
    except DryRun as done:
        return done.report


def _may_import(app, actor: Actor) -> None:
    """Refuse a role that could not add each party and start each registration one by one."""
    wf = app.registry.latest(WORKFLOW).workflow
    starts = {role for a in wf.start_by if a.side == "victim" for role in a.roles}
    allowed = sorted(COMMANDS["party.add"] & starts)
    if actor.role not in allowed:
        raise NotPermitted(f"{actor.role} is not permitted to import registrations (allowed: {', '.join(allowed)}): "
                           "it adds parties and registers them for notices")


def _confidentiality_said(session, app, actor: Actor, rows: list[Row], explained: Optional[str]) -> None:
    """Refuse at once, not row by row, a file that registers people before the limits of
    confidentiality are on record for them (they are new: only the file can say it was done)."""
    from engine import confidentiality, settings

    if explained is not None:
        if explained not in confidentiality.METHODS:
            raise InvalidInput(f"unknown --confidentiality-explained {explained!r}; use one of: "
                               f"{', '.join(confidentiality.METHODS)}")
        return
    if any(r.events is not None for r in rows) and confidentiality.applies(session, actor, settings.load(session, app.registry)):
        raise InvalidInput("this file registers people for notices: say how the limits of confidentiality were "
                           "explained to them (--confidentiality-explained in_writing, e.g. on the registration form); "
                           f"agency staff record it before anything a victim asks for (setting {confidentiality.SETTING})")


def _parse(data: bytes) -> tuple[list[Row], int]:
    """The rows of the file, each checked on its own; (rows, number of non-blank rows)."""
    header, rows = csvfile.read(data, COLUMNS, REQUIRED, MAX_ROWS)
    return [_row(number, header, cells) for number, cells in rows], len(rows)


def _row(number: int, header: list[str], cells: list[str]) -> Row:
    problems: list[str] = []
    broken: set[str] = set()  # columns already reported: one problem per cell

    def bad(column: str, what: str) -> None:
        if column not in broken:
            problems.append(f"row {number}: {column}: {what}")
            broken.add(column)

    if len(cells) > len(header):
        bad("(row)", f"has {len(cells)} cells but the header has {len(header)} columns")
    raw = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
    get = lambda c: raw.get(c) or None  # noqa: E731
    for column in COLUMNS:
        try:
            records.plain_text(raw.get(column, ""), column, 500 if column == "address" else 200,
                               lines=column == "address")
        except InvalidInput:
            bad(column, "contains a control character or is too long")
            raw[column] = ""
    row = Row(number=number, case_number=raw.get("case", ""), kind=raw.get("kind", "").lower(),
              name=raw.get("name", ""), email=get("email"), phone=get("phone"), address=get("address"),
              channels=(), language=(raw.get("language") or "en").lower(), time_zone=get("time_zone"),
              minor=False, deceased=False, represents=None, represents_row=None, events=None)
    if not row.case_number:
        bad("case", "is empty; give the case number")
    if row.kind not in VICTIM_SIDE_KINDS:
        bad("kind", f"must be one of {', '.join(VICTIM_SIDE_KINDS)}" + (
            "; the person under supervision is never imported" if row.kind == "supervised_person"
            else "" if row.kind else " (it is empty)"))
    if not row.name:
        bad("name", "is empty")
    if row.email and not is_email(row.email):
        bad("email", "is not an e-mail address (name@example.org)")
    if row.phone and not is_phone(row.phone):
        bad("phone", "is not a phone number (7 to 15 digits, e.g. +1 312 555 0101)")
    chosen = [c for c in re.split(r"[\s,;|]+", (raw.get("channels") or "").lower()) if c]
    if [c for c in chosen if c not in CHANNELS]:
        bad("channels", f"use {', '.join(CHANNELS)}, most preferred first")
    else:
        row.channels = tuple(dict.fromkeys(chosen))
        for channel, contact, value in (("email", "email", row.email), ("sms", "phone", row.phone),
                                        ("letter", "address", row.address)):
            if channel in row.channels and not value:
                bad("channels", f"{channel} is chosen but the {contact} column is empty")
    if row.language not in LANGUAGES:
        bad("language", f"must be one of {', '.join(LANGUAGES)}")
    if row.time_zone:
        try:
            zone(row.time_zone)
        except InvalidInput:
            bad("time_zone", "is not an IANA time zone (e.g. America/Chicago); leave it empty for the case's")
    for column in ("minor", "deceased"):
        value = (raw.get(column) or "").lower()
        if value not in YES + NO:
            bad(column, "must be yes or no (or empty for no)")
        setattr(row, column, value in YES)
    _represents(row, raw.get("represents") or "", bad)
    row.events = _events(raw.get("events") or "", bad)
    row.problems = problems
    return row


def _represents(row: Row, value: str, bad) -> None:
    if row.kind not in REPRESENTATIVES:
        if value:
            bad("represents", "only a guardian or next of kin represents someone; leave it empty")
        return
    ref = ROW_REF.fullmatch(value)
    if ref:
        row.represents_row = int(ref.group(1))
        if row.represents_row >= row.number:
            bad("represents", "must name an earlier row of the file (row:N) or a party id")
    elif value.isdigit() and 0 < int(value) < 2**63:
        row.represents = int(value)
    else:
        bad("represents", f"a {row.kind} needs the party they act for: a party id on the case, "
                          "or row:N for a party an earlier row adds")


def _events(value: str, bad) -> Optional[str]:
    from workflows.notification import EVENT_TYPES

    names = [e.strip().lower() for e in re.split(r"[,;|]", value) if e.strip()]
    if names == ["none"]:
        return None
    if not names:
        bad("events", "is empty; give event types, all, or none (a party without a registration)")
        return None
    unknown = [n for n, e in enumerate(names, start=1) if e not in EVENT_TYPES + ("all",)]
    if unknown:
        bad("events", f"item {unknown[0]} is not an event type; choose from: all, none, {', '.join(EVENT_TYPES)}")
        return None
    return ",".join(names)


def _check(session, vault, rows: list[Row]) -> None:
    """What needs the database: the case exists, the represented party is on it, no namesake."""
    cases: dict[str, Optional[Case]] = {}
    names: dict[int, dict[str, int]] = {}  # case id -> normalised name -> party id
    by_number = {r.number: r for r in rows}
    in_file: dict[tuple[int, str], int] = {}  # (case id, name) -> row number
    for row in rows:
        if not row.case_number:
            continue
        if row.case_number not in cases:
            cases[row.case_number] = session.execute(
                select(Case).where(Case.case_number == row.case_number)).scalar_one_or_none()
        case = cases[row.case_number]
        if case is None:
            row.problems.append(f"row {row.number}: case: no case with this number; `vcase case list` shows them")
            continue
        if case.id not in names:
            parties = session.execute(select(Party).where(Party.case_id == case.id, Party.side == "victim")).scalars()
            names[case.id] = {same_name(vault.decrypt(p.name_enc)): p.id for p in parties}
        key = same_name(row.name)
        if row.name and key in names[case.id]:
            row.problems.append(f"row {row.number}: name: a party of this name is already on the case "
                                f"(party {names[case.id][key]}); refused so no one is registered twice")
        elif row.name and (case.id, key) in in_file:
            row.problems.append(f"row {row.number}: name: the same name is on row {in_file[(case.id, key)]} "
                                "for the same case")
        elif row.name:
            in_file[(case.id, key)] = row.number
        if row.represents is not None:
            target = session.get(Party, row.represents)
            if target is None or target.case_id != case.id or target.side != "victim":
                row.problems.append(f"row {row.number}: represents: party {row.represents} is not a victim-side "
                                    "party on this case")
        if row.represents_row is not None and row.represents_row < row.number:
            target_row = by_number.get(row.represents_row)
            if target_row is None or target_row.case_number != row.case_number:
                row.problems.append(f"row {row.number}: represents: row {row.represents_row} adds no party "
                                    "on this case")


def _write(session, app, actor: Actor, rows: list[Row], rows_in_file: int, via: Optional[str], progress,
           explained: Optional[str] = None) -> None:
    """Every party first, then every registration, so a minor's registration reaches the guardian a
    later row adds. Any refusal names its row and undoes the whole file."""
    registering = [r for r in rows if r.events is not None]
    total, done = len(rows) + len(registering), 0
    party_of_row: dict[int, int] = {}
    for row in rows:
        with _as_row(row, rows_in_file):
            party = records.add_party(
                session, app.store.vault, actor, case_number=row.case_number, kind=row.kind, name=row.name,
                now=app.now(), email=row.email, phone=row.phone, address=row.address, channels=row.channels,
                language=row.language, time_zone=row.time_zone, minor=row.minor, deceased=row.deceased,
                represents=party_of_row[row.represents_row] if row.represents_row else row.represents)
            row.party_id = party_of_row[row.number] = party.id
            if explained is not None:
                from engine import confidentiality

                confidentiality.record(session, actor, party.id, explained, app.now())
        done += 1
        if progress:
            progress(done, total)
    for row in registering:
        with _as_row(row, rows_in_file):
            out = runtime.start(session, app.store.vault, app.registry, case_number=row.case_number,
                                workflow=WORKFLOW, actor=resolve(session, actor.login, for_party=row.party_id, via=via),
                                now=app.now(), params={"events": row.events})
            row.process_id, row.notices = out.process.id, len(out.notices)
        done += 1
        if progress:
            progress(done, total)


class _as_row:
    """Re-raise an engine refusal (or a database error) as this row's problem, scrubbed of its values."""

    def __init__(self, row: Row, rows_in_file: int):
        self.row, self.rows_in_file = row, rows_in_file

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, (ImportRefused, DryRun)):
            return False
        from engine.db import translate

        error = exc if isinstance(exc, VcaseError) else translate(exc)
        if not isinstance(error, VcaseError):
            return False
        raise ImportRefused([f"row {self.row.number}: {scrub(error, self.row.values())}"], self.rows_in_file) from exc


def _report(rows: list[Row], dry_run: bool) -> dict[str, Any]:
    per_case: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = per_case.setdefault(row.case_number, {"case_number": row.case_number, "parties": 0,
                                                      "registrations": 0, "notices": 0})
        entry["parties"] += 1
        entry["registrations"] += row.events is not None
        entry["notices"] += row.notices
    return {
        "dry_run": dry_run, "rows": len(rows), "parties": len(rows),
        "registrations": sum(r.events is not None for r in rows), "notices": sum(r.notices for r in rows),
        "cases": list(per_case.values()),
        # ids only (a dry run's were never kept); never a name or a contact detail
        "created": [] if dry_run else [{"row": r.number, "case_number": r.case_number, "party": r.party_id,
                                        "registration": r.process_id} for r in rows],
    }


# -- list ------------------------------------------------------------------------------------

def list_registrations(app, case_number: Optional[str] = None, state: Optional[str] = None,
                       event: Optional[str] = None, language: Optional[str] = None, channel: Optional[str] = None,
                       limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Registrations across the agency (or one case), for roles that may read them; a page of
    ``limit`` from ``offset``, with the total that match."""
    with app.store.read() as s:
        actor = app._actor(s)
        wf = app.registry.latest(WORKFLOW).workflow
        runtime.check_readable(wf, actor)
        query = _filtered(s, wf, case_number, state, event, language, channel)
        total = s.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = s.execute(query.order_by(Case.case_number, Process.id).limit(limit).offset(offset)).all()
        out = [_listed(p, number, kind, lang, chans) for p, number, kind, lang, chans in rows]
        return {"registrations": out, "total": total, "offset": offset, "limit": limit,
                "more": max(0, total - offset - len(out))}


def _filtered(session, wf, case_number, state, event, language, channel):
    from workflows.notification import EVENT_TYPES

    query = (select(Process, Case.case_number, Party.kind, Party.language, Party.channels)
             .join(Case, Case.id == Process.case_id)
             .outerjoin(Party, Party.id == Process.initiator_party_id)
             .where(Process.workflow == WORKFLOW))
    if case_number is not None:
        query = query.where(Process.case_id == records.case_by_number(session, case_number).id)
    if state is not None:
        if state not in wf.state_names:
            raise InvalidInput(f"unknown state; use one of: {', '.join(wf.state_names)}")
        query = query.where(Process.state == state)
    if event is not None:
        if event not in EVENT_TYPES:
            raise InvalidInput(f"unknown event type; use one of: {', '.join(EVENT_TYPES)}")
        # the facts are {"events": [names]}; a name is a fixed word, so its quoted form matches only itself
        query = query.where(cast(Process.data, String).like(f'%"{event}"%'))
    if language is not None:
        if language not in LANGUAGES:
            raise InvalidInput(f"unknown language; use one of: {', '.join(LANGUAGES)}")
        query = query.where(Party.language == language)
    if channel is not None:
        if channel not in CHANNELS:
            raise InvalidInput(f"unknown channel; use one of: {', '.join(CHANNELS)}")
        chosen = Party.channels.like(f"%{channel}%")
        query = query.where(or_(chosen, Party.channels == "") if channel == "letter" else chosen)  # none: letter
    return query


def _listed(process: Process, case_number: str, kind, language, channels) -> dict[str, Any]:
    return {"id": process.id, "case_number": case_number, "state": process.state, "paused_from": process.paused_from,
            "party": process.initiator_party_id, "kind": kind, "events": (process.data or {}).get("events", []),
            "language": language, "channels": [c for c in (channels or "").split(",") if c] or ["letter"],
            "started_at": from_db(process.started_at).isoformat(),
            "updated_at": from_db(process.updated_at).isoformat()}


__all__ = ["import_csv", "list_registrations", "ImportRefused", "COLUMNS", "REQUIRED", "MAX_BYTES", "MAX_ROWS"]
