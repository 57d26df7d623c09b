"""Every (state, event, actor) of the letter bank, against a table written out by hand.

For each state a letter is taken there through real events. Then every event
is tried by every actor: an allowed one moves a fresh letter in that state to
the expected state with exactly one audit entry; every other one is refused
with the expected error, and the refusals together leave every table as it was.

The table is the specification, written independently of workflows/letter_bank.py.
Refusals: an event the state does not offer is NotAllowed for everyone ("state");
an event the state offers, sent by someone it does not admit, is NotPermitted
("who"); an event admitted but stopped by a guard in this scenario is NotAllowed
with the guard's reason ("guard"). Officers and the parole board are not readers
of letters: a refusal tells them nothing of the letter's state. One who may
never send the event is NotPermitted ("who"), or, if they may send no letter
event at all, told the letter does not exist ("hidden"); one who could send it in
some state gets a NotAllowed that names no state ("state"). In the scenario the letter is to the adult
victim, so the guardian of the minor co-victim may not ask for it, defer or
decline it; retention is indefinite, so a letter under review is kept, never
expired.
"""

from __future__ import annotations

import pytest

from engine.errors import Hidden, NotAllowed, NotPermitted, VcaseError
from engine.models import AuditEntry
from tests.support import dump
from tests.test_letter_bank import (  # noqa: F401  (letter_registry is an autouse fixture)
    ACTORS, CHECKLIST, LETTER, RELEASE, drive, letter_registry, rows, send, state_of,
)

VICTIM_SIDE = {"advocate_for_victim", "vs_for_victim", "advocate_for_guardian"}
THE_VICTIM = {"advocate_for_victim", "vs_for_victim"}  # acting for the adult victim the letter is to
WRITER = {"officer_for_offender", "facilitator_for_offender"}
REVIEWER = {"victim_services"}
RELEASER = {"victim_services", "advocate"}
SYSTEM = {"system"}
PAUSERS = REVIEWER | VICTIM_SIDE


def live(extra: dict) -> dict:
    """A non-terminal, unpaused state: its own events plus decline, pause and withdraw."""
    return {**extra, "decline": ("declined", THE_VICTIM), "pause": ("paused", PAUSERS),
            "withdraw": ("withdrawn", WRITER)}


# state -> event -> (target, actors who may send it here)
ALLOWED: dict[str, dict[str, tuple[str, set[str]]]] = {
    "submitted": live({
        "begin_review": ("in_review", REVIEWER),
        "accept": ("held", REVIEWER),
        "return": ("returned_for_revision", REVIEWER),
    }),
    "in_review": live({
        "accept": ("held", REVIEWER),
        "return": ("returned_for_revision", REVIEWER),
    }),
    "returned_for_revision": live({
        "resubmit": ("submitted", WRITER),
    }),
    "held": live({
        "review_retention": ("retention_review", SYSTEM),
        "request": ("victim_requested", THE_VICTIM),
    }),
    "retention_review": live({
        "keep": ("held", SYSTEM),
        "request": ("victim_requested", THE_VICTIM),
    }),
    "victim_requested": live({
        "defer": ("held", THE_VICTIM),
        "release": ("released", RELEASER),
    }),
    "paused": {  # paused from held
        "resume": ("held", PAUSERS),
        "withdraw": ("withdrawn", WRITER),
    },
    "released": {},
    "declined": {},
    "expired": {},
    "withdrawn": {},
}

# Admitted, but refused by a guard in this scenario.
GUARDIAN = {"advocate_for_guardian"}
GUARDED: dict[str, dict[str, set[str]]] = {
    "submitted": {"decline": GUARDIAN},
    "in_review": {"decline": GUARDIAN},
    "returned_for_revision": {"decline": GUARDIAN},
    "held": {"decline": GUARDIAN, "request": GUARDIAN},
    "retention_review": {"decline": GUARDIAN, "request": GUARDIAN, "expire": SYSTEM},
    "victim_requested": {"decline": GUARDIAN, "defer": GUARDIAN},
}

EVENTS = sorted({"begin_review", "accept", "return", "resubmit", "review_retention", "keep", "expire", "request",
                 "defer", "release", "decline", "pause", "resume", "withdraw"})

PARAMS = {
    "accept": {"checklist": CHECKLIST},
    "return": {"reasons": "blame"},
    "release": RELEASE,
    "pause": {"reason": "the victim asked us to wait"},
    "resume": {"reason": "ready"},
    "withdraw": {"reason": "the writer asked"},
}


def test_the_table_names_every_state_event_and_actor_of_the_workflow(agency):
    wf = agency.admin.registry.latest("letter_bank").workflow
    assert set(ALLOWED) == set(wf.state_names)
    assert set(EVENTS) == {s.event for s in wf.steps} | {"pause", "resume", "withdraw"}
    assert {r for a in ACTORS.values() if a for r in [a[0]]} >= {"officer", "advocate", "vs", "facilitator", "parole",
                                                               "admin"}


def _attempt(agency, actor: str, letter_id: int, event: str) -> None:
    send(agency, actor, letter_id, event, PARAMS.get(event), LETTER + " (revised)" if event == "resubmit" else None)


def _audit_count(agency, letter_id: int) -> int:
    return len(rows(agency.store, AuditEntry, process_id=letter_id))


NON_READERS = {name for name in ACTORS if name.startswith(("officer", "parole"))}
STATE_NAMES = {"submitted", "in_review", "returned_for_revision", "held", "retention_review", "victim_requested",
               "paused", "released", "declined", "expired", "withdrawn"}


def ever_sends(actor: str, event: str | None = None) -> bool:
    """Whether ``actor`` may send ``event`` (any event if None) in some state, by the tables."""
    return any(actor in who for state in ALLOWED for e, (_, who) in ALLOWED[state].items() if event in (None, e)) \
        or any(actor in who for state in GUARDED for e, who in GUARDED[state].items() if event in (None, e))


def expected_refusal(state: str, event: str, actor: str) -> str:
    if actor in NON_READERS:
        if not ever_sends(actor):
            return "hidden"
        return "state" if ever_sends(actor, event) else "who"
    offered = event in ALLOWED[state] or event in GUARDED.get(state, {})
    return "guard" if actor in GUARDED.get(state, {}).get(event, set()) else "who" if offered else "state"


def _kind(exc: VcaseError, event: str) -> str:
    """Which refusal: "who" (NotPermitted), "state" (not offered now) or "guard" (offered, guard said no)."""
    if isinstance(exc, Hidden):
        return "hidden"
    if isinstance(exc, NotPermitted):
        return "who"
    if isinstance(exc, NotAllowed) and getattr(exc, "kind", "") == "guard":
        return "guard"
    return "state" if isinstance(exc, NotAllowed) else type(exc).__name__


@pytest.mark.parametrize("state", list(ALLOWED))
def test_every_event_by_every_actor(agency, state):
    problems: list[str] = []
    letter_id = drive(agency, state)
    before = dump(agency.store)
    for event in EVENTS:
        for actor in ACTORS:
            label = f"{state} --{event}--> by {actor}"
            target, admitted = ALLOWED[state].get(event, (None, set()))
            if actor in admitted:
                fresh = drive(agency, state)
                count = _audit_count(agency, fresh)
                try:
                    _attempt(agency, actor, fresh, event)
                except VcaseError as exc:
                    problems.append(f"{label}: expected to move to {target}, refused: {exc}")
                    continue
                if state_of(agency, fresh) != target:
                    problems.append(f"{label}: expected {target}, got {state_of(agency, fresh)}")
                if _audit_count(agency, fresh) != count + 1:
                    problems.append(f"{label}: expected exactly one audit entry")
                before = dump(agency.store)
                continue
            expected = expected_refusal(state, event, actor)
            try:
                _attempt(agency, actor, letter_id, event)
            except VcaseError as exc:
                if _kind(exc, event) != expected:
                    problems.append(f"{label}: expected a {expected} refusal, got {type(exc).__name__}: {exc}")
                if actor in NON_READERS and set(str(exc).split()) & (STATE_NAMES | {"letter"}):
                    problems.append(f"{label}: the refusal to a non-reader names the letter or its state: {exc}")
            else:
                problems.append(f"{label}: expected a {expected} refusal, but it was applied")
                before = dump(agency.store)
                continue
        after = dump(agency.store)
        if after != before:
            problems.append(f"{state} --{event}-->: a refusal wrote {[t for t in after if after[t] != before[t]]}")
            before = after
    assert not problems, "\n".join(problems)


START_ALLOWED = WRITER


@pytest.mark.parametrize("actor", [a for a in ACTORS if a != "system"])
def test_only_staff_for_the_writer_may_submit(agency, actor):
    app_name, party = ACTORS[actor]
    app = getattr(agency, app_name)
    before = dump(agency.store)
    def call():
        return app.start(agency.case, "letter_bank", getattr(agency, party) if party else None, "in_writing",
                         {"victim": str(agency.victim)}, LETTER)

    if actor in START_ALLOWED:
        out = call()
        assert out["to"] == "submitted"
        return
    with pytest.raises(NotPermitted):
        call()
    assert dump(agency.store) == before
