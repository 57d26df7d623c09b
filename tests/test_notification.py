"""Victim notification: registrations, case events, templates, delivery with proof.

Email goes to a real SMTP server on loopback; the clock is simulated; both
databases run every test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services import notify_api as N
from engine.clock import parse_when
from engine.errors import NotAllowed, NotPermitted
from engine.models import Notice
from tests.support import dump

TZ = "America/Chicago"


def notices(store, **where):
    with store.read() as s:
        query = select(Notice).order_by(Notice.id)
        for key, value in where.items():
            query = query.where(getattr(Notice, key) == value)
        return list(s.execute(query).scalars())


def body(store, notice):
    return store.vault.decrypt(notice.body_enc)


def test_release_event_sends_the_expected_email_in_spanish_local_time(reg, smtp):
    N.deliver(reg.admin)  # the registration confirmation
    smtp.messages.clear()
    at = parse_when("2026-04-15T10:00", TZ)
    out = N.record_event(reg.officer, reg.case, "release_scheduled", at, "Cook County Jail")
    assert out["registrants_notified"] == 1 and out["advance_notices_armed"] == 3
    result = N.deliver(reg.admin)
    assert result.sent == 1
    [mail] = smtp.to("maria@example.org")
    assert mail["Content-Language"] == "es"
    assert mail["Subject"] == "Fecha de liberación programada (2026-CR-0001)"
    text = mail.get_content()
    assert "miércoles, 15 de abril de 2026, 10:00 CDT" in text  # local time, DST already on
    assert "Estimado/a Maria Victim:" in text and "Cook County Jail" in text
    assert len(smtp.messages) == 1  # nothing to the guardian or anyone else: not registered


def test_message_id_is_stable_across_a_retry_and_a_repeat(reg, smtp):
    N.deliver(reg.admin)
    smtp.messages.clear()
    N.record_event(reg.officer, reg.case, "released", reg.clock.now(), "")
    smtp.fail_next = 1
    first = N.deliver(reg.admin)
    assert first.retried == 1 and first.sent == 0
    [pending] = notices(reg.store, template="notification/victim/released")
    assert pending.status == "queued" and pending.attempts == 1 and "retrying" in pending.status_reason
    reg.clock.advance(timedelta(minutes=2))
    assert N.deliver(reg.admin).sent == 1
    [sent] = notices(reg.store, template="notification/victim/released")
    assert smtp.messages[-1]["Message-ID"] == sent.message_id
    # a crash after sending but before recording leaves it queued: the repeat carries the same Message-ID
    with reg.store.write() as s:
        s.get(Notice, sent.id).status = "queued"
    N.deliver(reg.admin)
    ids = [m["Message-ID"] for m in smtp.to("maria@example.org")]
    assert ids == [sent.message_id, sent.message_id]


def test_quiet_hours_hold_routine_notices_and_let_escape_through(reg, smtp):
    N.deliver(reg.admin)
    smtp.messages.clear()
    reg.clock.set(parse_when("2026-03-04T03:00", TZ))  # 03:00 in Chicago
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    [transfer] = notices(reg.store, template="notification/victim/transfer")
    assert transfer.not_before.replace(tzinfo=None) == parse_when("2026-03-04T07:00", TZ).replace(tzinfo=None)
    N.deliver(reg.admin)
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == ["URGENTE: fuga (2026-CR-0001)"]
    escape = notices(reg.store, template="notification/victim/escape")
    assert sorted(n.channel for n in escape) == ["email", "sms"]  # every chosen channel
    assert all(n.status == "sent" for n in escape)
    reg.clock.set(parse_when("2026-03-04T07:00", TZ))
    N.deliver(reg.admin)
    assert [m["Subject"] for m in smtp.messages][-1] == "Traslado (2026-CR-0001)"


def test_opt_out_cancels_queued_notices_and_nothing_is_sent_after(reg, smtp):
    reg.clock.set(parse_when("2026-03-04T23:30", TZ))  # quiet hours: the release notice waits
    N.record_event(reg.officer, reg.case, "released", reg.clock.now(), "")
    N.record_event(reg.officer, reg.case, "parole_hearing", parse_when("2026-05-01T09:00", TZ), "")
    reg.advocate.send(reg.registration, "withdraw", for_party=reg.victim, via="phone")
    assert not [n for n in notices(reg.store, process_id=reg.registration)
                if n.status in ("queued", "held") and not n.survives_withdrawal]
    reg.clock.set(parse_when("2026-06-01T12:00", TZ))
    reg.admin.run_until(reg.clock.now())
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    N.deliver(reg.admin)
    subjects = [m["Subject"] for m in smtp.to("maria@example.org")]
    assert subjects == ["Ya no recibirá avisos (2026-CR-0001)"]  # only the opt-out confirmation


def test_written_waiver_needs_the_waiver_and_ends_registration(reg):
    before = dump(reg.store)
    with pytest.raises(NotAllowed, match="written waiver"):
        reg.vs.send(reg.registration, "waive", for_party=reg.victim)
    assert dump(reg.store) == before
    assert reg.vs.send(reg.registration, "waive", for_party=reg.victim,
                       params={"written_waiver_on_file": True})["to"] == "waived"


def test_mass_change_guard_holds_a_burst_and_lets_a_normal_day_through(agency, smtp, tmp_path):
    agency.admin.outbox = tmp_path
    agency.admin.set_setting("notification.mass_threshold", "3")
    for i in range(5):
        case = f"BULK-{i}"
        agency.officer.open_case(case, f"Person {i}", "oscar", TZ)
        party = agency.advocate.add_party(case, "victim", f"Victim {i}", email=f"v{i}@example.org", channels=("email",))
        agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
        N.register(agency.advocate, case, party["id"], "released")
    N.deliver(agency.admin)
    smtp.messages.clear()
    agency.clock.advance(timedelta(days=1))
    # a normal day: two releases
    for i in range(2):
        N.record_event(agency.officer, f"BULK-{i}", "released", agency.clock.now(), "")
    assert not notices(agency.store, status="held")
    # a bad import the next day: five releases in one burst
    agency.clock.advance(timedelta(days=1))
    outcomes = [N.record_event(agency.officer, f"BULK-{i}", "released", agency.clock.now(), "") for i in range(5)]
    held = notices(agency.store, status="held")
    assert len(held) == 2 and sum(o["held_for_review"] for o in outcomes) == 2
    assert "mass-change guard" in held[0].status_reason
    with pytest.raises(NotPermitted):
        N.review_held(agency.officer, [held[0].id], release=False, reason="x")
    N.review_held(agency.vs, [held[0].id], release=False, reason="import error")
    N.review_held(agency.vs, [held[1].id], release=True)
    N.deliver(agency.admin)
    assert held[0].id not in [int(m["X-Vcase-Notice"]) for m in smtp.messages]
    assert held[1].id in [int(m["X-Vcase-Notice"]) for m in smtp.messages]


def test_correction_reaches_every_recipient_of_the_original(reg, smtp):
    second = reg.advocate.add_party(reg.case, "survivor", "Sol Survivor", email="sol@example.org", channels=("email",))
    reg.advocate.explain_confidentiality(second["id"], "in_person")  # privacy.confidentiality_first
    N.register(reg.advocate, reg.case, second["id"], "release_scheduled")
    N.deliver(reg.admin)
    smtp.messages.clear()
    wrong = N.record_event(reg.officer, reg.case, "release_scheduled", parse_when("2026-04-15T10:00", TZ), "")
    N.deliver(reg.admin)
    assert len(smtp.messages) == 2
    out = N.correct_event(reg.officer, wrong["case_event"], at=parse_when("2026-04-22T10:00", TZ))
    assert out["corrections_sent"] == 2
    N.deliver(reg.admin)
    maria = smtp.to("maria@example.org")[-1].get_content()
    sol = smtp.to("sol@example.org")[-1]
    assert "miércoles, 15 de abril de 2026, 10:00 CDT" in maria and "miércoles, 22 de abril de 2026" in maria
    assert sol["Subject"] == "Correction to an earlier notice (2026-CR-0001)"
    # the advance notices follow the corrected date, not the wrong one
    with reg.store.read() as s:
        from engine.models import Timer

        live = s.execute(select(Timer).where(Timer.status == "pending", Timer.case_event_id.is_not(None))).scalars().all()
    assert {t.case_event_id for t in live} == {out["case_event"]}


def test_cancelled_event_tells_recipients_to_disregard(reg, smtp):
    N.deliver(reg.admin)
    smtp.messages.clear()
    wrong = N.record_event(reg.officer, reg.case, "released", reg.clock.now(), "")
    N.deliver(reg.admin)
    N.correct_event(reg.officer, wrong["case_event"], cancel=True)
    N.deliver(reg.admin)
    assert "no tome en cuenta" in smtp.messages[-1].get_content()


def test_permanent_failure_falls_back_to_the_next_channel(reg, smtp, tmp_path):
    N.deliver(reg.admin)
    smtp.refuse["maria@example.org"] = "550 no such user"
    N.record_event(reg.officer, reg.case, "released", reg.clock.now(), "")
    result = N.deliver(reg.admin)
    assert result.failed == 1 and result.fallbacks == 1 and result.sent == 1
    failed, fallback = notices(reg.store, template="notification/victim/released")
    assert failed.status == "failed" and "recipient refused" in failed.status_reason
    assert fallback.channel == "sms" and fallback.fallback_of == failed.id and fallback.status == "sent"
    spool = list((tmp_path / "outbox" / "sms").glob("*.json"))
    assert spool and "fue liberada" in spool[-1].read_text(encoding="utf-8")


def test_unconfirmed_emergency_falls_back_to_one_letter(reg, smtp, tmp_path):
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    N.deliver(reg.admin)
    reg.clock.advance(timedelta(hours=23))
    N.deliver(reg.admin)
    assert not [n for n in notices(reg.store, template="notification/victim/escape") if n.channel == "letter"]
    reg.clock.advance(timedelta(hours=2))
    N.deliver(reg.admin)
    N.deliver(reg.admin)
    letters = [n for n in notices(reg.store, template="notification/victim/escape") if n.channel == "letter"]
    # one certified letter for both channels, waiting (encrypted) for the mail room's batch
    assert len(letters) == 1 and letters[0].status == "awaiting_print" and letters[0].certified
    assert not list((tmp_path / "outbox" / "letters").rglob("*.txt"))
    from services import mailroom

    reg.admin.set_setting("letters.return_address", "Victim Services Unit; 100 Main Street; Springfield, IL 62701")
    assert mailroom.batch(reg.admin)["certified"] == 1
    assert list((tmp_path / "outbox" / "letters").rglob("*.txt")) and list((tmp_path / "outbox" / "letters").rglob("*.pdf"))


def test_a_confirmed_emergency_needs_no_fallback(reg, smtp):
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    N.deliver(reg.admin)
    sms = [n for n in notices(reg.store, template="notification/victim/escape") if n.channel == "sms"][0]
    N.confirm(reg.advocate, sms.id)
    reg.clock.advance(timedelta(hours=25))
    N.deliver(reg.admin)
    assert not [n for n in notices(reg.store, template="notification/victim/escape") if n.channel == "letter"]


def test_paused_registration_hears_nothing_until_resumed_and_then_what_it_missed(reg, smtp):
    N.deliver(reg.admin)
    smtp.messages.clear()
    reg.advocate.send(reg.registration, "pause", for_party=reg.victim)
    N.record_event(reg.officer, reg.case, "released", reg.clock.now(), "")
    N.deliver(reg.admin)
    assert smtp.messages == []  # a pause is "not now"
    reg.advocate.send(reg.registration, "resume", for_party=reg.victim)
    N.deliver(reg.admin)
    assert [m["X-Vcase-Notice"] for m in smtp.to("maria@example.org")], "the release waited for the resume"


def test_only_permitted_roles_record_events_and_read_registrations(reg):
    before = dump(reg.store)
    with pytest.raises(NotPermitted):
        N.record_event(reg.parole, reg.case, "released", reg.clock.now(), "")
    with pytest.raises(NotPermitted):
        reg.officer.show_process(reg.registration)
    with pytest.raises(NotPermitted):
        N.register(reg.officer, reg.case, reg.victim, "all")
    assert dump(reg.store) == before
    assert reg.officer.list_processes(reg.case) == []  # the officer does not see who registered


def test_sms_says_when_it_takes_more_than_one_message():
    from engine.channels import sms_parts

    assert sms_parts("x" * 160) == ["x" * 160]
    parts = sms_parts("y" * 400)
    assert len(parts) == 3 and parts[0].startswith("(1/3) ") and all(len(p) <= 160 for p in parts)


def test_registration_follows_the_case_through_a_transfer(reg, smtp):
    reg.admin.add_staff("olga", "Olga Officer", "officer")
    reg.officer.transfer_case(reg.case, officer="olga", time_zone="America/Denver")
    N.deliver(reg.admin)
    smtp.messages.clear()
    N.record_event(reg.admin.as_user("olga"), reg.case, "released", parse_when("2026-03-02T07:00", "America/Denver"), "")
    N.deliver(reg.admin)
    [mail] = smtp.to("maria@example.org")
    assert "7:00 MST" in mail.get_content()  # the victim's zone follows the case unless they set their own


def test_a_minor_registered_in_their_own_name_is_reached_only_through_their_guardian(agency, smtp, tmp_path):
    """Registrations belong to a victim or a guardian (DOMAIN.md); a minor's notices go to the
    guardian who represents them, never to the child."""
    for app in (agency.officer, agency.advocate):
        app.outbox = tmp_path / "outbox"
    N.register(agency.advocate, agency.case, agency.minor, "all", "phone")
    N.record_event(agency.officer, agency.case, "released", agency.clock.now() - timedelta(hours=1), "")
    queued = notices(agency.store)
    assert queued, "the registration and the release were announced"
    assert {n.recipient_party_id for n in queued} == {agency.guardian}
    N.deliver(agency.officer)
    assert smtp.messages and all(m["To"] == "gail@example.org" for m in smtp.messages)
