"""Where the services log reads each service from: what staff recorded, and what vcase did itself.

A service vcase gives is not typed by anyone nor copied into ``service_entry``: it is read from
the row that proves it happened, so the log and the funder's report can never disagree with
the record. Each source answers the same two questions for a window ``[lo, hi)`` (aware UTC):

- ``spans``: for each party served, the first and last moment of a service (``new`` and
  ``served`` in the PMT are decided from these);
- ``given``: how many times each party got each item.

The automatic ones (decided here, and listed in the README):

- **E1** for each notice of a custody, hearing or supervision event delivered to a victim-side
  party (the notice's ``sent_at``; a fallback that is delivered counts again);
- **A2** when a victim-side party registers for notices (information on how to obtain them);
- **A3 / A4** when a referral is made, by consent or as a self-referral: A3 to a victim program
  (the partner's sector), A4 to any other service;
- **C1** when a safety plan is recorded on an intimidation report, and **E4** when the victim
  asks for a protective order there.

Anonymous contacts are only ever staff-recorded; they have no party and are counted apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Optional

from sqlalchemy import and_, func, literal, select
from sqlmodel import Session

from engine.clock import from_db
from engine.definition import START
from engine.models import AuditEntry, Notice, Partner, Process, ServiceEntry

# Partner sectors whose services are victim programs: a referral there is A3, anywhere else A4.
VICTIM_PROGRAM_SECTORS = frozenset({"dv_program", "sexual_assault_program", "child_advocacy", "elder_abuse",
                                    "homicide_survivors", "shelter_housing", "compensation"})


@dataclass(frozen=True)
class Given:
    """One service from a source: who, what, when, and what proves it (for ``vcase service list``)."""

    party_id: int
    item: str
    at: datetime
    source: str


def _window(column, lo: Optional[datetime], hi: Optional[datetime]):
    terms = []
    if lo is not None:
        terms.append(column >= lo)
    if hi is not None:
        terms.append(column < hi)
    return and_(*terms) if terms else literal(True)


# -- what staff recorded ----------------------------------------------------------------------

def _staff(session: Session, lo, hi, party_id: Optional[int]) -> Iterator[Given]:
    query = select(ServiceEntry.party_id, ServiceEntry.item, ServiceEntry.at, ServiceEntry.recorded_by).where(
        ServiceEntry.party_id.is_not(None), _window(ServiceEntry.at, lo, hi))
    if party_id is not None:
        query = query.where(ServiceEntry.party_id == party_id)
    for party, item, at, by in session.execute(query):
        yield Given(party, item, from_db(at), f"recorded by {by}")


# -- E1: notices of custody and supervision events delivered ----------------------------------

def _delivered(lo, hi):
    # Exactly the terms of the partial index notice_event_delivered, so the database uses it.
    return and_(Notice.audience == "victim", Notice.case_event_id.is_not(None), Notice.sent_at.is_not(None),
                _window(Notice.sent_at, lo, hi))


def _notices(session: Session, lo, hi, party_id: Optional[int], case_id: Optional[int]) -> Iterator[Given]:
    query = select(Notice.recipient_party_id, Notice.sent_at, Notice.id).where(_delivered(lo, hi))
    if party_id is not None:
        query = query.where(Notice.case_id == case_id, Notice.recipient_party_id == party_id)
    for party, at, notice in session.execute(query):
        yield Given(party, "E1", from_db(at), f"notice {notice} delivered")


def _notice_spans(session: Session, lo, hi):
    query = (select(Notice.recipient_party_id, func.min(Notice.sent_at), func.max(Notice.sent_at), func.count())
             .where(_delivered(lo, hi)).group_by(Notice.recipient_party_id))
    for party, first, last, times in session.execute(query):
        yield party, "E1", from_db(first), from_db(last), times


# -- A2: registration for notices; A3/A4, C1, E4: steps of processes ---------------------------

@dataclass(frozen=True)
class StepSource:
    """A step of a workflow that is a service to the process's victim-side party."""

    workflow: str
    event: str
    item: Callable[[Session, Process], str] | str
    what: str


def _referral_item(session: Session, process: Process) -> str:
    partner = session.get(Partner, int(process.data.get("partner", 0) or 0))
    return "A3" if partner is not None and partner.sector in VICTIM_PROGRAM_SECTORS else "A4"


STEPS: tuple[StepSource, ...] = (
    StepSource("notification", START, "A2", "registered for notices"),
    StepSource("referral", "consent", _referral_item, "referral made"),
    StepSource("referral", "self_refer", _referral_item, "self-referral made"),
    StepSource("intimidation", "record_safety_plan", "C1", "safety plan recorded"),
    StepSource("intimidation", "request_order", "E4", "protective order requested"),
)


def _steps(session: Session, lo, hi, party_id: Optional[int], case_id: Optional[int],
           starts: bool = True) -> Iterator[Given]:
    """Each step-source service one by one (``starts=False``: leave out those given at a start)."""
    by_workflow: dict[str, dict[str, StepSource]] = defaultdict(dict)
    for source in STEPS:
        if not starts and source.event == START:
            continue
        by_workflow[source.workflow][f"{source.workflow}.{source.event}"] = source
    for workflow, actions in by_workflow.items():
        query = (select(Process, AuditEntry.action, AuditEntry.at)
                 .join(AuditEntry, AuditEntry.process_id == Process.id)
                 .where(Process.workflow == workflow, Process.initiator_party_id.is_not(None),
                        AuditEntry.action.in_(actions), _window(AuditEntry.at, lo, hi)))
        if START in {s.event for s in actions.values()} and len(actions) == 1:
            # A start is when the process started: read from the process alone (its own index).
            query = select(Process, literal(f"{workflow}.{START}"), Process.started_at).where(
                Process.workflow == workflow, Process.initiator_party_id.is_not(None),
                _window(Process.started_at, lo, hi))
        if party_id is not None:
            query = query.where(Process.case_id == case_id, Process.initiator_party_id == party_id)
        for process, action, at in session.execute(query):
            source = actions[action]
            item = source.item if isinstance(source.item, str) else source.item(session, process)
            yield Given(process.initiator_party_id, item, from_db(at), f"{source.what} ({workflow} {process.id})")


# -- the questions ----------------------------------------------------------------------------

def for_party(session: Session, party_id: int, case_id: int) -> list[Given]:
    """Every service a party was given, staff-recorded and automatic, oldest first."""
    found = [*_staff(session, None, None, party_id), *_notices(session, None, None, party_id, case_id),
             *_steps(session, None, None, party_id, case_id)]
    return sorted(found, key=lambda g: (g.at, g.item))


Aggregate = tuple[int, str, datetime, datetime, int]  # party, item, first, last, times


def _staff_aggregates(session: Session, lo, hi) -> Iterator[Aggregate]:
    query = (select(ServiceEntry.party_id, ServiceEntry.item, func.min(ServiceEntry.at), func.max(ServiceEntry.at),
                    func.count())
             .where(ServiceEntry.party_id.is_not(None), _window(ServiceEntry.at, lo, hi))
             .group_by(ServiceEntry.party_id, ServiceEntry.item))
    for party, item, first, last, times in session.execute(query):
        yield party, item, from_db(first), from_db(last), times


def _start_aggregates(session: Session, source: StepSource, lo, hi) -> Iterator[Aggregate]:
    """A service given when a process starts, counted in the database (a registration: many)."""
    query = (select(Process.initiator_party_id, func.min(Process.started_at), func.max(Process.started_at),
                    func.count())
             .where(Process.workflow == source.workflow, Process.initiator_party_id.is_not(None),
                    _window(Process.started_at, lo, hi))
             .group_by(Process.initiator_party_id))
    for party, first, last, times in session.execute(query):
        yield party, str(source.item), from_db(first), from_db(last), times


def aggregates(session: Session, lo: datetime, hi: datetime) -> Iterator[Aggregate]:
    """Every (party, item) served in ``[lo, hi)``: the first and last time, and how many times.
    The large sources (notices, registrations, staff entries) are counted by the database."""
    yield from _notice_spans(session, lo, hi)
    yield from _staff_aggregates(session, lo, hi)
    for source in STEPS:
        if source.event == START and isinstance(source.item, str):
            yield from _start_aggregates(session, source, lo, hi)
    counted: dict[tuple[int, str], list] = {}
    for g in _steps(session, lo, hi, None, None, starts=False):
        known = counted.get((g.party_id, g.item))
        counted[(g.party_id, g.item)] = [g.at, g.at, 1] if known is None else [
            min(known[0], g.at), max(known[1], g.at), known[2] + 1]
    for (party, item), (first, last, times) in counted.items():
        yield party, item, first, last, times


def anonymous(session: Session, lo: datetime, hi: datetime) -> tuple[int, dict[str, int], dict[str, int]]:
    """Anonymous contacts in ``[lo, hi)``: how many, the times each item was given, and the contacts
    that had an item of each category."""
    rows = session.execute(select(ServiceEntry.contact, ServiceEntry.item).where(
        ServiceEntry.anonymous.is_(True), _window(ServiceEntry.at, lo, hi))).all()
    items: dict[str, int] = defaultdict(int)
    by_category: dict[str, set[str]] = defaultdict(set)
    from services.pmt_catalog import category_of

    for contact, item in rows:
        items[item] += 1
        by_category[category_of(item)].add(contact)
    return len({contact for contact, _ in rows}), dict(items), {c: len(v) for c, v in by_category.items()}
