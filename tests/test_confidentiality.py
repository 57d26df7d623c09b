"""The limits of confidentiality, explained first (seed 000; privacy.confidentiality_first).

Agency staff record nothing a victim-side party says or asks for before it is
on record that the limits were explained to them. Each test tries a way
around the rule: a party with no record, another party's record, the
generic commands, an existing process, an import, the setting; and checks
what must stay possible (withdrawing, the scheduler, the offender side).
Both databases run every test.
"""

from __future__ import annotations

import json

import pytest

from engine import confidentiality
from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import Partner, Staff
from engine.permissions import resolve
from services import notify_api as N
from tests.support import dump

CASE = "2026-CR-0001"


def new_party(agency, kind="survivor", **details) -> int:
    return agency.advocate.add_party(CASE, kind, f"New {kind}", **details)["id"]


def test_recording_and_reading_it_through_the_cli(run, agency):
    party = new_party(agency)
    code, out, err = run("oscar", "party", "confidentiality", str(party), "--method", "phone")
    assert code == 0 and f"Party {party}: limits of confidentiality explained (phone) by oscar" in out, err
    code, out, err = run("vera", "party", "confidentiality", str(party), "--json")
    assert code == 0 and [(r["method"], r["explained_by"]) for r in json.loads(out)] == [("phone", "oscar")]
    code, out, _ = run("avery", "party", "confidentiality", str(new_party(agency)))
    assert code == 0 and "(not on record for party" in out
    timeline = json.dumps(agency.advocate.timeline(CASE))
    assert "party.confidentiality_explained" in timeline
    assert "confidentiality" not in json.dumps(agency.parole.timeline(CASE))  # the parole board sees no parties


def test_a_party_with_no_record_is_refused_and_nothing_is_written(agency, store):
    party = new_party(agency)
    before = dump(store)
    with pytest.raises(NotAllowed, match=f"limits of confidentiality were explained to party {party}"):
        N.register(agency.advocate, CASE, party, "released")
    with pytest.raises(NotAllowed, match="privacy.confidentiality_first"):  # the generic start too
        agency.vs.start(CASE, "dialogue", party, "phone")
    assert dump(store) == before
    agency.advocate.explain_confidentiality(party, "in_person")
    assert N.register(agency.advocate, CASE, party, "released")["process"]


def test_another_partys_record_does_not_count_but_a_representatives_does(agency):
    stranger = new_party(agency)  # on the case, beside Maria (who has a record): refused all the same
    with pytest.raises(NotAllowed):
        N.register(agency.advocate, CASE, stranger, "released")
    minor = new_party(agency, "co_victim", minor=True)
    guardian = new_party(agency, "guardian", represents=minor, email="g@example.org", channels=("email",))
    agency.advocate.explain_confidentiality(guardian, "in_person")  # told to the guardian, who speaks for her
    assert N.register(agency.advocate, CASE, minor, "released")["process"]
    assert N.register(agency.advocate, CASE, guardian, "released")["process"]
    kin_of = new_party(agency, "victim", deceased=True)
    agency.advocate.explain_confidentiality(kin_of, "in_writing")
    kin = new_party(agency, "next_of_kin", represents=kin_of)  # whom they represent has a record
    assert N.register(agency.advocate, CASE, kin, "released")["process"]


def test_events_on_an_existing_process_are_held_but_withdrawing_never_is(agency, store):
    agency.admin.set_setting("privacy.confidentiality_first", "no")
    party = new_party(agency)
    pid = N.register(agency.advocate, CASE, party, "released")["process"]
    agency.admin.set_setting("privacy.confidentiality_first", "yes")
    before = dump(store)
    with pytest.raises(NotAllowed, match="limits of confidentiality"):
        agency.advocate.send(pid, "change_events", party, params={"events": "all"})
    assert dump(store) == before
    agency.advocate.send(pid, "pause", party)
    agency.advocate.send(pid, "withdraw", party)  # a victim's "stop" is recorded whatever else is missing
    assert agency.advocate.show_process(pid)["state"] == "withdrawn"


def test_the_scheduler_and_staff_acting_in_their_own_capacity_are_not_held(agency):
    agency.admin.set_setting("privacy.confidentiality_first", "no")
    party = new_party(agency, email="s@example.org", channels=("email",))
    N.register(agency.advocate, CASE, party, "transfer")
    agency.admin.set_setting("privacy.confidentiality_first", "yes")
    # the officer records an event in their own capacity; it reaches her registration as the system
    out = N.record_event(agency.officer, CASE, "transfer", agency.clock.now(), "")
    assert out["registrants_notified"] == 1


def test_the_setting_off_lifts_it_and_a_partners_advocate_is_not_bound(agency, store):
    party = new_party(agency)
    agency.admin.set_setting("privacy.confidentiality_first", "no")
    assert N.register(agency.advocate, CASE, party, "released")["process"]
    agency.admin.set_setting("privacy.confidentiality_first", "yes")
    other = new_party(agency)
    with store.write() as s:
        partner = Partner(name="Safe Harbor", model="hybrid", sector="dv_program", created_at=agency.clock.now(),
                          updated_at=agency.clock.now())
        s.add(partner)
        s.flush()
        s.get(Staff, resolve(s, "avery").staff_id).partner_id = partner.id
        actor = resolve(s, "avery", for_party=other)
        policy = {confidentiality.SETTING: "yes"}
        confidentiality.require_explained(s, actor, "start", policy)  # community-based: not bound
        s.get(Staff, actor.staff_id).partner_id = None
        with pytest.raises(NotAllowed):
            confidentiality.require_explained(s, actor, "start", policy)
        s.rollback()


def test_an_import_says_how_it_was_explained_or_is_refused_whole(run, agency, store, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("case,kind,name,email,channels,events\n"
                    f"{CASE},survivor,Ann Import,ann@example.org,email,released\n"
                    f"{CASE},survivor,Bo Import,bo@example.org,email,all\n")
    before = dump(store)
    code, out, err = run("avery", "registration", "import", str(path))
    assert code == 1 and "--confidentiality-explained" in err and "Traceback" not in err
    assert dump(store) == before
    code, out, err = run("avery", "registration", "import", str(path), "--confidentiality-explained", "in_writing",
                         "--json")
    assert code == 0, err
    for row in json.loads(out)["created"]:
        assert [r["method"] for r in agency.vs.confidentiality(row["party"])] == ["in_writing"]


BAD = [
    ("pat", ["party", "confidentiality", "{victim}", "--method", "phone"], 1, "not permitted"),
    ("ada", ["party", "confidentiality", "{victim}", "--method", "phone"], 1, "not permitted"),
    ("pat", ["party", "confidentiality", "{victim}"], 1, "not permitted"),
    ("avery", ["party", "confidentiality", "{offender}", "--method", "phone"], 1, "not on the victim side"),
    ("avery", ["party", "confidentiality", "99999", "--method", "phone"], 1, "no party 99999"),
    ("avery", ["party", "confidentiality", "{victim}", "--method", "telepathy"], 2, "Invalid value"),
    ("avery", ["party", "confidentiality", "{victim}", "--method", "{{ 7*7 }}"], 2, "Invalid value"),
]


@pytest.mark.parametrize("user,args,code,said", BAD, ids=[f"{u}-{a[-1]}" for u, a, _, _ in BAD])
def test_bad_requests_are_one_line_and_change_nothing(run, agency, store, user, args, code, said):
    args = [a.format(victim=agency.victim, offender=agency.offender) if "{{" not in a else a for a in args]
    before = dump(store)
    got, out, err = run(user, *args)
    assert got == code and said in err and "Traceback" not in err, (got, out, err)
    assert dump(store) == before


def test_the_engine_refuses_a_bad_method_and_the_offender_side(agency, store):
    with store.write() as s:
        actor = resolve(s, "avery")
        with pytest.raises(InvalidInput, match="unknown method"):
            confidentiality.record(s, actor, agency.victim, "carrier_pigeon", agency.clock.now())
        with pytest.raises(InvalidInput, match="not on the victim side"):
            confidentiality.record(s, actor, agency.offender, "phone", agency.clock.now())
        with pytest.raises(NotFound):
            confidentiality.record(s, actor, 2**62, "phone", agency.clock.now())
        with pytest.raises(NotPermitted):
            confidentiality.record(s, resolve(s, "pat"), agency.victim, "phone", agency.clock.now())
