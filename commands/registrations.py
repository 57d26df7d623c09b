"""``vcase registration``: who is registered for victim notices, and how."""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, json_option, table


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
def registration_add(case_number, for_party, events, via):
    """Register a victim-side party for notices about a case.

    Channels, language and time zone are the party's own (`vcase party add`).

    \b
    Examples:
      vcase registration add 2026-CR-0042 --for 3 --events all --via phone
      vcase registration add 2026-CR-0042 --for 3 --events release_scheduled,released,escape,letter_held
    """
    from engine import notify_api

    out = notify_api.register(app(), case_number, for_party, events, via)
    done(f"Registration {out['process']} is active ({out['notices']} confirmation notice(s) queued). "
         f"Opt out with `vcase process withdraw {out['process']} --for {for_party}`.")


@registration.command("list")
@click.argument("case_number")
@json_option
def registration_list(case_number, as_json):
    """List the registrations on a case (victim-services roles only).

    \b
    Example:
      vcase registration list 2026-CR-0042
    """
    rows = app().list_processes(case_number, "notification")
    for row in rows:
        row["events"] = row["facts"].get("events", [])
    emit_json(rows) if as_json else table(rows, ["id", "state", "initiator_party", "events", "updated_at"])
