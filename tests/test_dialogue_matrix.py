"""Every (state, event, actor) of the dialogue, against a table written out by hand.

For each state a process is taken there through real events. Then every event
is tried by every actor: an allowed one moves the process (on a fresh process
in that state) to the expected state with exactly one audit entry; every
other one is refused with the expected error and leaves every table as it was.

The table is the specification, written independently of workflows/dialogue.py.
Refusals: an event the state does not offer is NotAllowed for everyone; an
event the state offers, sent by someone it does not admit, is NotPermitted; an
event admitted but stopped by a guard in this scenario (misconduct is not on
record, so end_for_misconduct cannot apply) is NotAllowed.

Officers and the parole board are not readers of dialogues: a refusal tells
them nothing of the state. An event they may never send is NotPermitted (or,
when they may send no dialogue event at all, Hidden: worded as if the process
did not exist); one they could send in some state is a NotAllowed naming no state.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Hidden, NotAllowed, NotPermitted, VcaseError
from engine.models import AuditEntry
from tests.support import dump
from tests.test_dialogue import ACTORS, drive, rows, schedule_params, send

# The dialogue is the adult victim's: the guardian of the minor co-victim does not act in her name.
VICTIM_SIDE = {"advocate_for_victim", "vs_for_victim"}
OFFENDER_SIDE = {"officer_for_offender", "facilitator_for_offender"}
FACILITATOR = {"facilitator"}
VICTIM_STAFF = {"advocate", "victim_services"}
COORDINATOR = {"victim_services"}
SYSTEM = {"system"}
PAUSERS = VICTIM_SIDE | OFFENDER_SIDE | FACILITATOR
WITHDRAWERS = VICTIM_SIDE | OFFENDER_SIDE
MISCONDUCT_ENDERS = COORDINATOR | FACILITATOR


def live(extra: dict) -> dict:
    """A non-terminal, unpaused state: its own events plus pause and withdraw."""
    return {**extra, "pause": ("paused", PAUSERS), "withdraw": ("withdrawn", WITHDRAWERS)}


# state -> event -> (target, actors who may send it here)
ALLOWED: dict[str, dict[str, tuple[str, set[str]]]] = {
    "requested": live({
        "begin_intake": ("intake", VICTIM_STAFF),
    }),
    "intake": live({
        "record_screening": ("intake", VICTIM_STAFF),
        "record_safety_assessment": ("intake", COORDINATOR),
        "assign_facilitator": ("facilitator_assigned", COORDINATOR),
        "decline_ineligible": ("declined_ineligible", VICTIM_STAFF),
    }),
    "facilitator_assigned": live({
        "record_safety_assessment": ("facilitator_assigned", COORDINATOR),
        "reassign_facilitator": ("facilitator_assigned", COORDINATOR),
        "decline_ineligible": ("declined_ineligible", VICTIM_STAFF),
        "invite_offender": ("offender_invited", FACILITATOR),
    }),
    "offender_invited": live({
        "record_safety_assessment": ("offender_invited", COORDINATOR),
        "reassign_facilitator": ("offender_invited", COORDINATOR),
        "remind_invitation": ("offender_invited", SYSTEM),
        "lapse_invitation": ("not_possible", SYSTEM),
        "offender_accepts": ("offender_accepted", OFFENDER_SIDE),
        "offender_declines": ("offender_declined", OFFENDER_SIDE),
    }),
    "offender_accepted": live({
        "record_safety_assessment": ("offender_accepted", COORDINATOR),
        "reassign_facilitator": ("offender_accepted", COORDINATOR),
        "record_agreements": ("offender_accepted", FACILITATOR),
        "begin_preparation": ("preparation", FACILITATOR),
    }),
    "preparation": live({
        "record_safety_assessment": ("preparation", COORDINATOR),
        "reassign_facilitator": ("preparation", COORDINATOR),
        "record_session": ("preparation", FACILITATOR),
        "mark_ready": ("preparation", FACILITATOR),
        "schedule": ("dialogue_scheduled", FACILITATOR),
    }),
    "dialogue_scheduled": live({
        "record_safety_assessment": ("dialogue_scheduled", COORDINATOR),
        "reassign_facilitator": ("dialogue_scheduled", COORDINATOR),
        "remind_dialogue": ("dialogue_scheduled", SYSTEM),
        "postpone": ("preparation", FACILITATOR),
        "record_dialogue": ("dialogue_held", FACILITATOR),
    }),
    "dialogue_held": live({
        "reassign_facilitator": ("dialogue_held", COORDINATOR),
        "begin_follow_up": ("follow_up", FACILITATOR),
    }),
    "follow_up": live({
        "reassign_facilitator": ("follow_up", COORDINATOR),
        "check_in": ("follow_up", SYSTEM),
        "close": ("closed", FACILITATOR | SYSTEM),
    }),
    "paused": {  # paused from preparation
        "resume": ("preparation", PAUSERS),
        "withdraw": ("withdrawn", WITHDRAWERS),
    },
    "closed": {},
    "offender_declined": {},
    "declined_ineligible": {},
    "not_possible": {},
    "withdrawn": {},
}

# Admitted, but refused by a guard in this scenario: no misconduct is on record.
GUARDED: dict[str, dict[str, set[str]]] = {
    state: {"end_for_misconduct": MISCONDUCT_ENDERS}
    for state in ("facilitator_assigned", "offender_invited", "offender_accepted", "preparation", "dialogue_scheduled")
}

EVENTS = sorted({
    "begin_intake", "record_screening", "record_safety_assessment", "assign_facilitator", "reassign_facilitator",
    "decline_ineligible", "invite_offender", "remind_invitation", "lapse_invitation", "offender_accepts",
    "offender_declines", "record_agreements", "begin_preparation", "record_session", "mark_ready", "schedule",
    "remind_dialogue", "postpone", "record_dialogue", "begin_follow_up", "check_in", "close", "end_for_misconduct",
    "pause", "resume", "withdraw",
})

PARAMS = {
    "record_screening": {"appeals": "exhausted", "safety_screen": "no_concerns"},
    "record_safety_assessment": {"outcome": "approved"},
    "assign_facilitator": {"facilitator": "fay"},
    "reassign_facilitator": {"facilitator": "fay"},
    "decline_ineligible": {"reason": "not eligible"},
    "record_agreements": {"party": "victim"},
    "record_session": {"party": "offender"},
    "mark_ready": {"party": "victim"},
    "pause": {"reason": "time to think"},
    "resume": {"reason": "ready again"},
    "withdraw": {"reason": "no longer wishes to go on"},
}
SOON = timedelta(hours=2)  # a dialogue later the same day, so record_dialogue applies at once


def test_the_table_names_every_state_and_event_of_the_workflow(agency):
    wf = agency.admin.registry.latest("dialogue").workflow
    assert set(ALLOWED) == set(wf.state_names)
    assert set(EVENTS) == {s.event for s in wf.steps} | {"pause", "resume", "withdraw"}


def _params(agency, event: str) -> dict:
    return schedule_params(agency, SOON) if event == "schedule" else dict(PARAMS.get(event, {}))


def _audit_count(store, pid: int) -> int:
    return len(rows(store, AuditEntry, process_id=pid))


def _state(agency, pid: int) -> str:
    return agency.vs.show_process(pid)["state"]


@pytest.mark.parametrize("state", list(ALLOWED))
def test_every_event_by_every_actor(agency, state):
    problems: list[str] = []
    pid = drive(agency, state, dialogue_in=SOON)
    before = dump(agency.store)
    allowed = ALLOWED[state]
    for event in EVENTS:
        for actor in ACTORS:
            label = f"{state} --{event}--> by {actor}"
            target, admitted = allowed.get(event, (None, set()))
            if actor in admitted:
                fresh = drive(agency, state, dialogue_in=SOON)
                count = _audit_count(agency.store, fresh)
                try:
                    send(agency, actor, fresh, event, _params(agency, event))
                except VcaseError as exc:
                    problems.append(f"{label}: expected to move to {target}, refused: {exc}")
                    continue
                if _state(agency, fresh) != target:
                    problems.append(f"{label}: expected {target}, got {_state(agency, fresh)}")
                if _audit_count(agency.store, fresh) != count + 1:
                    problems.append(f"{label}: expected one audit entry")
                before = dump(agency.store)
                continue
            expected = _refusal(state, event, actor)
            try:
                send(agency, actor, pid, event, _params(agency, event))
            except VcaseError as exc:
                if type(exc) is not expected:
                    problems.append(f"{label}: expected {expected.__name__}, got {type(exc).__name__}: {exc}")
                if actor in NON_READERS and set(str(exc).split()) & (set(ALLOWED) | {"dialogue"}):
                    problems.append(f"{label}: the refusal to a non-reader names the dialogue or its state: {exc}")
            else:
                problems.append(f"{label}: expected {expected.__name__}, but it was applied")
                before = dump(agency.store)
                continue
            after = dump(agency.store)
            if after != before:
                problems.append(f"{label}: refused but wrote {[t for t in after if after[t] != before[t]]}")
                before = after
    assert not problems, "\n".join(problems)


NON_READERS = {name for name in ACTORS if name.startswith(("officer", "parole"))}


def _ever_sends(actor: str, event: str | None = None) -> bool:
    return any(actor in who for table in ALLOWED.values() for e, (_, who) in table.items() if event in (None, e)) \
        or any(actor in who for table in GUARDED.values() for e, who in table.items() if event in (None, e))


def _refusal(state: str, event: str, actor: str) -> type:
    if actor in NON_READERS:
        if not _ever_sends(actor):
            return Hidden
        return NotAllowed if _ever_sends(actor, event) else NotPermitted
    guarded = actor in GUARDED.get(state, {}).get(event, set())
    return NotAllowed if guarded or not _offered(state, event) else NotPermitted


def _offered(state: str, event: str) -> bool:
    """The state offers the event to someone (allowed, or admitted but guarded)."""
    return event in ALLOWED[state] or event in GUARDED.get(state, {})
