"""A case's timeline: what happened, and what is scheduled next, as the reader may see it.

Entries about a process appear only to roles its definition admits as
readers; entries naming victims only to victim-facing roles. A supervision
or parole reader sees no trace of restorative processes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from engine.clock import from_db
from engine.models import AuditEntry, Notice, Process, Timer
from engine.permissions import Actor, require
from engine.permissions import COMMANDS
from engine.records import case_by_number
from engine.views import VICTIM_READERS
from engine.registry import Registry

# Case-level entries some roles may not see at all: who each action is shown to. A victim's details
# go to victim-facing roles; a request for a restorative process from the person under supervision
# (interest on file) only to victim services, never to supervision or parole.
RESTRICTED_ACTIONS = {"party.add": VICTIM_READERS, "party.confidentiality_explained": VICTIM_READERS,
                      "interest.record": COMMANDS["interest.read"]}


def timeline(session: Session, registry: Registry, actor: Actor, case_number: str, limit: int = 500) -> dict[str, Any]:
    require(actor, "case.show")
    case = case_by_number(session, case_number)
    processes = {p.id: p for p in session.execute(select(Process).where(Process.case_id == case.id)).scalars()}
    readable = {pid for pid, p in processes.items()
                if actor.role in registry.get(p.workflow, p.workflow_version).workflow.readers
                and actor.within(registry.get(p.workflow, p.workflow_version).workflow)}
    past = []
    for entry in session.execute(select(AuditEntry).where(AuditEntry.case_id == case.id)
                                 .order_by(AuditEntry.id.desc()).limit(limit)).scalars():
        if entry.process_id is not None and entry.process_id not in readable:
            continue
        if actor.role not in RESTRICTED_ACTIONS.get(entry.action, (actor.role,)):
            continue
        past.append({"at": from_db(entry.at).isoformat(), "what": entry.action, "process": entry.process_id,
                     "from": entry.from_state, "to": entry.to_state, "by": entry.actor_login,
                     "due_at": (entry.detail.get("timer") or {}).get("due_at")})
    past.reverse()
    upcoming = [{"at": from_db(t.due_at).isoformat(), "what": f"{processes[t.process_id].workflow}.{t.event}",
                 "process": t.process_id, "timer": t.name}
                for t in session.execute(select(Timer).where(Timer.process_id.in_(readable), Timer.status == "pending")
                                         .order_by(Timer.due_at)).scalars()]
    if actor.role in COMMANDS["notice.read"]:  # a queued notice tells that a registration exists, and its channel
        upcoming += [{"at": from_db(n.not_before).isoformat(), "what": f"notice {n.template} ({n.channel})",
                      "process": n.process_id, "timer": None}
                     for n in session.execute(select(Notice).where(
                         Notice.case_id == case.id, Notice.status == "queued",
                         (Notice.process_id.is_(None)) | (Notice.process_id.in_(readable)))).scalars()]
    upcoming.sort(key=lambda row: row["at"])
    return {"case_number": case.case_number, "happened": past, "scheduled": upcoming}
