"""Intimidation and retaliation reports (issue 15): escalation at once, re-escalation until someone
acknowledges, who sees what, and the safety steps. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import Hidden, InvalidInput, NotAllowed, NotPermitted, VcaseError
from engine.models import Notice, Timer
from services import case_contacts, intimidation, partners
from tests.support import dump

ACCOUNT = "He drove past her house three times and texted that she would regret testifying."


def _partner(app, name, sector, contacts):
    out = partners.add(app, name=name, model="systems_based", sector=sector)
    ids = []
    for i, (person, email, phone) in enumerate(contacts, start=1):
        c = partners.add_contact(app, out["id"], name=person, email=email, phone=phone, escalation_order=i)
        ids.append(c["id"])
    return ids


@pytest.fixture
def case(agency):
    """The agency's case with designated contacts: two law-enforcement, one prosecutor."""
    law = _partner(agency.vs, "County Sheriff", "law_enforcement",
                   [("Det. Ruiz", "ruiz@sheriff.example", "+1 312 555 0111"),
                    ("Sgt. Lee", "lee@sheriff.example", None)])
    pros = _partner(agency.vs, "District Attorney", "prosecutor", [("ADA Park", "park@da.example", None)])
    case_contacts.set_contacts(agency.vs, agency.case, law_enforcement=law, prosecutor=pros)
    agency.law, agency.pros = law, pros
    return agency


def _report(app, agency, **over):
    values = dict(account=ACCOUNT, happened_at="2026-03-02T08:30", by_whom="supervised_person",
                  reached_via="text", safe_channel="phone", safe_times="weekdays 12:00-13:00", message_ok=False)
    values.update(over)
    return intimidation.report(app, agency.case, agency.victim, **values)


def _notices(store, report_id):
    with store.read() as s:
        return list(s.execute(select(Notice).where(Notice.process_id == report_id).order_by(Notice.id)).scalars())


def test_recording_escalates_at_once_in_the_same_transaction(case):
    out = _report(case.advocate, case)
    notices = _notices(case.store, out["report"])
    assert all(n.emergency for n in notices)
    assert {(n.audience, n.channel) for n in notices} == {
        ("responder", "email"), ("responder", "sms"), ("staff", "email")}
    assert {n.recipient_contact_id for n in notices if n.audience == "responder"} == {case.law[0], case.pros[0]}
    now = case.clock.now()
    assert all(n.not_before.replace(tzinfo=now.tzinfo) <= now for n in notices)


def _bodies(store, vault, report_id, **where):
    out = []
    for n in _notices(store, report_id):
        if all(getattr(n, k) == v for k, v in where.items()):
            out.append(vault.decrypt(n.subject_enc) + "\n" + vault.decrypt(n.body_enc))
    return out


def test_escalation_at_3am_local_during_a_mass_guard_hold_goes_out_at_once(reg, case, smtp):
    from engine.clock import parse_when
    from services import notify_api as N

    N.deliver(case.admin)
    case.admin.set_setting("notification.mass_threshold", "1")
    case.admin.set_setting("notification.mass_window_minutes", "60")
    case.officer.open_case("2026-CR-0002", "Other Person", "oscar", "America/Chicago")
    other = case.advocate.add_party("2026-CR-0002", "victim", "Olga Other", email="olga@example.org", channels=("email",))
    case.advocate.explain_confidentiality(other["id"], "in_person")
    N.register(case.advocate, "2026-CR-0002", other["id"], "all")
    N.deliver(case.admin)
    case.clock.set(parse_when("2026-03-03T03:00", "America/Chicago"))
    held = [N.record_event(case.officer, c, "transfer", "2026-03-03T02:50", "import")["held_for_review"]
            for c in (case.case, "2026-CR-0002")]
    assert held == [False, True], "the guard is holding an event"
    smtp.messages.clear()
    out = _report(case.advocate, case, happened_at="2026-03-03T02:40")
    N.deliver(case.admin)
    got = {m["To"] for m in smtp.messages}
    assert {"ruiz@sheriff.example", "park@da.example", "oscar@agency.example"} <= got
    assert "olga@example.org" not in got, "the held event stays held"
    [mail] = smtp.to("ruiz@sheriff.example")
    assert "URGENT" in mail["Subject"] and "2026-CR-0001" in mail["Subject"]
    body = mail.get_body().get_content()
    assert "Sam Supervised" in body and "Maria" not in body and "maria@example.org" not in body
    assert "weekdays" not in body, "never the safe-contact choice"
    with case.store.read() as s:
        sms = [n for n in _notices(case.store, out["report"]) if n.channel == "sms"]
        assert [n.status for n in sms] == ["sent"]


def test_re_escalation_at_each_interval_until_acknowledged(case):
    out = _report(case.advocate, case)
    rid = out["report"]
    start = case.clock.now()
    contacts = lambda: [n.recipient_contact_id for n in _notices(case.store, rid) if n.audience == "responder"
                        and n.channel == "email"]
    staff = lambda: [n.recipient_staff_id for n in _notices(case.store, rid) if n.audience == "staff"]
    assert contacts() == [case.law[0], case.pros[0]]
    case.clock.set(start + timedelta(minutes=14))
    case.admin.fire_due()
    assert contacts() == [case.law[0], case.pros[0]], "nothing before the interval"
    case.clock.set(start + timedelta(minutes=15))
    case.admin.fire_due()
    assert contacts()[2:] == [case.law[1], case.pros[0]], "the next on each list (the last again past its end)"
    with case.store.read() as s:
        from engine.models import Staff

        vera = s.execute(select(Staff.id).where(Staff.login == "vera")).scalar_one()
    assert staff().count(vera) == 1, "victim-services supervisors are told"
    case.clock.set(start + timedelta(minutes=30))
    case.admin.fire_due()
    assert contacts()[4:] == [case.law[1], case.pros[0]] and staff().count(vera) == 2, "and again"
    case.clock.set(start + timedelta(minutes=33))
    intimidation.acknowledge(case.officer, rid, "Det. Ruiz, County Sheriff", "called; warrant requested")
    before = len(_notices(case.store, rid))
    case.clock.set(start + timedelta(hours=3))
    case.admin.fire_due()
    assert len(_notices(case.store, rid)) == before, "not after acknowledgement"
    history = {e["action"]: e for e in case.vs.history(rid)}
    assert history["acknowledge"]["at"] == (start + timedelta(minutes=33)).isoformat()
    actions = [e["action"] for e in case.vs.history(rid)]
    assert actions.count("re_escalate") == 2 and actions[0] == "start"
    shown = intimidation.show(case.vs, rid)
    assert shown["state"] == "acknowledged" and shown["facts"]["acknowledged_by"].startswith("Det. Ruiz")


def test_the_interval_is_a_typed_setting(case):
    with pytest.raises(VcaseError):
        case.admin.set_setting("intimidation.ack_minutes", "soon")
    case.admin.set_setting("intimidation.ack_minutes", "5")
    rid = _report(case.advocate, case)["report"]
    with case.store.read() as s:
        [timer] = s.execute(select(Timer).where(Timer.process_id == rid, Timer.status == "pending")).scalars()
        assert (timer.due_at - timer.created_at) == timedelta(minutes=5)


def test_offender_and_parole_board_see_nothing(case):
    rid = _report(case.advocate, case, share="name,summary", summary="He threatened her by text.")["report"]
    with pytest.raises(Hidden) as refused:
        intimidation.show(case.parole, rid)
    assert "no intimidation report" in str(refused.value)
    with pytest.raises(Hidden):
        case.parole.show_process(rid)
    with pytest.raises(NotPermitted):
        intimidation.list_for_case(case.parole, case.case)
    assert not [p for p in case.parole.show_case(case.case)["processes"] if p.get("workflow") == "intimidation"]
    assert not [n for n in _notices(case.store, rid) if n.audience == "offender"]
    with pytest.raises(Hidden):
        intimidation.read_document(case.parole, rid, "account")


def test_officer_sees_that_it_exists_and_the_shared_summary_never_whereabouts(case):
    rid = _report(case.advocate, case, share="summary", summary="He threatened her by text.",
                  evidence=("Screenshot text: you will regret it",))["report"]
    view = intimidation.show(case.officer, rid)
    assert view["summary"] == "He threatened her by text." and view["by_whom"] == "supervised_person"
    flat = repr(view)
    assert "weekdays" not in flat and ACCOUNT not in flat and "regret" not in flat and "maria" not in flat.lower()
    with pytest.raises(Hidden):
        intimidation.read_document(case.officer, rid, "safe_contact")
    [officer_mail] = _bodies(case.store, case.store.vault, rid, audience="staff")
    assert "Maria" not in officer_mail and "weekdays" not in officer_mail and ACCOUNT not in officer_mail
    quiet = _report(case.advocate, case)["report"]
    assert "summary" not in intimidation.show(case.officer, quiet)
    rows = intimidation.list_for_case(case.officer, case.case)
    assert [r["id"] for r in rows] == [rid, quiet] and "facts" not in rows[0]


def test_responder_gets_victim_fields_only_as_agreed(case):
    rid = _report(case.advocate, case, share="name")["report"]
    [mail] = _bodies(case.store, case.store.vault, rid, audience="responder", channel="email",
                     recipient_contact_id=case.law[0])
    assert "Maria Victim" in mail and "maria@example.org" not in mail and "+1 312" not in mail
    rid = _report(case.advocate, case, share="contact")["report"]
    [mail] = _bodies(case.store, case.store.vault, rid, audience="responder", channel="email",
                     recipient_contact_id=case.law[0])
    assert "Maria Victim" not in mail and "maria@example.org" in mail


@pytest.mark.parametrize("over,words", [
    ({"happened_at": "2026-03-09T10:00"}, "future"),
    ({"happened_at": "yesterday"}, "happened_at"),
    ({"by_whom": "neighbour"}, "by_whom"),
    ({"reached_via": "pigeon"}, "reached_via"),
    ({"account": "   "}, "empty"),
    ({"account": b"\xff\xfe bad"}, "UTF-8"),
    ({"safe_times": "noon\x1b[2J"}, "safe-times"),
    ({"safe_channel": "carrier_pigeon"}, "safe-channel"),
    ({"share": "address"}, "address"),
    ({"share": "summary"}, "summary"),
], ids=["future", "not-a-time", "by-whom", "reached-via", "empty-account", "not-utf8", "control-chars",
        "channel", "share-unknown", "summary-missing"])
def test_hostile_input_is_refused_and_nothing_written(case, over, words):
    before = dump(case.store)
    with pytest.raises(VcaseError) as refused:
        _report(case.advocate, case, **over)
    assert words.lower() in str(refused.value).lower()
    assert dump(case.store) == before


def test_a_case_without_designated_contacts_is_refused(agency):
    before = dump(agency.store)
    with pytest.raises(InvalidInput) as refused:
        _report(agency.advocate, agency)
    assert "vcase case contacts" in str(refused.value)
    assert dump(agency.store) == before


def test_safety_steps_order_referral_check_ins_and_close(case):
    rid = _report(case.advocate, case)["report"]
    with pytest.raises(NotAllowed):
        intimidation.step(case.advocate, rid, "record_safety_plan", document="plan", victim_side=True)
    intimidation.acknowledge(case.vs, rid, "ADA Park", "called the victim")
    intimidation.step(case.advocate, rid, "record_safety_plan", document="Stay with sister; code word.",
                      victim_side=True)
    intimidation.step(case.advocate, rid, "request_order", victim_side=True)
    assert case.officer.show_case(case.case)["order_active"] is False
    out = intimidation.order_granted(case.vs, rid, "protective", case.clock.now().date())
    assert out["order_active"] is True and case.officer.show_case(case.case)["order_active"] is True
    shelter = partners.add(case.vs, name="Harbor Shelter", model="community_based", sector="shelter_housing")
    partners.add_contact(case.vs, shelter["id"], name="Intake", email="intake@harbor.example")
    ref = intimidation.refer(case.advocate, rid, shelter["id"], via="phone")
    assert intimidation.show(case.vs, rid)["facts"]["referrals"] == [ref["referral"]]
    start = case.clock.now()
    case.clock.set(start + timedelta(days=1, minutes=1))
    case.admin.fire_due()
    case.clock.set(start + timedelta(days=7, minutes=1))
    case.admin.fire_due()
    check_ins = [n for n in _notices(case.store, rid) if n.template.endswith("/check_in")]
    assert len(check_ins) == 2 and not [n for n in _notices(case.store, rid) if n.audience == "victim"]
    intimidation.step(case.vs, rid, "close")
    assert intimidation.show(case.vs, rid)["state"] == "closed"


def test_victim_declines_the_safety_steps_and_the_escalation_stays(case):
    rid = _report(case.advocate, case)["report"]
    intimidation.step(case.advocate, rid, "decline_safety", victim_side=True)
    start = case.clock.now()
    case.clock.set(start + timedelta(minutes=15))
    case.admin.fire_due()
    assert intimidation.show(case.vs, rid)["facts"]["level"] == 1, "the escalation runs on"
    intimidation.acknowledge(case.officer, rid, "Det. Ruiz", "arrested for violation")
    case.clock.set(start + timedelta(days=8))
    case.admin.fire_due()
    assert not [n for n in _notices(case.store, rid) if n.template.endswith("/check_in")]
    intimidation.step(case.advocate, rid, "decline_safety", victim_side=True)
    shown = intimidation.show(case.vs, rid)
    assert shown["state"] == "safety_declined" and shown["facts"]["escalated_at"]
    with pytest.raises(VcaseError):  # the generic withdraw does not exist here
        case.advocate.send(rid, "withdraw", for_party=case.victim)


def test_a_witness_is_a_victim_side_party_with_a_victims_confidentiality(case):
    witness = case.advocate.add_party(case.case, "witness", "Wes Witness", email="wes@example.org", channels=("email",))
    parties = case.officer.list_parties(case.case)
    shown = next(p for p in parties if p["id"] == witness["id"])
    assert shown["side"] == "victim" and "name" not in shown and "email" not in shown
    with pytest.raises(VcaseError):
        case.parole.list_parties(case.case)
    case.advocate.explain_confidentiality(witness["id"], "in_person")
    rid = intimidation.report(case.advocate, case.case, witness["id"], account=ACCOUNT, happened_at="2026-03-02T08:00",
                              by_whom="unknown", reached_via="in_person", safe_channel="email",
                              safe_times="any time", message_ok=True)["report"]
    assert intimidation.show(case.vs, rid)["initiator_party"] == witness["id"]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0007_goes_down_and_up_and_refuses_to_drop_a_witness(kind, tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from engine.clock import SimulatedClock
    from engine.db import SCHEMA_REVISION
    from engine.schema import alembic_config, upgrade
    from tests.conftest import START, build_admin, build_agency
    from tests.test_migrations import empty_store

    with empty_store(kind, tmp_path) as store:
        upgrade(store)
        agency = build_agency(build_admin(store, SimulatedClock(START), tmp_path / "outbox"))
        law = _partner(agency.vs, "County Sheriff", "law_enforcement", [("Det. Ruiz", "ruiz@sheriff.example", None)])
        pros = _partner(agency.vs, "District Attorney", "prosecutor", [("ADA Park", "park@da.example", None)])
        case_contacts.set_contacts(agency.vs, agency.case, law_enforcement=law, prosecutor=pros)
        _report(agency.advocate, agency)
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0006")
        assert "case_contact" not in inspect(store.engine).get_table_names()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notice WHERE audience = 'responder'")).scalar() == 0
        assert upgrade(store) == ("0006", SCHEMA_REVISION)
        agency.advocate.add_party(agency.case, "witness", "Wes Witness")
        # Down to 0007 first: on SQLite a later revision's table rebuild commits on its way down, so a
        # refusal further down leaves the revisions above it undone (vcase init upgrades them again).
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0007")
        with pytest.raises(Exception, match="witnesses are on file"):
            with store.engine.begin() as conn:
                command.downgrade(alembic_config(conn), "0006")
        assert store.schema_revision() == "0007"
        assert upgrade(store) == ("0007", SCHEMA_REVISION)
        assert "witness" in {p["kind"] for p in agency.advocate.list_parties(agency.case)}


def test_cli_parole_board_is_told_not_found_and_bad_input_writes_nothing(run, store, case, tmp_path):
    rid = _report(case.advocate, case)["report"]
    code, out, err = run("pat", "intimidation", "show", str(rid))
    assert code == 1 and "no intimidation report" in err and "Traceback" not in err
    code, out, err = run("pat", "intimidation", "acknowledge", str(rid), "--responder", "x", "--action", "y")
    assert code == 1 and "no intimidation report" in err
    account = tmp_path / "account.txt"
    account.write_text(ACCOUNT)
    before = dump(store)
    for args in (["--at", "2027-01-01T00:00"], ["--at", "2026-03-08T02:30"], ["--at", "not a time"]):
        code, out, err = run("avery", "intimidation", "report", case.case, "--for", str(case.victim),
                             "--account-file", str(account), "--by", "unknown", "--reached-via", "phone",
                             "--safe-channel", "phone", "--safe-times", "evenings", *args)
        assert code == 1 and err.startswith("Error:") and len(err.strip().splitlines()) == 1, err
    code, out, err = run("avery", "intimidation", "report", case.case, "--for", str(case.victim),
                         "--account-file", str(account), "--at", "2026-03-02T08:00", "--by", "ghost",
                         "--reached-via", "phone", "--safe-channel", "phone", "--safe-times", "evenings")
    assert code == 2
    code, out, err = run("avery", "case", "contacts", case.case, "--prosecutor", "1;DROP TABLE")
    assert code == 1 and err.startswith("Error:")
    assert dump(store) == before
    code, out, err = run("avery", "intimidation", "report", case.case, "--for", str(case.victim),
                         "--account-file", str(account), "--at", "2026-03-02T08:00", "--by", "unknown",
                         "--reached-via", "phone", "--safe-channel", "phone", "--safe-times", "evenings")
    assert code == 0 and "escalated" in out
    code, out, err = run("oscar", "intimidation", "list", case.case, "--json")
    assert code == 0 and "safe" not in out and "account" not in out
    code, out, err = run("avery", "case", "contacts", case.case, "--json")
    assert code == 0 and "ruiz@sheriff.example" in out


# Who may do what, by role: the definition decides (start_by, steps' by, readers), the service only
# words the refusals. "hidden": told the report does not exist.
LOGINS = {"officer": "oscar", "advocate": "avery", "victim_services": "vera", "facilitator": "fay",
          "parole_board": "pat", "admin": "ada"}
MATRIX = {
    "report": {"officer": "ok", "advocate": "ok", "victim_services": "ok", "facilitator": "refused",
               "parole_board": "refused", "admin": "refused"},
    "acknowledge": {"officer": "ok", "advocate": "ok", "victim_services": "ok", "facilitator": "hidden",
                    "parole_board": "hidden", "admin": "ok"},
    "show": {"officer": "limited", "advocate": "full", "victim_services": "full", "facilitator": "hidden",
             "parole_board": "hidden", "admin": "full"},
    "document": {"officer": "hidden", "advocate": "ok", "victim_services": "ok", "facilitator": "hidden",
                 "parole_board": "hidden", "admin": "ok"},
}
ROLE_CASES = [(op, role) for op in MATRIX for role in LOGINS]


@pytest.mark.parametrize("op,role", ROLE_CASES, ids=[f"{o}-{r}" for o, r in ROLE_CASES])
def test_role_matrix(case, op, role):
    app = case.admin.as_user(LOGINS[role])
    rid = None if op == "report" else _report(case.advocate, case)["report"]
    expected = MATRIX[op][role]
    before = dump(case.store)
    call = {"report": lambda: _report(app, case),
            "acknowledge": lambda: intimidation.acknowledge(app, rid, "Det. Ruiz", "called"),
            "show": lambda: intimidation.show(app, rid),
            "document": lambda: intimidation.read_document(app, rid, "safe_contact")}[op]
    if expected in ("refused", "hidden"):
        with pytest.raises(Hidden if expected == "hidden" else (NotPermitted, VcaseError)) as refused:
            call()
        if expected == "hidden":
            assert "no intimidation report" in str(refused.value)
        else:
            assert "not permitted" in str(refused.value) or "not" in str(refused.value)
        assert dump(case.store) == before
        return
    out = call()
    if expected == "full":
        assert out["state"] == "escalated" and "facts" in out
    if expected == "limited":
        assert "facts" not in out and "state" not in out and "documents" not in out


def test_a_glimpse_is_declared_in_the_definition_and_never_for_the_parole_board():
    from dataclasses import replace

    from engine.definition import check
    from engine.errors import DefinitionError
    from workflows.intimidation import WORKFLOW

    wider = replace(WORKFLOW, glimpse=replace(WORKFLOW.glimpse, roles=frozenset({"officer", "parole_board"})))
    with pytest.raises(DefinitionError, match="glimpse"):
        check(wider)
    more = replace(WORKFLOW, glimpse=replace(WORKFLOW.glimpse, facts=WORKFLOW.glimpse.facts + ("reported_by",)))
    assert more.fingerprint() != WORKFLOW.fingerprint(), "showing more needs a new version"


def test_the_parole_boards_case_timeline_and_case_view_say_nothing_of_a_report(case):
    _report(case.advocate, case, share="name,summary", summary="He threatened her by text.")
    for read in (case.parole.timeline, case.parole.show_case):
        try:
            seen = repr(read(case.case))
        except VcaseError:
            continue
        assert "intimidation" not in seen and "Maria" not in seen and "threatened" not in seen


def test_a_report_is_escalated_even_before_the_limits_of_confidentiality_are_on_record(case):
    """The escalation is the agency's duty (Workflow.duty): an intake formality still to do never holds
    it back, while the same party's own requests wait for it."""
    witness = case.advocate.add_party(case.case, "witness", "Wes Witness", email="wes@example.org", channels=("email",))
    with pytest.raises(NotAllowed):
        case.advocate.start(case.case, "notification", witness["id"], "phone", {"events": "all"})
    out = intimidation.report(case.advocate, case.case, witness["id"], account=ACCOUNT, happened_at="2026-03-02T08:30",
                              by_whom="unknown", reached_via="in_person", safe_channel="phone",
                              safe_times="any time", message_ok=False)
    assert {n.audience for n in _notices(case.store, out["report"])} >= {"responder", "staff"}
