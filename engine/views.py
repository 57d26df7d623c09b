"""What a reader sees of a case: the case, its parties and its processes.

The rules are the ones ``engine.records`` states (who sees what of a
victim-side party) and the definitions' ``readers`` (restorative processes are
invisible to supervision and parole). They live here, read through
``engine.tables``, so they take the caller's ORM session or a plain
connection (``Store.reading``) alike: ``App.show_case`` and the lean
``vcase case show`` (``engine.reader``) run the same code and print the same
thing, and the second loads neither the ORM nor the write path (issue 19:
a read command within 1.2x of ``import sqlmodel``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Optional

from sqlalchemy import select

from engine import tables
from engine.clock import from_db, zone
from engine.db import flushed
from engine.errors import NotFound, NotPermitted
from engine.permissions import Actor, reads, require

VICTIM_READERS = frozenset({"advocate", "victim_services", "facilitator", "admin", "officer"})
CONTACT_READERS = frozenset({"advocate", "victim_services", "facilitator", "admin"})  # the rest see less (below)
OFFICER_SEES_ADDRESS = "privacy.officer_sees_victim_address"
# Per-transaction cache (``session.info`` / ``connection.info``) of "is an order active on this day".
ORDERS_CACHE = "vcase.orders"

# (name, version) -> the workflow definition: ``Registry.definition`` or ``registry.definitions``.
Definitions = Callable[[str, int], Any]


def case_row(session: Any, case_number: str) -> Any:
    row = flushed(session).execute(select(tables.case_file).where(tables.case_file.c.case_number == case_number)).one_or_none()
    if row is None:
        raise NotFound(f"no case {case_number!r}; `vcase case list` shows the cases")
    return row


def order_active(session: Any, case_id: int, on: date) -> bool:
    cache = session.info.setdefault(ORDERS_CACHE, {})
    if (case_id, on) not in cache:
        o = tables.protective_order.c
        query = select(o.id).where(o.case_id == case_id, o.starts_on <= on, (o.ends_on.is_(None)) | (o.ends_on >= on))
        cache[(case_id, on)] = flushed(session).execute(query.limit(1)).first() is not None
    return cache[(case_id, on)]


def case_view(session: Any, case: Any, now: datetime) -> dict[str, Any]:
    """The case's own fields, for every reader allowed ``case.show``."""
    s = tables.staff.c
    officer = flushed(session).execute(select(s.login).where(s.id == case.officer_id)).scalar()
    return {
        "case_number": case.case_number, "supervised_person": case.supervised_person,
        "officer": officer, "time_zone": case.time_zone,
        "ipv": case.ipv, "order_active": order_active(session, case.id, now.astimezone(zone(case.time_zone)).date()),
        "misconduct_toward_victim": case.misconduct_toward_victim,
        "supervision_ends_on": case.supervision_ends_on.isoformat() if case.supervision_ends_on else None,
        "opened": from_db(case.created_at).isoformat(),
    }


# -- parties ------------------------------------------------------------------

def party_view(vault, party: Any, with_contact: bool = True) -> dict[str, Any]:
    """Everything about a party, decrypted: for the roles in ``CONTACT_READERS``."""
    view = {
        "id": party.id, "kind": party.kind, "side": party.side, "name": vault.decrypt(party.name_enc),
        "represents": party.represents_id, "minor": party.is_minor, "deceased": party.is_deceased,
        "channels": [c for c in party.channels.split(",") if c], "language": party.language,
        "time_zone": party.time_zone,
    }
    if with_contact:
        view.update(email=vault.decrypt_optional(party.email_enc), phone=vault.decrypt_optional(party.phone_enc),
                    address=vault.decrypt_optional(party.address_enc))
    return view


def officer_view(vault, party: Any, sees_address: bool, with_contact: bool) -> dict[str, Any]:
    """What an officer sees of a party: the person they supervise in full (supervision data); of the
    victim side, that the party exists and its kind, with the agency's setting also name and postal
    address. Nothing they are not shown is decrypted."""
    if party.side != "victim":
        return party_view(vault, party, with_contact=False)
    view: dict[str, Any] = {"id": party.id, "kind": party.kind, "side": party.side, "represents": party.represents_id}
    if sees_address:
        view["name"] = vault.decrypt(party.name_enc)
        if with_contact:
            view["address"] = vault.decrypt_optional(party.address_enc)
    if with_contact:
        view["withheld"] = (("e-mail, phone and choices" if sees_address else "name, contact details and choices")
                            + f" are not shown to officers (setting {OFFICER_SEES_ADDRESS})")
    return view


def viewer(session: Any, actor: Actor):
    """How ``actor`` sees a party: a function (vault, party, with_contact) -> dict."""
    if actor.role in CONTACT_READERS:
        return party_view
    if actor.role == "officer":
        from engine.settings import engine_value

        sees_address = engine_value(session, OFFICER_SEES_ADDRESS) == "yes"
        return lambda vault, party, with_contact: officer_view(vault, party, sees_address, with_contact)
    raise NotPermitted(f"{actor.role} may not see parties")  # party.show admits no other role; kept as a backstop


def list_parties(session: Any, vault, actor: Actor, case_number: str) -> list[dict[str, Any]]:
    """The parties of a case without contact details, as the reader's role may see them."""
    require(actor, "party.show")
    view = viewer(session, actor)
    case = case_row(session, case_number)
    p = tables.party.c
    rows = session.execute(select(tables.party).where(p.case_id == case.id).order_by(p.id))
    return [view(vault, party, False) for party in rows]


# -- processes ------------------------------------------------------------------

def process_view(process: Any, wf_title: str) -> dict[str, Any]:
    return {
        "id": process.id, "workflow": process.workflow, "title": wf_title,
        "workflow_version": process.workflow_version, "state": process.state,
        "paused_from": process.paused_from, "version": process.version, "ended": process.terminal,
        "initiator_party": process.initiator_party_id, "facts": process.data or {},
        "started_at": from_db(process.started_at).isoformat(), "updated_at": from_db(process.updated_at).isoformat(),
    }


def readable_processes(session: Any, definition: Definitions, actor: Actor, case_id: int,
                       workflow: Optional[str] = None) -> list[dict[str, Any]]:
    """The case's processes (of ``workflow``, if given) the reader's role may read; the rest are not
    mentioned at all."""
    p = tables.process.c
    query = select(tables.process).where(p.case_id == case_id).order_by(p.id)
    if workflow:
        query = query.where(p.workflow == workflow)
    out = []
    for process in flushed(session).execute(query):
        wf = definition(process.workflow, process.workflow_version)
        if reads(wf, actor):
            out.append(process_view(process, wf.title))
    return out


# -- a case as a whole -------------------------------------------------------------

def show_case(session: Any, vault, definition: Definitions, actor: Actor, case_number: str, now: datetime) -> dict[str, Any]:
    """The case as this reader may see it: parties only for victim-facing roles, and only the
    processes whose definitions admit the reader."""
    require(actor, "case.show")
    case = case_row(session, case_number)
    out = case_view(session, case, now)
    if actor.role in VICTIM_READERS and (actor.scope is None or "party.show" in actor.scope.permissions):
        out["parties"] = list_parties(session, vault, actor, case_number)
    out["processes"] = readable_processes(session, definition, actor, case.id)
    return out


__all__ = ["show_case", "case_view", "case_row", "list_parties", "party_view", "officer_view", "viewer",
           "process_view", "readable_processes", "order_active", "VICTIM_READERS", "CONTACT_READERS",
           "OFFICER_SEES_ADDRESS", "ORDERS_CACHE"]
