"""Formal agreements (MOUs) with partners: an agency-level process with no case, on the simulated
clock: signed, in force, a review reminder 30 days before, review due, continue re-arms the next
review, revise makes version 2 (signed again), terminate, expiry at the end of the term; the access
it grants partners' staff follows it. Bad and hostile input is refused in one line with nothing
written. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine.clock import from_db
from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted, VcaseError
from engine.models import AccessGrant, Notice, Partner, Process, Timer
from services import agreements as ag
from tests.support import dump

TEXT = "Memorandum of understanding between the agency and Harbor House.\n"


def add_partner(agency, name="Harbor House", model="hybrid", retired=False) -> int:
    now = agency.clock.now()
    with agency.store.write() as s:
        partner = Partner(name=name, model=model, sector="dv_program", created_at=now, updated_at=now,
                          retired_at=now if retired else None)
        s.add(partner)
        s.flush()
        return partner.id


def draft(agency, partners, starts="2026-01-01", ends="2029-12-31", **extra):
    params = dict(title="Harbor MOU", partners=partners, purpose="Joint response to domestic violence",
                  contributions="Harbor: on-call advocates; agency: referrals", sharing_limits="No letters",
                  contacts="Hal Director; Vera Chief", starts=starts, ends=ends, text=TEXT,
                  grant_workflows="notification,referral", grant_permissions="case.show,party.show")
    params.update(extra)
    return ag.draft(agency.vs, **params)["agreement"]


def in_force(agency, partners=None, **extra) -> tuple[int, list[int]]:
    partners = partners or [add_partner(agency)]
    aid = draft(agency, partners, **extra)
    ag.sign(agency.vs, aid, "agency", "Vera Chief, Director")
    for p in partners:
        out = ag.sign(agency.vs, aid, str(p), "Hal Director")
    return aid, partners


def staff_notices(store, process_id):
    with store.read() as s:
        return [n.template.split("/")[-1] for n in s.execute(
            select(Notice).where(Notice.process_id == process_id).order_by(Notice.id)).scalars()]


def live_timers(store, process_id):
    with store.read() as s:
        return {t.name: from_db(t.due_at) for t in s.execute(select(Timer).where(
            Timer.process_id == process_id, Timer.status == "pending")).scalars()}


def live_grants(store, process_id):
    with store.read() as s:
        return list(s.execute(select(AccessGrant).where(AccessGrant.process_id == process_id,
                                                        AccessGrant.ended_at.is_(None))).scalars())


def test_signing_by_every_party_puts_it_in_force_with_no_case(agency):
    h, k = add_partner(agency), add_partner(agency, "Kin Center", "community_based")
    aid = draft(agency, [h, k])
    out = ag.show(agency.vs, aid)
    assert out["state"] == "draft" and out["case_number"] is None and out["versions"][0]["version"] == 1
    assert ag.sign(agency.vs, aid, "agency", "Vera Chief")["state"] == "draft"
    assert ag.sign(agency.vs, aid, str(h), "Hal Director")["state"] == "draft"
    assert live_grants(agency.store, aid) == []
    out = ag.sign(agency.vs, aid, str(k), "Kim Chair")
    assert out["events"] == ["sign", "execute", "activate"] and out["state"] == "active"
    grants = live_grants(agency.store, aid)
    assert sorted(g.partner_id for g in grants) == [h, k]
    assert grants[0].workflows == "notification,referral" and grants[0].permissions == "case.show,party.show"
    with agency.store.read() as s:
        process = s.get(Process, aid)
        assert process.case_id is None and process.agency_level
    facts = ag.show(agency.vs, aid)["facts"]
    assert set(facts["signatures"]) == {"agency", str(h), str(k)}
    assert facts["signatures"]["agency"]["by"] == "Vera Chief"


def test_a_term_that_has_not_started_waits_in_signed_until_its_start(agency):
    aid, _ = in_force(agency, starts="2026-06-01", ends="2027-06-01")
    assert ag.show(agency.vs, aid)["state"] == "signed"
    assert live_grants(agency.store, aid) == []
    agency.admin.run_until(agency.clock.now() + timedelta(days=100))
    assert ag.show(agency.vs, aid)["state"] == "active"
    assert len(live_grants(agency.store, aid)) == 1


def test_the_whole_review_cycle_on_the_simulated_clock(agency):
    aid, _ = in_force(agency)
    start = agency.clock.now()
    timers = live_timers(agency.store, aid)
    review_at = timers["review"]
    assert review_at.date().isoformat() == "2027-03-02"  # 12 months, the default
    assert timers["review_reminder"] == review_at - timedelta(days=30)
    assert ag.list_agreements(agency.vs, due=True) == []
    # 30 days before: a reminder to victim services, and it shows as needing review
    agency.admin.run_until(review_at - timedelta(days=30))
    assert staff_notices(agency.store, aid) == ["review_reminder"]
    assert [r["id"] for r in ag.list_agreements(agency.vs, due=True)] == [aid]
    assert ag.show(agency.vs, aid)["state"] == "active"
    # the review date: review due, told again
    agency.admin.run_until(review_at)
    assert ag.show(agency.vs, aid)["state"] == "review_due"
    assert staff_notices(agency.store, aid) == ["review_reminder", "review_due"]
    assert len(live_grants(agency.store, aid)) == 1  # still in force while it is reviewed
    # continue: active again, the next review armed 12 months on
    agency.clock.set(review_at + timedelta(days=3))
    assert ag.continue_(agency.vs, aid, note="Working well")["state"] == "active"
    nxt = live_timers(agency.store, aid)["review"]
    assert nxt.date().isoformat() == "2028-03-05"
    assert ag.list_agreements(agency.vs, due=True) == []
    # the next review: revise, version 2, signed again by both
    agency.admin.run_until(nxt)
    assert ag.show(agency.vs, aid)["state"] == "review_due"
    out = ag.revise(agency.vs, aid, TEXT + "Amendment 1: referrals only.\n", grant_workflows="referral")
    assert out["state"] == "revising"
    shown = ag.show(agency.vs, aid)
    assert [v["version"] for v in shown["versions"]] == [1, 2] and shown["facts"]["revision"] == 2
    assert shown["facts"]["signatures"] == {}
    assert [g.workflows for g in live_grants(agency.store, aid)] == ["referral"]  # the new scope, still in force
    assert "Amendment 1" in ag.read_text(agency.vs, aid)["text"]
    assert "Amendment 1" not in ag.read_text(agency.vs, aid, 1)["text"]
    partner = str(shown["facts"]["partners"][0])
    ag.sign(agency.vs, aid, "agency", "Vera Chief")
    assert ag.sign(agency.vs, aid, partner, "Hal Director")["events"] == ["sign", "execute"]
    assert ag.show(agency.vs, aid)["state"] == "active"
    assert "review" in live_timers(agency.store, aid)
    # terminate: the grant ends in the same transaction, nothing left armed
    assert ag.terminate(agency.vs, aid, "Written notice from Harbor House")["state"] == "terminated"
    assert live_grants(agency.store, aid) == [] and live_timers(agency.store, aid) == {}
    assert ag.list_agreements(agency.vs) == []
    assert [r["state"] for r in ag.list_agreements(agency.vs, ended=True)] == ["terminated"]
    assert agency.clock.now() > start


def test_it_expires_at_the_end_of_its_term_unless_renewed(agency):
    aid, _ = in_force(agency, ends="2026-09-01")
    assert live_timers(agency.store, aid)["term_end"].date().isoformat() == "2026-09-01"
    agency.admin.run_until(agency.clock.now() + timedelta(days=200))
    out = ag.show(agency.vs, aid)
    assert out["state"] == "expired" and out["ended"]
    assert staff_notices(agency.store, aid) == ["term_ending", "expired"]
    assert live_grants(agency.store, aid) == [] and live_timers(agency.store, aid) == {}
    assert out["access"][0]["ended_because"] == "agreement expired"


def test_renewed_at_a_review_the_term_and_the_grant_run_on(agency):
    aid, _ = in_force(agency, ends="2026-09-01")
    ag.review(agency.vs, aid)  # taken up early, to renew
    ag.continue_(agency.vs, aid, ends="2028-09-01")
    assert live_timers(agency.store, aid)["term_end"].date().isoformat() == "2028-09-01"
    assert from_db(live_grants(agency.store, aid)[0].until).date().isoformat() == "2028-09-01"
    agency.admin.run_until(agency.clock.now() + timedelta(days=200))
    assert ag.show(agency.vs, aid)["state"] == "active"


def test_the_review_interval_and_reminder_are_settings(agency):
    agency.admin.set_setting("agreement.review_months", "6")
    agency.admin.set_setting("agreement.review_reminder_days", "10")
    aid, _ = in_force(agency)
    timers = live_timers(agency.store, aid)
    assert timers["review"].date().isoformat() == "2026-09-02"
    assert timers["review_reminder"] == timers["review"] - timedelta(days=10)
    with pytest.raises(InvalidInput, match="agreement.review_months"):
        agency.admin.set_setting("agreement.review_months", "0")


def test_times_are_read_in_the_agencys_zone(agency):
    agency.admin.set_setting("agency.time_zone", "America/Chicago")
    aid = draft(agency, [add_partner(agency)], starts="2026-01-01", ends="2027-01-01")
    facts = ag.show(agency.vs, aid)["facts"]
    assert facts["ends"] == "2027-01-01T06:00:00+00:00"  # midnight in Chicago


def test_notices_of_an_agreement_go_to_victim_services_only_and_are_delivered(agency):
    aid, _ = in_force(agency, ends="2026-09-01")
    agency.admin.run_until(agency.clock.now() + timedelta(days=200))
    with agency.store.read() as s:
        notices = list(s.execute(select(Notice).where(Notice.process_id == aid)).scalars())
        assert notices and all(n.case_id is None and n.audience == "staff" for n in notices)
        staff = {n.recipient_staff_id for n in notices}
    with agency.store.read() as s:
        roles = {r for (r,) in s.execute(text("SELECT role FROM staff WHERE id IN (%s)" % ",".join(map(str, staff))))}
    assert roles == {"victim_services"}
    from services import notify_api

    listed = notify_api.list_notices(agency.vs, process_id=aid)
    assert len(listed) == len(notices)
    body = notify_api.show_notice(agency.vs, listed[-1]["id"])["body"]
    assert f"agreement #{aid}" in body and "None" not in body
    notify_api.deliver(agency.admin)
    with agency.store.read() as s:
        assert {n.status for n in s.execute(select(Notice).where(Notice.process_id == aid)).scalars()} == {"sent"}


@pytest.mark.parametrize("case,match", [
    (dict(partners=[999]), "no partner 999"),
    (dict(starts="2027-01-01", ends="2026-12-01"), "must end after it starts"),
    (dict(starts="2020-01-01", ends="2021-01-01"), "already ended"),
    (dict(ends="next year"), "ends"),
    (dict(grant_workflows="letter_bank"), "cannot grant the workflow 'letter_bank'"),
    (dict(grant_permissions="notice.read"), "cannot grant 'notice.read'"),
    (dict(grant_permissions="staff.add"), "cannot grant 'staff.add'"),
    (dict(title=""), "missing title"),
    (dict(title="x" * 3000), "title"),
    (dict(text=b"\xff\xfe not utf-8"), "UTF-8"),
    (dict(text=""), "agreement"),
], ids=["unknown-partner", "ends-before-start", "already-ended", "bad-date", "letters", "notices",
        "staff-add", "no-title", "long-title", "not-utf8", "empty-text"])
def test_bad_drafts_are_refused_with_nothing_written(agency, case, match):
    partner = add_partner(agency)
    before = dump(agency.store)
    params = dict(partners=[partner])
    params.update(case)
    with pytest.raises(VcaseError, match=match):
        draft(agency, **params)
    assert dump(agency.store) == before


def test_a_retired_partner_takes_no_new_agreement(agency):
    partner = add_partner(agency, retired=True)
    before = dump(agency.store)
    with pytest.raises(VcaseError, match="retired|no active partner"):
        draft(agency, [partner])
    assert dump(agency.store) == before


def test_bad_signatures_are_refused_with_nothing_written(agency):
    partner = add_partner(agency)
    aid = draft(agency, [partner])
    ag.sign(agency.vs, aid, "agency", "Vera Chief")
    before = dump(agency.store)
    for party, at, match in [("agency", None, "already signed"), ("77", None, "not a party"),
                             (str(partner), "2031-01-01", "future"), ("", None, "missing party")]:
        with pytest.raises(VcaseError, match=match):
            ag.sign(agency.vs, aid, party, "Someone", at)
    with pytest.raises(NotAllowed, match="Can't continue when in draft"):
        ag.continue_(agency.vs, aid)
    with pytest.raises(NotFound, match="no agreement 4242"):
        ag.sign(agency.vs, 4242, "agency", "X")
    assert dump(agency.store) == before


def test_only_victim_services_and_admins_have_agreements(agency):
    partner = add_partner(agency)
    aid = draft(agency, [partner])
    before = dump(agency.store)
    for app in (agency.officer, agency.advocate, agency.facilitator, agency.parole):
        with pytest.raises(NotPermitted):
            ag.list_agreements(app)
        with pytest.raises(NotPermitted):
            ag.show(app, aid)
        with pytest.raises(NotPermitted):
            ag.sign(app, aid, "agency", "X")
        with pytest.raises(NotPermitted):
            ag.draft(app, title="t", partners=[partner], purpose="p", contributions="c", sharing_limits="s",
                     contacts="k", starts="2026-01-01", ends="2027-01-01", text=TEXT)
    assert dump(agency.store) == before
    assert ag.show(agency.admin, aid)["state"] == "draft"


def test_an_agreement_is_never_on_a_case_and_a_case_process_always_is(agency):
    with pytest.raises(InvalidInput, match="belongs to the agency"):
        agency.vs.start(agency.case, "agreement", None, params={})
    with pytest.raises(InvalidInput, match="started on a case"):
        agency.advocate.start(None, "notification", agency.victim, "phone", {"events": "all"})
    now = agency.clock.now()
    with pytest.raises(VcaseError, match="process_case_unless_agency_level"):  # the schema holds it too
        with agency.store.write() as s:
            s.add(Process(case_id=None, agency_level=False, workflow="notification", workflow_version=1,
                          state="active", victim_initiated=False, data={}, started_at=now, updated_at=now))
            s.flush()


# -- the command line ------------------------------------------------------------

def test_the_commands_walk_an_agreement(run, agency, tmp_path):
    partner = add_partner(agency)
    mou = tmp_path / "mou.txt"
    mou.write_text(TEXT)
    code, out, err = run("vera", "agreement", "draft", "--title", "Harbor MOU", "--partner", str(partner),
                         "--purpose", "Joint response", "--contributions", "advocates", "--sharing-limits", "no letters",
                         "--contacts", "Hal", "--starts", "2026-01-01", "--ends", "2029-01-01",
                         "--grant-workflow", "referral", "--grant", "case.show", "--file", str(mou))
    assert code == 0, err
    assert "Agreement 1: start; now draft." in out
    code, out, err = run("vera", "agreement", "sign", "1", "--party", "agency", "--signer", "Vera Chief")
    assert code == 0 and "now draft" in out, err
    code, out, err = run("vera", "agreement", "sign", "1", "--party", str(partner), "--signer", "Hal")
    assert code == 0 and "sign -> execute -> activate; now active" in out, err
    code, out, err = run("vera", "agreement", "show", "1")
    assert code == 0 and "Access granted to partner staff" in out and "referral" in out, err
    code, out, err = run("vera", "agreement", "show", "1", "--text")
    assert code == 0 and "Memorandum of understanding" in out
    code, out, err = run("vera", "agreement", "list", "--due")
    assert code == 0 and "(none due for review)" in out
    code, out, err = run("vera", "agreement", "review", "1", "--now")
    assert code == 0 and "now review due" in out
    code, out, err = run("vera", "agreement", "list", "--due", "--json")
    assert code == 0 and '"state": "review_due"' in out
    mou.write_text(TEXT + "Amended.\n")
    code, out, err = run("vera", "agreement", "review", "1", "--revise", str(mou), "--grant-workflow", "notification")
    assert code == 0 and "now revising" in out, err
    code, out, err = run("vera", "agreement", "terminate", "1", "--reason", "Written notice")
    assert code == 0 and "now terminated" in out
    code, out, err = run("vera", "agreement", "list", "--ended")
    assert code == 0 and "terminated" in out


@pytest.mark.parametrize("args,match,exit_code", [
    (["agreement", "sign", "1", "--party", "agency", "--signer", "X"], "no agreement 1", 1),
    (["agreement", "review", "1"], "choose one of", 2),
    (["agreement", "review", "1", "--now", "--continue"], "choose one of", 2),
    (["agreement", "review", "1", "--now", "--ends", "2030-01-01"], "--ends goes with", 2),
    (["agreement", "show", "1", "--version", "2"], "--version goes with --text", 2),
    (["agreement", "sign", "0", "--party", "agency", "--signer", "X"], "0", 2),
    (["agreement", "terminate", "99999999999999999999", "--reason", "x"], "", 2),
    (["agreement", "show", "3000000000"], "no agreement 3000000000", 1),
])
def test_bad_commands_say_so_in_one_line_and_write_nothing(run, agency, store, args, match, exit_code):
    before = dump(store)
    code, out, err = run("vera", *args)
    assert code == exit_code and match in err and "Traceback" not in out + err
    if exit_code == 1:
        assert len(err.strip().splitlines()) == 1
    assert dump(store) == before


HOSTILE = ["'; DROP TABLE process; --", "<script>alert(1)</script>", "{{ agency_name }}", "\u202eevil",
           "a\x00b", "x" * 5000]


@pytest.mark.parametrize("value", HOSTILE, ids=["sql", "html", "jinja", "bidi", "nul", "long"])
def test_hostile_text_is_stored_as_text_or_refused_whole(run, agency, store, tmp_path, value):
    partner = add_partner(agency)
    mou = tmp_path / "mou.txt"
    mou.write_text(TEXT)
    before = dump(store)
    code, out, err = run("vera", "agreement", "draft", "--title", value, "--partner", str(partner),
                         "--purpose", value, "--contributions", "c", "--sharing-limits", "s", "--contacts", value,
                         "--starts", "2026-01-01", "--ends", "2029-01-01", "--file", str(mou))
    assert "Traceback" not in out + err
    if code != 0:
        assert code == 1 and len(err.strip().splitlines()) == 1
        assert dump(store) == before
        return
    shown = ag.show(agency.vs, 1)["facts"]
    assert shown["title"] == value.strip()
    with store.read() as s:
        assert s.execute(text("SELECT count(*) FROM process")).scalar() >= 1


# -- the engine's rules for agency-level processes --------------------------------

def _variant(**changes):
    from dataclasses import replace

    from workflows.agreement import WORKFLOW

    return replace(WORKFLOW, **changes)


def test_agency_level_definitions_are_checked_at_load():
    from dataclasses import replace

    from engine.definition import VICTIM, Notify, allow, check
    from engine.errors import DefinitionError
    from workflows.agreement import WORKFLOW

    check(WORKFLOW)
    told_victim = replace(WORKFLOW.steps[0], notify=(Notify("review_due", VICTIM),))
    with pytest.raises(DefinitionError, match="agency-level processes tell only staff"):
        check(_variant(steps=(told_victim,) + WORKFLOW.steps[1:]))
    with pytest.raises(DefinitionError, match="agency-level processes have no parties"):
        check(_variant(start_by=(allow("victim_services", side="victim"),)))
    with pytest.raises(DefinitionError, match="only agency-level processes grant access"):
        check(_variant(agency_level=False))
    with pytest.raises(DefinitionError, match="only agency-level processes grant access"):
        check(_variant(grants=replace(WORKFLOW.grants, states=frozenset({"expired"}))))


def test_what_an_agreement_grants_is_part_of_its_fingerprint():
    from dataclasses import replace

    from workflows.agreement import WORKFLOW

    wider = replace(WORKFLOW.grants, states=WORKFLOW.grants.states | {"signed"})
    assert _variant(grants=wider).fingerprint() != WORKFLOW.fingerprint()
    assert _variant(agency_level=False, grants=None).fingerprint() != WORKFLOW.fingerprint()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0006_goes_down_and_up_with_an_agreement_on_file(kind, tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from engine.schema import alembic_config, upgrade
    from tests.test_migrations import empty_store

    with empty_store(kind, tmp_path) as store:
        upgrade(store)
        from engine.clock import SimulatedClock
        from tests.conftest import START, build_admin, build_agency

        agency = build_agency(build_admin(store, SimulatedClock(START), tmp_path / "outbox"))
        aid, _ = in_force(agency, ends="2026-09-01")
        agency.admin.run_until(agency.clock.now() + timedelta(days=200))  # notices with no case
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0005")
        assert "access_grant" not in inspect(store.engine).get_table_names()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM process WHERE case_id IS NULL")).scalar() == 0
        assert upgrade(store)[0] == "0005"  # and up to the current revision
        assert "access_grant" in inspect(store.engine).get_table_names()
