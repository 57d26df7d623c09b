"""Interest on file: a request for a process from someone who may not start it.

The person under supervision may ask for a victim-offender dialogue, but only
the victim can start one (OAR 291-205-0050). Their request is kept here: it
starts nothing, queues no notice, and is readable only by victim-services
roles, who raise it with the victim only if the victim asks. Each function
takes the caller's session and never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlmodel import Session

from engine import audit
from engine.clock import from_db, require_utc
from engine.errors import InvalidInput, NotPermitted
from engine.models import Interest
from engine.permissions import Actor, require
from engine.records import case_by_number



def record_interest(session: Session, actor: Actor, case_number: str, workflow: str, now: datetime,
                    registry=None) -> Interest:
    """Keep the supervised person's request for ``workflow`` on file; nothing else happens."""
    now = require_utc(now, "now")
    require(actor, "interest.record")
    if actor.party_side != "offender":
        raise NotPermitted("interest on file is recorded for the person under supervision: act --for that party")
    case = case_by_number(session, case_number)
    if actor.party_case_id != case.id:
        raise InvalidInput(f"party {actor.party_id} is not on case {case_number}")
    _known_workflow(workflow, registry)
    interest = Interest(case_id=case.id, workflow=workflow, party_id=actor.party_id, recorded_by=actor.login,
                        via=actor.via, recorded_at=now)
    session.add(interest)
    session.flush()
    audit.append(session, at=now, actor=actor, action="interest.record", case_id=case.id,
                 detail={"interest": interest.id, "workflow": workflow})
    return interest


def list_interest(session: Session, actor: Actor, case_number: str) -> list[dict[str, Any]]:
    """The interest on file for a case, for victim-services roles only."""
    require(actor, "interest.read")
    case = case_by_number(session, case_number)
    rows = session.execute(select(Interest).where(Interest.case_id == case.id).order_by(Interest.id)).scalars()
    return [
        {"id": i.id, "case_number": case_number, "workflow": i.workflow, "party": i.party_id,
         "recorded_by": i.recorded_by, "via": i.via, "recorded_at": from_db(i.recorded_at).isoformat()}
        for i in rows
    ]


def _known_workflow(workflow: str, registry: Optional[Any]) -> None:
    from engine.registry import default

    wf = (registry or default()).latest(workflow).workflow  # NotFound for an unknown workflow
    if not wf.victim_initiated:
        raise InvalidInput(f"{workflow} is not victim-initiated; interest on file is kept only for processes "
                           "that the victim alone may start")


def record(app, case_number: str, workflow: str, for_party: int, via: Optional[str] = None) -> dict[str, Any]:
    """The person under supervision asked for a process only the victim may start: kept on file."""
    with app.store.write() as s:
        row = record_interest(s, app._actor(s, for_party, via), case_number, workflow, app.now(), app.registry)
        return {"interest": row.id, "case_number": case_number, "workflow": workflow}


def list_for_case(app, case_number: str) -> list[dict[str, Any]]:
    with app.store.read() as s:
        return list_interest(s, app._actor(s), case_number)
