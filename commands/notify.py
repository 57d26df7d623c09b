"""``vcase event`` and ``vcase notices``: custody events and the outbox."""

from __future__ import annotations

import sys

import click

from commands.common import COUNT, ID, app, done, emit_json, fields, json_option, table

NOTICE_COLUMNS = ["id", "template", "channel", "language", "status", "recipient", "not_before", "attempts", "reason"]


AT_HELP = ("YYYY-MM-DDTHH:MM in the case's time zone, or with an offset (+02:00, Z). A time that does not exist "
           "there (clocks going forward) is refused; one that happens twice (clocks going back) needs its offset.")


@click.group()
def event():
    """Custody and supervision events, which notify the registered victims."""


@event.command("record")
@click.argument("case_number")
@click.argument("event_type")
@click.option("--at", "at", required=True, help="When. " + AT_HELP)
@click.option("--details", default="", help="Details the victim should know (no victim data).")
def event_record(case_number, event_type, at, details):
    """Record an event; registered victims are told, emergencies at once.

    \b
    Types: release_scheduled, released, transfer, escape, recapture, death,
    parole_hearing, violation_hearing, court_hearing, furlough, work_release,
    absconded, discharged. A scheduled release or hearing also arms advance
    notices (30, 7 and 1 days before by default). An event that reports what
    happened (released, escape, death...) cannot be dated in the future.

    \b
    Examples:
      vcase event record 2026-CR-0042 release_scheduled --at 2027-04-15T10:00 --details "Cook County Jail"
      vcase event record 2026-CR-0042 escape --at 2027-01-03T02:40
      vcase event record 2026-CR-0042 escape --at 2026-11-01T01:30-05:00   # the first 01:30 of a fall-back night
    """
    from services import notify_api

    out = notify_api.record_event(app(), case_number, event_type, at, details)
    held = f"; {out['held_for_review']} held for review (mass-change guard)" if out["held_for_review"] else ""
    done(f"Case event {out['case_event']} ({out['type']}) at {out['at']}: {out['registrants_notified']} registrant(s) "
         f"notified, {out['advance_notices_armed']} advance notice(s) armed{held}.")


@event.command("correct")
@click.argument("case_event_id", type=ID)
@click.option("--at", "at", default=None, help="The corrected time. " + AT_HELP)
@click.option("--details", default=None, help="The corrected details.")
@click.option("--cancel", is_flag=True, help="The event did not happen: withdraw it.")
def event_correct(case_event_id, at, details, cancel):
    """Correct or cancel an event; everyone who got the original is told.

    Notices not yet sent are cancelled instead.

    \b
    Examples:
      vcase event correct 17 --at 2027-04-16T10:00
      vcase event correct 17 --cancel
    """
    from services import notify_api

    out = notify_api.correct_event(app(), case_event_id, at, details, cancel)
    now_at = "" if cancel else f" (now event {out['case_event']}, at {out['at']})"
    done(f"Case event {case_event_id} {out['status']}{now_at}: {out['corrections_sent']} correction(s) sent, "
         f"{out['unsent_cancelled']} unsent notice(s) cancelled.")


@event.command("list")
@click.argument("case_number")
@json_option
def event_list(case_number, as_json):
    """List the custody and supervision events of a case.

    \b
    Example:
      vcase event list 2026-CR-0042 --json
    """
    from services import notify_api

    rows = notify_api.list_events(app(), case_number)
    emit_json(rows) if as_json else table(rows, ["id", "type", "at", "status", "corrects", "details", "recorded_by"])


@click.group()
def notices():
    """The outbox: every notice, its delivery state, attempts and proof."""


@notices.command("list")
@click.option("--case", "case_number", default=None, help="Only this case.")
@click.option("--status", type=click.Choice(["queued", "held", "sending", "sent", "failed", "confirmed", "cancelled",
                                            "awaiting_print", "printed", "mailed", "delivered", "returned"]),
              default=None, help="Only notices in this delivery state (the last five: letters in the mail room).")
@click.option("--process", "process_id", type=ID, default=None, help="Only this process.")
@click.option("--limit", type=COUNT, default=200, show_default=True)
@json_option
def notices_list(case_number, status, process_id, limit, as_json):
    """List notices, newest first, with their delivery state.

    \b
    Examples:
      vcase notices list --case 2026-CR-0042
      vcase notices list --status failed --json
    """
    from services import notify_api

    rows = notify_api.list_notices(app(), case_number, status, process_id, limit)
    emit_json(rows) if as_json else table(rows, NOTICE_COLUMNS)


@notices.command("show")
@click.argument("notice_id", type=ID)
@json_option
def notices_show(notice_id, as_json):
    """Show one notice: the text sent, its state, attempts and Message-ID.

    A letter also shows each step in the mail room, with its time and who:
    its reference, when the mail room got it, the batch it was printed in,
    the hand-off to the post office, a certified-mail tracking number, and
    delivery or return (a returned letter's fallback is a notice of its own).

    \b
    Example:
      vcase notices show 42
    """
    from services import notify_api

    out = notify_api.show_notice(app(), notice_id)
    if as_json:
        return emit_json(out)
    mail = ["letter_ref", "certified", "handed_to_mailroom", "mail_batch", "pages", "printed", "mailed", "tracking",
            "delivered", "returned"] if out.get("letter_ref") else []
    fields(out, ["id", "template", "channel", "language", "status", "reason", "recipient", "not_before", "attempts",
                 "sent_at", "message_id", "case_event", "fallback_of", *mail, "subject"])
    click.echo()
    click.echo(out["body"])


@notices.command("confirm")
@click.argument("notice_id", type=ID)
def notices_confirm(notice_id):
    """Record that the recipient confirmed a notice (stops the fallback).

    \b
    Example:
      vcase notices confirm 42
    """
    from services import notify_api

    notify_api.confirm(app(), notice_id)
    done(f"Notice {notice_id} confirmed.")


def _selection(ids=(), case_number=None, event_id=None, event_type=None, since=None, everything=False):
    from services.review import Selection

    return Selection(tuple(ids), case_number, event_id, event_type, since, everything)


def review_filters(fn):
    """The filters shared by held, release and discard."""
    for option in reversed([
        click.option("--case", "case_number", default=None, help="Only this case."),
        click.option("--event", "event_id", type=ID, default=None, help="Only this case event's notices."),
        click.option("--type", "event_type", default=None, help="Only events of this type (e.g. released)."),
        click.option("--since", default=None, metavar="WHEN",
                     help="Only notices held since then: the case's zone with --case, else the agency's "
                          "(setting agency.time_zone), unless an offset is given."),
    ]):
        fn = option(fn)
    return fn


@notices.command("held")
@review_filters
@click.option("--by-event", is_flag=True, help="One line per held case event: what a reviewer decides on.")
@click.option("--limit", type=COUNT, default=100, show_default=True, help="Notices per page.")
@click.option("--offset", type=click.IntRange(0, None), default=0, show_default=True, help="Skip this many.")
@json_option
def notices_held(case_number, event_id, event_type, since, by_event, limit, offset, as_json):
    """Notices held by the mass-change guard, waiting for review.

    A burst is reviewed as events: `--by-event` shows each held case event
    with its notices and the advance notices it armed (held with it).

    \b
    Examples:
      vcase notices held --by-event
      vcase notices held --type released --limit 50 --offset 50
      vcase notices held --event 17 --json
    """
    from services import notify_api

    selection = _selection((), case_number, event_id, event_type, since)
    if by_event:
        rows = notify_api.held_events(app(), selection)
        return emit_json(rows) if as_json else table(
            rows, ["case_event", "type", "case", "at", "held_notices", "advance_notices_armed", "held_since"],
            empty="No notices are held.")
    page = notify_api.held(app(), selection, limit, offset)
    if as_json:
        return emit_json(page)
    table(page["notices"], NOTICE_COLUMNS + ["case_event"], empty="No notices are held.")
    shown_to = offset + len(page["notices"])
    if page["total"] > shown_to:
        click.echo(f"{shown_to - offset} of {page['total']} shown; next page: --offset {shown_to}", err=True)


def _review(ids, case_number, event_id, event_type, since, everything, yes, release, reason=None):
    """Count first, ask, then decide with the count confirmed (refused if it changed meanwhile)."""
    from services import notify_api

    if ids and (case_number or event_id or event_type or since or everything):
        raise click.UsageError("give notice ids or filters, not both")
    selection = _selection(ids, case_number, event_id, event_type, since, everything)
    instance = app()
    plan = notify_api.review_plan(instance, selection)
    verb = "release" if release else "discard"
    armed = "" if release else f", and cancel {plan['advance_notices_armed']} advance notice(s) they armed"
    click.echo(f"This will {verb} {plan['notices']} held notice(s) of {len(plan['events'])} case event(s) on "
               f"{plan['cases']} case(s){armed}.", err=True)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(f"confirm with --yes to {verb} {plan['notices']} notice(s) without a prompt")
        click.confirm("Continue?", abort=True, err=True)
    out = notify_api.review(instance, selection, release, reason, expected_notices=plan["notices"])
    what = "Released" if release else "Discarded"
    extra = "" if release else f"; {out['timers_cancelled']} advance notice(s) cancelled"
    done(f"{what} {out['notices']} notice(s) of {out['events']} case event(s){extra}.")


@notices.command("release")
@click.argument("notice_ids", type=ID, nargs=-1)
@review_filters
@click.option("--all", "everything", is_flag=True, help="Every held notice.")
@click.option("--yes", is_flag=True, help="Do not ask after showing the count.")
def notices_release(notice_ids, case_number, event_id, event_type, since, everything, yes):
    """Let held notices go out (victim services), as whole events.

    Shows how many notices and events the selection covers and asks before
    acting. A notice id stands for its whole case event. Routine notices
    still wait out the recipient's quiet hours.

    \b
    Examples:
      vcase notices release --event 17
      vcase notices release 101 102 --yes
      vcase notices release --type transfer --since 2027-01-03T00:00Z
    """
    _review(notice_ids, case_number, event_id, event_type, since, everything, yes, release=True)


@notices.command("discard")
@click.argument("notice_ids", type=ID, nargs=-1)
@review_filters
@click.option("--all", "everything", is_flag=True, help="Every held notice.")
@click.option("--reason", required=True, help="Why they must not go out (kept on record).")
@click.option("--yes", is_flag=True, help="Do not ask after showing the count.")
def notices_discard(notice_ids, case_number, event_id, event_type, since, everything, reason, yes):
    """Discard held events that must not go out (victim services).

    Discarding an event cancels everything it caused: its held notices and
    the advance notices it armed, and marks it cancelled. A notice id stands
    for its whole case event. Shows the count and asks before acting.

    \b
    Examples:
      vcase notices discard --type released --since 2027-01-03T00:00Z --reason "data import error: no release happened"
      vcase notices discard --all --reason "test feed left on" --yes
    """
    _review(notice_ids, case_number, event_id, event_type, since, everything, yes, release=False, reason=reason)


@notices.command("preview")
@click.argument("template")
@click.option("--party", "party_id", type=ID, required=True, help="Render for this party.")
@click.option("--channel", type=click.Choice(["email", "sms", "letter"]), default="email", show_default=True)
@click.option("--at", "at", default=None, help="The time the notice is about, read in the recipient's zone. " + AT_HELP)
@json_option
def notices_preview(template, party_id, channel, at, as_json):
    """Render a template for a party without sending anything.

    \b
    Example:
      vcase notices preview notification/victim/released --party 3 --channel sms --at 2027-04-15T10:00
    """
    from services import notify_api

    out = notify_api.preview(app(), template, party_id, channel, at)
    if as_json:
        return emit_json(out)
    if out.get("at"):
        click.echo(f"(about {out['at']})", err=True)
    if out["subject"]:
        click.echo(f"Subject: {out['subject']}\n")
    click.echo(out["body"])
    if channel == "sms":
        from engine.channels import sms_parts

        parts = sms_parts(out["body"])
        click.echo(f"\n({len(out['body'])} characters: {'one message' if len(parts) == 1 else f'{len(parts)} messages'})",
                   err=not sys.stdout.isatty())


@notices.command("deliver")
@click.option("--batch", type=COUNT, default=50, show_default=True, help="Notices per transaction.")
def notices_deliver(batch):
    """Send every notice that is due now (the scheduler does this continuously).

    \b
    Example:
      VCASE_SMTP_HOST=mail.agency.example vcase notices deliver
    """
    from services import notify_api

    result = notify_api.deliver(app(), batch)
    quiet = f", {result.deferred} waiting out quiet hours" if result.deferred else ""
    done(f"Sent {result.sent}, retrying {result.retried}, failed {result.failed}, fallbacks queued {result.fallbacks}"
         f"{quiet}.")
