"""``vcase registration``: who is registered for victim notices, and how."""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, json_option, show_problems, table, with_progress


@click.group()
def registration():
    """Victim notification registrations: who is told about what, and how.

    A registration is a process: opting out is `vcase process withdraw ID`
    (unsent notices are cancelled at once) and a written waiver ends it too.
    """


@registration.command("add")
@click.argument("case_number")
@click.option("--for", "for_party", type=ID, required=True, help="The victim-side party registering.")
@click.option("--events", required=True, help="Event types, comma-separated, or 'all'.")
@click.option("--via", type=VIA, default=None,
              help="How they asked.")
@click.option("--while-paused", type=click.Choice(["send", "hold"]), default=None,
              help="During a pause, emergencies (escape, recapture) are sent at once (send, the default) or wait too.")
def registration_add(case_number, for_party, events, via, while_paused):
    """Register a victim-side party for notices about a case.

    Channels, language and time zone are the party's own (`vcase party add`).
    A pause (`vcase process pause ID`) is "not now": routine notices wait
    and go out on resume, but emergencies the party registered for still go
    out at once unless they chose `--while-paused hold`. Change the choice
    later with `vcase process send ID change_events --set emergencies_while_paused=hold`.

    \b
    Examples:
      vcase registration add 2026-CR-0042 --for 3 --events all --via phone
      vcase registration add 2026-CR-0042 --for 3 --events release_scheduled,released,escape,letter_held
      vcase registration add 2026-CR-0042 --for 3 --events all --while-paused hold
    """
    from services import notify_api

    out = notify_api.register(app(), case_number, for_party, events, via, while_paused)
    done(f"Registration {out['process']} is active ({out['notices']} confirmation notice(s) queued). "
         f"Opt out with `vcase process withdraw {out['process']} --for {for_party}`.")


@registration.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--via", type=VIA, default=None, help="How the people on the list asked to be registered.")
@click.option("--dry-run", is_flag=True, help="Check every row and say what would be created; write nothing.")
@click.option("--confidentiality-explained", "explained", type=click.Choice(["in_person", "phone", "in_writing", "video"]),
              default=None, help="How the limits of confidentiality were explained to everyone in the file (e.g. "
              "in_writing on the form): recorded for each party; needed while privacy.confidentiality_first is yes.")
@json_option
def registration_import(file, via, dry_run, explained, as_json):
    """Add victim-side parties and register them for notices, from a CSV file.

    One row is one person on an existing case: a party (as `vcase party add`)
    and a registration (as `vcase registration add`). Every row is checked
    first; if any row has a problem, each is listed as `row N: column: what`
    and nothing is written. Otherwise all rows are written in one
    transaction: all of them or none. Rows are numbered as a spreadsheet
    shows them (the header is row 1). Problems never quote a cell.

    \b
    Columns (header row; case, kind, name and events are required):
      case        the case number, e.g. 2026-CR-0042
      kind        victim, survivor, co_victim, witness, guardian or next_of_kin
      name        the person's name
      email, phone, address   contact details (an address may span lines)
      channels    email, sms, letter: most preferred first, e.g. "email,sms";
                  each needs its contact column
      language    en or es (default en)
      time_zone   an IANA zone if not the case's, e.g. America/Denver
      minor, deceased   yes or no (default no)
      represents  for a guardian or next of kin: a party id on the case, or
                  row:N for the party an earlier row of the file adds
      events      event types ("release_scheduled,escape"), all, or none for
                  a party without a registration (e.g. a minor whose
                  guardian registers)

    \b
    A name already on the case as a victim-side party, or twice in the file
    for one case, is refused (never skipped), so importing a list twice
    registers no one twice. Files are UTF-8 (Excel: "CSV UTF-8"); commas,
    semicolons or tabs separate the cells; at most 5,000 rows.
    Only roles that may both add parties and register victims (advocate,
    victim_services) may import.

    \b
    Example file:
      case,kind,name,email,phone,channels,language,minor,represents,events
      2026-CR-0042,victim,Maria Lopez,m@example.org,,email,es,no,,all
      2026-CR-0042,co_victim,Kim Lopez,,,,es,yes,,none
      2026-CR-0042,guardian,Ana Lopez,,+13125550101,sms,es,no,row:3,"released,escape"

    \b
    Examples:
      vcase registration import victims.csv --dry-run
      vcase registration import victims.csv --via in_writing --confidentiality-explained in_writing
    """
    from services import registrations

    data = file.read(registrations.MAX_BYTES + 1)
    try:
        out = with_progress(lambda progress: registrations.import_csv(app(), data, via, dry_run, progress, explained))
    except registrations.ImportRefused as refused:
        show_problems(refused.problems)
        raise
    if as_json:
        return emit_json(out)
    table(out["cases"], ["case_number", "parties", "registrations", "notices"])
    if dry_run:
        done(f"Dry run: all {out['rows']} row(s) are good; this would add {out['parties']} part(ies) and "
             f"{out['registrations']} registration(s), queueing {out['notices']} confirmation notice(s). "
             "Nothing was written.")
    else:
        done(f"Imported {out['rows']} row(s): {out['parties']} part(ies) and {out['registrations']} registration(s); "
             f"{out['notices']} confirmation notice(s) queued. `vcase registration import ... --json` lists the ids.")


@registration.command("list")
@click.argument("case_number", required=False)
@click.option("--case", "case_option", default=None, help="Only this case (same as the CASE_NUMBER argument).")
@click.option("--state", type=click.Choice(["active", "paused", "withdrawn", "waived"]), default=None,
              help="Only registrations in this state.")
@click.option("--event", default=None, help="Only registrations subscribed to this event type, e.g. escape.")
@click.option("--language", type=click.Choice(["en", "es"]), default=None, help="Only registrants in this language.")
@click.option("--channel", type=click.Choice(["email", "sms", "letter"]), default=None,
              help="Only registrants who chose this channel (no choice counts as letter).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True, help="Rows per page.")
@click.option("--offset", type=click.IntRange(0, 2**62), default=0, help="Skip this many rows (the next page).")
@json_option
def registration_list(case_number, case_option, state, event, language, channel, limit, offset, as_json):
    """List registrations across the agency, or on one case (victim-services roles only).

    Shows ids, never names or contact details (`vcase party show ID` has
    those). A long list is paged: the last line says how many more there are
    and the --offset that shows them.

    \b
    Examples:
      vcase registration list 2026-CR-0042
      vcase registration list --state active --event escape --channel sms
      vcase registration list --language es --limit 50 --offset 50 --json
    """
    from services import registrations

    if case_number and case_option and case_number != case_option:
        raise click.UsageError("give the case once: CASE_NUMBER or --case")
    out = registrations.list_registrations(app(), case_number or case_option, state, event, language, channel,
                                           limit, offset)
    if as_json:
        return emit_json(out)
    table(out["registrations"], ["id", "case_number", "state", "party", "kind", "events", "language", "channels",
                                 "updated_at"], empty="No registrations match.")
    if out["more"]:
        click.echo(f"{out['more']} more; use --offset {offset + len(out['registrations'])} to see them.")
