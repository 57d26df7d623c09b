"""One rule for every time a person types, in every command (issue 13, items 5, 6, 7, 13).

A time without an offset is read in the case's zone (the recipient's for a
preview; the agency's, ``agency.time_zone``, where no case is named). A wall
time that does not exist there is refused naming the gap; one that happens
twice needs an offset; every stored time is echoed with its zone
abbreviation. The walk below finds every option that takes a time in the
whole command tree, so a new one without a case here fails the test.
"""

from __future__ import annotations

from datetime import timedelta

import click
import pytest

from services import notify_api as N
from engine.clock import parse_when
from tests.support import dump
from tests.test_cli import LEAVES
from tests.test_dialogue import drive

TZ = "America/Chicago"
GAP = "2027-03-14T02:30"  # spring forward in Chicago: 02:00 CST -> 03:00 CDT
TWICE = "2026-11-01T01:30"  # fall back: 01:30 CDT, then 01:30 CST
TIME_OPTIONS = {"--at", "--until", "--since", "--when", "--on", "--from", "--to", "--due"}


def time_options() -> set[tuple[str, str]]:
    """(command path, option) for every option in the tree that takes a typed time (dates are another type)."""
    found = set()
    for path, command in LEAVES:
        for param in command.params:
            if (isinstance(param, click.Option) and TIME_OPTIONS & set(param.opts)
                    and isinstance(param.type, click.types.StringParamType)):
                found.add((path, param.opts[0]))
    return found


def _setup(agency):
    agency.admin.set_setting("agency.time_zone", TZ)
    scheduled = N.record_event(agency.officer, agency.case, "release_scheduled", "2026-06-01T10:00", "")
    from services import agreements, partners

    partner = partners.add(agency.vs, name="Harbor House", model="hybrid", sector="dv_program")["id"]
    agreement = agreements.draft(agency.vs, title="MOU", partners=[partner], purpose="A joint response",
                                 contributions="advocacy", sharing_limits="none", contacts="Vera",
                                 starts="2026-03-01", ends="2028-03-01", text="The agreement.",
                                 grant_workflows="notification", grant_permissions="case.show")["agreement"]
    return {"event": str(scheduled["case_event"]), "dialogue": str(drive(agency, "preparation")),
            "guardian": str(agency.guardian), "agreement": str(agreement)}


# (command path, option) -> (user, args before the time, args after it)
CASES = {
    ("event record", "--at"): ("oscar", lambda c: ["event", "record", "2026-CR-0001", "release_scheduled", "--at"], []),
    ("event correct", "--at"): ("oscar", lambda c: ["event", "correct", c["event"], "--at"], []),
    ("notices preview", "--at"): ("avery", lambda c: ["notices", "preview", "notification/victim/release_scheduled",
                                                      "--party", c["guardian"], "--at"], []),
    ("dialogue schedule", "--at"): ("fay", lambda c: ["dialogue", "schedule", c["dialogue"], "--at"],
                                    ["--format", "virtual"]),
    ("agreement sign", "--at"): ("vera", lambda c: ["agreement", "sign", c["agreement"], "--party", "agency",
                                                    "--signer", "Vera, for the agency", "--at"], []),
    ("scheduler tick", "--until"): ("ada", lambda c: ["scheduler", "tick", "--until"], ["--on-a-copy", "COPY"]),
    ("notices held", "--since"): ("vera", lambda c: ["notices", "held", "--since"], []),
    ("notices release", "--since"): ("vera", lambda c: ["notices", "release", "--yes", "--since"], []),
    ("notices discard", "--since"): ("vera", lambda c: ["notices", "discard", "--reason", "x", "--yes", "--since"], []),
    ("service record", "--at"): ("avery", lambda c: ["service", "record", c["guardian"], "--item", "A1", "--at"], []),
    ("service anonymous", "--at"): ("avery", lambda c: ["service", "anonymous", "--item", "C2", "--at"], []),
    ("intimidation report", "--at"): ("avery", lambda c: [
        "intimidation", "report", "2026-CR-0001", "--for", c["guardian"], "--account-file", _account_file(),
        "--by", "unknown", "--reached-via", "phone", "--safe-channel", "phone", "--safe-times", "evenings", "--at"], []),
}


def test_every_time_option_in_the_tree_is_walked():
    assert time_options() == set(CASES), "a command takes a time this test does not try: add it to CASES"


def _account_file() -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("Threatening texts.")
    return f.name


def _args(key, context, value, tmp_path):
    user, before, after = CASES[key]
    return user, before(context) + [value] + [str(tmp_path / "copy.db") if a == "COPY" else a for a in after]


@pytest.mark.parametrize("key", sorted(CASES), ids=[" ".join(k) for k in sorted(CASES)])
def test_a_time_that_does_not_exist_is_refused_naming_the_gap(run, store, agency, tmp_path, key):
    context = _setup(agency)
    before = dump(store)
    user, args = _args(key, context, GAP, tmp_path)
    code, out, err = run(user, *args)
    assert code != 0
    assert "does not exist in America/Chicago" in err and "02:00 CST to 03:00 CDT" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert dump(store) == before
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize("key", sorted(CASES), ids=[" ".join(k) for k in sorted(CASES)])
def test_a_time_that_happens_twice_needs_its_offset(run, store, agency, tmp_path, key):
    context = _setup(agency)
    before = dump(store)
    user, args = _args(key, context, TWICE, tmp_path)
    code, out, err = run(user, *args)
    assert code != 0
    assert "happens twice in America/Chicago" in err and "-05:00 (CDT)" in err and "-06:00 (CST)" in err, err
    assert dump(store) == before


def test_times_are_read_in_the_case_zone_and_echoed_with_its_abbreviation(run, store, agency):
    """`event correct` and `notices preview` used to read --at as UTC: five hours off in Chicago."""
    _setup(agency)
    code, out, err = run("oscar", "event", "record", "2026-CR-0001", "parole_hearing", "--at", "2026-07-01T10:00")
    assert code == 0 and "2026-07-01 10:00 CDT (-05:00, America/Chicago)" in out, out + err
    hearing = out.split()[2]
    code, out, err = run("oscar", "event", "correct", hearing, "--at", "2026-07-02T10:00")
    assert code == 0 and "2026-07-02 10:00 CDT" in out, out + err
    stored = [e for e in N.list_events(agency.officer, agency.case) if e["type"] == "parole_hearing"]
    assert stored[-1]["at"] == "2026-07-02T15:00:00+00:00"  # 10:00 in Chicago, not 10:00 UTC
    code, out, err = run("avery", "notices", "preview", "notification/victim/parole_hearing", "--party",
                         str(agency.guardian), "--at", "2026-07-02T10:00")
    assert code == 0 and "10:00" in out and "CDT" in out and "2026-07-02 10:00 CDT" in err, out + err
    code, out, err = run("oscar", "event", "record", "2026-CR-0001", "court_hearing", "--at", f"{TWICE}-06:00")
    assert code == 0 and "2026-11-01 01:30 CST (-06:00" in out, out + err


def test_a_preview_without_a_time_says_to_give_one_instead_of_printing_an_empty_date(run, agency):
    code, out, err = run("avery", "notices", "preview", "notification/victim/escape", "--party", str(agency.guardian))
    assert code != 0 and "give --at" in err and "escaped on ." not in out + err, out + err
    code, out, err = run("avery", "notices", "preview", "notification/victim/escape", "--party", str(agency.guardian),
                         "--at", "2026-03-01T22:00")
    assert code == 0 and "escaped on ." not in out and "2026" in out.split("escaped on ")[1].split(".")[0], out


def test_no_notice_is_ever_rendered_with_an_empty_value():
    from engine.errors import RenderError
    from notices.render import render

    values = dict(case_number="1", recipient_name="M", appointment="", details="", agency_name="A",
                  agency_phone="1", sent_on="today", previous="", items=())
    with pytest.raises(RenderError, match="prints appointment, which is empty"):
        render("en/notification/victim/escape.email", values)
    assert "Details" not in render("en/notification/victim/escape.email", {**values, "appointment": "now"}).body


@pytest.mark.parametrize("kind", ["released", "escape", "death", "recapture", "transfer", "absconded", "discharged"])
def test_an_event_that_reports_a_fact_cannot_be_dated_in_the_future(agency, kind):
    from engine.errors import InvalidInput

    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="cannot be in the future"):
        N.record_event(agency.officer, agency.case, kind, agency.clock.now() + timedelta(hours=1), "")
    assert dump(agency.store) == before
    N.record_event(agency.officer, agency.case, kind, agency.clock.now() + timedelta(minutes=2), "")  # clock skew


def test_a_correction_cannot_move_a_fact_into_the_future(agency):
    from engine.errors import InvalidInput

    out = N.record_event(agency.officer, agency.case, "released", agency.clock.now() - timedelta(hours=2), "")
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="cannot be in the future"):
        N.correct_event(agency.officer, out["case_event"], at=agency.clock.now() + timedelta(days=1))
    assert dump(agency.store) == before


def test_scheduled_events_may_lie_ahead(agency):
    for kind in ("release_scheduled", "parole_hearing", "violation_hearing", "court_hearing"):
        N.record_event(agency.officer, agency.case, kind, agency.clock.now() + timedelta(days=40), "")


def test_the_engine_reads_typed_text_in_the_case_zone(agency):
    """The API takes the text as typed, so the CLI holds no time rule of its own."""
    out = N.record_event(agency.officer, agency.case, "release_scheduled", "2026-05-01T09:00", "")
    assert out["at"].startswith("2026-05-01 09:00 CDT")
    [event] = [e for e in N.list_events(agency.officer, agency.case) if e["id"] == out["case_event"]]
    assert parse_when(event["at"]) == parse_when("2026-05-01T14:00Z")
