"""Every role against every permission-checked command, generated from `engine.permissions.COMMANDS`.

The table below only says how to invoke each permission through the CLI; who
may do it comes from `COMMANDS` itself, so the test cannot drift from the
code. Two more checks keep the table honest: every `require(..., "key")` in
the engine names a key of `COMMANDS`, and every key is used and invoked here.
Workflow events are governed by their definitions and have their own
matrices (test_runtime, test_dialogue_matrix, test_letter_matrix).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.models import ROLES
from engine.permissions import COMMANDS
from tests.support import dump

CASE = "2026-CR-0001"
LOGIN = {"officer": "oscar", "advocate": "avery", "victim_services": "vera", "facilitator": "fay",
         "parole_board": "pat", "admin": "ada", "mailroom": "mo"}
ROOT = Path(__file__).resolve().parent.parent
LAYERS = [ROOT / "engine", ROOT / "services"]  # every layer that checks a permission


def invocations(agency) -> dict[str, list[str]]:
    return {
        "staff.add": ["staff", "add", "zed", "--name", "Zed Zee", "--role", "officer"],
        "staff.list": ["staff", "list"],
        "case.open": ["case", "open", "C-NEW", "--person", "Pat Person", "--officer", "oscar", "--tz", "UTC"],
        "case.list": ["case", "list"],
        "case.show": ["case", "show", CASE],
        "case.safety": ["case", "safety", CASE, "--ipv"],
        "party.add": ["party", "add", CASE, "--kind", "survivor", "--name", "Sol Survivor"],
        "party.show": ["party", "show", str(agency.victim)],
        "audit.verify": ["audit", "verify"],
        "event.record": ["event", "record", CASE, "transfer", "--at", "2026-03-05T10:00"],
        "event.list": ["event", "list", CASE],
        "notice.read": ["notices", "list"],
        "notice.review": ["notices", "discard", "1", "--reason", "duplicate"],
        "notice.confirm": ["notices", "confirm", "1"],
        "scheduler.status": ["scheduler", "status"],
        "settings.set": ["settings", "set", "agency.name", "Victim Services"],
        "interest.record": ["dialogue", "interest", CASE, "--offender", str(agency.offender), "--via", "in_writing"],
        "interest.read": ["dialogue", "interests", CASE],
        "confidentiality.record": ["party", "confidentiality", str(agency.victim), "--method", "phone"],
        "partner.read": ["partner", "list"],
        "partner.manage": ["partner", "add", "Zed Shelter", "--model", "community_based", "--sector", "shelter_housing"],
        "case.contacts": ["case", "contacts", CASE],
        "service.record": ["service", "record", str(agency.victim), "--item", "A1"],
        "service.read": ["service", "list", str(agency.victim)],
        "report.pmt": ["report", "pmt", "--quarter", "2026Q3"],
        "mailroom.print": ["mailroom", "batch"],
        "mailroom.record": ["mailroom", "mailed", "--batch", "1"],
        "mailroom.read": ["mailroom", "list"],
        "portal.manage": ["portal", "status", "--for", str(agency.victim)],
        "key.rotate": ["key", "reseal"],
    }


def test_every_required_permission_is_in_the_table_and_every_key_is_used():
    used = set()
    for path in (p for layer in LAYERS for p in layer.rglob("*.py")):
        used |= set(re.findall(r'require\(.*?"([a-z_]+\.[a-z_]+)"\)', path.read_text()))
    assert used == set(COMMANDS), f"in code but not in COMMANDS: {used - set(COMMANDS)}; unused: {set(COMMANDS) - used}"


CASES = [(key, role) for key in sorted(COMMANDS) for role in ROLES]


@pytest.mark.parametrize("key,role", CASES, ids=[f"{k}-{r}" for k, r in CASES])
def test_each_role_is_allowed_or_told_not_permitted(run, store, agency, key, role):
    table = invocations(agency)
    assert set(table) == set(COMMANDS)
    agency.admin.add_staff("mo", "Mo Mailroom", "mailroom")  # the one role the shared agency has no one in
    agency.advocate.start(  # a registration, so notice 1 exists for the notice commands
        CASE, "notification", agency.victim, "phone", {"events": "all"})
    before = dump(store)
    code, out, err = run(LOGIN[role], *table[key])
    said = out + err
    assert "Traceback" not in said and "unexpected" not in said, said
    if role in COMMANDS[key]:
        assert "not permitted" not in said, (key, role, said)
    else:
        assert code == 1 and "not permitted" in err, (key, role, code, said)
        assert dump(store) == before
