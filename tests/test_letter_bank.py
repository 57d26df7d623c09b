"""The apology letter bank: screening, opt-in notice, release rules, retention, readers, encryption.

Every test runs on SQLite and PostgreSQL with a simulated clock. The helpers
at the top (``letter_registry``, ``ACTORS``, ``send``, ``drive``...) are shared
with test_letter_matrix.py and test_letter_cli.py.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any, Mapping, Optional

import pytest
from sqlalchemy import select, text

from engine import runtime
from services import letters
from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import AuditEntry, Case, Document, Notice, Timer
from engine.permissions import SYSTEM
from tests.support import dump

CASE = "2026-CR-0001"
LETTER = "I am sorry for the harm I caused. I think about it every day. -- marker QX7-APOLOGY-TEXT"
CHECKLIST = "harm,blame,excuses,forgiveness,contact,contact_details,preaching,revictimizing"


@pytest.fixture(autouse=True)
def letter_registry(monkeypatch):
    """The installed workflows plus the letter bank (until it is one of the built-in ones)."""
    from engine import registry

    extra = os.environ.get("VCASE_WORKFLOWS", "")
    if "workflows.letter_bank" not in registry.BUILT_IN and "workflows.letter_bank" not in extra:
        monkeypatch.setenv("VCASE_WORKFLOWS", ",".join(m for m in (extra, "workflows.letter_bank") if m))
    registry.default.cache_clear()
    yield
    registry.default.cache_clear()


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
    "officer_for_victim": ("officer", "victim"),
    "officer_for_offender": ("officer", "offender"),
    "facilitator_for_offender": ("facilitator", "offender"),
    "parole_for_victim": ("parole", "victim"),
    "system": None,  # the scheduler
}


def send(agency, actor: str, letter_id: int, event: str, params: Optional[Mapping[str, Any]] = None,
         document: Optional[str] = None) -> dict:
    """Send ``event`` as ``actor`` through the engine call the CLI and the scheduler use."""
    who = ACTORS[actor]
    if who is None:
        with agency.store.write() as session:
            out = runtime.apply(session, agency.store.vault, agency.admin.registry, process_id=letter_id,
                                event=event, actor=SYSTEM, now=agency.clock.now(), params=params)
            return {"letter": out.process.id, "to": out.to_state}
    app_name, party = who
    return getattr(agency, app_name).send(letter_id, event, for_party=getattr(agency, party) if party else None,
                                          via="in_person" if party else None, params=params, document=document)


def submit(agency, victim: Optional[int] = None, body: str = LETTER, by: str = "officer") -> int:
    app = getattr(agency, by)
    out = letters.submit(app, agency.case, agency.victim if victim is None else victim, agency.offender, body,
                         "in_writing")
    return out["letter"]


RELEASE = {"identity_checked": True, "method": "mail"}
# The main line: (state reached, actor, event, params).
MAIN_LINE = [
    ("in_review", "victim_services", "begin_review", {}),
    ("held", "victim_services", "accept", {"checklist": CHECKLIST}),
    ("victim_requested", "advocate_for_victim", "request", {}),
    ("released", "victim_services", "release", RELEASE),
]
ORDER = ["submitted"] + [s for s, *_ in MAIN_LINE]
# Off the main line: state -> (reached from, actor, event, params).
BRANCHES = {
    "returned_for_revision": ("in_review", "victim_services", "return", {"reasons": "blame,contact"}),
    "retention_review": ("held", "system", "review_retention", {}),
    "declined": ("held", "vs_for_victim", "decline", {}),
    "expired": ("retention_review", "system", "expire", {}),
    "paused": ("held", "victim_services", "pause", {"reason": "the victim asked us to wait"}),
    "withdrawn": ("submitted", "officer_for_offender", "withdraw", {"reason": "the writer asked"}),
}


def drive(agency, state: str, victim: Optional[int] = None) -> int:
    """Submit a letter and take it, through real events, to ``state``."""
    letter_id = submit(agency, victim)
    path = [state]
    while path[0] in BRANCHES:
        path.insert(0, BRANCHES[path[0]][0])
    for step_state in path:
        if step_state in ORDER:
            for reached, actor, event, params in MAIN_LINE:
                if ORDER.index(reached) > ORDER.index(step_state):
                    break
                if state_of(agency, letter_id) != reached:
                    send(agency, actor, letter_id, event, params)
        else:
            _, actor, event, params = BRANCHES[step_state]
            if step_state == "expired":
                end_supervision(agency, agency.clock.now().date() - timedelta(days=30))
                agency.admin.set_setting("letter_bank.retention", "end_of_supervision")
            send(agency, actor, letter_id, event, params)
    assert state_of(agency, letter_id) == state
    return letter_id


def state_of(agency, letter_id: int) -> str:
    return letters.show(agency.vs, letter_id)["state"]


def facts_of(agency, letter_id: int) -> dict:
    return letters.show(agency.vs, letter_id)["facts"]


def rows(store, model, **where) -> list:
    with store.read() as s:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(s.execute(query.order_by(model.id)).scalars())


def end_supervision(agency, on: date) -> None:
    """Supervision end date, as the officer records it (`vcase case supervision`)."""
    agency.officer.set_supervision_end(agency.case, on)


def add_order(agency, starts: Optional[date] = None, ends: Optional[date] = None) -> None:
    starts = starts or agency.clock.now().date() - timedelta(days=1)
    agency.officer.set_safety(agency.case, order=("protective", starts, ends))


def register_for_letters(agency, party: int, how: str) -> None:
    """Opt a party in to ``letter_held`` (a notification registration), or not."""
    if how == "process":
        agency.advocate.start(agency.case, "notification", party, "phone", {"events": "released,letter_held"})
    elif how == "other_events":  # registered, but not for letters
        agency.advocate.start(agency.case, "notification", party, "phone", {"events": "released,escape"})
    elif how == "paused":  # registered for letters, but paused
        reg = agency.advocate.start(agency.case, "notification", party, "phone", {"events": "letter_held"})
        agency.advocate.send(reg["process"], "pause", party, "phone")
    elif how == "ended":  # registered for letters, then opted out
        reg = agency.advocate.start(agency.case, "notification", party, "phone", {"events": "letter_held"})
        agency.advocate.send(reg["process"], "withdraw", party, "phone")
    else:
        assert how == "none"


def _case_id(agency) -> int:
    with agency.store.read() as s:
        return s.execute(select(Case.id).where(Case.case_number == agency.case)).scalar_one()


def add_party(agency, kind: str, **details) -> int:
    party = agency.advocate.add_party(agency.case, kind, f"A {kind}", **details)["id"]
    agency.advocate.explain_confidentiality(party, "in_person")  # privacy.confidentiality_first
    return party


def letter_notices(store, letter_id: int, **where) -> list[Notice]:
    return rows(store, Notice, process_id=letter_id, **where)


def notices_to(store, party: int) -> list[Notice]:
    return rows(store, Notice, recipient_party_id=party)


def whole_life(agency, requester: str = "advocate_for_victim", victim: Optional[int] = None,
               tell_writer: bool = True) -> int:
    """Submit, return, revise, accept, three years in the bank, request, release."""
    letter_id = submit(agency, victim)
    send(agency, "victim_services", letter_id, "begin_review")
    send(agency, "victim_services", letter_id, "return", {"reasons": "forgiveness", "note": "ask for nothing"})
    send(agency, "officer_for_offender", letter_id, "resubmit", document=LETTER + " (revised)")
    send(agency, "victim_services", letter_id, "accept", {"checklist": CHECKLIST})
    agency.admin.run_until(agency.clock.now() + timedelta(days=3 * 365 + 2))
    assert state_of(agency, letter_id) == "held"
    send(agency, requester, letter_id, "request")
    send(agency, "victim_services", letter_id, "release", {**RELEASE, "tell_writer": tell_writer})
    return letter_id


# -- submission ------------------------------------------------------------------------

def test_submission_stores_the_text_encrypted_and_audits_only_its_size(agency):
    letter_id = submit(agency)
    assert state_of(agency, letter_id) == "submitted"
    assert facts_of(agency, letter_id)["victim"] == agency.victim
    [doc] = rows(agency.store, Document, process_id=letter_id)
    assert (doc.kind, doc.version, doc.size) == ("letter", 1, len(LETTER.encode()))
    assert b"QX7-APOLOGY" not in bytes(doc.body_enc)
    [entry] = rows(agency.store, AuditEntry, process_id=letter_id)
    assert entry.detail["document"] == {"kind": "letter", "version": 1, "bytes": len(LETTER.encode())}
    assert "QX7" not in repr(entry.detail)


@pytest.mark.parametrize("by", ["officer", "facilitator"])
def test_staff_submit_for_the_writer(agency, by):
    assert state_of(agency, submit(agency, by=by)) == "submitted"


@pytest.mark.parametrize("safety,message", [
    ("order", "protective or no-contact order is active"),
    ("misconduct", "misconduct toward the victim is on record"),
])
def test_submission_refused_while_an_order_is_active_or_misconduct_on_record(agency, safety, message):
    if safety == "order":
        add_order(agency)
    else:
        agency.officer.set_safety(agency.case, misconduct=True)
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match=message):
        submit(agency)
    assert dump(agency.store) == before


def test_an_expired_order_does_not_block_submission(agency):
    today = agency.clock.now().date()
    add_order(agency, today - timedelta(days=60), today - timedelta(days=1))
    assert state_of(agency, submit(agency)) == "submitted"


@pytest.mark.parametrize("who,message", [
    ("guardian", "name the victim the letter is to"),
    ("offender", "name the victim the letter is to"),
    (9999, "is not on this case"),
])
def test_a_letter_is_addressed_to_a_victim_on_the_case(agency, who, message):
    victim = who if isinstance(who, int) else getattr(agency, who)
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match=message):
        submit(agency, victim)
    assert dump(agency.store) == before


@pytest.mark.parametrize("body,message", [
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"x" * 20_001, "the limit is 20,000"),
    (b"   \n", "is empty"),
])
def test_bad_text_is_refused_before_anything_is_written(agency, body, message):
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match=message):
        letters.submit(agency.officer, agency.case, agency.victim, agency.offender, body)
    assert dump(agency.store) == before


# -- screening ---------------------------------------------------------------------------

def test_accept_needs_every_checklist_item_and_records_the_checklist(agency):
    letter_id = drive(agency, "in_review")
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match="not confirmed: forgiveness, preaching"):
        send(agency, "victim_services", letter_id, "accept",
             {"checklist": "harm,blame,excuses,contact,contact_details,revictimizing"})
    with pytest.raises(NotAllowed, match="unknown checklist item 'nice'"):
        send(agency, "victim_services", letter_id, "accept", {"checklist": CHECKLIST + ",nice"})
    assert dump(agency.store) == before
    send(agency, "victim_services", letter_id, "accept", {"checklist": CHECKLIST})
    facts = facts_of(agency, letter_id)
    assert facts["checklist"] == CHECKLIST.split(",") and "accepted_on" in facts


def test_return_needs_a_reason_and_tells_the_writer(agency):
    letter_id = drive(agency, "submitted")
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match="at least one reason"):
        send(agency, "victim_services", letter_id, "return", {})
    with pytest.raises(NotAllowed, match="unknown checklist item 'rude'"):
        send(agency, "victim_services", letter_id, "return", {"reasons": "rude"})
    assert dump(agency.store) == before
    out = send(agency, "victim_services", letter_id, "return", {"reasons": "blame, contact", "note": "no meeting"})
    assert out["to"] == "returned_for_revision" and out["notices"] == 1
    facts = facts_of(agency, letter_id)
    assert facts["return_reasons"] == ["blame", "contact"] and facts["return_note"] == "no meeting"
    [notice] = letter_notices(agency.store, letter_id)
    assert (notice.audience, notice.recipient_party_id, notice.template) == (
        "offender", agency.offender, "letter_bank/offender/returned")
    body = agency.store.vault.decrypt(notice.body_enc)
    assert "revision" in body and "Maria" not in body


def test_a_note_alone_is_a_reason(agency):
    letter_id = drive(agency, "submitted")
    assert send(agency, "victim_services", letter_id, "return", {"note": "please rewrite the end"})["to"] == \
        "returned_for_revision"


def test_the_writers_notice_lists_the_return_reasons(agency):
    bodies = []
    for reasons in ("preaching", "contact_details"):
        letter_id = drive(agency, "submitted")
        send(agency, "victim_services", letter_id, "return", {"reasons": reasons})
        [notice] = letter_notices(agency.store, letter_id)
        bodies.append(agency.store.vault.decrypt(notice.body_enc))
    assert bodies[0] != bodies[1], "the writer is not told which items the letter fails"
    assert "not preach" in bodies[0] and "not give contact details" in bodies[1]
    assert "not preach" not in bodies[1]


def test_a_returned_letters_fallback_letter_lists_the_same_reasons(agency):
    """A fallback is rendered from the first notice's inputs: the same reasons, the same date."""
    from engine import outbox, settings

    letter_id = drive(agency, "submitted")
    send(agency, "victim_services", letter_id, "return", {"reasons": "blame,contact"})
    [notice] = letter_notices(agency.store, letter_id)
    written_on = agency.clock.now()
    agency.clock.advance(timedelta(days=3))
    with agency.store.write() as s:
        fallback = outbox.requeue_on_channel(s, agency.store.vault, s.get(Notice, notice.id), "sms",
                                             agency.clock.now(), settings.load(s, agency.vs.registry))
        again = outbox.requeue_on_channel(s, agency.store.vault, s.get(Notice, notice.id), "letter",
                                          agency.clock.now(), settings.load(s, agency.vs.registry))
        letter = agency.store.vault.decrypt(again.body_enc)
    assert "not blame" in letter and "not ask for contact or a reply" in letter and "not preach" not in letter
    assert str(written_on.day) in letter.splitlines()[0] and str(agency.clock.now().day) not in letter.splitlines()[0]
    assert fallback.channel == "sms"


def test_each_resubmission_keeps_the_previous_versions(agency):
    letter_id = submit(agency, body="version one")
    for n in (2, 3):
        send(agency, "victim_services", letter_id, "return", {"reasons": "excuses"})
        send(agency, "facilitator_for_offender" if n == 3 else "officer_for_offender", letter_id, "resubmit",
             document=f"version {'two' if n == 2 else 'three'}")
        assert state_of(agency, letter_id) == "submitted"
    docs = rows(agency.store, Document, process_id=letter_id)
    assert [d.version for d in docs] == [1, 2, 3]
    texts = [letters.read_text(agency.vs, letter_id, v)["text"] for v in (1, 2, 3)]
    assert texts == ["version one", "version two", "version three"]
    assert letters.read_text(agency.vs, letter_id)["version"] == 3
    assert facts_of(agency, letter_id)["returns"] == 2
    shown = letters.show(agency.vs, letter_id)["versions"]
    assert [v["version"] for v in shown] == [1, 2, 3] and "text" not in repr(shown)


def test_resubmit_needs_the_revised_text(agency):
    letter_id = drive(agency, "returned_for_revision")
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="needs the letter text"):
        send(agency, "officer_for_offender", letter_id, "resubmit")
    assert dump(agency.store) == before


# -- opt-in: the victim is told only if registered, exactly once ----------------------------

@pytest.mark.parametrize("how", ["none", "other_events", "paused", "ended"])
def test_a_victim_who_did_not_opt_in_receives_no_notice_at_any_point(agency, how):
    register_for_letters(agency, agency.victim, how)
    before = len(notices_to(agency.store, agency.victim))  # their own registration's notices, if any
    letter_id = whole_life(agency)
    assert [n for n in notices_to(agency.store, agency.victim) if n.process_id == letter_id] == []
    assert len(notices_to(agency.store, agency.victim)) == before
    if how == "none":
        assert notices_to(agency.store, agency.victim) == []
    # to the writer only: returned, accepted, received
    assert [n.audience for n in letter_notices(agency.store, letter_id)] == ["offender"] * 3


def test_a_victim_who_opted_in_receives_exactly_one_gentle_notice(agency, how="process"):
    register_for_letters(agency, agency.victim, how)
    letter_id = whole_life(agency)
    [notice] = [n for n in letter_notices(agency.store, letter_id) if n.audience == "victim"]
    assert (notice.recipient_party_id, notice.template, notice.language, notice.channel) == (
        agency.victim, "letter_bank/victim/letter_held", "es", "email")
    assert [n.recipient_party_id for n in notices_to(agency.store, agency.victim) if n.process_id == letter_id] == \
        [agency.victim]
    body = agency.store.vault.decrypt(notice.body_enc)
    assert "1-800-555-0100" in body and "Sam" not in body and "QX7" not in body
    assert [n for n in notices_to(agency.store, agency.guardian) if n.process_id == letter_id] == []


def test_a_minor_is_reached_only_through_a_registered_guardian(agency):
    register_for_letters(agency, agency.minor, "process")  # a minor's own registration reaches no one
    register_for_letters(agency, agency.guardian, "process")
    letter_id = whole_life(agency, requester="advocate_for_guardian", victim=agency.minor)
    [notice] = [n for n in letter_notices(agency.store, letter_id) if n.audience == "victim"]
    assert notice.recipient_party_id == agency.guardian and notice.language == "en"
    assert [n for n in notices_to(agency.store, agency.minor) if n.process_id == letter_id] == []


def test_withdrawal_cancels_the_unsent_notice(agency):
    register_for_letters(agency, agency.victim, "process")
    letter_id = drive(agency, "held")
    [held] = letter_notices(agency.store, letter_id, audience="victim")
    assert held.status == "queued"
    send(agency, "officer_for_offender", letter_id, "withdraw", {"reason": "the writer asked"})
    assert {n.status for n in letter_notices(agency.store, letter_id)} == {"cancelled"}
    assert state_of(agency, letter_id) == "withdrawn"


def test_the_writer_is_told_of_receipt_only_if_the_victim_chose_so(agency):
    quiet = drive(agency, "victim_requested")
    send(agency, "victim_services", quiet, "release", RELEASE)
    told = drive(agency, "victim_requested")
    send(agency, "advocate", told, "release", {**RELEASE, "method": "read_by_facilitator", "tell_writer": True})
    assert [n.template for n in letter_notices(agency.store, quiet)] == ["letter_bank/offender/accepted"]
    assert [n.template for n in letter_notices(agency.store, told)] == [
        "letter_bank/offender/accepted", "letter_bank/offender/letter_received"]
    assert facts_of(agency, told)["method"] == "read_by_facilitator" and facts_of(agency, quiet)["tell_writer"] is False


# -- release -------------------------------------------------------------------------------

def test_release_is_refused_while_a_protective_order_is_active(agency):
    letter_id = drive(agency, "victim_requested")
    add_order(agency)
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match="protective or no-contact order is active"):
        send(agency, "victim_services", letter_id, "release", RELEASE)
    assert dump(agency.store) == before


def test_release_goes_ahead_once_the_order_has_ended(agency):
    today = agency.clock.now().date()
    letter_id = drive(agency, "victim_requested")
    add_order(agency, today, today + timedelta(days=10))
    with pytest.raises(NotAllowed, match="order is active"):
        send(agency, "victim_services", letter_id, "release", RELEASE)
    agency.clock.advance(timedelta(days=11))
    assert send(agency, "victim_services", letter_id, "release", RELEASE)["to"] == "released"


def test_release_is_refused_without_an_identity_check(agency):
    letter_id = drive(agency, "victim_requested")
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match="identity"):
        send(agency, "victim_services", letter_id, "release", {"method": "email"})
    assert dump(agency.store) == before


def test_release_is_refused_with_misconduct_toward_the_victim_on_record(agency):
    letter_id = drive(agency, "victim_requested")
    agency.officer.set_safety(agency.case, misconduct=True)
    with pytest.raises(NotAllowed, match="misconduct"):
        send(agency, "victim_services", letter_id, "release", RELEASE)


def test_a_minor_cannot_ask_for_or_receive_the_letter_but_their_guardian_can(agency):
    letter_id = drive(agency, "held", victim=agency.minor)
    minor = agency.advocate
    before = dump(agency.store)
    with pytest.raises(NotAllowed, match="minor"):
        minor.send(letter_id, "request", for_party=agency.minor, via="phone")
    assert dump(agency.store) == before
    send(agency, "advocate_for_guardian", letter_id, "request")
    assert facts_of(agency, letter_id)["requested_by"] == agency.guardian
    assert send(agency, "victim_services", letter_id, "release", RELEASE)["to"] == "released"


def test_a_guardian_of_someone_else_cannot_ask_for_an_adults_letter(agency):
    letter_id = drive(agency, "held")
    with pytest.raises(NotAllowed, match="not the victim this letter is for"):
        send(agency, "advocate_for_guardian", letter_id, "request")


def test_a_deceased_victims_letter_goes_to_next_of_kin(agency):
    deceased = add_party(agency, "victim", deceased=True)
    kin = add_party(agency, "next_of_kin", represents=deceased, email="kin@example.org", channels=("email",))
    letter_id = drive(agency, "held", victim=deceased)
    with pytest.raises(NotAllowed, match="deceased"):
        agency.advocate.send(letter_id, "request", for_party=deceased)
    agency.advocate.send(letter_id, "request", for_party=kin, via="phone")
    assert send(agency, "victim_services", letter_id, "release", RELEASE)["to"] == "released"


def test_a_minor_representative_cannot_receive(agency):
    deceased = add_party(agency, "victim", deceased=True)
    young = add_party(agency, "next_of_kin", represents=deceased, minor=True)
    letter_id = drive(agency, "held", victim=deceased)
    with pytest.raises(NotAllowed, match="cannot go to a minor"):
        agency.advocate.send(letter_id, "request", for_party=young)


def test_the_victim_may_defer_and_ask_again_later(agency):
    letter_id = drive(agency, "victim_requested")
    send(agency, "vs_for_victim", letter_id, "defer")
    assert state_of(agency, letter_id) == "held" and facts_of(agency, letter_id)["requested_by"] is None
    send(agency, "advocate_for_victim", letter_id, "request")
    assert send(agency, "victim_services", letter_id, "release", RELEASE)["to"] == "released"


@pytest.mark.parametrize("state", ["submitted", "held", "victim_requested"])
def test_the_victim_may_decline_at_any_time(agency, state):
    letter_id = drive(agency, state)
    with pytest.raises(NotAllowed, match="only the victim"):
        send(agency, "advocate_for_guardian", letter_id, "decline")
    send(agency, "vs_for_victim", letter_id, "decline")
    assert state_of(agency, letter_id) == "declined"
    assert facts_of(agency, letter_id)["declined_by"] == agency.victim


def test_pause_blocks_everything_but_resume_and_withdraw(agency):
    letter_id = drive(agency, "paused")
    with pytest.raises(NotAllowed, match="paused"):
        send(agency, "advocate_for_victim", letter_id, "request")
    send(agency, "vs_for_victim", letter_id, "resume")
    assert state_of(agency, letter_id) == "held"


# -- retention -----------------------------------------------------------------------------

def _live_timers(agency, letter_id: int) -> list[Timer]:
    return [t for t in rows(agency.store, Timer, process_id=letter_id) if t.status in ("pending", "frozen")]


def test_indefinite_retention_keeps_a_letter_year_after_year(agency):
    letter_id = drive(agency, "held")
    agency.admin.run_until(agency.clock.now() + timedelta(days=5 * 365 + 5))
    assert state_of(agency, letter_id) == "held"
    reviews = [e for e in rows(agency.store, AuditEntry, process_id=letter_id) if e.action.endswith(".keep")]
    assert len(reviews) == 5
    [timer] = _live_timers(agency, letter_id)
    assert timer.name == "retention_review"


def test_end_of_supervision_retention_expires_a_letter_after_supervision_ends(agency):
    agency.admin.set_setting("letter_bank.retention", "end_of_supervision")
    start = agency.clock.now()
    end_supervision(agency, (start + timedelta(days=500)).date())
    letter_id = drive(agency, "held")
    agency.admin.run_until(start + timedelta(days=366))
    assert state_of(agency, letter_id) == "held"  # supervision still running at the first review
    agency.admin.run_until(start + timedelta(days=2 * 365 + 2))
    assert state_of(agency, letter_id) == "expired"
    assert _live_timers(agency, letter_id) == []


def test_a_requested_letter_is_not_expired(agency):
    agency.admin.set_setting("letter_bank.retention", "end_of_supervision")
    end_supervision(agency, agency.clock.now().date() - timedelta(days=1))
    letter_id = drive(agency, "victim_requested")
    agency.admin.run_until(agency.clock.now() + timedelta(days=800))
    assert state_of(agency, letter_id) == "victim_requested"


def test_paused_letters_keep_their_review_time(agency):
    letter_id = drive(agency, "held")
    agency.clock.advance(timedelta(days=100))
    send(agency, "victim_services", letter_id, "pause", {"reason": "investigation"})
    [frozen] = _live_timers(agency, letter_id)
    assert frozen.status == "frozen" and round(frozen.remaining_seconds / 86400) == 265


# -- readers: never in supervision or parole review ------------------------------------------

@pytest.mark.parametrize("reader", ["officer", "parole"])
def test_supervision_and_parole_cannot_read_list_or_count_letters(agency, reader):
    letter_id = drive(agency, "held")
    app = getattr(agency, reader)
    for call in (lambda: letters.show(app, letter_id), lambda: letters.read_text(app, letter_id),
                 lambda: letters.list_for_case(app, CASE), lambda: letters.show(app, 9999),
                 lambda: app.read_document(letter_id, "letter"), lambda: app.show_process(letter_id),
                 lambda: app.list_processes(CASE, "letter_bank")):
        with pytest.raises(NotPermitted):
            call()
    assert app.list_processes(CASE) == []
    shown = app.show_case(CASE)
    assert shown["processes"] == [] and "letter_bank" not in repr(shown) and "QX7" not in repr(shown)


@pytest.mark.parametrize("reader", ["advocate", "vs", "facilitator", "admin"])
def test_victim_services_advocates_facilitators_and_admins_read_letters(agency, reader):
    letter_id = drive(agency, "held")
    app = getattr(agency, reader)
    assert [r["id"] for r in letters.list_for_case(app, CASE)] == [letter_id]
    assert letters.read_text(app, letter_id)["text"] == LETTER


def test_parole_is_refused_before_a_letter_is_looked_up(agency):
    before = dump(agency.store)
    for call in (lambda: letters.send(agency.parole, 9999, "accept"),
                 lambda: letters.submit(agency.parole, "NO-SUCH", 1, 1, LETTER),
                 lambda: letters.list_for_case(agency.parole, "NO-SUCH")):
        with pytest.raises(NotPermitted, match="parole_board is not permitted"):
            call()
    assert dump(agency.store) == before


def test_the_writers_officer_is_never_told_a_letters_state(agency):
    requested = drive(agency, "victim_requested")
    released = drive(agency, "released")
    for letter_id in (requested, released):
        with pytest.raises(NotAllowed) as refused:
            letters.send(agency.officer, letter_id, "resubmit", agency.offender, document="x")
        message = str(refused.value)
        assert message == f"Can't resubmit letter {letter_id} now; victim services can tell you why."
    with pytest.raises(NotPermitted, match="not permitted to release a letter"):
        letters.send(agency.officer, requested, "release", params=RELEASE)
    out = letters.send(agency.officer, requested, "withdraw", agency.offender)
    assert "from" not in out and "to" not in out and "victim_requested" not in repr(out)


def test_a_letter_command_does_not_act_on_other_processes(agency):
    other = agency.advocate.start(CASE, "toy", agency.victim, "phone")["process"]
    with pytest.raises(NotFound, match=f"no letter {other}"):
        letters.send(agency.officer, other, "withdraw", agency.offender)
    with pytest.raises(NotFound, match=f"no letter {other}"):
        letters.show(agency.vs, other)


def test_the_generic_send_tells_parole_and_supervision_nothing_about_a_letter(agency):
    letter_id = drive(agency, "held")
    for event in ("accept", "no_such_event", "request"):
        with pytest.raises((NotAllowed, NotPermitted)) as refused:
            agency.parole.send(letter_id, event)
        assert "letter" not in str(refused.value) and "held" not in str(refused.value)
    with pytest.raises(NotAllowed) as refused:  # the writer's officer, through the generic verb
        agency.officer.send(letter_id, "resubmit", for_party=agency.offender, document="x")
    assert "held" not in str(refused.value) and "letter" not in str(refused.value)


def test_parole_cannot_tell_a_letter_from_a_process_that_does_not_exist(agency):
    letter_id = drive(agency, "held")
    missing = letter_id + 1000
    before = dump(agency.store)
    for call in (lambda pid: agency.parole.send(pid, "request"), agency.parole.show_process,
                 agency.parole.history, agency.parole.next_events):
        answers = []
        for pid in (letter_id, missing):
            with pytest.raises(NotFound) as refused:
                call(pid)
            answers.append(str(refused.value).replace(str(pid), "N"))
        assert answers[0] == answers[1] and "letter" not in answers[0]
    assert dump(agency.store) == before


# -- encryption at rest and audited reads -------------------------------------------------------

def test_the_letter_text_is_not_in_the_database_in_the_clear(agency):
    letter_id = submit(agency)
    send(agency, "victim_services", letter_id, "return", {"reasons": "blame"})
    send(agency, "officer_for_offender", letter_id, "resubmit", document=LETTER.replace("marker", "second"))
    letters.read_text(agency.vs, letter_id)
    store = agency.store
    with store.engine.connect() as conn:
        bodies = [bytes(b) for b in conn.execute(text("SELECT body_enc FROM document")).scalars()]
        dumped = repr(dump(store))
    assert len(bodies) == 2 and not [b for b in bodies if b"QX7-APOLOGY" in b]
    assert "QX7-APOLOGY" not in dumped
    if store.is_sqlite:
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = store.url.split("///", 1)[1]
        raw = open(path, "rb").read()
        wal = open(path + "-wal", "rb").read() if os.path.exists(path + "-wal") else b""
        assert b"QX7-APOLOGY" not in raw + wal
        assert b"QX7-APOLOGY".lower() not in (raw + wal).lower()


def test_every_read_of_the_text_is_audited(agency):
    letter_id = submit(agency, body="first")
    send(agency, "victim_services", letter_id, "return", {"reasons": "blame"})
    send(agency, "officer_for_offender", letter_id, "resubmit", document="second")
    reads = [(agency.vs, None), (agency.advocate, 1), (agency.facilitator, 2), (agency.admin, None)]
    for app, version in reads:
        letters.read_text(app, letter_id, version)
    agency.vs.read_document(letter_id, "letter")
    entries = [e for e in rows(agency.store, AuditEntry, process_id=letter_id) if e.action == "letter_bank.read_letter"]
    assert [(e.actor_login, e.detail["version"]) for e in entries] == [
        ("vera", 2), ("avery", 1), ("fay", 2), ("ada", 2), ("vera", 2)]
    assert not [e for e in entries if "first" in repr(e.detail) or "second" in repr(e.detail)]
    before = len(rows(agency.store, AuditEntry))
    letters.show(agency.vs, letter_id)  # the record, not the text: no read entry
    assert len(rows(agency.store, AuditEntry)) == before
    assert agency.admin.verify_audit()["ok"]


@pytest.mark.parametrize("who", ["officer", "vs", "admin"])
def test_a_letter_is_never_a_case_event(agency, who):
    """Case events are what supervision and parole read: no one can record a letter as one."""
    from services import notify_api

    register_for_letters(agency, agency.victim, "process")
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="unknown event type 'letter_held'"):
        notify_api.record_event(getattr(agency, who), agency.case, "letter_held", agency.clock.now())
    assert dump(agency.store) == before
    assert notify_api.record_event(agency.officer, agency.case, "released", agency.clock.now())["type"] == "released"
