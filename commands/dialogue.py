"""``vcase dialogue``: the victim-offender dialogue's own verbs.

Each verb is one event of ``workflows/dialogue.py`` sent through the same
engine call as ``vcase process send``; the table below only names the event,
its options and who the staff member acts for. The rules (who may, when, what
blocks it) are the workflow's.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import click

from commands.common import ID, VIA, app, done, emit_json, json_option, table
from commands.processes import moved

WORKFLOW = "dialogue"
via_option = click.option("--via", type=VIA, default=None,
                          help="How the party told you (phone, in_person, in_writing, email, video).")
expect_option = click.option("--expect-version", type=ID, default=None,
                             help="Refuse if the process changed since you saw this version.")


@click.group()
def dialogue():
    """Victim-offender dialogue: request, screen, invite, prepare, meet, follow up.

    Only a victim-side party asks for it; either party may pause or withdraw at
    any state. Supervision and parole roles cannot read it.
    `vcase process events ID` shows what may happen next and what blocks it.
    """


@dialogue.command("request")
@click.argument("case_number")
@click.option("--victim", "victim", type=ID, required=True,
              help="The victim-side party asking (victim, guardian or next of kin; `vcase party list CASE`).")
@via_option
def dialogue_request(case_number, victim, via):
    """Record a victim's request for a dialogue (advocates and victim services).

    \b
    Example:
      vcase dialogue request 2026-CR-0042 --victim 3 --via phone
    """
    out = app().start(case_number, WORKFLOW, victim, via)
    done(f"Dialogue {out['process']} requested ({out['notices']} notice(s) queued). "
         f"Next: `vcase dialogue intake {out['process']}`.")


@dialogue.command("interest")
@click.argument("case_number")
@click.option("--offender", "offender", type=ID, required=True,
              help="The person under supervision's party id.")
@via_option
def dialogue_interest(case_number, offender, via):
    """Keep on file that the person under supervision asked for a dialogue.

    It starts nothing and tells no one; victim services raise it with the
    victim only if the victim asks.

    \b
    Example:
      vcase dialogue interest 2026-CR-0042 --offender 2 --via in_writing
    """
    from services import interest

    out = interest.record(app(), case_number, WORKFLOW, offender, via)
    done(f"Interest {out['interest']} kept on file; nothing was started and no one was told.")


@dialogue.command("interests")
@click.argument("case_number")
@json_option
def dialogue_interests(case_number, as_json):
    """List interest on file for a case (victim-services roles only).

    \b
    Example:
      vcase dialogue interests 2026-CR-0042
    """
    from services import interest

    rows = [r for r in interest.list_for_case(app(), case_number) if r["workflow"] == WORKFLOW]
    emit_json(rows) if as_json else table(rows, ["id", "party", "recorded_by", "via", "recorded_at"])


@dataclass(frozen=True)
class Verb:
    name: str
    event: str
    summary: str
    example: str
    says: str  # the verb in people's words, for refusals: "Can't <says> (dialogue <name>) ..."
    by: Optional[str] = None  # act for this side ("victim"/"offender"); "choose": a required --by
    options: tuple = ()  # (click option, param name)


def _option(flag: str, param: str, help: str, choices=None, required=True):
    kind = click.Choice(choices) if choices else str
    return click.option(flag, param, type=kind, required=required, help=help), param


PARTY_OPTION = _option("--party", "party", "Whose: victim or offender.", ["victim", "offender"])
REASON_OPTION = _option("--reason", "reason", "Why (kept in the audit trail; never sent to anyone).", required=False)

VERBS = (
    Verb("intake", "begin_intake", "Start intake: eligibility and safety screening with the victim.",
         "vcase dialogue intake 12", "start intake"),
    Verb("screen", "record_screening", "Record eligibility (appeals) and the safety screening.",
         "vcase dialogue screen 12 --appeals exhausted --safety no_concerns", "record the screening",
         options=(_option("--appeals", "appeals", "Appeals exhausted, waived or pending.",
                          ["exhausted", "waived", "pending"]),
                  _option("--safety", "safety_screen", "Outcome of the safety screening.",
                          ["no_concerns", "refer_for_assessment"]))),
    Verb("assess", "record_safety_assessment", "Victim services record the safety assessment.",
         "vcase dialogue assess 12 --outcome approved", "record the safety assessment",
         options=(_option("--outcome", "outcome", "The decision.", ["approved", "not_approved"]),)),
    Verb("assign-facilitator", "assign_facilitator", "Accept the request and assign a trained facilitator.",
         "vcase dialogue assign-facilitator 12 --facilitator fay", "assign a facilitator",
         options=(_option("--facilitator", "facilitator", "The facilitator's login."),)),
    Verb("reassign-facilitator", "reassign_facilitator", "Hand the dialogue to another facilitator.",
         "vcase dialogue reassign-facilitator 12 --facilitator fern", "hand the dialogue to another facilitator",
         options=(_option("--facilitator", "facilitator", "The new facilitator's login."),)),
    Verb("decline-ineligible", "decline_ineligible", "The request cannot go ahead (not eligible, or not safe).",
         "vcase dialogue decline-ineligible 12 --reason 'appeal pending'", "decline the request", options=(REASON_OPTION,)),
    Verb("invite", "invite_offender", "Approach the person under supervision (refused until it is safe).",
         "vcase dialogue invite 12", "invite the person under supervision"),
    Verb("agreement", "record_agreements", "A party signed the participation and confidentiality agreements.",
         "vcase dialogue agreement 12 --party victim", "record the agreements", options=(PARTY_OPTION,)),
    Verb("prepare", "begin_preparation", "Start preparation once both agreements are signed.",
         "vcase dialogue prepare 12", "start preparation"),
    Verb("prep-session", "record_session", "A preparation session was held with one party.",
         "vcase dialogue prep-session 12 --party offender", "record a preparation session", options=(PARTY_OPTION,)),
    Verb("ready", "mark_ready", "A party is ready for the dialogue.",
         "vcase dialogue ready 12 --party victim", "mark a party ready", options=(PARTY_OPTION,)),
    Verb("schedule", "schedule", "Set the date (in the case's time zone) and format once both are ready.",
         "vcase dialogue schedule 12 --at 2027-03-14T10:00 --format in_person", "schedule the dialogue",
         options=(_option("--at", "dialogue_at", "Date and time, e.g. 2027-03-14T10:00 (case's zone)."),
                  _option("--format", "format", "How it takes place.",
                          ["in_person", "virtual", "letter_exchange"]))),
    Verb("postpone", "postpone", "The date is off: back to preparation (schedule again for a new date).",
         "vcase dialogue postpone 12", "postpone the dialogue"),
    Verb("held", "record_dialogue", "The dialogue took place (on or after its day).", "vcase dialogue held 12", "record the dialogue as held"),
    Verb("follow-up", "begin_follow_up", "Start the follow-up period (check-ins at 30 days, closing at 90).",
         "vcase dialogue follow-up 12", "start the follow-up"),
    Verb("close", "close", "Close the dialogue before the follow-up timer does.", "vcase dialogue close 12", "close the dialogue"),
    Verb("end-for-misconduct", "end_for_misconduct", "End it after misconduct toward the victim is on record.",
         "vcase dialogue end-for-misconduct 12", "end the dialogue for misconduct"),
    Verb("pause", "pause", "Put it on hold for a party or as facilitator; timers freeze.",
         "vcase dialogue pause 12 --by victim --reason 'needs time'", "pause the dialogue", by="choose", options=(REASON_OPTION,)),
    Verb("resume", "resume", "Continue where it was paused; timers get their remaining time.",
         "vcase dialogue resume 12 --by victim", "resume the dialogue", by="choose", options=(REASON_OPTION,)),
    Verb("withdraw", "withdraw", "A party withdraws, at any state: the other is told only that it ended.",
         "vcase dialogue withdraw 12 --by victim --via phone", "withdraw the dialogue", by="choose", options=(REASON_OPTION,)),
)


RESPONSES = {"offender_accepts": ("respond accept", "record that the person under supervision accepts"),
             "offender_declines": ("respond decline", "record that the person under supervision declines")}
# event -> (the command after `vcase dialogue`, the verb in people's words)
COMMANDS = {**{v.event: (v.name, v.says) for v in VERBS}, **RESPONSES}


def command_words(event: str) -> str:
    """``dialogue invite`` for invite_offender: what a person types for an event."""
    return f"dialogue {COMMANDS[event][0]}" if event in COMMANDS else event.replace("_", " ")


def reworded(text: str) -> str:
    """A workflow's reason with the events it names (``record_safety_assessment``) as commands."""
    return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", lambda m: command_words(m.group(0)) if m.group(0) in COMMANDS
                  else m.group(0), text)


@contextmanager
def in_our_words(event: str):
    """Say the engine's refusal of ``event`` in this command group's words: "Can't invite the person
    under supervision (dialogue invite) now: ...", and the possible steps as commands."""
    from engine.errors import NotAllowed
    from engine.runtime import reword

    try:
        yield
    except NotAllowed as exc:
        said = reword(exc, f"{COMMANDS[event][1]} ({command_words(event)})", command_words) \
            if exc.event == event and event in COMMANDS else None
        if said is None:
            raise
        raise NotAllowed(reworded(said), event=exc.event, state=exc.state) from None


def _echo_date(session, process_id: int) -> None:
    """The date as stored, in the case's zone with its abbreviation (what the reminders will use)."""
    from datetime import datetime

    from engine.clock import describe

    shown = session.show_process(process_id)
    at = shown["facts"].get("dialogue_at")
    if at:
        zone = session.show_case_zone(shown["case_number"])
        click.echo(f"The dialogue is set for {describe(datetime.fromisoformat(at), zone)}.")


def _build(verb: Verb):
    def command(process_id, via, expect_version, by=None, for_party=None, **values):
        params = {name: value for name, value in values.items() if value is not None}
        if verb.by == "choose" and by == "facilitator":
            by, for_party = None, None  # the facilitator in their own capacity
        session = app()
        with in_our_words(verb.event):
            out = session.act(process_id, WORKFLOW, verb.event, by=by, for_party=for_party, via=via, params=params,
                              expected_version=expect_version)
        moved(out, "Dialogue")
        if verb.event == "schedule" and "to" in out:
            _echo_date(session, process_id)

    command.__doc__ = f"{verb.summary}\n\n    \b\n    Example:\n      {verb.example}\n    "
    command.__name__ = f"dialogue_{verb.event}"
    for option, _ in reversed(verb.options):
        command = option(command)
    if verb.by == "choose":
        command = click.option("--for", "for_party", type=ID, default=None,
                               help="Act for this party instead (id from `vcase party list CASE`).")(command)
        choices = ["victim", "offender"] + (["facilitator"] if verb.event in ("pause", "resume") else [])
        command = click.option("--by", "by", type=click.Choice(choices), required=True,
                               help="Who asked: the victim who requested it, or the person under supervision"
                                    + (", or the facilitator." if len(choices) == 3 else "."))(command)
    command = expect_option(via_option(command))
    return dialogue.command(verb.name)(click.argument("process_id", type=ID)(command))


for _verb in VERBS:
    _build(_verb)


@dialogue.command("respond")
@click.argument("process_id", type=ID)
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@via_option
@expect_option
def dialogue_respond(process_id, answer, via, expect_version):
    """Record the answer of the person under supervision to the invitation.

    The facilitator or officer records it for them.

    \b
    Examples:
      vcase dialogue respond 12 accept --via in_person
      vcase dialogue respond 12 decline
    """
    event = f"offender_{answer}s"
    with in_our_words(event):
        out = app().act(process_id, WORKFLOW, event, by="offender", via=via, expected_version=expect_version)
    moved(out, "Dialogue")
