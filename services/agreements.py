"""Formal agreements (MOUs) with community partners: the operations above the engine.

Each operation takes the ``App`` and is one transaction. The rules (who may
draft, sign, review, revise or terminate; the timers; what the agreement
grants partners' staff while it is in force) are in ``workflows/agreement.py``
and are checked by the engine; this module checks what needs the database
(every partner exists and takes new work) and what an agreement may grant:
only the workflows and permission keys below, never the letter bank.

Signing is one operation: the last signature executes the agreement, and if
its term has started it is in force at once (each a step of its own in the
audit trail); otherwise the start of the term activates it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from sqlmodel import Session

from engine import documents, grants, processes, runtime
from engine.definition import codes
from engine.clock import from_db, parse_when
from engine.errors import InvalidInput, NotFound
from engine.models import Partner, Process

WORKFLOW = "agreement"
KIND = "agreement"
# What an agreement may grant a partner's staff: victim-facing records that a community advocate
# working under a formal agreement needs (seed 002: the agreement sets their access), never letters
# (a letter waits in the bank for the victim alone) and nothing that changes the agency's setup.
GRANTABLE_WORKFLOWS = ("notification", "referral")
GRANTABLE_PERMISSIONS = ("case.list", "case.show", "party.show", "event.list", "partner.read")


def _listed(values: Optional[Iterable[str] | str]) -> list[str]:
    if values is None:
        return []
    return codes(list(values) if not isinstance(values, str) else values)


def check_scope(workflows: Iterable[str], permissions: Iterable[str]) -> None:
    """Refuse a grant outside what an agreement may give, naming what it may."""
    for name in workflows:
        if name not in GRANTABLE_WORKFLOWS:
            raise InvalidInput(f"an agreement cannot grant the workflow {name!r}; it may grant: "
                               f"{', '.join(GRANTABLE_WORKFLOWS)}")
    for key in permissions:
        if key not in GRANTABLE_PERMISSIONS:
            raise InvalidInput(f"an agreement cannot grant {key!r}; it may grant: {', '.join(GRANTABLE_PERMISSIONS)}")


def _partner(session: Session, partner_id: int) -> Partner:
    try:
        from services.partners import active_partner
    except ImportError:  # the partner directory's own checks, if it is not installed
        partner = session.get(Partner, partner_id) if 0 < partner_id < 2**31 else None
        if partner is None or partner.retired_at is not None:
            raise NotFound(f"no active partner {partner_id}; `vcase partner list` shows the active ones") from None
        return partner
    return active_partner(session, partner_id)


def _gate(session: Session, app) -> None:
    """Refuse a role that may not read agreements before anything about one is looked up."""
    runtime.check_readable(app.registry.latest(WORKFLOW).workflow, app._actor(session))


def _agreement(session: Session, app, process_id: int) -> Process:
    _gate(session, app)
    process = session.get(Process, process_id) if 0 < process_id < 2**31 else None
    if process is None or process.workflow != WORKFLOW:
        raise NotFound(f"no agreement {process_id}; `vcase agreement list` shows them")
    return process


def _outcome(outs: list[runtime.Outcome]) -> dict[str, Any]:
    last = outs[-1]
    return {"agreement": last.process.id, "events": [o.event for o in outs], "state": last.to_state,
            "notices": sum(len(o.notices) for o in outs)}


def draft(app, *, title: str, partners: Iterable[int], purpose: str, contributions: str, sharing_limits: str,
          contacts: str, starts: str, ends: str, text: str | bytes, goals: Optional[str] = None,
          grant_workflows: Optional[Iterable[str] | str] = None,
          grant_permissions: Optional[Iterable[str] | str] = None) -> dict[str, Any]:
    """Draft an agreement with one or more partners, its text attached as version 1."""
    workflows, permissions = _listed(grant_workflows), _listed(grant_permissions)
    with app.store.write() as s:
        actor = app._actor(s)
        runtime.check_readable(app.registry.latest(WORKFLOW).workflow, actor)
        check_scope(workflows, permissions)
        ids = [int(p) for p in partners]
        for partner_id in ids:
            _partner(s, partner_id)
        params = {"title": title, "partners": ",".join(str(p) for p in ids), "purpose": purpose, "goals": goals,
                  "contributions": contributions, "sharing_limits": sharing_limits, "contacts": contacts,
                  "starts": starts, "ends": ends, "grant_workflows": ",".join(workflows),
                  "grant_permissions": ",".join(permissions)}
        out = runtime.start(s, app.store.vault, app.registry, case_number=None, workflow=WORKFLOW, actor=actor,
                            now=app.now(), params=params, document=documents.as_text(text, "the agreement"))
        return _outcome([out])


def _apply(session, app, process_id: int, event: str, params=None, document=None) -> runtime.Outcome:
    return runtime.apply(session, app.store.vault, app.registry, process_id=process_id, event=event,
                         actor=app._actor(session), now=app.now(), params=params, document=document)


def sign(app, process_id: int, party: str, signer: str, at: Optional[str] = None) -> dict[str, Any]:
    """Record one party's signature; the last one executes the agreement, and it is in force at once
    if its term has started."""
    with app.store.write() as s:
        _agreement(s, app, process_id)
        outs = [_apply(s, app, process_id, "sign", {"party": party, "signer": signer, "at": at})]
        data = outs[0].process.data or {}
        parties = ["agency"] + [str(p) for p in data.get("partners", [])]
        if all(p in (data.get("signatures") or {}) for p in parties):
            outs.append(_apply(s, app, process_id, "execute"))
            starts = data.get("starts")
            if outs[-1].to_state == "signed" and (not starts or parse_when(starts) <= app.now()):
                outs.append(_apply(s, app, process_id, "activate"))
        return _outcome(outs)


def review(app, process_id: int) -> dict[str, Any]:
    """Take the agreement up for review now (before its review date, e.g. to renew it early)."""
    with app.store.write() as s:
        _agreement(s, app, process_id)
        return _outcome([_apply(s, app, process_id, "review")])


def continue_(app, process_id: int, ends: Optional[str] = None, note: Optional[str] = None) -> dict[str, Any]:
    """Reviewed: it continues (renewed to ``ends`` if given); the next review is armed."""
    with app.store.write() as s:
        _agreement(s, app, process_id)
        return _outcome([_apply(s, app, process_id, "continue", {"ends": ends, "note": note})])


def revise(app, process_id: int, text: str | bytes, ends: Optional[str] = None, note: Optional[str] = None,
           grant_workflows: Optional[Iterable[str] | str] = None,
           grant_permissions: Optional[Iterable[str] | str] = None) -> dict[str, Any]:
    """Reviewed: a revised text (the next version), to be signed again by every party."""
    workflows = _listed(grant_workflows) if grant_workflows is not None else None
    permissions = _listed(grant_permissions) if grant_permissions is not None else None
    with app.store.write() as s:
        _agreement(s, app, process_id)
        check_scope(workflows or (), permissions or ())
        params = {"ends": ends, "note": note,
                  "grant_workflows": ",".join(workflows) if workflows is not None else None,
                  "grant_permissions": ",".join(permissions) if permissions is not None else None}
        out = _apply(s, app, process_id, "revise", params, documents.as_text(text, "the agreement"))
        return _outcome([out])


def terminate(app, process_id: int, reason: str) -> dict[str, Any]:
    """End the agreement now; partner staff lose the access it granted in the same transaction."""
    with app.store.write() as s:
        _agreement(s, app, process_id)
        return _outcome([_apply(s, app, process_id, "terminate", {"reason": reason})])


def _needs_review(row: dict[str, Any], now: datetime, reminder_days: int) -> bool:
    due = row["facts"].get("review_due_on")
    if row["state"] == "review_due":
        return True
    return row["state"] == "active" and bool(due) and parse_when(due) <= now + timedelta(days=reminder_days)


def _row(row: dict[str, Any]) -> dict[str, Any]:
    facts = row["facts"]
    return {"id": row["id"], "title": facts.get("title"), "state": row["state"], "partners": facts.get("partners", []),
            "revision": facts.get("revision"), "starts": facts.get("starts"), "ends": facts.get("ends"),
            "review_due_on": facts.get("review_due_on")}


def list_agreements(app, due: bool = False, ended: bool = False) -> list[dict[str, Any]]:
    """The agreements (live ones unless ``ended``); with ``due``, those due for review or whose review
    falls within the reminder period."""
    with app.store.read() as s:
        _gate(s, app)
        actor = app._actor(s)
        rows = processes.list_agency(s, app.registry, actor, WORKFLOW, live_only=not ended)
        if due:
            from engine import settings as settings_mod

            days = int(settings_mod.load(s, app.registry).get("agreement.review_reminder_days") or 30)
            rows = [r for r in rows if _needs_review(r, app.now(), days)]
        return [_row(r) for r in rows]


def show(app, process_id: int) -> dict[str, Any]:
    """An agreement: its facts, signatures, versions of the text, timers and the access it grants."""
    with app.store.read() as s:
        _agreement(s, app, process_id)
        out = processes.show(s, app.registry, app._actor(s), process_id)
        out["versions"] = [{"version": d.version, "bytes": d.size, "by": d.created_by,
                            "at": from_db(d.created_at).isoformat()}
                           for d in documents.versions(s, process_id, KIND)]
        out["access"] = [{"partner": g.partner_id, "workflows": g.workflows, "permissions": g.permissions,
                          "from": from_db(g.starts_at).isoformat(),
                          "until": from_db(g.until).isoformat() if g.until else None,
                          "ended": from_db(g.ended_at).isoformat() if g.ended_at else None,
                          "ended_because": g.ended_reason}
                         for g in grants.for_process(s, process_id)]
        return out


def read_text(app, process_id: int, version: Optional[int] = None) -> dict[str, Any]:
    """The agreement's text (the newest version unless ``version``); the read is audited."""
    with app.store.read() as s:
        _agreement(s, app, process_id)
    return app.read_document(process_id, KIND, version)
