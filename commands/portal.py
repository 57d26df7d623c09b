"""``vcase portal``: the victim portal (serve it) and victims' access to it (invite, revoke, status)."""

from __future__ import annotations

import click

from commands.common import ID, app, done, emit_json, fields, json_option, table


@click.group()
def portal():
    """The victim portal: victims act for themselves, with the engine's own rules.

    Staff issue a victim-side party an access ID and a one-time code; on first
    sign-in the party chooses a PIN or passphrase. Run the portal behind the
    agency's reverse proxy with TLS (see the README).
    """


@portal.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it local behind a proxy).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
def portal_serve(host, port):
    """Serve the portal (and the SMS webhook at /sms/inbound) with uvicorn.

    No access log is written: paths and client addresses stay out of logs.
    Session cookies are Secure: browse it through HTTPS (a TLS proxy), or on
    http://localhost, which browsers treat as secure.

    \b
    Examples:
      vcase portal serve
      vcase portal serve --host 127.0.0.1 --port 8443
    """
    from web.app import serve

    instance = app()
    click.echo(f"vcase portal on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    serve(instance, host, port)


@portal.command("invite")
@click.option("--for", "for_party", type=ID, required=True, help="The victim-side party to give access to.")
@click.option("--send", is_flag=True, help="Send the code now on the party's first e-mail or text channel "
              "(otherwise it is printed, for a letter or to read out).")
@json_option
def portal_invite(for_party, send, as_json):
    """Issue a party's access ID and a one-time code (again: the old code, PIN and sessions stop).

    The code is shown once and never stored (only its Argon2id hash). Not for
    a minor (invite the guardian), a deceased victim (next of kin) or the
    person under supervision (who has no portal).

    \b
    Examples:
      vcase portal invite --for 3
      vcase portal invite --for 3 --send
    """
    from services import portal as portal_mod

    out = portal_mod.invite(app(), for_party, send)
    if as_json:
        return emit_json(out)
    if out["sent_by"]:
        done(f"Access for party {out['party']} sent by {out['sent_by']}; the code works until {out['expires_at']}.")
    else:
        fields(out, ["party", "access_id", "code", "expires_at"])
        done("Give these to the party by letter or in person; they choose a PIN on first sign-in.")


@portal.command("revoke")
@click.option("--for", "for_party", type=ID, required=True, help="The party whose access ends.")
def portal_revoke(for_party):
    """End a party's portal access at once: every session ends, no code or PIN works.

    \b
    Example:
      vcase portal revoke --for 3
    """
    from services import portal as portal_mod

    out = portal_mod.revoke(app(), for_party)
    done(f"Portal access of party {out['party']} revoked; {out['sessions_ended']} session(s) ended.")


@portal.command("status")
@click.option("--for", "for_party", type=ID, required=True, help="The party.")
@json_option
def portal_status(for_party, as_json):
    """A party's portal access: invited, active, locked or revoked (never a code or PIN).

    \b
    Example:
      vcase portal status --for 3 --json
    """
    from services import portal as portal_mod

    out = portal_mod.status(app(), for_party)
    emit_json(out) if as_json else fields(out)


@portal.command("requests")
@click.option("--all", "show_all", is_flag=True, help="Include requests already handled.")
@json_option
def portal_requests(show_all, as_json):
    """Victims who asked through the portal for an advocate to contact them.

    \b
    Example:
      vcase portal requests --json
    """
    from services import portal as portal_mod

    rows = portal_mod.requests(app(), open_only=not show_all)
    emit_json(rows) if as_json else table(rows, ["id", "case_number", "party", "asked_at", "handled_by"])
