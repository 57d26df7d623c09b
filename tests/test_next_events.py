"""``vcase process events`` and the refusals that list what is possible: only what the reader may
do (never the scheduler's own steps), with every blocker that can be decided before the step's
arguments are given, and the arguments the other checks need."""

from __future__ import annotations

import pytest

from engine.errors import NotAllowed, NotFound
from engine.runtime import reword
from tests.support import dump
from tests.test_dialogue import drive, send, start

CASE = "2026-CR-0001"


def events(app, pid) -> dict[str, dict]:
    return {row["event"]: row for row in app.next_events(pid)}


def test_an_ipv_case_shows_invite_blocked_before_the_safety_assessment(agency):
    agency.vs.set_safety(CASE, ipv=True)
    pid = drive(agency, "facilitator_assigned")
    rows = events(agency.facilitator, pid)
    assert "intimate partner violence" in rows["invite_offender"]["blocked"]
    assert "safety assessment" in rows["invite_offender"]["blocked"]
    assert rows["invite_offender"]["needs"] == []
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    assert events(agency.facilitator, pid)["invite_offender"]["blocked"] is None


def test_a_step_with_arguments_still_shows_what_blocks_it(agency):
    """schedule takes a date: the checks that do not read it (both ready, safety) are reported now,
    and the date check is named as needing the date."""
    agency.vs.set_safety(CASE, ipv=True)
    send_assessment = ("record_safety_assessment", {"outcome": "approved"})
    pid = drive(agency, "intake")
    send(agency, "victim_services", pid, *send_assessment)
    send(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"})
    for event, params in (("invite_offender", {}), ("offender_accepts", {})):
        send(agency, "facilitator_for_offender" if event == "offender_accepts" else "facilitator", pid, event, params)
    for party in ("victim", "offender"):
        send(agency, "facilitator", pid, "record_agreements", {"party": party})
    send(agency, "facilitator", pid, "begin_preparation")
    schedule = events(agency.facilitator, pid)["schedule"]
    assert "not yet marked ready" in schedule["blocked"]
    assert schedule["needs"] == ["dialogue_at"]
    for party in ("victim", "offender"):
        send(agency, "facilitator", pid, "mark_ready", {"party": party})
    # a new order after the assessment: the assessment no longer covers it
    agency.vs.set_safety(CASE, order=("no_contact", agency.clock.now().date(), None))
    schedule = events(agency.facilitator, pid)["schedule"]
    assert "no-contact order" in schedule["blocked"] and "marked ready" not in schedule["blocked"]
    assert schedule["needs"] == ["dialogue_at"]


def test_assign_facilitator_shows_its_blocker_though_it_takes_a_facilitator(agency):
    pid = start(agency)
    send(agency, "advocate", pid, "begin_intake")
    row = events(agency.vs, pid)["assign_facilitator"]
    assert "record the eligibility and safety screening first" in row["blocked"]
    assert row["params"] == ["facilitator"] and row["needs"] == []


def test_a_paused_process_shows_only_resume_and_withdraw(agency):
    pid = drive(agency, "paused")
    assert set(events(agency.facilitator, pid)) == {"resume", "withdraw"}
    assert set(events(agency.advocate, pid)) == {"resume", "withdraw"}


def test_a_reader_sees_only_what_their_role_may_do(agency):
    pid = drive(agency, "offender_invited")
    facilitator = events(agency.facilitator, pid)
    assert "remind_invitation" not in facilitator and "lapse_invitation" not in facilitator
    assert {"offender_accepts", "offender_declines", "pause", "withdraw"} <= set(facilitator)
    advocate = events(agency.advocate, pid)
    assert "offender_accepts" not in advocate and "reassign_facilitator" not in advocate
    assert all(row["who"] for row in advocate.values())
    assert events(agency.admin, pid) == {}  # admin reads, but takes no step


def test_a_notification_registration_never_offers_the_systems_steps(agency):
    reg = agency.advocate.start(CASE, "notification", agency.victim, "phone", {"events": "all"})["process"]
    rows = events(agency.advocate, reg)
    assert set(rows) == {"change_events", "waive", "pause", "withdraw"}
    assert not any(e.startswith(("notify_", "advance_")) for e in rows)
    # waive reads its flag: the check is named, not reported as refused
    assert rows["waive"]["blocked"] is None and rows["waive"]["needs"] == ["written_waiver_on_file"]
    with pytest.raises(NotFound):  # an officer may not know a registration exists
        agency.officer.next_events(reg)


def test_refusals_list_only_what_the_actor_may_do(agency):
    reg = agency.advocate.start(CASE, "notification", agency.victim, "phone", {"events": "all"})["process"]
    before = dump(agency.store)
    with pytest.raises(NotAllowed) as refused:
        agency.advocate.send(reg, "resume", for_party=agency.victim)
    message = str(refused.value)
    assert message == "Can't resume when in active. Possible now: change events, pause, waive, withdraw."
    assert "notify" not in message and "advance" not in message
    assert dump(agency.store) == before


def test_a_letter_refusal_never_offers_review_retention(agency):
    from services import letters

    pid = drive(agency, "requested")
    letter = letters.submit(agency.officer, CASE, agency.victim, agency.offender, "I am sorry.", "in_writing")["letter"]
    letters.send(agency.vs, letter, "begin_review")
    with pytest.raises(NotAllowed) as refused:
        letters.send(agency.vs, letter, "release", params={})
    assert "review retention" not in str(refused.value) and "review_retention" not in str(refused.value)
    assert pid


def test_a_guard_refusal_keeps_its_parts_for_the_commands_words(agency):
    agency.vs.set_safety(CASE, ipv=True)
    pid = drive(agency, "facilitator_assigned")
    with pytest.raises(NotAllowed) as refused:
        send(agency, "facilitator", pid, "invite_offender")
    exc = refused.value
    assert type(exc) is NotAllowed and exc.kind == "guard" and exc.event == "invite_offender"
    assert str(exc).startswith("Can't invite offender now: the case is flagged for intimate partner violence")
    assert reword(exc, "approach them").startswith("Can't approach them now: the case is flagged")


def test_process_events_cli_shows_blockers_and_what_a_step_needs(run, agency):
    agency.vs.set_safety(CASE, ipv=True)
    pid = drive(agency, "facilitator_assigned")
    code, out, err = run("fay", "process", "events", str(pid))
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("invite_offender"))
    assert "intimate partner violence" in line
    assert "remind" not in out and "notify" not in out
    code, out, err = run("ada", "process", "events", str(pid))
    assert code == 0 and "Nothing your role may do now" in out, (out, err)
    code, out, err = run("avery", "process", "events", str(pid))
    assert code == 0 and "invite_offender" not in out


def test_dialogue_cli_refusal_in_the_commands_words(run, agency, store):
    agency.vs.set_safety(CASE, ipv=True)
    pid = drive(agency, "facilitator_assigned")
    before = dump(store)
    code, out, err = run("fay", "dialogue", "invite", str(pid))
    assert code == 1, (out, err)
    assert err.startswith("Error: Can't invite the person under supervision (dialogue invite) now: "
                          "the case is flagged for intimate partner violence")
    assert "(dialogue assess)" in err and "record_safety_assessment" not in err and "invite_offender" not in err
    assert dump(store) == before


def test_dialogue_schedule_echoes_the_stored_time_in_the_cases_zone(run, agency, store):
    pid = drive(agency, "preparation")
    code, out, err = run("fay", "dialogue", "schedule", str(pid), "--at", "2027-03-14T10:00", "--format", "in_person")
    assert code == 0, err
    assert "The dialogue is set for 2027-03-14 10:00 CDT (-05:00, America/Chicago)." in out
    assert agency.vs.show_process(pid)["facts"]["dialogue_at"] == "2027-03-14T15:00:00+00:00"
