"""``vcase letter``: the apology letter bank.

Each command is one call to ``services.letters`` (one transaction). The parole
board is refused by every command before anything is looked up; supervision
may log a letter for the writer but never read one.
"""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, fields, json_option, table

CHECKLIST = "harm, blame, excuses, forgiveness, contact, contact_details, preaching, revictimizing"


def _items(values) -> str:
    return ",".join(v.strip() for value in values for v in value.split(",") if v.strip())


def _notices(out) -> str:
    return f" ({out['notices']} notice(s) queued)" if out["notices"] else ""


@click.group()
def letter():
    """Apology letters: held in the bank until the victim chooses to receive them.

    A victim is told a letter exists only if they registered for letter_held
    (`vcase registration add ... --events letter_held`) or ask. Letters never
    appear in supervision or parole views.
    """


@letter.command("submit")
@click.argument("case_number")
@click.option("--victim", type=ID, required=True, help="The party id of the victim the letter is to.")
@click.option("--file", "source", type=click.File("rb"), required=True,
              help="The letter as a UTF-8 text file, or - to read standard input.")
@click.option("--for", "for_party", type=ID, required=True, help="The supervised person who wrote it (party id).")
@click.option("--via", type=VIA, default=None, help="How the letter reached you.")
def letter_submit(case_number, victim, source, for_party, via):
    """Log a letter written by the person under supervision, for screening.

    Refused while a protective or no-contact order is active, or when
    misconduct toward the victim is on record.

    \b
    Example:
      vcase letter submit 2026-CR-0042 --victim 3 --for 1 --file letter.txt --via in_writing
    """
    from services import letters

    out = letters.submit(app(), case_number, victim, for_party, source.read(), via)
    done(f"Letter {out['letter']} submitted for screening (version {out['letter_version']}).")


@letter.command("review")
@click.argument("letter_id", type=ID)
@click.option("--begin", is_flag=True, help="Take the letter up for screening.")
@click.option("--accept", is_flag=True, help="Accept it into the bank; confirm every checklist item with --check.")
@click.option("--check", "checks", multiple=True, metavar="ITEM",
              help=f"A checklist item the letter meets (repeatable or comma-separated): {CHECKLIST}.")
@click.option("--return", "reasons", multiple=True, metavar="REASON",
              help=f"Return it for revision: a checklist item it fails (repeatable): {CHECKLIST}.")
@click.option("--note", default=None, help="With --return: a note on the revision (no victim details).")
def letter_review(letter_id, begin, accept, checks, reasons, note):
    """Screen a letter: begin, accept with the checklist, or return with reasons.

    \b
    Examples:
      vcase letter review 7 --begin
      vcase letter review 7 --accept --check harm,blame,excuses,forgiveness,contact \\
                                     --check contact_details,preaching,revictimizing
      vcase letter review 7 --return blame --return contact --note "Leave out the request to meet."
    """
    from services import letters

    returning = bool(reasons) or note is not None
    if [begin, accept, returning].count(True) != 1:
        raise click.UsageError("give exactly one of --begin, --accept or --return")
    if checks and not accept:
        raise click.UsageError("--check goes with --accept")
    if begin:
        out = letters.send(app(), letter_id, "begin_review")
        return done(f"Letter {letter_id} is in review.")
    if accept:
        out = letters.send(app(), letter_id, "accept", params={"checklist": _items(checks)})
        return done(f"Letter {letter_id} accepted: held in the bank{_notices(out)}.")
    params = {"reasons": _items(reasons)}
    if note is not None:
        params["note"] = note
    out = letters.send(app(), letter_id, "return", params=params)
    done(f"Letter {letter_id} returned to the writer for revision{_notices(out)}.")


@letter.command("resubmit")
@click.argument("letter_id", type=ID)
@click.option("--file", "source", type=click.File("rb"), required=True,
              help="The revised letter as a UTF-8 text file, or - to read standard input.")
@click.option("--for", "for_party", type=ID, required=True, help="The supervised person who wrote it (party id).")
@click.option("--via", type=VIA, default=None, help="How the revision reached you.")
def letter_resubmit(letter_id, source, for_party, via):
    """Submit the writer's revised letter; every earlier version is kept.

    \b
    Example:
      vcase letter resubmit 7 --for 1 --file letter-v2.txt
    """
    from services import letters

    out = letters.send(app(), letter_id, "resubmit", for_party, via, document=source.read())
    done(f"Letter {letter_id}: revision submitted for screening (version {out['letter_version']}).")


@letter.command("request")
@click.argument("letter_id", type=ID)
@click.option("--for", "for_party", type=ID, required=True,
              help="The victim, or their guardian or next of kin, asking for it (party id).")
@click.option("--via", type=VIA, default=None, help="How they asked.")
def letter_request(letter_id, for_party, via):
    """Record that the victim side asks to receive the letter.

    \b
    Example:
      vcase letter request 7 --for 3 --via phone
    """
    from services import letters

    letters.send(app(), letter_id, "request", for_party, via)
    done(f"Letter {letter_id} requested. Check the recipient's identity, then "
         f"`vcase letter release {letter_id} --identity-checked --method mail`.")


@letter.command("defer")
@click.argument("letter_id", type=ID)
@click.option("--for", "for_party", type=ID, required=True, help="The party who asked for it (party id).")
@click.option("--via", type=VIA, default=None, help="How they told you.")
def letter_defer(letter_id, for_party, via):
    """The victim would rather wait: the requested letter goes back to the bank.

    \b
    Example:
      vcase letter defer 7 --for 3 --via phone
    """
    from services import letters

    letters.send(app(), letter_id, "defer", for_party, via)
    done(f"Letter {letter_id} stays in the bank.")


@letter.command("release")
@click.argument("letter_id", type=ID)
@click.option("--identity-checked", is_flag=True, help="You checked the recipient's identity.")
@click.option("--method", type=click.Choice(["mail", "email", "read_by_facilitator"]), required=True,
              help="How the letter is delivered.")
@click.option("--tell-writer", is_flag=True, help="The victim chose to let the writer know it was received.")
def letter_release(letter_id, identity_checked, method, tell_writer):
    """Deliver a requested letter (refused while a protective order is active).

    It goes to the victim if an adult, to a minor's guardian, or to a deceased
    victim's next of kin. The writer is told only with --tell-writer.

    \b
    Example:
      vcase letter release 7 --identity-checked --method read_by_facilitator
    """
    from services import letters

    out = letters.send(app(), letter_id, "release", params={"identity_checked": identity_checked, "method": method,
                                                            "tell_writer": tell_writer})
    told = "the writer will be told it was received" if tell_writer else "the writer is not told"
    done(f"Letter {letter_id} released ({method.replace('_', ' ')}); {told}{_notices(out)}.")


@letter.command("decline")
@click.argument("letter_id", type=ID)
@click.option("--for", "for_party", type=ID, required=True,
              help="The victim, or their guardian or next of kin (party id).")
@click.option("--via", type=VIA, default=None, help="How they told you.")
def letter_decline(letter_id, for_party, via):
    """The victim never wants the letter: it will not be offered again.

    \b
    Example:
      vcase letter decline 7 --for 3 --via phone
    """
    from services import letters

    letters.send(app(), letter_id, "decline", for_party, via)
    done(f"Letter {letter_id} declined; it will not be offered again.")


@letter.command("withdraw")
@click.argument("letter_id", type=ID)
@click.option("--for", "for_party", type=ID, required=True, help="The supervised person who wrote it (party id).")
@click.option("--reason", default=None, help="Why (kept in the audit trail; never sent).")
def letter_withdraw(letter_id, for_party, reason):
    """The writer takes the letter back; unsent notices about it are cancelled.

    \b
    Example:
      vcase letter withdraw 7 --for 1
    """
    from services import letters

    letters.send(app(), letter_id, "withdraw", for_party, params={"reason": reason} if reason else {})
    done(f"Letter {letter_id} withdrawn.")


@letter.command("show")
@click.argument("letter_id", type=ID)
@click.option("--text", "with_text", is_flag=True, help="Also print the letter's text (the read is audited).")
@click.option("--version", type=ID, default=None, help="With --text: an earlier version.")
@json_option
def letter_show(letter_id, with_text, version, as_json):
    """Show a letter's record; with --text, its text (victim services, advocates, facilitators).

    \b
    Example:
      vcase letter show 7 --text
    """
    from services import letters

    if version is not None and not with_text:
        raise click.UsageError("--version goes with --text")
    out = letters.read_text(app(), letter_id, version) if with_text else letters.show(app(), letter_id)
    if as_json:
        return emit_json(out)
    if with_text:
        fields(out, ["letter", "version", "written_by", "at"])
        click.echo()
        return click.echo(out["text"])
    fields(out, ["id", "case_number", "state", "paused_from", "version", "ended", "started_at", "updated_at", "facts"])
    click.echo()
    table(out["versions"], ["version", "bytes", "written_by", "at"], title="Versions")


@letter.command("list")
@click.argument("case_number")
@json_option
def letter_list(case_number, as_json):
    """List the letters on a case (victim services, advocates, facilitators).

    \b
    Example:
      vcase letter list 2026-CR-0042 --json
    """
    from services import letters

    rows = letters.list_for_case(app(), case_number)
    emit_json(rows) if as_json else table(rows, ["id", "state", "versions", "started_at", "updated_at"])
