"""The mass-change guard's review, as events and in bulk (issue 13, items 8 and 9).

A burst of bogus events (Oregon, 2015: ~8,000 false "released" alerts) is
held. Discarding must cancel everything the events caused, including the
advance notices they armed, which used to fire later without review; what
a held event arms stays held with it. Reviewers work with filters, see the
count first, and page through long lists.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services import notify_api as N
from engine.clock import parse_when
from engine.errors import Conflict, InvalidInput, NotPermitted
from engine.models import CaseEvent, Notice, Timer
from services.review import Selection
from tests.support import dump

TZ = "America/Chicago"
CASES = 6


@pytest.fixture
def burst(agency, tmp_path):
    """Six cases, one registrant each; a threshold of 3; a bogus import schedules six releases."""
    agency.admin.outbox = tmp_path
    agency.admin.set_setting("notification.mass_threshold", "3")
    for i in range(CASES):
        case = f"BULK-{i}"
        agency.officer.open_case(case, f"Person {i}", "oscar", TZ)
        party = agency.advocate.add_party(case, "victim", f"Victim {i}", email=f"v{i}@example.org", channels=("email",))
        agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
        N.register(agency.advocate, case, party["id"], "release_scheduled,released")
    N.deliver(agency.admin)  # the registration confirmations
    agency.clock.set(parse_when("2026-03-03T10:00", TZ))
    outcomes = [N.record_event(agency.officer, f"BULK-{i}", "release_scheduled", "2026-04-20T10:00", "import")
                for i in range(CASES)]
    agency.held_events = [o["case_event"] for o in outcomes if o["held_for_review"]]
    agency.free_events = [o["case_event"] for o in outcomes if not o["held_for_review"]]
    return agency


def count(store, query) -> int:
    with store.read() as s:
        return s.execute(query).scalar_one()


def unreviewed_sent(store, events) -> int:
    return count(store, select(func.count()).select_from(Notice).where(
        Notice.case_event_id.in_(events), Notice.status.in_(("sent", "queued", "sending"))))


def test_advance_notices_of_a_held_event_stay_held_when_they_fire(burst):
    assert len(burst.held_events) == CASES - 3 and len(burst.free_events) == 3
    burst.clock.set(parse_when("2026-04-19T12:00", TZ))  # 30, 7 and 1 days before: all fired
    burst.admin.run_until(burst.clock.now())
    N.deliver(burst.admin)
    assert unreviewed_sent(burst.store, burst.held_events) == 0, "nothing a held event set in motion went out"
    held = count(burst.store, select(func.count()).select_from(Notice).where(
        Notice.case_event_id.in_(burst.held_events), Notice.status == "held"))
    assert held == len(burst.held_events) * 4  # the event's notice and three advance notices


def test_discarding_a_held_event_cancels_everything_it_caused_and_says_so(run, burst):
    code, out, err = run("vera", "notices", "discard", "--type", "release_scheduled", "--reason", "bad import", "--yes")
    assert code == 0, err
    n = len(burst.held_events)
    assert f"discard {n} held notice(s) of {n} case event(s)" in err and f"cancel {n * 3} advance notice(s)" in err
    assert f"Discarded {n} notice(s) of {n} case event(s); {n * 3} advance notice(s) cancelled." in out
    assert count(burst.store, select(func.count()).select_from(Timer).where(
        Timer.case_event_id.in_(burst.held_events), Timer.status.in_(("pending", "frozen")))) == 0
    with burst.store.read() as s:
        events = s.execute(select(CaseEvent).where(CaseEvent.id.in_(burst.held_events))).scalars().all()
        assert {(e.review, e.status) for e in events} == {("discarded", "cancelled")}
    burst.clock.set(parse_when("2026-04-21T12:00", TZ))
    burst.admin.run_until(burst.clock.now())
    N.deliver(burst.admin)
    assert unreviewed_sent(burst.store, burst.held_events) == 0
    assert unreviewed_sent(burst.store, burst.free_events) > 0  # the events under the threshold went normally


def test_releasing_a_held_event_lets_it_and_what_it_armed_go(burst):
    out = N.review(burst.vs, Selection(event_id=burst.held_events[0]), release=True)
    assert out == {"events": 1, "notices": 1, "timers_cancelled": 0}
    burst.clock.set(parse_when("2026-04-19T12:00", TZ))
    burst.admin.run_until(burst.clock.now())
    N.deliver(burst.admin)
    assert unreviewed_sent(burst.store, [burst.held_events[0]]) == 4
    assert unreviewed_sent(burst.store, burst.held_events[1:]) == 0


def test_a_notice_id_stands_for_its_whole_event(burst):
    with burst.store.read() as s:
        first = s.execute(select(Notice.id).where(Notice.case_event_id == burst.held_events[0])).scalar_one()
    plan = N.review_plan(burst.vs, Selection(ids=(first,)))
    assert plan["events"] == [burst.held_events[0]] and plan["notices"] == 1


def test_the_count_confirmed_must_still_hold(burst):
    """Another reviewer acted between the count and the decision: refused, nothing written."""
    plan = N.review_plan(burst.vs, Selection(everything=True))
    N.review(burst.vs, Selection(event_id=burst.held_events[0]), release=True)
    before = dump(burst.store)
    with pytest.raises(Conflict, match="changed while you were deciding"):
        N.review(burst.vs, Selection(everything=True), release=False, reason="x", expected_notices=plan["notices"])
    assert dump(burst.store) == before


@pytest.mark.parametrize("args,match", [
    ((), "say which held notices"),
    (("--event", "999999"), "no held notices match"),
    (("--case", "NOPE-1"), "NOPE-1"),
    (("--since", "yesterday"), "malformed --since"),
    (("123456",), "is not held"),
])
def test_bad_selections_are_one_line_and_change_nothing(run, burst, args, match):
    before = dump(burst.store)
    code, out, err = run("vera", "notices", "release", *args, "--yes")
    assert code != 0 and match in err and "Traceback" not in err, err
    assert dump(burst.store) == before


def test_without_a_terminal_the_count_needs_yes(run, burst):
    before = dump(burst.store)
    code, out, err = run("vera", "notices", "discard", "--all", "--reason", "bad import")
    assert code == 2 and "This will discard" in err and "--yes" in err
    assert dump(burst.store) == before


def test_ids_and_filters_do_not_mix(run, burst):
    code, out, err = run("vera", "notices", "release", "1", "--all", "--yes")
    assert code == 2 and "not both" in err


def test_only_victim_services_review(run, burst):
    before = dump(burst.store)
    for user in ("oscar", "avery", "fay", "pat"):
        code, out, err = run(user, "notices", "discard", "--all", "--reason", "x", "--yes")
        assert code == 1 and "not permitted" in err, (user, err)
    with pytest.raises(NotPermitted):
        N.review(burst.officer, Selection(everything=True), release=True)
    assert dump(burst.store) == before


def test_held_lists_by_event_and_pages(run, burst):
    code, out, err = run("vera", "notices", "held", "--by-event", "--json")
    rows = json.loads(out)
    assert [r["case_event"] for r in rows] == burst.held_events
    assert all(r["held_notices"] == 1 and r["advance_notices_armed"] == 3 for r in rows)
    code, out, err = run("vera", "notices", "held", "--limit", "2", "--json")
    page = json.loads(out)
    assert page["total"] == len(burst.held_events) and len(page["notices"]) == 2
    code, out, err = run("vera", "notices", "held", "--limit", "2")
    assert "next page: --offset 2" in err
    code, out, err = run("vera", "notices", "held", "--limit", "2", "--offset", "2", "--json")
    assert [n["id"] for n in json.loads(out)["notices"]] and json.loads(out)["offset"] == 2
    code, out, err = run("vera", "notices", "held", "--case", "BULK-5", "--json")
    assert len(json.loads(out)["notices"]) == 1


def test_since_is_read_in_the_case_zone(burst):
    after = N.held(burst.vs, Selection(case_number="BULK-5", since="2026-03-03T10:01"))
    before = N.held(burst.vs, Selection(case_number="BULK-5", since="2026-03-03T09:59"))
    assert after["total"] == 0 and before["total"] == 1


def test_a_discard_reason_is_checked_as_text(burst):
    with pytest.raises(InvalidInput):
        N.review(burst.vs, Selection(everything=True), release=False, reason="bad\x00import")


def test_a_large_burst_is_reviewed_in_one_go(agency, tmp_path):
    """Hundreds of held notices (the 400 of a test, the 8,000 of Oregon) in one decision."""
    agency.admin.outbox = tmp_path
    agency.admin.set_setting("notification.mass_threshold", "5")
    agency.officer.open_case("BIG-1", "Person", "oscar", TZ)
    for i in range(120):
        party = agency.advocate.add_party("BIG-1", "survivor", f"S {i}", email=f"s{i}@example.org", channels=("email",))
        agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
        N.register(agency.advocate, "BIG-1", party["id"], "released")
    agency.clock.advance(timedelta(hours=1))
    out = N.record_event(agency.officer, "BIG-1", "released", agency.clock.now(), "")
    assert out["held_for_review"] == 120
    plan = N.review_plan(agency.vs, Selection(event_type="released"))
    done = N.review(agency.vs, Selection(event_type="released"), release=False, reason="bad feed",
                    expected_notices=plan["notices"])
    assert done["notices"] == 120
