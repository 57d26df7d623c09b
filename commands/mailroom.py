"""``vcase mailroom``: print the day's letters, record the hand-off, tracking numbers, delivery and returns."""

from __future__ import annotations

import click

from commands.common import COUNT, ID, app, done, emit_json, fields, json_option, table, with_progress

# engine.mailroom.RETURN_REASONS (not imported here: --help stays light; a test keeps the two equal)
RETURN_REASONS = ("attempted_not_known", "insufficient_address", "no_such_number", "moved_left_no_address",
                  "forwarding_expired", "refused", "unclaimed", "vacant", "undeliverable_other")
LETTER_HELP = "LETTER is the reference printed on it (e.g. 7K3F-9QX2) or its notice id."


@click.group()
def mailroom():
    """The mail room: letters printed in daily batches, mailed, tracked, delivered or returned.

    A letter waits encrypted (awaiting_print) until `batch` prints it; then
    printed, mailed, and delivered or returned. `vcase notices show` proves
    each step of every letter.
    """


@mailroom.command("batch")
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD",
              help="The day whose letters to print, in the agency's zone (setting agency.time_zone); "
                   "default today. Letters left waiting from earlier days are included.")
@json_option
def mailroom_batch(day, as_json):
    """Print the day's letters: one PDF, a manifest (CSV), each letter marked printed.

    The batch goes to OUTBOX/letters/DAY/batch-N/ (owner-only): batch-N.pdf
    to print, manifest.csv (sequence, reference, first page, pages,
    certified, delivery, and the ZIP code when presorted), and each letter
    as a PDF and as a text file (accessibility). Fold in thirds for a #10
    window envelope. Files are removed after mailroom.batch_retention_days.

    \b
    Examples:
      vcase mailroom batch
      vcase mailroom batch --date 2027-03-14
    """
    from services import mailroom as service

    instance = app()
    out = with_progress(lambda progress: service.batch(instance, day, progress), label="laying out letters")
    if as_json:
        return emit_json(out)
    for problem in out["problems"]:
        click.echo(f"Warning: {problem}", err=True)
    if not out["batch"]:
        return done(f"No letters are waiting to be printed up to {out['day']}.")
    sort = "presorted by ZIP code" if out["presorted"] else "in the order they came"
    done(f"Batch {out['batch']} ({out['day']}): {out['letters']} letter(s), {out['pages']} page(s), "
         f"{out['certified']} certified, {sort}.\nPrint {out['path']}/batch-{out['batch']}.pdf; "
         f"the manifest is {out['path']}/manifest.csv. Then: vcase mailroom mailed --batch {out['batch']}")


@mailroom.command("mailed")
@click.option("--batch", "batch_id", type=ID, required=True, help="The batch handed to the post office.")
def mailroom_mailed(batch_id):
    """Record that a printed batch was handed to the post office.

    Its printed letters become mailed. A letter cancelled since printing (the
    victim withdrew, an event was corrected) is named: pull it first.

    \b
    Example:
      vcase mailroom mailed --batch 12
    """
    from services import mailroom as service

    out = service.mailed(app(), batch_id)
    done(f"Batch {out['batch']}: {out['mailed']} letter(s) mailed.")
    if out["pull"]:
        click.echo(f"Do not mail these, cancelled after printing: {', '.join(out['pull'])}", err=True)


@mailroom.command("tracking")
@click.argument("letter")
@click.argument("number")
def mailroom_tracking(letter, number):
    """Record a mailed letter's certified-mail tracking number (stored encrypted).

    LETTER is the reference printed on it (e.g. 7K3F-9QX2) or its notice id.

    \b
    Examples:
      vcase mailroom tracking 7K3F-9QX2 "9407 1000 0000 0000 0000 00"
      vcase mailroom tracking 42 RA123456789US
    """
    from services import mailroom as service

    out = service.tracking(app(), letter, number)
    done(f"Letter {out['letter']} (notice {out['notice']}): tracking number recorded.")


@mailroom.command("delivered")
@click.argument("letter")
def mailroom_delivered(letter):
    """Record proof of delivery of a mailed letter (a certified-mail receipt).

    LETTER is the reference printed on it (e.g. 7K3F-9QX2) or its notice id.

    \b
    Example:
      vcase mailroom delivered 7K3F-9QX2
    """
    from services import mailroom as service

    out = service.delivered(app(), letter)
    done(f"Letter {out['letter']} (notice {out['notice']}): delivered.")


@mailroom.command("returned")
@click.argument("letter")
@click.option("--reason", required=True, type=click.Choice(RETURN_REASONS),
              help="The post office's reason for the return.")
def mailroom_returned(letter, reason):
    """Record a letter that came back: the recipient's next channel is tried.

    As for a failed e-mail, the same notice is queued on the recipient's next
    chosen channel not yet tried. LETTER is the reference printed on it
    (e.g. 7K3F-9QX2) or its notice id.

    \b
    Example:
      vcase mailroom returned 7K3F-9QX2 --reason moved_left_no_address
    """
    from services import mailroom as service

    out = service.returned(app(), letter, reason)
    then = ("the next channel is queued" if out["fallback_queued"]
            else "no other channel is on file: reach the recipient another way and correct their address")
    done(f"Letter {out['letter']} (notice {out['notice']}): returned; {then}.")


@mailroom.command("list")
@click.option("--limit", type=COUNT, default=50, show_default=True, help="Latest batches shown.")
@json_option
def mailroom_list(limit, as_json):
    """List the latest batches and how many letters wait to be printed.

    \b
    Examples:
      vcase mailroom list
      vcase mailroom list --json
    """
    from services import mailroom as service

    out = service.list_batches(app(), limit)
    if as_json:
        return emit_json(out)
    table(out["batches"], ["batch", "day", "status", "letters", "pages", "certified", "printed_at", "mailed_at",
                           "files"], empty="No batches yet.")
    oldest = f" (oldest taken {out['oldest_waiting']})" if out["oldest_waiting"] else ""
    click.echo(f"{out['awaiting_print']} letter(s) awaiting print{oldest}.")


@mailroom.command("show")
@click.argument("batch_id", type=ID)
@json_option
def mailroom_show(batch_id, as_json):
    """Show a batch and its letters: references, pages, certified, state.

    Never the text, the name or the address: those are on the printed page.

    \b
    Example:
      vcase mailroom show 12
    """
    from services import mailroom as service

    out = service.show(app(), batch_id)
    if as_json:
        return emit_json(out)
    fields(out, ["batch", "day", "status", "letters", "pages", "certified", "presorted", "printed_at", "printed_by",
                 "mailed_at", "mailed_by", "folder", "files"])
    click.echo()
    table(out["letters_in_batch"], ["letter", "notice", "pages", "certified", "status", "tracking"])
