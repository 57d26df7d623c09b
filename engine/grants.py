"""Access granted to partners' staff by a process in force (a formal agreement).

A definition declares ``grants=Grants(...)``: the process facts naming the
partners, the workflows and permission keys granted, the end of the term, and
the states in which the grant is in force. ``sync`` keeps the ``access_grant``
rows in step with the process, in the transaction that moves it: written when
it enters those states, updated while it stays in them (a renewed term, a
revised scope), ended when it leaves them (expired, terminated).

``scope_at`` is what ``permissions.resolve`` reads: the workflows and keys a
partner's staff may use at a moment, from the grants in force then (not
ended, started, and before the end of their term: access stops at the end of
the term even if the timer that expires the agreement has not fired yet).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Optional

from sqlalchemy import or_, select, update
from sqlmodel import Session

from engine.clock import parse_when
from engine.definition import Workflow, codes
from engine.models import AccessGrant


def sync(session: Session, wf: Workflow, process: Any, target: str, now: datetime) -> dict[str, Any]:
    """Write, update or end the grants of ``process`` now that it is in ``target``; what changed
    (for the audit entry), or {} when the workflow grants nothing."""
    spec = wf.grants
    if spec is None:
        return {}
    live = list(session.execute(select(AccessGrant).where(
        AccessGrant.process_id == process.id, AccessGrant.ended_at.is_(None))).scalars())
    if target not in spec.states:
        for grant in live:
            grant.ended_at, grant.ended_reason = now, f"{wf.name} {target}"
        session.flush()
        return {"grants_ended": len(live)} if live else {}
    data = process.data or {}
    until = parse_when(data[spec.until]) if spec.until and data.get(spec.until) else None
    values = dict(workflows=",".join(codes(data.get(spec.workflows))),
                  permissions=",".join(codes(data.get(spec.permissions))), until=until)
    partners = {int(p) for p in codes(data.get(spec.partners)) if p.isdigit()}
    for grant in live:
        if grant.partner_id in partners:
            for name, value in values.items():
                setattr(grant, name, value)
        else:
            grant.ended_at, grant.ended_reason = now, f"partner no longer party to {wf.name} {process.id}"
    for partner_id in sorted(partners - {g.partner_id for g in live}):
        session.add(AccessGrant(process_id=process.id, partner_id=partner_id, starts_at=now, **values))
    session.flush()
    return {"grants": sorted(partners), "until": until.isoformat() if until else None}


def in_force(session: Any, partner_id: int, now: datetime) -> list[Any]:
    """The grants a partner holds at ``now`` (rows; read through ``engine.tables``, so a session or a
    plain connection will do: ``permissions.resolve`` runs on both)."""
    from engine.db import flushed
    from engine.tables import access_grant

    g = access_grant.c
    return list(flushed(session).execute(select(access_grant).where(
        g.partner_id == partner_id, g.ended_at.is_(None), g.starts_at <= now,
        or_(g.until.is_(None), g.until > now)).order_by(g.id)))


def scope_at(session: Any, partner_id: int, now: Optional[datetime]) -> tuple[frozenset[str], frozenset[str]]:
    """(workflows, permission keys) a partner's staff may use at ``now``; nothing without a moment."""
    if now is None:
        return frozenset(), frozenset()
    grants = in_force(session, partner_id, now)
    return (frozenset(w for g in grants for w in codes(g.workflows)),
            frozenset(k for g in grants for k in codes(g.permissions)))


def for_process(session: Session, process_id: int) -> list[AccessGrant]:
    return list(session.execute(select(AccessGrant).where(AccessGrant.process_id == process_id)
                                .order_by(AccessGrant.id)).scalars())


def end_all(session: Session, process_ids: Iterable[int], now: datetime, reason: str) -> int:
    ids = list(process_ids)
    if not ids:
        return 0
    return session.execute(update(AccessGrant).where(AccessGrant.process_id.in_(ids), AccessGrant.ended_at.is_(None))
                           .values(ended_at=now, ended_reason=reason).execution_options(synchronize_session=False)).rowcount
