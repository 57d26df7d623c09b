"""Who sees what of a victim-side party, for every role, with the officer setting off and on.

Advocates, victim services, facilitators and admins: name and contact
details. An officer: that the party exists and its kind; with
privacy.officer_sees_victim_address=yes also the name and postal address,
never e-mail or phone. The parole board: no parties at all. Checked through
`vcase party show`, `vcase party list` and `vcase case show`, as text and JSON.
"""

from __future__ import annotations

import json

import pytest

from engine.models import ROLES
from engine.permissions import COMMANDS, WORDS, refusal

CASE = "2026-CR-0001"
LOGIN = {"officer": "oscar", "advocate": "avery", "victim_services": "vera", "facilitator": "fay",
         "parole_board": "pat", "admin": "ada", "mailroom": "mo"}
NAME, EMAIL, PHONE, ADDRESS = "Rosa Quill", "rosa.quill@example.net", "+1 555 201 7788", "12 Larch Lane\nOakville"
FULL = {"advocate", "victim_services", "facilitator", "admin"}


@pytest.fixture
def rosa(agency):
    return agency.advocate.add_party(CASE, "victim", NAME, email=EMAIL, phone=PHONE, address=ADDRESS,
                                     channels=("letter",))["id"]


def said(run, login, *args):
    code, out, err = run(login, *args)
    return code, out + err


def contains(text: str) -> dict[str, bool]:
    return {"name": "Rosa" in text or "Quill" in text, "email": "rosa.quill" in text, "phone": "201" in text,
            "address": "Larch" in text}


CASES = [(role, setting) for role in ROLES for setting in ("no", "yes")]


@pytest.mark.parametrize("role,setting", CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_each_role_sees_what_it_may_of_a_victim(run, agency, rosa, role, setting):
    agency.admin.add_staff("mo", "Mo Mailroom", "mailroom")
    assert run("ada", "settings", "set", "privacy.officer_sees_victim_address", setting)[0] == 0
    login = LOGIN[role]
    code, show = said(run, login, "party", "show", str(rosa))
    code_json, show_json = said(run, login, "party", "show", str(rosa), "--json")
    _, listed = said(run, login, "party", "list", CASE, "--json")
    _, case = said(run, login, "case", "show", CASE, "--json")
    if role in FULL:
        assert code == 0 and all(contains(show).values()), show
        view = json.loads(show_json)
        assert (view["email"], view["phone"], view["address"]) == (EMAIL, PHONE, ADDRESS)
        assert NAME in [p["name"] for p in json.loads(listed)]
        assert NAME in [p["name"] for p in json.loads(case)["parties"]]
    elif role == "officer":
        assert code == 0 and code_json == 0, show
        view = json.loads(show_json)
        sees = setting == "yes"
        assert contains(show) == {"name": sees, "email": False, "phone": False, "address": sees}, show
        assert contains(show_json) == {"name": sees, "email": False, "phone": False, "address": sees}
        assert view["kind"] == "victim" and "email" not in view and "phone" not in view and "channels" not in view
        assert "privacy.officer_sees_victim_address" in view["withheld"]
        for text in (listed, case):  # lists never carry contact details; the name only with the setting
            assert contains(text) == {"name": sees, "email": False, "phone": False, "address": False}, text
        rows = json.loads(listed)
        assert rosa in [p["id"] for p in rows]  # the officer knows the party exists
        person = next(p for p in rows if p["kind"] == "supervised_person")
        assert person["name"] == "Sam Supervised"  # the person they supervise: supervision data
    elif role == "mailroom":  # prints letters from their encrypted text; reads no case and no party
        assert code == 1 and not any(contains(show + show_json + listed + case).values())
        assert show.strip() == ("Error: the mail room is not permitted to see the parties of a case "
                                "(vcase party show / list are for: admin, advocate, facilitator, officer, "
                                "victim services)")
        assert case.startswith("Error: the mail room is not permitted to see a case")
    else:  # the parole board
        assert code == 1 and not any(contains(show).values())
        assert show.strip() == ("Error: the parole board is not permitted to see the parties of a case "
                                "(vcase party show / list are for: admin, advocate, facilitator, officer, "
                                "victim services)")
        assert not any(contains(listed).values()) and "parties" not in json.loads(case)


def test_the_officer_setting_is_off_by_default(run, agency, rosa):
    rows = {r["setting"]: r for r in json.loads(run("ada", "settings", "list", "--json")[1])}
    assert rows["privacy.officer_sees_victim_address"]["value"] == "no"
    assert not any(contains(said(run, "oscar", "party", "show", str(rosa))[1]).values())


def test_party_show_help_says_the_rule(run):
    code, out, _ = run("ada", "party", "show", "--help")
    text = " ".join(out.split())
    assert code == 0 and "privacy.officer_sees_victim_address=yes" in text and "never e-mail or phone" in text
    assert "parole board sees no parties" in text


@pytest.mark.parametrize("key", sorted(COMMANDS))
def test_refusals_speak_in_the_commands_words(key):
    what, commands = WORDS[key]
    for role in set(ROLES) - COMMANDS[key]:
        text = refusal(role, key)
        assert commands in text and f"not permitted to {what} (" in text, text
        assert "_" not in text, text  # no internal role or key names
