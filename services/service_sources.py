"""Where the services log reads each service from: what staff recorded, and what vcase did itself.

A service vcase gives is not typed by anyone nor copied into ``service_entry``: it is read from
the row that proves it happened, so the log and the funder's report can never disagree with the
record. ``given(lo, hi)`` is one query, a ``UNION ALL`` of every source, with the same columns
for each: who was served, the item, when, and what proves it (``kind`` and ``ref``: a service
entry, a notice, a process). A report counts over it in the database; a party's log lists it.

The automatic sources (decided here, and listed in the README):

- **E1** for each notice of a custody, hearing or supervision event delivered to a victim-side
  party (when it was handed to its channel, ``sent_at``; a letter counts once the mail room mailed
  it, never while it waits, if it was cancelled, or if it came back; a fallback that is delivered
  counts again);
- **A2** when a victim-side party registers for notices (information on how to obtain them);
- **A3 / A4** when a referral is made, by consent or as a self-referral: A3 to a victim program
  (by the partner's sector), A4 to any other service;
- **C1** when a safety plan is recorded on an intimidation report, and **E4** when the victim
  asks for a protective order there.

Anonymous contacts are only ever staff-recorded; they have no party and are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import String, and_, case, cast, func, literal, literal_column, select, true, union_all

from engine.clock import from_db
from engine.definition import START
from engine import tables
from engine.vocabulary import DELIVERED_STATUSES

# The sources read through the schema's Core view (``engine.tables``): a report needs no ORM, and runs on
# a session or on a plain connection (``Store.reading``, what ``vcase report pmt`` opens).
AuditEntry, Notice, Partner = tables.audit_entry.c, tables.notice.c, tables.partner.c
Process, ServiceEntry = tables.process.c, tables.service_entry.c

# Partner sectors whose services are victim programs: a referral there is A3, anywhere else A4.
VICTIM_PROGRAM_SECTORS = ("dv_program", "sexual_assault_program", "child_advocacy", "elder_abuse",
                          "homicide_survivors", "shelter_housing", "compensation")
BY_PARTNER_SECTOR = "A3/A4"


@dataclass(frozen=True)
class StepSource:
    """A step of a workflow that is a service to the process's victim-side party."""

    workflow: str
    event: str
    item: str  # an item code, or BY_PARTNER_SECTOR (the process's ``partner`` fact decides)
    what: str


STEPS: tuple[StepSource, ...] = (
    StepSource("notification", START, "A2", "registered for notices"),
    StepSource("referral", "consent", BY_PARTNER_SECTOR, "referral made"),
    StepSource("referral", "self_refer", BY_PARTNER_SECTOR, "self-referral made"),
    StepSource("intimidation", "record_safety_plan", "C1", "safety plan recorded"),
    StepSource("intimidation", "request_order", "E4", "protective order requested"),
)


def _window(column, lo: Optional[datetime], hi: Optional[datetime]):
    terms = [true()]
    if lo is not None:
        terms.append(column >= lo)
    if hi is not None:
        terms.append(column < hi)
    return and_(*terms)


COLUMNS = ("party_id", "item", "at", "kind", "ref", "by")


def _row(party, item, at, kind, ref, by=None, columns=COLUMNS):
    values = {"party_id": party, "item": item if hasattr(item, "label") else literal(item), "at": at,
              "kind": literal(kind), "ref": ref, "by": by if by is not None else cast(literal(None), String)}
    return tuple(values[c].label(c) for c in columns)


def _staff(lo, hi, party_id, case_id, columns):
    query = select(*_row(ServiceEntry.party_id, ServiceEntry.item, ServiceEntry.at, "staff", ServiceEntry.id,
                         ServiceEntry.recorded_by, columns=columns)).where(ServiceEntry.party_id.is_not(None),
                                                          _window(ServiceEntry.at, lo, hi))
    if party_id is not None:
        query = query.where(ServiceEntry.party_id == party_id)
    return query


def _notices(lo, hi, party_id, case_id, columns):
    # Exactly the terms of the partial index notice_event_delivered, so the database uses it: the
    # audience is written into the statement (a bound parameter could be any audience). The status is
    # read from that index too, as an expression ('' || status): a plain ``status IN (...)`` makes
    # SQLite walk the outbox's notice_due index instead, every delivered notice ever (16.8 s at 1M
    # instances in the bench of 2026-12-02 against 1.4 s).
    query = select(*_row(Notice.recipient_party_id, "E1", Notice.sent_at, "notice", Notice.id,
                         columns=columns)).where(
        Notice.audience == literal_column("'victim'"), Notice.case_event_id.is_not(None), Notice.sent_at.is_not(None),
        _window(Notice.sent_at, lo, hi), (literal_column("''") + Notice.status).in_(DELIVERED_STATUSES))
    if party_id is not None:
        query = query.where(Notice.case_id == case_id, Notice.recipient_party_id == party_id)
    return query


def _kind(source: StepSource) -> str:
    return f"{source.workflow}.{source.event}"


def _step(source: StepSource, lo, hi, party_id, case_id, columns):
    if source.event == START:  # when the process started: read from the process alone (its own index)
        query = select(*_row(Process.initiator_party_id, source.item, Process.started_at, _kind(source),
                             Process.id, columns=columns)).where(_window(Process.started_at, lo, hi))
    else:
        sector = source.item == BY_PARTNER_SECTOR and "item" in columns
        item: Any = case((Partner.sector.in_(VICTIM_PROGRAM_SECTORS), "A3"), else_="A4") if sector else source.item
        query = (select(*_row(Process.initiator_party_id, item, AuditEntry.at, _kind(source), Process.id,
                              columns=columns))
                 .select_from(tables.process).join(tables.audit_entry, AuditEntry.process_id == Process.id)
                 .where(AuditEntry.action == f"{source.workflow}.{source.event}", _window(AuditEntry.at, lo, hi)))
        if sector:
            query = query.outerjoin(tables.partner, Partner.id == Process.data["partner"].as_integer())
    query = query.where(Process.workflow == source.workflow, Process.initiator_party_id.is_not(None))
    if party_id is not None:
        query = query.where(Process.case_id == case_id, Process.initiator_party_id == party_id)
    return query


def given(lo: Optional[datetime] = None, hi: Optional[datetime] = None, party_id: Optional[int] = None,
          case_id: Optional[int] = None, columns: tuple[str, ...] = COLUMNS):
    """Every service given to a party in ``[lo, hi)`` (or to one party), as one selectable with the
    ``columns`` asked for, of ``party_id, item, at, kind, ref, by`` (a count reads only what it needs)."""
    parts = [_staff(lo, hi, party_id, case_id, columns), _notices(lo, hi, party_id, case_id, columns)]
    parts += [_step(source, lo, hi, party_id, case_id, columns) for source in STEPS]
    return union_all(*parts).subquery("given")


def for_party(session: Any, party_id: int, case_id: int) -> list[dict[str, Any]]:
    """Every service a party was given, staff-recorded and automatic, oldest first."""
    g = given(party_id=party_id, case_id=case_id)
    rows = session.execute(select(g).order_by(g.c.at, g.c.item)).all()
    return [{"item": r.item, "at": from_db(r.at), "source": _source(r.kind, r.ref, r.by)} for r in rows]


def _source(kind: str, ref: int, by: Optional[str]) -> str:
    if kind == "staff":
        return f"recorded by {by}"
    if kind == "notice":
        return f"notice {ref} delivered"
    source = next(s for s in STEPS if _kind(s) == kind)
    return f"{source.what} ({source.workflow} {ref})"


def anonymous(lo: datetime, hi: datetime):
    """Anonymous contacts in ``[lo, hi)``: ``contact, item`` rows."""
    return select(ServiceEntry.contact, ServiceEntry.item).where(
        ServiceEntry.anonymous.is_(True), _window(ServiceEntry.at, lo, hi)).subquery("anonymous")


def category(item_column):
    """The PMT category of an item code in SQL: its letter, or COMP."""
    return case((item_column == "COMP", "COMP"), else_=func.substr(item_column, 1, 1))
