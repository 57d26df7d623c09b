"""The demo's story after set-up: one case followed for a year.

A registered victim, custody events with advance notices, a dialogue that
runs to follow-up, a second one that a co-victim withdraws, and an apology
letter returned once, accepted, held, asked for and released; the mail room printing the
year's letters as a PDF batch and handing them to the post office; then a referral
to a community program that the victim consents to, a report of intimidation at
03:00 escalated until a deputy acknowledges it, and a formal agreement
with a partner that comes up for review. The clock is
simulated; notices go to files in the demo's outbox folder. Every step is an
``engine.api.App`` call (the same the commands make); the story holds no rule
of its own: where something is refused, the engine refused it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

CASE = "2026-CR-0042"
CHECKED = "harm,blame,excuses,forgiveness,contact,contact_details,preaching,revictimizing"
LETTER_1 = ("I know what I did hurt you, but I was not in a good place and you have to understand that. "
            "Please write back so I can explain.")
LETTER_2 = ("I hurt you, and I have no excuse for it. I think about what I took from you, your sense of safety "
            "at home, every day. I am working on myself so that no one else is harmed by me.")


def registration_and_events(admin, clock, say, facts) -> dict:
    advocate, officer = admin.as_user("avery"), admin.as_user("oscar")
    victim = facts["victim_party"]
    say.heading("The victim registers for notices")
    reg = advocate.start(CASE, "notification", victim, "phone", {"events": "all,letter_held"})
    say.say("Maria asked, by phone, to be told of every custody and supervision event, and of any apology letter.")
    say.show("registration", f"process {reg['process']} ({reg['notices']} confirmation notice(s), in Spanish)")

    say.heading("Custody and supervision events")
    hearing = clock.now() + timedelta(days=45)
    from services import notify_api

    out = notify_api.record_event(officer, CASE, "parole_hearing", hearing.replace(hour=15, minute=0),
                                  "Parole board hearing, room 2")
    say.say("The officer records a parole hearing 45 days out: Maria is told now, and again 30, 7 and 1 days before.")
    say.show("notices / advance notices", f"{out['registrants_notified']} now, {out['advance_notices_armed']} armed")
    return {"registration": reg["process"], "hearing": hearing}


def dialogue_to_follow_up(admin, clock, say, facts) -> dict:
    advocate, vs, fay, officer = (admin.as_user(u) for u in ("avery", "vera", "fay", "oscar"))
    pat = admin.as_user("pat")
    victim = facts["victim_party"]
    say.heading("The victim asks for a dialogue")
    say.refused("officer starting one", officer.start, CASE, "dialogue", None)
    pid = advocate.start(CASE, "dialogue", victim, "phone")["process"]
    say.say(f"Maria asked her advocate by phone: dialogue {pid}. Only the victim side can start one.")
    advocate.send(pid, "begin_intake")
    advocate.send(pid, "record_screening", params={"appeals": "exhausted", "safety_screen": "no_concerns"})
    vs.send(pid, "assign_facilitator", params={"facilitator": "fay"})
    fay.send(pid, "invite_offender")
    relayed = officer.act(pid, "dialogue", "offender_accepts", by="offender", via="in_person")
    say.show("officer relays the answer", f"{relayed['event']} recorded (the officer is shown no state)")
    for party in ("victim", "offender"):
        fay.send(pid, "record_agreements", params={"party": party})
    fay.send(pid, "begin_preparation")
    for party in ("victim", "offender"):
        fay.send(pid, "record_session", params={"party": party})
        fay.send(pid, "mark_ready", params={"party": party})
    meeting = (clock.now() + timedelta(days=120)).replace(hour=16, minute=0)  # 10:00 or 11:00 in Chicago
    fay.send(pid, "schedule", params={"dialogue_at": meeting, "format": "in_person"})
    say.show("scheduled", f"{meeting:%Y-%m-%d %H:%M} UTC, in person; reminders 7 and 1 days before")
    say.show("parole board sees", f"{len(pat.list_processes(CASE))} process(es)")
    return {"dialogue": pid, "meeting": meeting}


def dialogue_withdrawn(admin, clock, say, facts) -> dict:
    advocate = admin.as_user("avery")
    say.heading("A co-victim asks for a dialogue, then withdraws")
    luis = advocate.add_party(CASE, "co_victim", "Luis Lopez", email="luis.lopez@example.org", channels=("email",))
    advocate.explain_confidentiality(luis["id"], "in_person")  # before anything he asks for is recorded
    pid = advocate.start(CASE, "dialogue", luis["id"], "in_person")["process"]
    advocate.send(pid, "begin_intake")
    say.refused("Maria's advocate withdrawing Luis's request", advocate.send, pid, "withdraw",
                facts["victim_party"], "phone")
    out = advocate.act(pid, "dialogue", "withdraw", by="victim", via="phone",
                       params={"reason": "not ready to face him"})
    say.say(f"Luis withdrew dialogue {pid} during intake. His reason stays in the audit trail; it is sent to no one.")
    say.show("notices", f"{out['notices']} (to Luis only: the offender was never approached, so is never told)")
    return {"withdrawn_dialogue": pid}


def letter_held(admin, clock, say, facts) -> dict:
    from services import letters

    officer, vs, pat = admin.as_user("oscar"), admin.as_user("vera"), admin.as_user("pat")
    say.heading("An apology letter: screened, returned once, held")
    offender = next(p["id"] for p in vs.list_parties(CASE) if p["kind"] == "supervised_person")
    lid = letters.submit(officer, CASE, facts["victim_party"], offender, LETTER_1, "in_writing")["letter"]
    letters.send(vs, lid, "return", params={"reasons": "excuses,contact", "note": "no request for a reply"})
    say.say(f"Letter {lid} was returned: it made excuses and asked for a reply. The writer is told why.")
    letters.send(officer, lid, "resubmit", offender, "in_writing", document=LETTER_2)
    out = letters.send(vs, lid, "accept", params={"checklist": CHECKED})
    say.say("The revised letter passed every item and is held. Maria opted in, so she gets one gentle notice.")
    say.show("notices on acceptance", out["notices"])
    say.refused("parole board listing letters", letters.list_for_case, pat, CASE)
    return {"letter": lid}


def a_year_passes(admin, clock, say, facts) -> dict:
    from services import letters
    from engine.channels import files_only
    from engine.scheduler import simulate

    fay, advocate, vs = admin.as_user("fay"), admin.as_user("avery"), admin.as_user("vera")
    outbox: Path = facts["outbox"]
    via = files_only(outbox)
    say.heading("The clock runs forward a year")
    start = clock.now()
    ran = simulate(admin, facts["meeting"] + timedelta(hours=2), via)
    fay.send(facts["dialogue"], "record_dialogue")
    fay.send(facts["dialogue"], "begin_follow_up")
    say.say("The hearing notices and the dialogue reminders went out; the dialogue was held; follow-up began.")
    later = simulate(admin, clock.now() + timedelta(days=100), via)
    letters.send(advocate, facts["letter"], "request", facts["victim_party"], "phone")
    letters.send(vs, facts["letter"], "release", params={"identity_checked": True, "method": "email"})
    say.say("Maria asked for the letter; her identity was checked; it was released to her by email.")
    rest = simulate(admin, start + timedelta(days=365), via)
    total = ran.sent + later.sent + rest.sent
    fired = ran.fired + later.fired + rest.fired
    dialogue = vs.show_process(facts["dialogue"])
    say.show("timers fired", fired)
    say.show("notices delivered", total)
    say.show("dialogue", f"{dialogue['state']} (check-in at 30 days, closed at 90)")
    return {"timers_fired": fired, "notices_delivered": total, "dialogue_state": dialogue["state"],
            "clock": clock.now()}


def the_mail_room_prints_the_letters(admin, clock, say, facts) -> dict:
    """Letters waited, encrypted, for the mail room: one batch prints them (a PDF to print, a manifest, each
    letter as PDF and text), the clerk records the hand-off, and each letter's state proves it."""
    from services import mailroom, notify_api

    clerk, vs = admin.as_user("mo"), admin.as_user("vera")
    outbox: Path = facts["outbox"]
    say.heading("The mail room prints the letters")
    waiting = mailroom.list_batches(clerk)["awaiting_print"]
    out = mailroom.batch(clerk)
    say.say(f"{waiting} letter(s) waited, encrypted, for the mail room (the demo's clock jumped a year; an agency "
            "runs `vcase mailroom batch` every day). One batch prints them:")
    say.show("batch", f"{out['batch']}: {out['letters']} letter(s), {out['pages']} page(s), {out['certified']} certified")
    say.show("print this", Path(out["path"]).relative_to(outbox) / f"batch-{out['batch']}.pdf")
    say.show("manifest", "reference, first page, pages, certified, delivery (no names: the window shows them)")
    mailed = mailroom.mailed(clerk, out["batch"])
    shown = mailroom.show(clerk, out["batch"])["letters_in_batch"][0]
    state = notify_api.show_notice(vs, shown["notice"])
    say.show("handed to the post office", f"{mailed['mailed']} letter(s) (`vcase mailroom mailed --batch {out['batch']}`)")
    say.show(f"letter {shown['letter']}", f"{state['status']}; printed {state['printed']}; mailed {state['mailed']}")
    say.refused("the mail room reading a notice", notify_api.show_notice, clerk, shown["notice"])
    files = sorted(p for p in outbox.rglob("*") if p.is_file() and p.suffix in (".eml", ".json", ".txt"))
    say.show("outbox folder", outbox)
    for kind in sorted({p.relative_to(outbox).parts[0] for p in outbox.rglob("*") if p.is_file()}):
        say.show(f"  {kind}", f"{sum(1 for p in outbox.rglob('*') if p.is_file() and p.relative_to(outbox).parts[0] == kind)} file(s)")
    to_maria = [p for p in files if p.suffix == ".eml" and "To: maria.lopez@" in p.read_text(encoding="utf-8")]
    say.say(f"Maria's {len(to_maria)} emails, in Spanish, for example:")
    for path in to_maria[:5]:
        subject = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("Subject:"))
        say.say(f"  {path.relative_to(outbox)}  {_decoded(subject)}")
    return {"outbox_files": len(files), "mail_batch": out["batch"], "letters_printed": out["letters"],
            "letter_pdfs": sorted(Path(out["path"]).glob("*.pdf"))}


def a_referral_the_victim_consents_to(admin, clock, say, facts) -> dict:
    """A referral to a community program: Maria decides what is shared (her name and language, not how
    to reach her); the partner is told only that, acknowledges, and starts services; a month later
    she is asked whether she got the help she needed."""
    from services import partners, referrals

    vs, officer = admin.as_user("vera"), admin.as_user("oscar")
    say.heading("A referral the victim consents to")
    partner = partners.add(vs, name="Lakeside Survivors Network", model="community_based", sector="dv_program",
                           services="personal_advocacy,emotional_support_safety", languages="en,es",
                           referral_method="e-mail the intake desk", referral_email="intake@lakeside.example")["id"]
    partners.add_contact(vs, partner, name="Intake desk", role="intake", email="intake@lakeside.example",
                         escalation_order=1)
    offered = referrals.offer(officer, CASE, facts["victim_party"], partner, via="in_person")
    say.say("Her officer tells Maria about a community program for survivors and offers to refer her.")
    out = referrals.consent(vs, offered["referral"], ["name", "language"], via="phone")
    say.show("consent", "Maria shares her name and language only; the partner is told nothing else")
    referrals.record(vs, offered["referral"], "acknowledge", note="Intake will call through the advocate")
    out = referrals.record(vs, offered["referral"], "start_services", note="Weekly support group")
    say.show("referral", f"{offered['referral']}: {out['from']} -> {out['to']}")
    from engine.channels import files_only
    from engine.scheduler import simulate

    sent = simulate(admin, clock.now() + timedelta(days=31), files_only(facts["outbox"])).sent
    say.say("The partner's notice, Maria's confirmation of what was shared, and a month later her check-in "
            "(\"did you get the help you needed?\") went out.")
    say.show("referral notices delivered", sent)
    return {"referral": offered["referral"], "referral_notices": sent}


def an_intimidation_report_at_3am(admin, clock, say, facts) -> dict:
    """Intimidation at night: the report is escalated at once at 03:00, nobody at the sheriff's first
    number answers, so a quarter of an hour later it goes to the next deputy and to victim services;
    the deputy acknowledges, then a safety plan and a shelter referral (issue 15)."""
    from engine.channels import files_only
    from engine.clock import parse_when
    from engine.scheduler import simulate
    from services import case_contacts, intimidation, partners, referrals

    vs, advocate = admin.as_user("vera"), admin.as_user("avery")
    outbox: Path = facts["outbox"]
    via = files_only(outbox)
    say.heading("Intimidation at 03:00: escalated at once, until someone acts")
    sheriff = partners.add(vs, name="Lake County Sheriff", model="systems_based", sector="law_enforcement")["id"]
    first = partners.add_contact(vs, sheriff, name="Night desk", email="nightdesk@sheriff.example",
                                 phone="+1 312 555 0190", escalation_order=1)["id"]
    second = partners.add_contact(vs, sheriff, name="Deputy Ruiz", email="ruiz@sheriff.example", escalation_order=2)["id"]
    attorney = partners.add(vs, name="State's Attorney, Victim Unit", model="systems_based", sector="prosecutor")["id"]
    ada = partners.add_contact(vs, attorney, name="ADA Park", email="park@sao.example")["id"]
    case_contacts.set_contacts(vs, CASE, law_enforcement=[first, second], prosecutor=[ada])
    say.say("The case names its law-enforcement contacts (the night desk, then Deputy Ruiz) and its prosecutor.")
    day = (clock.now() + timedelta(days=1)).astimezone(parse_when("2026-01-01T00:00", "America/Chicago").tzinfo)
    clock.set(parse_when(f"{day:%Y-%m-%d}T03:00", "America/Chicago"))
    files = lambda: sum(1 for kind in ("email", "letters") for p in (outbox / kind).rglob("*") if p.is_file())
    before = files()
    out = intimidation.report(advocate, CASE, facts["victim_party"], account=(
        "At 02:40 Maria got texts from a number she did not know: 'you will regret going to the hearing'. "
        "She believes they came from a friend of Sam's."), happened_at=f"{day:%Y-%m-%d}T02:40",
        by_whom="acting_for_them", reached_via="text", evidence=("Screenshot, transcribed: 'you will regret it'",),
        safe_channel="phone", safe_times="weekdays 12:00-13:00 (at work)", message_ok=False,
        share="summary", summary="Threatening texts about the hearing, believed sent for the supervised person.",
        via="phone")
    rid = out["report"]
    sent = simulate(admin, clock.now() + timedelta(minutes=1), via).sent
    say.say("At 03:00 Maria calls the hotline. The report is recorded and escalated in one step: no quiet hours.")
    say.show("escalation", f"report {rid}: {out['notices']} notice(s), {sent} delivered at once "
                           "(night desk by e-mail and text, the prosecutor, the officer)")
    sent += simulate(admin, clock.now() + timedelta(minutes=16), via).sent
    level = intimidation.show(vs, rid)["facts"]["level"]
    say.say("Nobody at the night desk acknowledges. Fifteen minutes on it goes to Deputy Ruiz, the prosecutor "
            "again, and victim services.")
    clock.set(clock.now() + timedelta(minutes=4))
    intimidation.acknowledge(vs, rid, "Deputy Ruiz, Lake County Sheriff", "called Maria at the number she gave; "
                             "report taken; the officer to review conditions")
    shown = intimidation.show(vs, rid)["facts"]
    from engine.clock import describe

    say.show("acknowledged", f"by {shown['acknowledged_by']} at {describe(clock.now(), 'America/Chicago')} "
                             f"(re-escalated {level} time(s))")
    intimidation.step(advocate, rid, "record_safety_plan", victim_side=True, via="phone", document=(
        "Stays with her sister this week; code word with her advocate; route to work changed."))
    shelter = partners.add(vs, name="Harbor Shelter", model="community_based", sector="shelter_housing",
                           referral_method="call the 24/7 line", hotline_24_7="yes",
                           hotline_phone="1-800-555-0177")["id"]
    partners.add_contact(vs, shelter, name="Intake", email="intake@harbor-shelter.example")
    referral = intimidation.refer(advocate, rid, shelter, via="phone")["referral"]
    referrals.self_refer(vs, referral, via="phone")
    say.say("A safety plan made with Maria (encrypted), and a shelter referral: she calls them herself.")
    sent += simulate(admin, clock.now() + timedelta(days=8), via).sent
    intimidation.step(vs, rid, "close")
    say.show("report", f"{rid}: closed after check-in reminders at 24 hours and 7 days; {sent} notice(s) in all")
    return {"intimidation": rid, "intimidation_level": level, "intimidation_sent": sent,
            "intimidation_files": files() - before, "shelter_referral": referral, "intimidation_day": day}


def an_agreement_comes_up_for_review(admin, clock, say, facts) -> dict:
    """A formal agreement with a hybrid partner: in force, it lets the partner's advocate see the
    notification records it names (never the letter); six months on it is due for review."""
    from services import agreements, partners

    vs = admin.as_user("vera")
    say.heading("A formal agreement with a partner, reviewed on time")
    partner = partners.add(vs, name="Harbor House", model="hybrid", sector="dv_program")["id"]
    admin.set_setting("agreement.review_months", "6")
    today = clock.now().date()
    aid = agreements.draft(vs, title="Harbor House MOU", partners=[partner], purpose="A joint response to domestic violence",
                           contributions="Harbor House: an on-site advocate; the agency: referrals and notification",
                           sharing_limits="Notification records only; never letters", contacts="Hal Director; Vera",
                           starts=today.isoformat(), ends=today.replace(year=today.year + 2).isoformat(),
                           text="Memorandum of understanding between the agency and Harbor House.",
                           grant_workflows="notification", grant_permissions="case.show")["agreement"]
    agreements.sign(vs, aid, "agency", "Vera, for the agency")
    out = agreements.sign(vs, aid, str(partner), "Hal Director, for Harbor House")
    say.show("agreement", f"{aid}: {' -> '.join(out['events'])}; {out['state']} for two years, reviewed every 6 months")
    admin.add_staff("hana", "Hana Harbor", "advocate", email="hana@harbor.example", partner=partner)
    hana = admin.as_user("hana")
    seen = [p["workflow"] for p in hana.show_case(CASE)["processes"]]
    say.show("Harbor's advocate sees", ", ".join(sorted(set(seen))) or "nothing")
    say.refused("Harbor's advocate reading the letter", hana.show_process, facts["letter"])
    admin.run_until(clock.now() + timedelta(days=184))
    due = agreements.list_agreements(vs, due=True)
    say.say("Six months on, victim services were reminded 30 days before, and the review is due:")
    say.show("vcase agreement list --due", ", ".join(f"{r['id']} {r['title']} ({r['state']})" for r in due))
    out = agreements.continue_(vs, aid, note="Working well; keep notification records only")
    say.show("reviewed", f"{out['state']}; next review {agreements.show(vs, aid)['facts']['review_due_on'][:10]}")
    return {"agreement": aid, "agreement_due": [r["id"] for r in due]}


def the_quarter_for_the_funder(admin, clock, say, facts) -> dict:
    """The agency reports to its VOCA funder: the quarter of the intimidation report,
    counted from what vcase holds. Notices delivered, the registration, the referral and the safety
    plan are in it without anyone typing them; an advocate adds what she did by hand."""
    from services import pmt_report, service_log

    advocate = admin.as_user("avery")
    say.heading("The quarter's VOCA report (the federal PMT)")
    admin.set_setting("agency.time_zone", "America/Chicago")
    day = facts["intimidation_day"].date()
    quarter = pmt_report.current_quarter(admin, facts["intimidation_day"])
    at = f"{(day + timedelta(days=2)).isoformat()}T10:00"
    service_log.record(advocate, facts["victim_party"], ["A1", "B3", "C4"], at, "in_person")
    service_log.set_profile(advocate, facts["victim_party"], {
        "victimization": ["domestic_family_violence", "stalking_harassment"], "race": ["not_reported"],
        "gender": ["female"], "age": ["25-59"]}, "in_person")
    service_log.record_anonymous(advocate, ["C2", "A3"], f"{(day + timedelta(days=3)).isoformat()}T22:15")
    say.say("Her advocate records what she did by hand (court information, accompaniment to the sheriff's "
            "interview, counselling) and, with Maria's leave, what Maria chose to say about herself; a "
            "hotline caller who gave no name is counted apart.")
    report = pmt_report.pmt(admin.as_user("vera"), quarter)
    say.say(f"`vcase report pmt --quarter {quarter}` ({report['from'][:10]} to {report['to'][:10]}, "
            "the federal fiscal year):")
    for key, value in report["individuals"].items():
        say.show(f"  {key.replace('_', ' ')}", value)
    for category in report["services"]:
        given = [f"{i['item']} x{i['times']}" for i in category["items"] if i["times"]]
        if given:
            say.show(f"  {category['category']} {category['name'][:24]}",
                     f"{category['individuals']} individual(s): {', '.join(given)}")
    return {"pmt_quarter": quarter, "pmt": report}


def _decoded(header: str) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(header)))


CHAPTERS = [registration_and_events, dialogue_to_follow_up, dialogue_withdrawn, letter_held, a_year_passes,
            the_mail_room_prints_the_letters, a_referral_the_victim_consents_to, an_intimidation_report_at_3am,
            an_agreement_comes_up_for_review, the_quarter_for_the_funder]
