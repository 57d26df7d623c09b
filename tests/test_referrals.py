"""Referrals to community partners: the victim decides what is shared.

Every test runs on SQLite and PostgreSQL with a simulated clock; e-mail goes
to a real SMTP server on loopback. Each rule is tried the way it could break:
a field outside the consent scope in a partner notice, a self-referral that
tells the partner anything, a withdrawal that leaves a timer or an unsent
notice, a reminder that counts a weekend, a read by the parole board or the
officer, hostile input.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.definition import SHAREABLE
from engine.errors import Hidden, InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import Notice, Partner, PartnerContact, Timer
from notices import contexts, render
from services import notify_api as N
from services import referrals as R
from tests.support import dump

CASE = "2026-CR-0001"
SUMMARY = "Needs safe housing soon; prefers calls after 5pm. marker QX9-SUMMARY"
# What the victim's record holds (conftest.build_agency), each of which a partner may see only if consented.
VICTIM_VALUES = {"name": ["Maria Victim"], "contact": ["maria@example.org", "+1 312 555 0101"],
                 "language": ["Spanish", "español", "Español"], "summary": ["QX9-SUMMARY", "safe housing"]}
PARTNER_MAIL = "riley@safeharbor.example"
PARTNER_TEMPLATES = [p for p in render.all_templates() if p.split("/")[1:3] == ["referral", "partner"]]


def add_partner(store, now, name="Safe Harbor DV Program", languages="en,es", retired=False, email=PARTNER_MAIL,
                referral_email="intake@safeharbor.example") -> tuple[int, int]:
    """A partner and one contact, written as the directory would (its id, the contact's id)."""
    with store.write() as s:
        partner = Partner(name=name, model="community_based", sector="dv_program",
                          services="information_referral,shelter_housing", languages=languages,
                          service_area="Cook County", hours="24/7", hotline_24_7=True, hotline_phone="1-800-555-0199",
                          privileged=True, referral_method="call the intake line", referral_email=referral_email,
                          retired_at=now if retired else None, created_at=now, updated_at=now)
        s.add(partner)
        s.flush()
        contact = PartnerContact(partner_id=partner.id, name="Riley Intake", role="intake", email=email,
                                 phone="+1 312 555 0199", escalation_order=1)
        s.add(contact)
        s.flush()
        return partner.id, contact.id


@pytest.fixture
def ref(agency, tmp_path):
    for app in (agency.admin, agency.officer, agency.advocate, agency.vs, agency.parole, agency.facilitator):
        app.outbox = tmp_path / "outbox"
    agency.partner, agency.contact = add_partner(agency.store, agency.clock.now())
    return agency


def notices(store, **where) -> list[Notice]:
    with store.read() as s:
        query = select(Notice).order_by(Notice.id)
        for key, value in where.items():
            query = query.where(getattr(Notice, key) == value)
        return list(s.execute(query).scalars())


def text_of(store, notice: Notice) -> str:
    """Everything a notice carries: subject, body, and the context its fallbacks are rendered from."""
    v = store.vault
    return "\n".join([v.decrypt(notice.subject_enc), v.decrypt(notice.body_enc), v.decrypt(notice.context_enc)])


def partner_notices(store, process_id: int) -> list[Notice]:
    return [n for n in notices(store, process_id=process_id) if n.recipient_contact_id is not None]


def live_timers(store, process_id: int) -> list[Timer]:
    with store.read() as s:
        return list(s.execute(select(Timer).where(Timer.process_id == process_id,
                                                  Timer.status.in_(("pending", "frozen")))).scalars())


def offer_and_consent(a, share, summary=None) -> int:
    referral = R.offer(a.advocate, CASE, a.victim, a.partner, via="in_person")["referral"]
    R.consent(a.advocate, referral, share, summary, via="in_person")
    return referral


# -- the consent scope -----------------------------------------------------------------------

SCOPES = [list(c) for n in range(1, len(SHAREABLE) + 1) for c in itertools.combinations(SHAREABLE, n)]


def test_a_partner_notice_carries_exactly_the_consented_fields_for_every_scope(ref):
    for scope in SCOPES:
        referral = offer_and_consent(ref, scope, SUMMARY if "summary" in scope else None)
        [notice] = partner_notices(ref.store, referral)
        assert notice.audience == "partner" and notice.channel == "email" and notice.recipient_party_id is None
        said = text_of(ref.store, notice)
        for field, values in VICTIM_VALUES.items():
            shown = [v for v in values if v in said]
            if field in scope:
                assert shown, (scope, field, said)
            else:
                assert not shown, (scope, field, shown)
        assert CASE not in said  # no case number goes to a partner
        stored = json.loads(ref.store.vault.decrypt(notice.context_enc))
        filled = {k for k, v in stored.items() if k.startswith("victim_") or k == "summary" if v}
        assert filled == {{"name": "victim_name", "contact": "victim_contact", "language": "victim_language",
                            "summary": "summary"}[f] for f in scope}


@pytest.mark.parametrize("path", PARTNER_TEMPLATES)
def test_every_partner_template_uses_only_the_partner_context_and_shows_no_unconsented_field(path):
    used = render.undeclared_variables(path)
    assert used <= contexts.field_names("partner"), sorted(used - contexts.field_names("partner"))
    assert "case_number" not in used and not used & {"details", "previous", "appointment", "items"}
    marks = {"victim_name": "MARK-NAME", "victim_contact": "MARK-CONTACT", "victim_language": "MARK-LANG",
             "summary": "MARK-SUMMARY"}
    base = dict(recipient_name="Riley Intake", partner_name="Safe Harbor", process_ref="referral #7",
                agency_name="Victim Services Unit", agency_phone="1-800-555-0100", sent_on="Monday")
    for n in range(len(marks) + 1):
        for chosen in itertools.combinations(marks, n):
            values = contexts.as_dict(contexts.PartnerContext(**base, **{k: marks[k] for k in chosen}))
            out = render.render(path, values)
            said = out.subject + out.body
            for field, mark in marks.items():
                if field not in chosen:
                    assert mark not in said, (path, chosen, field)
            if path.split("/")[-1].startswith("stop."):
                assert not any(m in said for m in marks.values())  # a stop notice names no one


def test_the_summary_is_never_a_process_fact_and_is_stored_encrypted(ref):
    referral = offer_and_consent(ref, ["summary"], SUMMARY)
    shown = R.show(ref.advocate, referral)
    assert "QX9" not in json.dumps(shown) and shown["summary_versions"] == 1
    with ref.store.engine.connect() as conn:
        from sqlalchemy import text

        for table in ("process", "audit_entry", "document", "notice"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                assert "QX9-SUMMARY" not in repr(row), table  # a longer marker: ciphertext is base64
    assert R.read_summary(ref.vs, referral)["summary"] == SUMMARY


def test_the_summary_goes_only_when_in_scope_and_is_inserted_literally(ref):
    with pytest.raises(InvalidInput, match="exactly when the scope includes summary"):
        offer_and_consent(ref, ["name"], SUMMARY)
    referral = offer_and_consent(ref, ["summary"], "{{ 7*7 }} {% if true %}x{% endif %}")
    [notice] = partner_notices(ref.store, referral)
    body = ref.store.vault.decrypt(notice.body_enc)
    assert "{{ 7*7 }} {% if true %}x{% endif %}" in body and "49" not in body


def test_the_partner_gets_the_consented_referral_by_email_and_the_victim_a_confirmation(ref, smtp):
    referral = offer_and_consent(ref, ["name", "contact"])
    N.deliver(ref.admin)
    [mail] = smtp.to(PARTNER_MAIL)
    assert mail["Content-Language"] == "en"
    assert mail["Subject"] == f"A referral from Victim Services Unit (referral #{referral})"
    content = mail.get_content()
    assert "Name: Maria Victim" in content and "maria@example.org" in content and "Spanish" not in content
    [victim] = smtp.to("maria@example.org")  # her first channel; Spanish, as she chose
    assert victim["Subject"] == "Su remisión a Safe Harbor DV Program ha sido enviada"
    assert "- su nombre" in victim.get_content() and "- su idioma" not in victim.get_content()


def test_a_partner_working_only_in_spanish_gets_spanish_and_one_with_no_email_a_letter(agency, tmp_path):
    agency.advocate.outbox = tmp_path / "outbox"
    agency.partner, _ = add_partner(agency.store, agency.clock.now(), name="Casa Segura", languages="es")
    referral = offer_and_consent(agency, ["name"])
    [notice] = partner_notices(agency.store, referral)
    assert notice.language == "es" and notice.channel == "email"
    agency.partner, _ = add_partner(agency.store, agency.clock.now(), name="No Mail House", email=None,
                                    referral_email=None)
    referral = offer_and_consent(agency, ["name"])
    [notice] = partner_notices(agency.store, referral)
    assert notice.channel == "letter"  # for the mail room: a partner has no SMS


# -- self-referral -------------------------------------------------------------------------

def test_a_self_referral_sends_nothing_to_the_partner_and_the_victim_its_details(ref, smtp):
    referral = R.offer(ref.officer, CASE, ref.victim, ref.partner, via="in_person")["referral"]
    R.self_refer(ref.advocate, referral, via="phone")
    assert partner_notices(ref.store, referral) == []
    N.deliver(ref.admin)
    assert smtp.to(PARTNER_MAIL) == [] and smtp.to("intake@safeharbor.example") == []
    [mail] = smtp.to("maria@example.org")
    content = mail.get_content()
    assert "1-800-555-0199" in content and "intake@safeharbor.example" in content and "No les hemos enviado" in content
    # the check-in follows; withdrawing afterwards tells the partner nothing (it never heard of her)
    ref.admin.run_until(ref.clock.now() + timedelta(days=31))
    assert any(n.template == "referral/victim/check_in" for n in notices(ref.store, process_id=referral))
    R.withdraw(ref.advocate, referral, via="phone")
    assert partner_notices(ref.store, referral) == []


# -- withdrawing consent -----------------------------------------------------------------------

def test_withdrawing_consent_leaves_no_timer_no_unsent_notice_and_tells_the_partner_to_stop(ref, smtp):
    referral = offer_and_consent(ref, list(SHAREABLE), SUMMARY)
    assert [t.name for t in live_timers(ref.store, referral)] == ["acknowledgement_reminder"]
    out = R.withdraw(ref.officer, referral, via="phone")  # an officer may record it, and sees no state
    assert "to" not in out
    assert live_timers(ref.store, referral) == []
    unsent = [n for n in notices(ref.store, process_id=referral) if n.status in ("queued", "held")]
    assert {n.template for n in unsent} == {"referral/partner/stop", "referral/victim/consent_withdrawn"}
    [stop] = [n for n in unsent if n.audience == "partner"]
    said = text_of(ref.store, stop)
    assert not any(v in said for values in VICTIM_VALUES.values() for v in values)  # it names no one
    cancelled = [n for n in notices(ref.store, process_id=referral) if n.status == "cancelled"]
    assert any(n.template == "referral/partner/referral" for n in cancelled)  # never sent: cancelled
    N.deliver(ref.admin)
    [mail] = smtp.to(PARTNER_MAIL)
    assert mail["Subject"].startswith("Please stop: consent withdrawn") and "Maria" not in mail.get_content()
    smtp.messages.clear()
    ref.admin.run_until(ref.clock.now() + timedelta(days=400))
    N.deliver(ref.admin)
    assert smtp.messages == []  # nothing more, ever
    with pytest.raises(NotAllowed):
        R.record(ref.advocate, referral, "acknowledge")


def test_withdrawing_before_any_referral_tells_the_partner_nothing(ref):
    referral = R.offer(ref.advocate, CASE, ref.victim, ref.partner)["referral"]
    R.withdraw(ref.advocate, referral)
    assert partner_notices(ref.store, referral) == []
    assert live_timers(ref.store, referral) == []


def test_only_the_victim_it_is_for_or_their_representative_decides(ref):
    referral = R.offer(ref.advocate, CASE, ref.victim, ref.partner)["referral"]
    with pytest.raises(NotPermitted, match="not the victim who started"):
        R.consent(ref.advocate, referral, ["name"], for_party=ref.guardian)
    with pytest.raises(NotPermitted):
        R.withdraw(ref.advocate, referral, for_party=ref.offender)
    with pytest.raises(NotPermitted):  # staff in their own capacity do not choose for her
        R.record(ref.advocate, referral, "self_refer")
    minor = R.offer(ref.advocate, CASE, ref.minor, ref.partner)["referral"]
    R.consent(ref.advocate, minor, ["name"], for_party=ref.guardian)  # the guardian speaks for the minor
    [victim_notice] = [n for n in notices(ref.store, process_id=minor) if n.audience == "victim"]
    assert victim_notice.recipient_party_id == ref.guardian  # a minor is reached through her guardian


# -- timers ----------------------------------------------------------------------------------

FRIDAY = datetime(2026, 3, 6, 15, 0, tzinfo=timezone.utc)  # 09:00 CST; clocks go forward on Sunday the 8th


def test_the_acknowledgement_reminder_counts_business_days_from_a_friday(ref):
    ref.clock.set(FRIDAY)
    referral = offer_and_consent(ref, ["name"])
    [timer] = live_timers(ref.store, referral)
    due = timer.due_at if timer.due_at.tzinfo else timer.due_at.replace(tzinfo=timezone.utc)
    assert due == datetime(2026, 3, 11, 14, 0, tzinfo=timezone.utc)  # Wednesday 09:00 CDT: Mon, Tue, Wed
    ref.admin.run_until(datetime(2026, 3, 11, 13, 59, tzinfo=timezone.utc))
    assert not [n for n in notices(ref.store, process_id=referral) if n.template.endswith("acknowledgement_reminder")]
    ref.admin.run_until(datetime(2026, 3, 11, 14, 1, tzinfo=timezone.utc))
    [reminder] = [n for n in notices(ref.store, process_id=referral)
                  if n.template == "referral/staff/acknowledgement_reminder"]
    assert reminder.recipient_staff_id is not None
    said = text_of(ref.store, reminder)
    assert "Safe Harbor DV Program" in said and "Maria" not in said
    with ref.store.read() as s:  # to the advocate who recorded the consent
        from engine.models import Staff

        assert s.get(Staff, reminder.recipient_staff_id).login == "avery"


def test_the_reminder_follows_the_setting_and_does_not_fire_after_acknowledgement(ref):
    ref.admin.set_setting("referral.acknowledge_business_days", "1")
    ref.clock.set(FRIDAY)
    referral = offer_and_consent(ref, ["name"])
    [timer] = live_timers(ref.store, referral)
    due = timer.due_at if timer.due_at.tzinfo else timer.due_at.replace(tzinfo=timezone.utc)
    assert due == datetime(2026, 3, 9, 14, 0, tzinfo=timezone.utc)  # Monday 09:00 CDT
    R.record(ref.vs, referral, "acknowledge")
    assert live_timers(ref.store, referral) == []
    ref.admin.run_until(FRIDAY + timedelta(days=20))
    assert not [n for n in notices(ref.store, process_id=referral) if "reminder" in n.template]


def test_an_outcome_brings_a_check_in_and_closing_ends_it(ref):
    referral = offer_and_consent(ref, ["name", "contact"])
    R.record(ref.vs, referral, "start_services")  # the partner's answer counts as acknowledgement
    shown = R.show(ref.vs, referral)
    assert shown["state"] == "services_started" and "acknowledged_at" in shown["facts"]
    assert [t["name"] for t in shown["timers"]] == ["check_in_services_started"]
    ref.admin.run_until(ref.clock.now() + timedelta(days=30, minutes=1))
    [check_in] = [n for n in notices(ref.store, process_id=referral) if n.template == "referral/victim/check_in"]
    assert "¿Recibió la ayuda que necesitaba?" in text_of(ref.store, check_in)
    R.record(ref.vs, referral, "close")
    assert R.show(ref.vs, referral)["state"] == "closed" and live_timers(ref.store, referral) == []


# -- who may read and act ------------------------------------------------------------------------

def test_the_parole_board_and_the_officer_cannot_read_a_referral(ref):
    out = R.offer(ref.officer, CASE, ref.victim, ref.partner, via="in_person")
    referral = out["referral"]
    assert "to" not in out  # the officer offered it, and is not told its state
    R.consent(ref.advocate, referral, ["summary"], SUMMARY)
    for app in (ref.officer, ref.parole):
        for read in (R.show, R.read_summary):
            with pytest.raises(Hidden, match=f"no referral {referral} that you may see"):
                read(app, referral)
            with pytest.raises(Hidden, match="no referral 999999 that you may see"):  # the same words
                read(app, 999999)
        with pytest.raises(NotPermitted):
            R.list_for_case(app, CASE)
        with pytest.raises(NotFound):
            app.show_process(referral)
        said = json.dumps(app.timeline(CASE))
        assert "referral" not in said and "QX9" not in said and f'"process": {referral}' not in said
    with pytest.raises(NotPermitted):
        R.offer(ref.parole, CASE, ref.victim, ref.partner)
    assert [r["id"] for r in R.list_for_case(ref.admin, CASE)] == [referral]


def test_the_officer_is_refused_what_is_not_theirs_without_learning_the_state(ref):
    referral = R.offer(ref.officer, CASE, ref.victim, ref.partner)["referral"]
    R.withdraw(ref.officer, referral)
    attempts = {NotPermitted: (lambda: R.record(ref.officer, referral, "acknowledge"),
                               lambda: R.consent(ref.officer, referral, ["name"]),
                               lambda: R.self_refer(ref.officer, referral)),
                NotAllowed: (lambda: R.withdraw(ref.officer, referral),)}  # ended: but the officer is not told so
    for error, tries in attempts.items():
        for attempt in tries:
            with pytest.raises(error) as caught:
                attempt()
            said = str(caught.value)
            assert not any(w in said for w in ("offered", "withdrawn", "ended", "Safe Harbor")), said
    with pytest.raises(NotAllowed, match="victim services can tell you why"):
        R.withdraw(ref.officer, referral)


# -- hostile input --------------------------------------------------------------------------------

def test_a_retired_partner_a_stranger_contact_and_a_non_victim_are_refused_with_nothing_written(ref):
    retired, _ = add_partner(ref.store, ref.clock.now(), name="Closed Doors", retired=True)
    _, stranger = add_partner(ref.store, ref.clock.now(), name="Other Org")
    before = dump(ref.store)
    with pytest.raises(NotAllowed, match="retired"):
        R.offer(ref.advocate, CASE, ref.victim, retired)
    with pytest.raises(NotFound, match="no partner"):
        R.offer(ref.advocate, CASE, ref.victim, 424242)
    with pytest.raises(NotFound, match="has no active contact"):
        R.offer(ref.advocate, CASE, ref.victim, ref.partner, contact_id=stranger)
    with pytest.raises(NotPermitted):
        R.offer(ref.advocate, CASE, ref.offender, ref.partner)
    with pytest.raises(NotPermitted):  # the generic start, with a contact id of another partner, still needs the victim side
        ref.advocate.start(CASE, "referral", None, params={"partner": str(ref.partner)})
    assert dump(ref.store) == before


def test_a_partner_retired_after_the_offer_is_refused_at_consent(ref):
    referral = R.offer(ref.advocate, CASE, ref.victim, ref.partner)["referral"]
    with ref.store.write() as s:
        s.get(Partner, ref.partner).retired_at = ref.clock.now()
    before = dump(ref.store)
    with pytest.raises(NotAllowed, match="retired"):
        R.consent(ref.advocate, referral, ["name"])
    assert dump(ref.store) == before


BAD_CONSENTS = [
    (["name", "ssn"], None, "cannot share 'ssn'"),
    ([], None, "missing share"),
    (["summary"], "x" * 1001, "a short summary is at most 1,000"),
    (["summary"], "   \n ", "the summary is empty"),
    (["summary"], "call me \x1b[31m now", "summary"),
    (["summary"], b"\xff\xfe bad", "not UTF-8"),
    ([], SUMMARY, "exactly when the scope includes summary"),
]


@pytest.mark.parametrize("share,summary,message", BAD_CONSENTS, ids=[m[:24] for _, _, m in BAD_CONSENTS])
def test_bad_consents_are_refused_and_nothing_is_written(ref, share, summary, message):
    referral = R.offer(ref.advocate, CASE, ref.victim, ref.partner)["referral"]
    before = dump(ref.store)
    with pytest.raises((InvalidInput, NotAllowed), match=message):
        R.consent(ref.advocate, referral, share, summary)
    assert dump(ref.store) == before


def test_a_forged_contact_fact_cannot_route_a_referral_elsewhere(ref):
    """The generic start takes any text for contact: a partner notice is refused, not sent astray."""
    referral = ref.advocate.start(CASE, "referral", ref.victim, params={"partner": str(ref.partner),
                                                                        "contact": "777"})["process"]
    before = dump(ref.store)
    with pytest.raises((InvalidInput, NotFound)):
        ref.advocate.send(referral, "consent", for_party=ref.victim, params={"share": "name"})
    assert dump(ref.store) == before
    with pytest.raises(NotAllowed, match="must be a record id"):
        ref.advocate.start(CASE, "referral", ref.victim, params={"partner": "1; DROP TABLE party"})


def test_a_contact_of_another_partner_or_a_retired_partner_is_refused_on_the_generic_path(ref):
    """`vcase process start referral --set ...` skips the service's checks: the engine still refuses."""
    _, stranger = add_partner(ref.store, ref.clock.now(), name="Other Org")
    referral = ref.advocate.start(CASE, "referral", ref.victim, params={"partner": str(ref.partner),
                                                                        "contact": str(stranger)})["process"]
    before = dump(ref.store)
    with pytest.raises(InvalidInput, match="not a contact of the partner"):
        ref.advocate.send(referral, "consent", for_party=ref.victim, params={"share": "name"})
    assert dump(ref.store) == before
    retired, contact = add_partner(ref.store, ref.clock.now(), name="Closed Doors", retired=True)
    referral = ref.advocate.start(CASE, "referral", ref.victim, params={"partner": str(retired),
                                                                        "contact": str(contact)})["process"]
    with pytest.raises(InvalidInput, match="retired"):
        ref.advocate.send(referral, "consent", for_party=ref.victim, params={"share": "name"})


def test_a_refused_partner_address_falls_back_to_a_letter_for_the_mail_room(ref, smtp):
    smtp.refuse[PARTNER_MAIL] = "550 no such user"
    referral = offer_and_consent(ref, ["name"])
    N.deliver(ref.admin)
    sent = partner_notices(ref.store, referral)
    # the letter waits, encrypted, for the mail room's batch (issue 18)
    assert [(n.channel, n.status) for n in sent] == [("email", "failed"), ("letter", "awaiting_print")]
    assert "Maria Victim" in ref.store.vault.decrypt(sent[1].body_enc)  # the same consented notice
    assert all(n.recipient_contact_id == ref.contact for n in sent)


# -- the command line --------------------------------------------------------------------------------

def test_a_referral_through_the_cli(run, ref, tmp_path):
    summary = tmp_path / "summary.txt"
    summary.write_text(SUMMARY)
    code, out, err = run("oscar", "referral", "offer", CASE, "--victim", str(ref.victim), "--partner",
                         str(ref.partner), "--via", "in_person")
    assert code == 0, err
    referral = int(out.split()[1])
    code, out, err = run("avery", "referral", "consent", str(referral), "--share", "name,summary", "--summary-file",
                         str(summary), "--via", "in_person")
    assert code == 0 and "consented fields only (2 notice(s) queued)" in out, err
    assert run("vera", "referral", "acknowledge", str(referral))[0] == 0
    assert run("vera", "referral", "outcome", str(referral), "started")[0] == 0
    code, out, err = run("vera", "referral", "show", str(referral), "--json")
    shown = json.loads(out)
    assert shown["state"] == "services_started" and shown["facts"]["consent_scope"] == ["name", "summary"]
    assert "QX9" not in out
    code, out, err = run("vera", "referral", "show", str(referral), "--summary")
    assert code == 0 and "QX9-SUMMARY" in out
    rows = json.loads(run("avery", "referral", "list", CASE, "--json")[1])
    assert [r["id"] for r in rows] == [referral] and rows[0]["partner"] == "Safe Harbor DV Program"
    for user in ("oscar", "pat"):
        code, out, err = run(user, "referral", "show", str(referral))
        assert code == 1 and err.startswith(f"Error: no referral {referral} that you may see"), err
    code, out, err = run("oscar", "referral", "withdraw", str(referral), "--via", "phone")
    assert code == 0 and "consent withdrawn" in out


ROLE_LOGINS = {"officer": "oscar", "advocate": "avery", "victim_services": "vera", "facilitator": "fay",
               "parole_board": "pat", "admin": "ada"}
MAY_OFFER = {"officer", "advocate", "victim_services"}
MAY_READ = {"advocate", "victim_services", "admin"}


@pytest.mark.parametrize("role", sorted(ROLE_LOGINS))
def test_role_matrix_of_the_referral_commands(run, ref, store, role):
    login = ROLE_LOGINS[role]
    before = dump(store)
    code, out, err = run(login, "referral", "offer", CASE, "--victim", str(ref.victim), "--partner", str(ref.partner))
    assert "Traceback" not in out + err and "unexpected" not in out + err
    if role in MAY_OFFER:
        assert code == 0, err
    else:
        assert code == 1 and "not permitted" in err and dump(store) == before
    referral = R.offer(ref.advocate, CASE, ref.victim, ref.partner)["referral"]
    for args in (("show", str(referral)), ("list", CASE)):
        code, out, err = run(login, "referral", *args)
        if role in MAY_READ:
            assert code == 0, err
        else:
            assert code == 1 and ("not permitted" in err or "that you may see" in err), err
            assert "Safe Harbor" not in out + err
