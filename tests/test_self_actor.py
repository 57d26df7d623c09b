"""The victim acting for themselves (role ``self``, via the portal or a text): admitted exactly where a
definition lets the victim side act, by no permission of ``COMMANDS``, never for the offender side;
recorded in the audit as ``self:<party id>``. Generated over every installed definition."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import runtime
from engine.definition import SELF_ROLE
from engine.errors import NotAllowed, NotFound, NotPermitted
from engine.models import AuditEntry
from engine.permissions import COMMANDS, require, self_actor
from engine.registry import default
from tests.support import dump

ALLOWS = [(c.workflow.name, event, a) for c in default().all()
          for event, a in [("start", a) for a in c.workflow.start_by] + [(e, a) for e in
                           sorted({s.event for s in c.workflow.steps} | {"pause", "resume", "withdraw"})
                           for a in c.workflow.allows(e)]]


@pytest.mark.parametrize("workflow,event,allow", ALLOWS, ids=[f"{w}-{e}-{a.describe()}" for w, e, a in ALLOWS])
def test_self_is_admitted_exactly_where_the_victim_side_is(workflow, event, allow):
    assert allow.admits(SELF_ROLE, "victim") == (allow.side == "victim")
    assert not allow.admits(SELF_ROLE, "offender") and not allow.admits(SELF_ROLE, None)


@pytest.mark.parametrize("key", sorted(COMMANDS))
def test_self_has_no_staff_permission(key, agency):
    with agency.store.read() as s:
        actor = self_actor(s, agency.victim, "portal")
    with pytest.raises(NotPermitted):
        require(actor, key)


def test_the_offender_side_never_acts_for_itself(agency):
    with agency.store.read() as s:
        with pytest.raises(NotFound):
            self_actor(s, agency.offender, "portal")


def test_self_starts_a_dialogue_but_takes_no_staff_step_and_writes_no_letter(agency):
    from engine.errors import InvalidInput

    before_start = dump(agency.store)
    with agency.store.write() as s:
        actor = self_actor(s, agency.victim, "portal")
        out = runtime.start(s, agency.store.vault, agency.admin.registry, case_number=agency.case, workflow="dialogue",
                            actor=actor, now=agency.clock.now())
        process = out.process.id
    assert dump(agency.store) != before_start
    before = dump(agency.store)
    for event in ("begin_intake",):  # victim-services staff only
        with pytest.raises(NotPermitted):
            with agency.store.write() as s:
                runtime.apply(s, agency.store.vault, agency.admin.registry, process_id=process, event=event,
                              actor=self_actor(s, agency.victim, "portal"), now=agency.clock.now())
    with pytest.raises((NotPermitted, InvalidInput)):
        with agency.store.write() as s:  # a letter is written by the offender side only
            runtime.start(s, agency.store.vault, agency.admin.registry, case_number=agency.case, workflow="letter_bank",
                          actor=self_actor(s, agency.victim, "portal"), now=agency.clock.now(),
                          params={"victim": str(agency.victim)}, document="Dear ...")
    assert dump(agency.store) == before
    with agency.store.read() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.process_id == process)).scalar_one()
    assert (entry.actor_login, entry.actor_role, entry.via, entry.on_behalf_of) == (
        f"self:{agency.victim}", "self", "portal", agency.victim)


def test_another_victim_cannot_act_on_a_process_she_did_not_start(agency):
    out = agency.advocate.start(agency.case, "dialogue", agency.victim, "phone")
    before = dump(agency.store)
    with pytest.raises((NotPermitted, NotAllowed)):  # refused without showing the process's state
        with agency.store.write() as s:
            runtime.apply(s, agency.store.vault, agency.admin.registry, process_id=out["process"], event="withdraw",
                          actor=self_actor(s, agency.guardian, "portal"), now=agency.clock.now())
    assert dump(agency.store) == before
