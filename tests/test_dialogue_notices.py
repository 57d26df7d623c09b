"""The dialogue's notices: who hears about what, in which words and language.

A hand-written table says which notices each event queues (audience and
template); a walk through the process checks it against the outbox. The
templates are checked for their audience's fields, length, both languages,
and that the offender's words hold nothing about the victim.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from engine.models import Staff
from notices import contexts, render
from tests.test_dialogue import MAIN_LINE, body, drive, notices_of, rows, schedule_params, send, start

UTC = timezone.utc
ROOT = Path(render.TEMPLATES)
DIALOGUE = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/dialogue/*/*"))

# event -> the notices it queues: (audience, template). Events not listed queue nothing.
NOTICES: dict[str, set[tuple[str, str]]] = {
    "start": {("victim", "request_received")},
    "assign_facilitator": {("victim", "facilitator_assigned"), ("staff", "facilitator_assigned")},
    "reassign_facilitator": {("victim", "facilitator_changed"), ("staff", "facilitator_assigned")},
    "decline_ineligible": {("victim", "not_eligible")},
    "invite_offender": {("offender", "invitation"), ("victim", "offender_invited")},
    "remind_invitation": {("staff", "invitation_reminder")},
    "lapse_invitation": {("victim", "not_possible"), ("staff", "invitation_lapsed")},
    "offender_accepts": {("victim", "offender_accepted"), ("staff", "offender_responded")},
    "offender_declines": {("victim", "offender_declined"), ("staff", "offender_responded")},
    "begin_preparation": {("victim", "preparation_started"), ("offender", "preparation_started")},
    "schedule": {("victim", "dialogue_scheduled"), ("offender", "dialogue_scheduled"), ("staff", "dialogue_scheduled")},
    "remind_dialogue": {("victim", "dialogue_reminder"), ("staff", "dialogue_reminder")},
    "postpone": {("victim", "dialogue_postponed"), ("offender", "dialogue_postponed")},
    "check_in": {("victim", "follow_up_check_in"), ("staff", "follow_up_check_in")},
    "close": {("victim", "closed"), ("staff", "closed")},
    "pause": {("victim", "paused"), ("staff", "paused")},
    "resume": {("victim", "resumed"), ("staff", "resumed")},
    "withdraw": {("victim", "process_ended"), ("offender", "process_ended"), ("staff", "process_ended")},
}


def _new(store, pid: int, seen: set[int]) -> set[tuple[str, str]]:
    fresh = [n for n in notices_of(store, pid) if n.id not in seen]
    seen.update(n.id for n in fresh)
    return {(n.audience, n.template.rsplit("/", 1)[-1]) for n in fresh}


def test_each_event_queues_the_notices_in_the_table(agency):
    agency.admin.add_staff("fred", "Fred Facilitator", "facilitator", email="fred@agency.example")
    store, seen, problems = agency.store, set(), []

    def check(event: str, pid: int) -> None:
        got = _new(store, pid, seen)
        if got != NOTICES.get(event, set()):
            problems.append(f"{event}: expected {sorted(NOTICES.get(event, set()))}, got {sorted(got)}")

    pid = start(agency)
    check("start", pid)
    for _, actor, event, params in MAIN_LINE[:-3]:  # up to and including schedule
        if event == "schedule":
            params = schedule_params(agency, timedelta(days=10))
        send(agency, actor, pid, event, params)
        check(event, pid)
        if event == "invite_offender":
            agency.admin.run_until(agency.clock.now() + timedelta(days=31))
            check("remind_invitation", pid)
        if event == "begin_preparation":
            send(agency, "victim_services", pid, "reassign_facilitator", {"facilitator": "fred"})
            check("reassign_facilitator", pid)
            send(agency, "advocate_for_victim", pid, "pause", {"reason": "needs time"})
            check("pause", pid)
            send(agency, "facilitator", pid, "resume")
            check("resume", pid)
    agency.admin.run_until(agency.clock.now() + timedelta(days=8))  # the 7-day reminder
    check("remind_dialogue", pid)
    send(agency, "facilitator", pid, "postpone")
    check("postpone", pid)
    send(agency, "facilitator", pid, "schedule", schedule_params(agency, timedelta(hours=3)))
    check("schedule", pid)
    for _, actor, event, params in MAIN_LINE[-3:-1]:  # record_dialogue, begin_follow_up
        agency.clock.advance(timedelta(hours=3))
        send(agency, actor, pid, event, params)
        check(event, pid)
    agency.admin.run_until(agency.clock.now() + timedelta(days=31))
    check("check_in", pid)
    send(agency, "facilitator", pid, "close")
    check("close", pid)
    staff = {n.recipient_staff_id for n in notices_of(store, pid) if n.audience == "staff"}
    assert _logins(store, staff) == {"fay", "fred"}
    assert not problems, "\n".join(problems)


def _logins(store, ids) -> set[str]:
    return {s.login for s in rows(store, Staff) if s.id in ids}


@pytest.mark.parametrize("state,actor,event,params", [
    ("intake", "advocate", "decline_ineligible", {"reason": "appeals pending"}),
    ("offender_invited", "officer_for_offender", "offender_declines", {}),
    ("offender_invited", "system", "lapse_invitation", {}),
    ("preparation", "vs_for_victim", "withdraw", {"reason": "private"}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_endings_queue_the_notices_in_the_table(agency, state, actor, event, params):
    pid = drive(agency, state)
    seen = {n.id for n in notices_of(agency.store, pid)}
    send(agency, actor, pid, event, params)
    assert _new(agency.store, pid, seen) == NOTICES[event]


def test_the_table_covers_every_notice_the_workflow_declares(agency):
    wf = agency.admin.registry.latest("dialogue").workflow
    declared = {(n.to.audience, n.template) for n in wf.all_notices()}
    assert declared == set().union(*NOTICES.values())


# -- what the notices say --------------------------------------------------------------

def test_the_victim_hears_in_their_language_with_the_appointment_in_their_words(agency):
    pid = drive(agency, "preparation")
    send(agency, "facilitator", pid, "schedule", {"dialogue_at": "2026-04-01T10:00", "format": "virtual"})
    [victim] = [n for n in notices_of(agency.store, pid) if n.template == "dialogue/victim/dialogue_scheduled"]
    assert (victim.language, victim.channel, victim.recipient_party_id) == ("es", "email", agency.victim)
    text = body(agency.store, victim)
    assert "Estimado/a Maria Victim:" in text and "miércoles, 1 de abril de 2026, 10:00 CDT" in text
    [offender] = [n for n in notices_of(agency.store, pid) if n.template == "dialogue/offender/dialogue_scheduled"]
    assert (offender.language, offender.channel) == ("en", "letter")
    assert "Wednesday, April 1, 2026, 10:00\u202fAM CDT" in body(agency.store, offender)
    assert "Maria" not in body(agency.store, offender)


def test_a_guardian_hears_in_english(agency):
    pid = drive(agency, "requested", initiator="advocate_for_guardian")
    [notice] = notices_of(agency.store, pid)
    assert notice.language == "en" and body(agency.store, notice).startswith("We received your request")


# -- the templates themselves ------------------------------------------------------------

SAMPLE = {
    "recipient_name": "Maria Victim", "case_number": "2026-CR-0001", "agency_name": "Victim Services Unit",
    "agency_phone": "1-800-555-0100", "sent_on": "Thursday, November 19, 2026, 9:00\u202fAM CST",
    "appointment": "Wednesday, November 25, 2026, 10:30\u202fAM CST", "process_ref": "dialogue #12",
    "state": "offender_accepted", "details": "", "previous": "", "items": (),
}
SAMPLE_ES = {**SAMPLE, "sent_on": "jueves, 19 de noviembre de 2026, 9:00 CST",
             "appointment": "miércoles, 25 de noviembre de 2026, 10:30 CST"}


def _render(path: str):
    audience = path.split("/")[2]
    values = SAMPLE_ES if path.startswith("es/") else SAMPLE
    if audience == "offender":
        values = {**values, "recipient_name": "Sam Supervised", "agency_name": "Community Corrections"}
    return render.render(path, {k: values.get(k, "") for k in contexts.field_names(audience)})


def test_every_declared_template_exists_and_every_file_is_used(agency):
    wf = agency.admin.registry.latest("dialogue").workflow
    expected = {f"{lang}/dialogue/{n.to.audience}/{n.template}.{ch}"
                for n in wf.all_notices() for lang in render.LANGUAGES for ch in render.CHANNELS}
    assert set(DIALOGUE) == expected


@pytest.mark.parametrize("path", DIALOGUE)
def test_template_renders_with_only_its_audience_fields(path):
    audience = path.split("/")[2]
    assert render.undeclared_variables(path) <= contexts.field_names(audience)
    out = _render(path)
    text = out.subject + "\n" + out.body
    assert "{" not in text and "}" not in text
    if path.endswith(".email"):
        assert out.subject and len(out.subject) <= 120
    if path.endswith(".sms"):
        assert len(out.body) <= 160, f"{path}: {len(out.body)} characters"
    if path.endswith(".letter") and audience != "staff":
        assert out.body.startswith(SAMPLE_ES["sent_on"] if path.startswith("es/") else SAMPLE["sent_on"])


ENGLISH = re.compile(r"\b(the|your|you|and|has|will|with|please|call)\b", re.IGNORECASE)


@pytest.mark.parametrize("path", [p for p in DIALOGUE if p.startswith("es/")])
def test_spanish_templates_are_in_spanish(path):
    out = _render(path)
    english = _render("en/" + path[3:])
    assert out.body != english.body
    if english.subject:
        assert out.subject != english.subject
    words = ENGLISH.findall(out.subject + " " + out.body.replace("vcase process events", ""))
    assert not words, f"{path}: English words {words}"


@pytest.mark.parametrize("path", [p for p in DIALOGUE if "/offender/" in p])
def test_the_offender_is_told_nothing_about_the_victim(path):
    out = _render(path)
    text = (out.subject + " " + out.body).lower()
    for word in ("victim", "víctima", "maria", "withdr", "retir", "reason", "razón", "motivo", "asked", "pidió"):
        assert word not in text, f"{path} mentions {word!r}"
    if not path.endswith(".sms"):  # it says taking part has no effect on supervision
        assert "supervision or parole" in text or "supervisión ni su libertad condicional" in text


@pytest.mark.parametrize("path", [p for p in DIALOGUE if "/victim/" in p and p.endswith(".sms")])
def test_victim_texts_are_discreet_on_a_lock_screen(path):
    text = _render(path).body.lower()
    for word in ("offender", "ofensor", "crime", "delito", "responsible", "responsable", "dialogue", "diálogo",
                 "restorative", "restaurativa", "prison", "prisión", "parole"):
        assert word not in text, f"{path} mentions {word!r}"


def test_final_victim_notices_do_not_invite_pausing(agency):
    for name in ("process_ended", "closed", "not_possible", "not_eligible", "offender_declined"):
        for lang, word in (("en", "pause"), ("es", "pausar")):
            assert word not in _render(f"{lang}/dialogue/victim/{name}.email").body


def test_stored_wording_of_the_offenders_ending_letter():
    assert _render("en/dialogue/offender/process_ended.letter").body == (
        "Thursday, November 19, 2026, 9:00\u202fAM CST\n\n"
        "Dear Sam Supervised,\n\n"
        "The restorative justice process related to case 2026-CR-0001 has ended. No further steps will be taken.\n\n"
        "This has no effect on your supervision or parole. Questions: 1-800-555-0100.\n\n"
        "Sincerely,\nCommunity Corrections\n1-800-555-0100")
    assert _render("es/dialogue/offender/process_ended.letter").body == (
        "jueves, 19 de noviembre de 2026, 9:00 CST\n\n"
        "Estimado/a Sam Supervised:\n\n"
        "El proceso de justicia restaurativa relacionado con el caso 2026-CR-0001 ha terminado. No se tomarán más "
        "medidas.\n\n"
        "Esto no afecta en nada su supervisión ni su libertad condicional. Preguntas: 1-800-555-0100.\n\n"
        "Atentamente,\nCommunity Corrections\n1-800-555-0100")


def test_stored_wording_of_the_victims_reminder_text():
    assert _render("es/dialogue/victim/dialogue_reminder.sms").body == (
        "Victim Services Unit: le recordamos su cita del miércoles, 25 de noviembre de 2026, 10:30 CST. "
        "Preguntas o cambios: 1-800-555-0100")
    assert _render("en/dialogue/victim/dialogue_reminder.sms").body == (
        "Victim Services Unit: a reminder of your appointment on Wednesday, November 25, 2026, 10:30\u202fAM CST. "
        "Questions or changes: 1-800-555-0100")


def test_withdrawal_notices_survive_and_name_no_one(agency):
    pid = drive(agency, "dialogue_scheduled")
    send(agency, "facilitator_for_offender", pid, "withdraw", {"reason": "He asked not to continue"})
    unsent = [n for n in notices_of(agency.store, pid) if n.status == "queued"]
    assert {n.template for n in unsent} == {"dialogue/victim/process_ended", "dialogue/offender/process_ended",
                                            "dialogue/staff/process_ended"}
    cancelled = [n for n in notices_of(agency.store, pid) if n.status == "cancelled"]
    assert cancelled and all(n.status_reason == "process withdrawn" for n in cancelled)
    for notice in unsent:
        text = body(agency.store, notice)
        assert "asked" not in text and "Fay" not in text.replace("Fay Facilitator,", "")
