"""``vcase service``: the services log, what victim-services staff gave each victim-side party.

Each command is one call to ``services.service_log``. Services vcase gives
itself (a notice of a custody or supervision event delivered, a referral
made, a safety plan) appear in a party's log without anyone typing them.
"""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, fields, json_option, table

ITEM_HELP = "A PMT service item code (repeat it, or A1,E2); `vcase service items` lists them."


@click.group()
def service():
    """The services log: what was given to whom, for the VOCA quarterly report.

    Record services by the federal PMT's item codes (A information and
    referral, B advocacy, C emotional support or safety, D shelter or housing,
    E justice-system help, COMP compensation application). What vcase does
    itself is logged on its own: E1 for each event notice delivered to a
    victim, A2 for a registration, A3/A4 for a referral, C1 for a safety plan,
    E4 for a protective order asked for.
    """


@service.command("items")
@json_option
def service_items(as_json):
    """List the PMT's service items and their codes.

    \b
    Example:
      vcase service items
    """
    from services.pmt_catalog import CATEGORIES, ITEMS, category_of

    rows = [{"item": code, "category": CATEGORIES.get(category_of(code), "compensation"), "service": name}
            for code, name in ITEMS.items()]
    if as_json:
        return emit_json(rows)
    table(rows, ["item", "category", "service"])


@service.command("record")
@click.argument("party_ids", type=ID, nargs=-1, required=True, metavar="PARTY...")
@click.option("--item", "items", multiple=True, required=True, help=ITEM_HELP)
@click.option("--at", default=None, help="When it was given, in the case's zone (default: now), e.g. 2027-01-05T14:30.")
@click.option("--via", type=VIA, default=None, help="How the contact took place.")
def service_record(party_ids, items, at, via):
    """Record services given to victim-side parties in one contact.

    Several parties (a support group, a family at a hearing) are recorded in
    one transaction: all of them or none.

    \b
    Examples:
      vcase service record 7 --item A1 --item B4
      vcase service record 7 --item C1,COMP --at 2027-01-05T14:30 --via phone
      vcase service record 7 9 12 15 --item C5
    """
    from services import service_log

    for out in service_log.record_many(app(), party_ids, items, at, via):
        done(f"Recorded for party {out['party']}: {', '.join(out['items'])} at {out['at']}.")


@service.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would be recorded; write nothing.")
@json_option
def service_import(file, dry_run, as_json):
    """Record many contacts from a CSV file: all rows in one transaction, or none.

    Every row is checked first; each problem is listed as `row N: column:
    what` (never quoting a cell) and nothing is written.

    \b
    Columns (header row; items and at are required):
      party       a victim-side party id (or leave empty with anonymous=yes)
      anonymous   yes for a contact with someone who gave no name
      items       PMT item codes, e.g. "C2,A3"
      at          when, e.g. 2027-01-05T14:30 (the party's case zone; the
                  agency's for an anonymous contact)
      via         phone, in_person, in_writing, email or video (optional)

    \b
    Examples:
      vcase service import hotline-2027-01.csv --dry-run
      vcase service import hotline-2027-01.csv
    """
    from commands.common import show_problems, with_progress
    from services import service_log
    from services.csvfile import ImportRefused

    data = file.read()
    try:
        out = with_progress(lambda bar: service_log.import_csv(app(), data, dry_run, bar), "recording")
    except ImportRefused as refused:
        show_problems(refused.problems)
        raise
    if as_json:
        return emit_json(out)
    verb = "would be recorded" if dry_run else "recorded"
    done(f"{out['contacts']} contact(s) {verb} ({out['anonymous']} anonymous), {out['items']} service item(s).")


@service.command("anonymous")
@click.option("--item", "items", multiple=True, required=True, help=ITEM_HELP)
@click.option("--at", default=None, help="When, in the agency's zone (default: now), e.g. 2027-01-05T22:10.")
def service_anonymous(items, at):
    """Record a contact with someone who did not give their name (a hotline call).

    Counted apart from individuals in the PMT report; tied to no case.

    \b
    Example:
      vcase service anonymous --item C2 --item A3
    """
    from services import service_log

    out = service_log.record_anonymous(app(), items, at)
    done(f"Recorded an anonymous contact: {', '.join(out['items'])} at {out['at']}.")


@service.command("list")
@click.argument("party_id", type=ID)
@json_option
def service_list(party_id, as_json):
    """Every service a victim-side party was given, recorded and automatic, oldest first.

    \b
    Examples:
      vcase service list 7
      vcase service list 7 --json
    """
    from services import service_log

    out = service_log.list_for(app(), party_id)
    if as_json:
        return emit_json(out)
    table(out["services"], ["at", "item", "service", "source"], title=f"Services given to party {party_id}",
          empty=f"(no services given to party {party_id} yet)")


ANSWER_HELP = "Repeat it or separate with commas; not_reported and not_tracked are answers too; '' clears."


@service.command("profile")
@click.argument("party_id", type=ID)
@click.option("--victimization", multiple=True, help=f"Victimization types. {ANSWER_HELP}")
@click.option("--classification", multiple=True, help=f"Special classifications, or none. {ANSWER_HELP}")
@click.option("--race", multiple=True, help=f"Race/ethnicity (more than one counts as multiple races). {ANSWER_HELP}")
@click.option("--gender", default=None, help="Gender identity: male, female, other, not_reported, not_tracked.")
@click.option("--age", default=None, help="Age band: 0-12, 13-17, 18-24, 25-59, 60+, not_reported, not_tracked.")
@click.option("--via", type=VIA, default=None, help="How the person told you.")
@json_option
def service_profile(party_id, victimization, classification, race, gender, age, via, as_json):
    """Show, or record, what a victim-side party chose to say about themselves.

    Self-reported and optional: every question may be answered not_reported.
    Stored encrypted. Without an answer option, shows the profile.

    \b
    Examples:
      vcase service profile 7
      vcase service profile 7 --victimization domestic_family_violence,stalking_harassment --age 25-59
      vcase service profile 7 --race not_reported --gender not_reported --via phone
    """
    from services import service_log

    given = {"victimization": victimization or None, "classification": classification or None, "race": race or None,
             "gender": None if gender is None else (gender,), "age": None if age is None else (age,)}
    if all(v is None for v in given.values()):
        out = service_log.show_profile(app(), party_id)
    else:
        out = service_log.set_profile(app(), party_id, given, via)
    if as_json:
        return emit_json(out)
    fields(out)
