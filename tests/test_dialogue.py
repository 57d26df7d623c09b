"""The victim-offender dialogue: who may start it, safety, timers, withdrawal, readers.

Every test runs on SQLite and PostgreSQL with a simulated clock. The helpers
at the top (``Actors``, ``drive``) are shared with test_dialogue_matrix.py
and test_dialogue_notices.py.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping, Optional

import pytest
from sqlalchemy import select

from engine import runtime
from engine.clock import parse_when
from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from services.interest import list_interest, record_interest
from engine.models import AuditEntry, Interest, Notice, Process, Timer
from engine.permissions import SYSTEM, resolve
from tests.support import dump

UTC = timezone.utc
CASE = "2026-CR-0001"

# An actor is a role acting in its own capacity or for a party: key -> (App attribute, party attribute).
ACTORS: dict[str, Optional[tuple[str, Optional[str]]]] = {
    "officer": ("officer", None),
    "advocate": ("advocate", None),
    "victim_services": ("vs", None),
    "facilitator": ("facilitator", None),
    "parole_board": ("parole", None),
    "admin": ("admin", None),
    "advocate_for_victim": ("advocate", "victim"),
    "vs_for_victim": ("vs", "victim"),
    "advocate_for_guardian": ("advocate", "guardian"),  # the guardian of the minor co-victim
    "officer_for_offender": ("officer", "offender"),
    "facilitator_for_offender": ("facilitator", "offender"),
    "system": None,  # the scheduler
}


def send(agency, actor: str, process_id: int, event: str, params: Optional[Mapping[str, Any]] = None) -> dict:
    """Send ``event`` as ``actor`` (a key of ACTORS), through the same call the CLI and the scheduler use."""
    who = ACTORS[actor]
    if who is None:
        with agency.store.write() as session:
            out = runtime.apply(session, agency.store.vault, agency.admin.registry, process_id=process_id,
                                event=event, actor=SYSTEM, now=agency.clock.now(), params=params)
            return {"process": out.process.id, "to": out.to_state}
    app_name, party = who
    app = getattr(agency, app_name)
    for_party = getattr(agency, party) if party else None
    return app.send(process_id, event, for_party=for_party, via="in_person" if party else None, params=params)


def start(agency, actor: str = "advocate_for_victim", via: str = "phone") -> int:
    app_name, party = ACTORS[actor]
    return getattr(agency, app_name).start(agency.case, "dialogue", for_party=getattr(agency, party), via=via)["process"]


def schedule_params(agency, dialogue_in: timedelta) -> dict[str, str]:
    return {"dialogue_at": (agency.clock.now() + dialogue_in).isoformat(), "format": "in_person"}


# The main line, in order: (state reached, actor, event, params).
MAIN_LINE: list[tuple[str, str, str, dict]] = [
    ("intake", "advocate", "begin_intake", {}),
    ("intake", "advocate", "record_screening", {"appeals": "exhausted", "safety_screen": "no_concerns"}),
    ("facilitator_assigned", "victim_services", "assign_facilitator", {"facilitator": "fay"}),
    ("offender_invited", "facilitator", "invite_offender", {}),
    ("offender_accepted", "facilitator_for_offender", "offender_accepts", {}),
    ("offender_accepted", "facilitator", "record_agreements", {"party": "victim"}),
    ("offender_accepted", "facilitator", "record_agreements", {"party": "offender"}),
    ("preparation", "facilitator", "begin_preparation", {}),
    ("preparation", "facilitator", "record_session", {"party": "victim"}),
    ("preparation", "facilitator", "record_session", {"party": "offender"}),
    ("preparation", "facilitator", "mark_ready", {"party": "victim"}),
    ("preparation", "facilitator", "mark_ready", {"party": "offender"}),
    ("dialogue_scheduled", "facilitator", "schedule", {}),  # params from schedule_params
    ("dialogue_held", "facilitator", "record_dialogue", {}),
    ("follow_up", "facilitator", "begin_follow_up", {}),
    ("closed", "facilitator", "close", {}),
]
ORDER = ["requested"] + [s for s, *_ in MAIN_LINE]
# States off the main line: (state, reached from, actor, event, params).
BRANCHES = {
    "declined_ineligible": ("intake", "advocate", "decline_ineligible", {}),
    "offender_declined": ("offender_invited", "facilitator_for_offender", "offender_declines", {}),
    "not_possible": ("offender_invited", "system", "lapse_invitation", {}),
    "paused": ("preparation", "facilitator", "pause", {"reason": "the facilitator is unwell"}),
    "withdrawn": ("requested", "advocate_for_victim", "withdraw", {"reason": "changed my mind"}),
}
NON_TERMINAL = ["requested", "intake", "facilitator_assigned", "offender_invited", "offender_accepted", "preparation",
                "dialogue_scheduled", "dialogue_held", "follow_up", "paused"]


def drive(agency, state: str, *, initiator: str = "advocate_for_victim",
          dialogue_in: timedelta = timedelta(days=14)) -> int:
    """Start a dialogue and take it, through the real events, to ``state``."""
    pid = start(agency, initiator)
    target = state
    branch = BRANCHES.get(state)
    if branch:
        target = branch[0]
    for reached, actor, event, params in MAIN_LINE:
        if ORDER.index(reached) > ORDER.index(target):
            break
        if event == "schedule":
            params = schedule_params(agency, dialogue_in)
        if event == "record_dialogue":
            at = parse_when(_facts(agency, pid)["dialogue_at"])
            if at > agency.clock.now():
                agency.clock.set(at)
        send(agency, actor, pid, event, params)
    if branch:
        _, actor, event, params = branch
        send(agency, actor, pid, event, params)
    assert _state(agency, pid) == state
    return pid


def _facts(agency, pid: int) -> dict:
    return agency.vs.show_process(pid)["facts"]


def _state(agency, pid: int) -> str:
    return agency.vs.show_process(pid)["state"]


def rows(store, model, **where) -> list:
    with store.read() as s:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(s.execute(query).scalars())


def audit_actions(store, pid: int) -> list[str]:
    return [e.action for e in sorted(rows(store, AuditEntry, process_id=pid), key=lambda e: (e.stream, e.seq))]


def notices_of(store, pid: int) -> list[Notice]:
    return sorted(rows(store, Notice, process_id=pid), key=lambda n: n.id)


def body(store, notice: Notice) -> str:
    return store.vault.decrypt(notice.subject_enc) + "\n" + store.vault.decrypt(notice.body_enc)


def live_timers(store, pid: int) -> list[Timer]:
    return [t for t in rows(store, Timer, process_id=pid) if t.status in ("pending", "frozen")]


# -- the whole way through ---------------------------------------------------------

def test_main_line_from_request_to_closed(agency):
    pid = drive(agency, "closed")
    shown = agency.facilitator.show_process(pid)
    assert shown["ended"] and shown["state"] == "closed"
    facts = shown["facts"]
    assert facts["facilitator"] == "fay" and facts["appeals"] == "exhausted"
    assert facts["sessions_victim"] == 1 and facts["sessions_offender"] == 1
    assert facts["ready_victim"] and facts["ready_offender"] and facts["format"] == "in_person"
    events = [h["action"] for h in agency.vs.history(pid)]
    assert events == ["start"] + [e for _, _, e, _ in MAIN_LINE]
    assert agency.admin.verify_audit()["ok"]


def test_start_records_who_asked_and_how(agency):
    pid = start(agency, "vs_for_victim", via="in_person")
    first = agency.vs.history(pid)[0]
    assert (first["action"], first["for_party"], first["via"], first["role"]) == (
        "start", agency.victim, "in_person", "victim_services")
    with agency.store.read() as s:
        process = s.get(Process, pid)
        assert process.victim_initiated and process.initiator_side == "victim"
        assert process.initiator_party_id == agency.victim


def test_a_guardian_starts_it_for_a_minor(agency):
    pid = start(agency, "advocate_for_guardian", via="in_writing")
    with agency.store.read() as s:
        assert s.get(Process, pid).initiator_party_id == agency.guardian
    [notice] = notices_of(agency.store, pid)  # the guardian chose email only, in English
    assert (notice.recipient_party_id, notice.language, notice.channel) == (agency.guardian, "en", "email")
    assert notice.template == "dialogue/victim/request_received"


# -- who may start it ---------------------------------------------------------------

@pytest.mark.parametrize("actor", [
    "officer", "facilitator", "parole_board", "admin", "advocate", "victim_services",
    "officer_for_offender", "facilitator_for_offender", "advocate_for_offender", "vs_for_offender",
    "officer_for_victim", "facilitator_for_victim", "parole_board_for_victim",
])
def test_initiation_refused_for_anyone_but_the_victim_side(agency, actor):
    role, _, party = actor.partition("_for_")
    app = {"officer": agency.officer, "facilitator": agency.facilitator, "parole_board": agency.parole,
           "admin": agency.admin, "advocate": agency.advocate, "victim_services": agency.vs,
           "vs": agency.vs}[role]
    for_party = getattr(agency, party) if party else None
    before = dump(agency.store)
    with pytest.raises(NotPermitted):
        app.start(agency.case, "dialogue", for_party=for_party, via="phone" if party else None)
    assert dump(agency.store) == before


# -- interest on file --------------------------------------------------------------

def _interest(agency, login: str, party: Optional[int]):
    with agency.store.write() as s:
        actor = resolve(s, login, for_party=party, via="in_person" if party else None)
        return record_interest(s, actor, CASE, "dialogue", agency.clock.now()).id


def _read_interest(agency, login: str):
    with agency.store.read() as s:
        return list_interest(s, resolve(s, login), CASE)


def test_an_offenders_request_is_kept_on_file_and_starts_nothing(agency):
    before = dump(agency.store)
    interest_id = _interest(agency, "oscar", agency.offender)
    after = dump(agency.store)
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"interest", "audit_entry", "audit_stream"}  # no process, no notice, no timer
    [row] = _read_interest(agency, "vera")
    assert (row["id"], row["workflow"], row["party"], row["recorded_by"], row["via"]) == (
        interest_id, "dialogue", agency.offender, "oscar", "in_person")
    assert _read_interest(agency, "avery") == [row] and _read_interest(agency, "ada") == [row]
    assert agency.vs.list_processes(CASE, "dialogue") == []


@pytest.mark.parametrize("login", ["oscar", "fay", "pat"])
def test_interest_on_file_is_hidden_from_other_roles(agency, login):
    _interest(agency, "fay", agency.offender)
    with pytest.raises(NotPermitted):
        _read_interest(agency, login)


@pytest.mark.parametrize("reader", ["officer", "parole", "facilitator"])
def test_interest_on_file_leaves_no_trace_in_other_roles_timelines(agency, reader):
    _interest(agency, "oscar", agency.offender)
    seen = repr(getattr(agency, reader).timeline(CASE))
    assert "interest" not in seen and "dialogue" not in seen
    assert "interest.record" in repr(agency.vs.timeline(CASE))


@pytest.mark.parametrize("login,party", [
    ("oscar", None), ("avery", "victim"), ("pat", "offender"), ("vera", "guardian"),
])
def test_interest_is_recorded_only_for_the_person_under_supervision(agency, login, party):
    before = dump(agency.store)
    with pytest.raises(NotPermitted):
        _interest(agency, login, getattr(agency, party) if party else None)
    assert dump(agency.store) == before


def test_interest_needs_a_victim_initiated_workflow_that_exists(agency):
    with agency.store.write() as s:
        actor = resolve(s, "oscar", for_party=agency.offender)
        with pytest.raises(NotFound):
            record_interest(s, actor, CASE, "no_such_process", agency.clock.now())
    assert rows(agency.store, Interest) == []


# -- safety: IPV, orders, misconduct -------------------------------------------------

def _refused(agency, actor, pid, event, params=None, error=NotAllowed, match: Optional[str] = None) -> None:
    before = dump(agency.store)
    with pytest.raises(error, match=match):
        send(agency, actor, pid, event, params)
    assert dump(agency.store) == before


@pytest.mark.parametrize("flagged_by", ["officer", "vs"])
def test_ipv_case_needs_an_approved_safety_assessment_before_the_offender_is_approached(agency, flagged_by):
    getattr(agency, flagged_by).set_safety(CASE, ipv=True)
    pid = drive(agency, "facilitator_assigned")
    _refused(agency, "facilitator", pid, "invite_offender", match="intimate partner violence")
    blocked = {e["event"]: e["blocked"] for e in agency.facilitator.next_events(pid)}
    assert "safety assessment" in blocked["invite_offender"]
    _refused(agency, "advocate", pid, "record_safety_assessment", {"outcome": "approved"}, NotPermitted)
    _refused(agency, "facilitator", pid, "record_safety_assessment", {"outcome": "approved"}, NotPermitted)
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "not_approved"})
    _refused(agency, "facilitator", pid, "invite_offender", match="safety assessment")
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    assert send(agency, "facilitator", pid, "invite_offender")["to"] == "offender_invited"


def test_an_active_no_contact_order_blocks_approach_until_assessed(agency):
    agency.vs.set_safety(CASE, order=("no_contact", date(2026, 1, 1), None))
    pid = drive(agency, "facilitator_assigned")
    _refused(agency, "facilitator", pid, "invite_offender", match="no-contact order is active")
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    assert send(agency, "facilitator", pid, "invite_offender")["to"] == "offender_invited"


def test_a_flag_raised_after_the_assessment_needs_a_new_one_before_scheduling(agency):
    pid = drive(agency, "preparation")
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})  # covers nothing
    agency.officer.set_safety(CASE, order=("protective", date(2026, 3, 1), None))
    _refused(agency, "facilitator", pid, "schedule", schedule_params(agency, timedelta(days=14)),
             match="protective or no-contact order")
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    assert send(agency, "facilitator", pid, "schedule", schedule_params(agency, timedelta(days=14)))["to"] == \
        "dialogue_scheduled"


def test_a_screening_that_asks_for_an_assessment_blocks_approach(agency):
    pid = drive(agency, "requested")
    send(agency, "advocate", pid, "begin_intake")
    send(agency, "advocate", pid, "record_screening", {"appeals": "waived", "safety_screen": "refer_for_assessment"})
    send(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"})
    _refused(agency, "facilitator", pid, "invite_offender", match="safety screening asked")
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    assert send(agency, "facilitator", pid, "invite_offender")["to"] == "offender_invited"


def test_ipv_policy_refuse_refuses_ipv_cases_outright(agency):
    agency.admin.set_setting("dialogue.ipv_policy", "refuse")
    agency.officer.set_safety(CASE, ipv=True)
    pid = drive(agency, "intake")
    _refused(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"},
             match="does not offer dialogue")
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    _refused(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"},
             match="dialogue.ipv_policy")
    assert send(agency, "advocate", pid, "decline_ineligible", {"reason": "agency policy"})["to"] == \
        "declined_ineligible"


def test_ipv_policy_refuse_also_stops_an_approach_already_under_way(agency):
    pid = drive(agency, "facilitator_assigned")
    agency.vs.set_safety(CASE, ipv=True)
    send(agency, "victim_services", pid, "record_safety_assessment", {"outcome": "approved"})
    agency.admin.set_setting("dialogue.ipv_policy", "refuse")
    _refused(agency, "facilitator", pid, "invite_offender", match="does not offer dialogue")
    agency.admin.set_setting("dialogue.ipv_policy", "require_assessment")
    assert send(agency, "facilitator", pid, "invite_offender")["to"] == "offender_invited"


def test_ipv_policy_misspelt_is_read_as_refuse(agency):
    with pytest.raises(InvalidInput, match="dialogue.ipv_policy takes one of"):  # refused when set...
        agency.admin.set_setting("dialogue.ipv_policy", "requre_assesment")
    from engine.models import Setting

    with agency.store.write() as s:  # ...and read as refuse if an older vcase stored it
        s.add(Setting(key="dialogue.ipv_policy", value="requre_assesment"))
    agency.officer.set_safety(CASE, ipv=True)
    pid = drive(agency, "intake")
    _refused(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"}, match="does not offer")


def test_eligibility_needs_appeals_exhausted_or_waived(agency):
    pid = drive(agency, "requested")
    send(agency, "advocate", pid, "begin_intake")
    _refused(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"}, match="record_screening")
    send(agency, "advocate", pid, "record_screening", {"appeals": "pending", "safety_screen": "no_concerns"})
    _refused(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"}, match="pending")
    _refused(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "oscar"}, InvalidInput)
    send(agency, "advocate", pid, "record_screening", {"appeals": "waived", "safety_screen": "no_concerns"})
    assert send(agency, "victim_services", pid, "assign_facilitator", {"facilitator": "fay"})["to"] == \
        "facilitator_assigned"


def test_misconduct_suspends_progress_and_may_end_the_process(agency):
    pid = drive(agency, "offender_accepted")
    _refused(agency, "facilitator", pid, "end_for_misconduct", match="no misconduct")
    agency.officer.set_safety(CASE, misconduct=True)
    send(agency, "facilitator", pid, "record_agreements", {"party": "victim"})
    _refused(agency, "facilitator", pid, "begin_preparation", match="misconduct toward the victim")
    _refused(agency, "officer", pid, "end_for_misconduct", error=NotPermitted)
    assert send(agency, "facilitator", pid, "pause", {"reason": "misconduct"})["to"] == "paused"
    send(agency, "facilitator", pid, "resume")
    before = {n.id for n in notices_of(agency.store, pid)}
    assert send(agency, "victim_services", pid, "end_for_misconduct")["to"] == "not_possible"
    new = [n for n in notices_of(agency.store, pid) if n.id not in before]
    assert sorted({n.template for n in new}) == [
        "dialogue/offender/process_ended", "dialogue/staff/process_ended", "dialogue/victim/not_possible"]
    offender = [body(agency.store, n) for n in new if n.audience == "offender"]
    assert offender and not any("misconduct" in text.lower() or "Maria" in text for text in offender)


def test_misconduct_before_the_approach_does_not_tell_the_offender(agency):
    pid = drive(agency, "facilitator_assigned")
    agency.vs.set_safety(CASE, misconduct=True)
    _refused(agency, "facilitator", pid, "invite_offender", match="misconduct")
    before = {n.id for n in notices_of(agency.store, pid)}
    send(agency, "facilitator", pid, "end_for_misconduct")
    new = [n for n in notices_of(agency.store, pid) if n.id not in before]
    assert {n.audience for n in new} == {"victim", "staff"}


# -- preparation and scheduling -------------------------------------------------

def test_preparation_needs_both_agreements_and_scheduling_needs_both_ready(agency):
    pid = start(agency)
    for _, actor, event, params in MAIN_LINE[:4]:
        send(agency, actor, pid, event, params)
    send(agency, "officer_for_offender", pid, "offender_accepts")
    _refused(agency, "facilitator", pid, "begin_preparation", match="victim and offender are not recorded")
    send(agency, "facilitator", pid, "record_agreements", {"party": "offender"})
    _refused(agency, "facilitator", pid, "begin_preparation", match="agreements of the victim are not")
    send(agency, "facilitator", pid, "record_agreements", {"party": "victim"})
    send(agency, "facilitator", pid, "begin_preparation")
    for _ in range(3):
        send(agency, "facilitator", pid, "record_session", {"party": "victim"})
    send(agency, "facilitator", pid, "mark_ready", {"party": "victim"})
    _refused(agency, "facilitator", pid, "schedule", schedule_params(agency, timedelta(days=14)),
             match="offender not yet marked ready")
    send(agency, "facilitator", pid, "mark_ready", {"party": "offender"})
    _refused(agency, "facilitator", pid, "schedule", schedule_params(agency, -timedelta(hours=1)),
             match="in the future")
    _refused(agency, "facilitator", pid, "schedule", {"dialogue_at": "2026-04-01T10:00", "format": "phone_call"},
             InvalidInput)
    send(agency, "facilitator", pid, "schedule", {"dialogue_at": "2026-04-01T10:00", "format": "letter_exchange"})
    facts = _facts(agency, pid)
    assert facts["sessions_victim"] == 3 and "sessions_offender" not in facts
    assert facts["dialogue_at"] == "2026-04-01T15:00:00+00:00" and facts["format"] == "letter_exchange"
    _refused(agency, "facilitator", pid, "record_dialogue", match="cannot be recorded as held before")


def _due(store, pid: int) -> dict[str, str]:
    return {t.name: t.due_at.replace(tzinfo=UTC).isoformat() if t.due_at.tzinfo is None else
            t.due_at.astimezone(UTC).isoformat() for t in live_timers(store, pid)}


def test_postponing_and_scheduling_again_rearms_the_reminders(agency):
    pid = drive(agency, "preparation")
    send(agency, "facilitator", pid, "schedule", {"dialogue_at": "2026-04-15T10:00", "format": "virtual"})
    assert _due(agency.store, pid) == {"dialogue_reminder_week": "2026-04-08T15:00:00+00:00",
                                       "dialogue_reminder_day": "2026-04-14T15:00:00+00:00"}
    send(agency, "facilitator", pid, "postpone")
    assert _due(agency.store, pid) == {}
    send(agency, "facilitator", pid, "schedule", {"dialogue_at": "2026-05-20T13:30", "format": "in_person"})
    assert _due(agency.store, pid) == {"dialogue_reminder_week": "2026-05-13T18:30:00+00:00",
                                       "dialogue_reminder_day": "2026-05-19T18:30:00+00:00"}
    agency.admin.run_until(datetime(2026, 5, 20, 18, 0, tzinfo=UTC))
    fired = [(h["at"], h["timer"]["name"]) for h in agency.vs.history(pid) if h["timer"]]
    assert fired == [("2026-05-13T18:30:00+00:00", "dialogue_reminder_week"),
                     ("2026-05-19T18:30:00+00:00", "dialogue_reminder_day")]
    reminders = [n for n in notices_of(agency.store, pid) if n.template.endswith("/dialogue_reminder")]
    assert sorted((n.audience, n.created_at.replace(tzinfo=None).isoformat()) for n in reminders) == [
        ("staff", "2026-05-13T18:30:00"), ("staff", "2026-05-19T18:30:00"),
        ("victim", "2026-05-13T18:30:00"), ("victim", "2026-05-19T18:30:00")]
    assert "20 de mayo de 2026" in body(agency.store, [n for n in reminders if n.audience == "victim"][0])
    assert _facts(agency, pid)["postponements"] == 1


def test_a_reminder_whose_moment_has_passed_is_not_armed(agency):
    pid = drive(agency, "preparation")
    send(agency, "facilitator", pid, "schedule", schedule_params(agency, timedelta(days=3)))
    assert set(_due(agency.store, pid)) == {"dialogue_reminder_day"}


# -- timers across daylight saving -------------------------------------------------

def test_invitation_timers_keep_local_time_across_the_fall_dst_change(agency):
    pid = drive(agency, "facilitator_assigned")
    agency.clock.set(datetime(2026, 10, 20, 14, 0, tzinfo=UTC))  # 09:00 CDT
    send(agency, "facilitator", pid, "invite_offender")
    assert _due(agency.store, pid) == {"invitation_reminder": "2026-11-19T15:00:00+00:00",  # 09:00 CST
                                       "invitation_lapse": "2026-12-19T15:00:00+00:00"}
    agency.admin.run_until(datetime(2026, 11, 19, 14, 59, tzinfo=UTC))
    assert [h for h in agency.vs.history(pid) if h["timer"]] == []
    agency.admin.run_until(datetime(2027, 1, 31, tzinfo=UTC))
    fired = [(h["at"], h["action"], h["to"], h["actor"]) for h in agency.vs.history(pid) if h["timer"]]
    assert fired == [("2026-11-19T15:00:00+00:00", "remind_invitation", "offender_invited", "scheduler"),
                     ("2026-12-19T15:00:00+00:00", "lapse_invitation", "not_possible", "scheduler")]
    templates = [(n.template, n.audience) for n in notices_of(agency.store, pid)
                 if n.created_at.replace(tzinfo=UTC) >= datetime(2026, 11, 1, tzinfo=UTC)]
    assert sorted(templates) == [("dialogue/staff/invitation_lapsed", "staff"),
                                 ("dialogue/staff/invitation_reminder", "staff"),
                                 ("dialogue/victim/not_possible", "victim")]


def test_the_reminder_is_internal_so_the_lapse_timer_keeps_running(agency):
    pid = drive(agency, "offender_invited")
    agency.admin.run_until(agency.clock.now() + timedelta(days=31))
    assert set(_due(agency.store, pid)) == {"invitation_lapse"} and _state(agency, pid) == "offender_invited"
    send(agency, "officer_for_offender", pid, "offender_accepts")
    assert _state(agency, pid) == "offender_accepted" and _due(agency.store, pid) == {}


def test_invitation_days_are_agency_settings(agency):
    agency.admin.set_setting("dialogue.invite_reminder_days", "14")
    agency.admin.set_setting("dialogue.invite_lapse_days", "45")
    pid = drive(agency, "offender_invited")  # invited on 2026-03-02 09:00 CST, before the spring change
    assert _due(agency.store, pid) == {"invitation_reminder": "2026-03-16T14:00:00+00:00",  # 09:00 CDT
                                       "invitation_lapse": "2026-04-16T14:00:00+00:00"}


def test_dialogue_reminders_across_the_spring_dst_change(agency):
    pid = drive(agency, "preparation")
    send(agency, "facilitator", pid, "schedule", {"dialogue_at": "2026-03-12T10:00", "format": "in_person"})
    assert _due(agency.store, pid) == {"dialogue_reminder_week": "2026-03-05T16:00:00+00:00",  # 10:00 CST
                                       "dialogue_reminder_day": "2026-03-11T15:00:00+00:00"}  # 10:00 CDT


def test_follow_up_check_in_at_30_days_and_close_at_90(agency):
    pid = drive(agency, "follow_up")
    entered = agency.clock.now()
    agency.admin.run_until(entered + timedelta(days=120))
    fired = [(h["action"], h["to"], h["at"]) for h in agency.vs.history(pid) if h["timer"]]
    check_in = (parse_when(fired[0][2]) - entered)
    close = (parse_when(fired[1][2]) - entered)
    assert [f[:2] for f in fired] == [("check_in", "follow_up"), ("close", "closed")]
    assert abs(check_in - timedelta(days=30)) <= timedelta(hours=1)  # wall-clock days in Chicago
    assert abs(close - timedelta(days=90)) <= timedelta(hours=1)
    victim = [n.template for n in notices_of(agency.store, pid) if n.audience == "victim"]
    assert victim[-2:] == ["dialogue/victim/follow_up_check_in", "dialogue/victim/closed"]


def test_pause_freezes_timers_and_resume_keeps_the_remaining_time(agency):
    pid = drive(agency, "offender_invited")
    due_before = parse_when(_due(agency.store, pid)["invitation_reminder"])
    agency.clock.advance(timedelta(days=10))
    left = due_before - agency.clock.now()
    send(agency, "officer_for_offender", pid, "pause", {"reason": "in a treatment program"})
    assert {t.status for t in live_timers(agency.store, pid)} == {"frozen"}
    agency.admin.run_until(agency.clock.now() + timedelta(days=100))
    assert _state(agency, pid) == "paused"
    # the officer relays the answer but is not a reader: told it cannot happen now, never that it is paused
    _refused(agency, "officer_for_offender", pid, "offender_accepts", match="its state is not shown to your role")
    _refused(agency, "facilitator_for_offender", pid, "offender_accepts", match="paused")
    send(agency, "advocate_for_victim", pid, "resume")
    due = parse_when(_due(agency.store, pid)["invitation_reminder"])
    assert due - agency.clock.now() == left == timedelta(days=20, hours=-1)  # 30 wall-clock days span the DST change


# -- withdrawal ----------------------------------------------------------------

WITHDRAWERS = ["advocate_for_victim", "vs_for_victim", "officer_for_offender", "facilitator_for_offender"]
REASON = "She felt unsafe after the hearing on March 3"
# In an offender's notice: no victim name, no staff who could have withdrawn it, no word of withdrawing, no reason.
WHO = re.compile(r"\b(maria|gail|kim|avery|oscar|fay|vera|ada|advocate|officer|oficial|facilitator|guardian|"
                 r"withdr\w*|retir\w*|unsafe|hearing)\b", re.IGNORECASE)


@pytest.mark.parametrize("state", NON_TERMINAL)
@pytest.mark.parametrize("withdrawer", ["advocate_for_victim", "officer_for_offender"])
def test_withdrawal_ends_everything_and_tells_each_party_only_that_it_ended(agency, state, withdrawer):
    pid = drive(agency, state)
    agency.clock.advance(timedelta(days=2))
    send(agency, withdrawer, pid, "withdraw", {"reason": REASON})
    withdrawn_at = agency.clock.now()
    assert _state(agency, pid) == "withdrawn"
    assert live_timers(agency.store, pid) == []
    unsent = [n for n in notices_of(agency.store, pid) if n.status in ("queued", "held", "sending")]
    assert unsent and all(n.survives_withdrawal and n.template.endswith("/process_ended") for n in unsent)
    audiences = sorted({n.audience for n in unsent})
    reached = ORDER.index(state if state != "paused" else "preparation")
    has_facilitator = reached >= ORDER.index("facilitator_assigned")
    approached = reached >= ORDER.index("offender_invited")  # the offender hears of it only if ever invited
    assert audiences == ["offender"] * approached + ["staff"] * has_facilitator + ["victim"]
    for notice in unsent:
        text = body(agency.store, notice)
        assert REASON not in text and "unsafe" not in text
        if notice.audience == "offender":
            assert not WHO.findall(text), text
    # Nothing more ever happens: no timer fires, no notice is queued, no audit entry is added.
    before = dump(agency.store)
    agency.admin.run_until(withdrawn_at + timedelta(days=400))
    assert dump(agency.store) == before
    _refused(agency, "advocate_for_victim", pid, "resume", match="has ended")


@pytest.mark.parametrize("withdrawer", WITHDRAWERS)
def test_either_side_may_withdraw_up_to_the_meeting_day(agency, withdrawer):
    pid = drive(agency, "dialogue_scheduled", dialogue_in=timedelta(days=1, hours=2))
    agency.clock.advance(timedelta(days=1, hours=1))  # the meeting is in an hour
    out = send(agency, withdrawer, pid, "withdraw", {"reason": REASON})
    assert _state(agency, pid) == "withdrawn"
    # the officer relays the offender's withdrawal but is not a reader: the answer names no state
    assert ("to" in out) == (not withdrawer.startswith("officer"))


@pytest.mark.parametrize("event", ["pause", "withdraw"])
def test_a_co_victims_guardian_cannot_act_on_the_victims_dialogue(agency, event):
    pid = drive(agency, "preparation")
    _refused(agency, "advocate_for_guardian", pid, event, {"reason": "x"}, NotPermitted,
             match="not the victim who started")


def test_the_guardian_who_started_it_may_pause_and_withdraw_it(agency):
    pid = start(agency, "advocate_for_guardian", via="in_writing")
    assert send(agency, "advocate_for_guardian", pid, "pause", {"reason": "x"})["to"] == "paused"
    _refused(agency, "advocate_for_victim", pid, "withdraw", {"reason": "x"}, NotPermitted)
    assert send(agency, "advocate_for_guardian", pid, "withdraw", {"reason": "x"})["to"] == "withdrawn"


@pytest.mark.parametrize("actor", ["facilitator", "officer", "victim_services", "advocate", "admin", "parole_board",
                                   "system"])
def test_staff_in_their_own_capacity_cannot_withdraw(agency, actor):
    pid = drive(agency, "preparation")
    _refused(agency, actor, pid, "withdraw", {"reason": "x"}, NotPermitted)


def test_an_offender_never_approached_is_not_told_of_a_withdrawal(agency):
    pid = drive(agency, "facilitator_assigned")
    send(agency, "advocate_for_victim", pid, "withdraw", {"reason": REASON})
    assert [n for n in notices_of(agency.store, pid) if n.audience == "offender"] == []


# -- readers: no effect on supervision ------------------------------------------------

@pytest.mark.parametrize("reader", ["officer", "parole"])
def test_supervision_and_parole_cannot_read_dialogues(agency, reader):
    pid = drive(agency, "preparation")
    app = getattr(agency, reader)
    for read in (app.show_process, app.history, app.next_events):
        with pytest.raises(NotPermitted):
            read(pid)
    with pytest.raises(NotPermitted):
        app.list_processes(CASE, "dialogue")
    assert app.list_processes(CASE) == []
    shown = app.show_case(CASE)
    assert shown["processes"] == [] and "dialogue" not in repr(shown).lower()


@pytest.mark.parametrize("reader", ["advocate", "vs", "facilitator", "admin"])
def test_victim_services_facilitators_and_admins_read_dialogues(agency, reader):
    pid = drive(agency, "preparation")
    app = getattr(agency, reader)
    assert app.show_process(pid)["state"] == "preparation"
    assert [p["id"] for p in app.show_case(CASE)["processes"]] == [pid]
    assert app.history(pid)[0]["action"] == "start"
