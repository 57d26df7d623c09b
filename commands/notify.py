"""``vcase event`` and ``vcase notices``: custody events and the outbox."""

from __future__ import annotations

import sys

import click

from commands.common import COUNT, ID, app, done, emit_json, fields, json_option, table

NOTICE_COLUMNS = ["id", "template", "channel", "language", "status", "recipient", "not_before", "attempts", "reason"]


def _when(value: str, case_tz: str = "UTC"):
    from engine.clock import parse_when

    return parse_when(value, case_tz)


@click.group()
def event():
    """Custody and supervision events, which notify the registered victims."""


@event.command("record")
@click.argument("case_number")
@click.argument("event_type")
@click.option("--at", "at", required=True, help="When: YYYY-MM-DDTHH:MM (the case's local time unless an offset is given).")
@click.option("--details", default="", help="Details the victim should know (no victim data).")
def event_record(case_number, event_type, at, details):
    """Record an event; registered victims are told, emergencies at once.

    \b
    Types: release_scheduled, released, transfer, escape, recapture, death,
    parole_hearing, violation_hearing, court_hearing, furlough, work_release,
    absconded, discharged. A scheduled release or hearing also arms advance
    notices (30, 7 and 1 days before by default).

    \b
    Examples:
      vcase event record 2026-CR-0042 release_scheduled --at 2027-04-15T10:00 --details "Cook County Jail"
      vcase event record 2026-CR-0042 escape --at 2027-01-03T02:40
    """
    instance = app()
    tz = instance.show_case_zone(case_number)
    from engine import notify_api

    out = notify_api.record_event(instance, case_number, event_type, _when(at, tz), details)
    held = f"; {out['held_for_review']} held for review (mass-change guard)" if out["held_for_review"] else ""
    done(f"Case event {out['case_event']} ({out['type']}): {out['registrants_notified']} registrant(s) notified, "
         f"{out['advance_notices_armed']} advance notice(s) armed{held}.")


@event.command("correct")
@click.argument("case_event_id", type=ID)
@click.option("--at", "at", default=None, help="The corrected time.")
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
    from engine import notify_api

    out = notify_api.correct_event(app(), case_event_id, _when(at) if at else None, details, cancel)
    done(f"Case event {case_event_id} {out['status']}: {out['corrections_sent']} correction(s) sent, "
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
    from engine import notify_api

    rows = notify_api.list_events(app(), case_number)
    emit_json(rows) if as_json else table(rows, ["id", "type", "at", "status", "corrects", "details", "recorded_by"])


@click.group()
def notices():
    """The outbox: every notice, its delivery state, attempts and proof."""


@notices.command("list")
@click.option("--case", "case_number", default=None, help="Only this case.")
@click.option("--status", type=click.Choice(["queued", "held", "sending", "sent", "failed", "confirmed", "cancelled"]),
              default=None)
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
    from engine import notify_api

    rows = notify_api.list_notices(app(), case_number, status, process_id, limit)
    emit_json(rows) if as_json else table(rows, NOTICE_COLUMNS)


@notices.command("show")
@click.argument("notice_id", type=ID)
@json_option
def notices_show(notice_id, as_json):
    """Show one notice: the text sent, its state, attempts and Message-ID.

    \b
    Example:
      vcase notices show 42
    """
    from engine import notify_api

    out = notify_api.show_notice(app(), notice_id)
    if as_json:
        return emit_json(out)
    fields(out, ["id", "template", "channel", "language", "status", "reason", "recipient", "not_before", "attempts",
                 "sent_at", "message_id", "case_event", "fallback_of", "subject"])
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
    from engine import notify_api

    notify_api.confirm(app(), notice_id)
    done(f"Notice {notice_id} confirmed.")


@notices.command("held")
@json_option
def notices_held(as_json):
    """Notices held by the mass-change guard, waiting for review.

    \b
    Example:
      vcase notices held
    """
    from engine import notify_api

    rows = notify_api.list_notices(app(), status="held", limit=10_000)
    emit_json(rows) if as_json else table(rows, NOTICE_COLUMNS, empty="No notices are held.")


@notices.command("release")
@click.argument("notice_ids", type=ID, nargs=-1, required=True)
def notices_release(notice_ids):
    """Let held notices go out (victim services).

    \b
    Example:
      vcase notices release 101 102 103
    """
    from engine import notify_api

    done(f"Released {notify_api.review_held(app(), list(notice_ids), True)} notice(s).")


@notices.command("discard")
@click.argument("notice_ids", type=ID, nargs=-1, required=True)
@click.option("--reason", required=True, help="Why they must not go out (kept on record).")
def notices_discard(notice_ids, reason):
    """Discard held notices that must not go out (victim services).

    \b
    Example:
      vcase notices discard 101 102 --reason "data import error: no release happened"
    """
    from engine import notify_api

    done(f"Discarded {notify_api.review_held(app(), list(notice_ids), False, reason)} notice(s).")


@notices.command("preview")
@click.argument("template")
@click.option("--party", "party_id", type=ID, required=True, help="Render for this party.")
@click.option("--channel", type=click.Choice(["email", "sms", "letter"]), default="email", show_default=True)
@click.option("--at", "at", default=None, help="A sample time for the event.")
@json_option
def notices_preview(template, party_id, channel, at, as_json):
    """Render a template for a party without sending anything.

    \b
    Example:
      vcase notices preview notification/victim/released --party 3 --channel sms
    """
    from engine import notify_api

    out = notify_api.preview(app(), template, party_id, channel, _when(at) if at else None)
    if as_json:
        return emit_json(out)
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
    from engine import notify_api

    result = notify_api.deliver(app(), batch)
    done(f"Sent {result.sent}, retrying {result.retried}, failed {result.failed}, fallbacks queued {result.fallbacks}.")
