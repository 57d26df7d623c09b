"""Agreements govern access (issue 14 part 5): a member of a partner's staff may read and act only
within what their partner's agreement in force grants, and nothing at all before it is in force or
once it expires or is terminated; never letters. Enforced by the engine's checks (permissions.require,
runtime reads and permits, process listings), so every path is covered, the CLI included. The
agency's own staff are unchanged. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Hidden, NotFound, NotPermitted, VcaseError
from services import agreements as ag
from services import letters
from tests.support import dump
from tests.test_agreements import TEXT, add_partner
from tests.test_role_matrix import invocations

GRANT = dict(grant_workflows="notification,referral", grant_permissions="case.list,case.show,party.show,event.list")


@pytest.fixture
def partner_staff(agency):
    """Harbor House, its advocate hana (a partner's staff member), a registration and a letter on
    the case, and no agreement yet."""
    agency.partner = add_partner(agency)
    agency.other_partner = add_partner(agency, "Kin Center", "community_based")
    agency.admin.add_staff("hana", "Hana Harbor", "advocate", email="hana@harbor.example", partner=agency.partner)
    agency.admin.add_staff("kai", "Kai Kin", "advocate", partner=agency.other_partner)
    agency.hana, agency.kai = agency.admin.as_user("hana"), agency.admin.as_user("kai")
    agency.registration = agency.advocate.start(agency.case, "notification", agency.victim, "phone",
                                                {"events": "all"})["process"]
    agency.letter = letters.submit(agency.officer, agency.case, agency.victim, agency.offender,
                                   "I am sorry for the harm I caused.", "in_writing")["letter"]
    return agency


def agree(agency, starts="2026-01-01", ends="2029-12-31", **grant) -> int:
    aid = ag.draft(agency.vs, title="Harbor MOU", partners=[agency.partner], purpose="p", contributions="c",
                   sharing_limits="no letters", contacts="Hal", starts=starts, ends=ends, text=TEXT,
                   **(grant or GRANT))["agreement"]
    ag.sign(agency.vs, aid, "agency", "Vera Chief")
    ag.sign(agency.vs, aid, str(agency.partner), "Hal Director")
    return aid


def can_read(agency, app) -> bool:
    try:
        app.show_process(agency.registration)
        app.show_case(agency.case)
        return True
    except (NotPermitted, Hidden):
        return False


def test_without_an_agreement_a_partners_staff_can_do_nothing(partner_staff):
    a = partner_staff
    before = dump(a.store)
    for call in (lambda: a.hana.list_cases(), lambda: a.hana.show_case(a.case),
                 lambda: a.hana.list_parties(a.case), lambda: a.hana.list_processes(a.case)):
        with pytest.raises(NotPermitted, match="no agreement in force grants it"):
            call()
    with pytest.raises(Hidden):
        a.hana.show_process(a.registration)
    with pytest.raises(VcaseError):
        a.hana.send(a.registration, "withdraw", for_party=a.victim, via="phone")
    with pytest.raises(NotPermitted):
        a.hana.start(a.case, "notification", a.victim, "phone", {"events": "all"})
    assert dump(a.store) == before


def test_in_force_it_grants_exactly_what_it_names(partner_staff):
    a = partner_staff
    agree(a)
    shown = a.hana.show_case(a.case)
    assert {p["workflow"] for p in shown["processes"]} == {"notification"}  # no letter, though an advocate reads letters
    assert a.hana.show_process(a.registration)["state"] == a.advocate.show_process(a.registration)["state"]
    assert [p["id"] for p in a.hana.list_processes(a.case, "notification")] == [a.registration]
    assert a.hana.list_parties(a.case)
    # acting within it: a registration for the victim, recorded as hana's
    out = a.hana.start(a.case, "notification", a.guardian, "phone", {"events": "all"})
    assert out["to"] == "active"
    # nothing it does not name
    with pytest.raises(NotPermitted):
        a.hana.list_staff()
    from services import notify_api

    with pytest.raises(NotPermitted, match="no agreement in force grants it"):  # an advocate may, hana may not
        notify_api.list_notices(a.hana)
    with pytest.raises(NotPermitted):
        a.hana.start(a.case, "dialogue", a.victim, "phone", {})
    # the agency's own advocate is unchanged
    assert {p["workflow"] for p in a.advocate.show_case(a.case)["processes"]} >= {"notification", "letter_bank"}


def test_a_partners_staff_never_reads_letters(partner_staff):
    a = partner_staff
    agree(a)
    before = dump(a.store)
    with pytest.raises(Hidden):
        a.hana.show_process(a.letter)
    with pytest.raises((Hidden, NotPermitted)):
        a.hana.read_document(a.letter, "letter")
    with pytest.raises(NotPermitted):
        a.hana.list_processes(a.case, "letter_bank")
    for call in (lambda: letters.show(a.hana, a.letter), lambda: letters.read_text(a.hana, a.letter),
                 lambda: letters.list_for_case(a.hana, a.case)):
        with pytest.raises((Hidden, NotPermitted, NotFound)):
            call()
    with pytest.raises(VcaseError, match="cannot grant the workflow 'letter_bank'"):
        agree(a, grant_workflows="letter_bank,notification", grant_permissions="case.show")
    assert dump(a.store) == before


def test_access_ends_the_moment_the_term_ends(partner_staff):
    a = partner_staff
    aid = agree(a, ends="2026-06-01")
    end = ag.show(a.vs, aid)["access"][0]["until"]
    assert end == "2026-06-01T00:00:00+00:00"
    from engine.clock import parse_when

    a.clock.set(parse_when(end) - timedelta(seconds=1))
    assert can_read(a, a.hana)
    a.clock.set(parse_when(end))  # not a timer fired yet: the grant's own end already holds
    assert not can_read(a, a.hana)
    a.admin.run_until(parse_when(end) + timedelta(minutes=1))
    assert ag.show(a.vs, aid)["state"] == "expired"
    assert not can_read(a, a.hana)
    assert can_read(a, a.advocate)


def test_access_ends_when_the_agreement_is_terminated(partner_staff):
    a = partner_staff
    aid = agree(a)
    assert can_read(a, a.hana)
    ag.terminate(a.vs, aid, "Written notice")
    assert not can_read(a, a.hana)
    with pytest.raises(NotPermitted):
        a.hana.start(a.case, "notification", a.guardian, "phone", {"events": "all"})


def test_access_waits_for_the_start_of_the_term_and_covers_only_its_partners(partner_staff):
    a = partner_staff
    aid = agree(a, starts="2026-05-01", ends="2027-05-01")
    assert ag.show(a.vs, aid)["state"] == "signed"
    assert not can_read(a, a.hana)
    a.admin.run_until(a.clock.now() + timedelta(days=90))
    assert can_read(a, a.hana)
    assert not can_read(a, a.kai)  # Kin Center is no party to it


def test_a_revision_narrows_the_grant_at_once(partner_staff):
    a = partner_staff
    aid = agree(a)
    ag.review(a.vs, aid)
    ag.revise(a.vs, aid, TEXT + "Amended\n", grant_workflows="referral", grant_permissions="case.show")
    with pytest.raises(Hidden):
        a.hana.show_process(a.registration)
    assert a.hana.show_case(a.case)["processes"] == []


def test_staff_add_partner_on_the_command_line(run, agency, store):
    partner = add_partner(agency)
    code, out, err = run("ada", "staff", "add", "hana", "--name", "Hana Harbor", "--role", "advocate",
                         "--partner", str(partner))
    assert code == 0 and f"staff of partner {partner}" in out, err
    code, out, err = run("ada", "staff", "list", "--json")
    assert f'"partner": {partner}' in out
    before = dump(store)
    for args, match in [(["--partner", "999"], "no active partner 999"),
                        (["--partner", "3000000000"], "no active partner 3000000000"),
                        (["--partner", str(partner), "--role", "admin"], "cannot be an admin")]:
        role = [] if "--role" in args else ["--role", "advocate"]
        code, out, err = run("ada", "staff", "add", "zed", "--name", "Zed", *role, *args)
        assert code == 1 and match in err and len(err.strip().splitlines()) == 1, err
    assert dump(store) == before
    # through the command line too, before any agreement: refused in one line
    code, out, err = run("hana", "case", "show", "2026-CR-0001")
    assert code == 1 and "no agreement in force grants it" in err


def test_every_permission_key_is_refused_to_a_partners_staff_without_an_agreement(run, partner_staff, store):
    a = partner_staff
    table = invocations(a)
    before = dump(store)
    for key in sorted(table):
        code, out, err = run("hana", *table[key])
        assert code == 1 and "not permitted" in err, (key, out, err)
    assert dump(store) == before


def test_no_grant_opens_the_letter_bank_even_one_written_by_hand(partner_staff):
    """The letter bank is closed to partners' staff in its definition (``partner_staff=False``):
    the engine refuses it whatever a grant row names."""
    from sqlalchemy import update

    from engine.models import AccessGrant

    a = partner_staff
    aid = agree(a)
    with a.store.write() as s:
        s.execute(update(AccessGrant).where(AccessGrant.process_id == aid)
                  .values(workflows="notification,referral,letter_bank,dialogue"))
    with pytest.raises(Hidden):
        a.hana.show_process(a.letter)
    with pytest.raises(NotPermitted):
        a.hana.list_processes(a.case, "letter_bank")
    assert "letter_bank" not in {p["workflow"] for p in a.hana.show_case(a.case)["processes"]}
    assert a.hana.show_process(a.registration)["workflow"] == "notification"
