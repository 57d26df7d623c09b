"""``vcase init``, ``staff``, ``settings``, ``audit`` and ``key``."""

from __future__ import annotations

import click

from commands.common import app, done, emit_json, fields, json_option, table


@click.command()
@click.option("--admin", "admin_login", default=None, help="Login of the first admin (default: you).")
@click.option("--name", "admin_name", default=None, help="Display name of the first admin.")
def init(admin_login, admin_name):
    """Create or upgrade the database schema and make the encryption key.

    Safe to run again: it upgrades an older schema and changes nothing else.
    With no VCASE_KEY set and no key file yet, it writes a new key file
    readable only by you. On a database with no staff, it adds the first
    admin (you, unless --admin says otherwise).

    \b
    Example:
      VCASE_USER=ada vcase init --name "Ada Admin"
    """
    from engine import config
    from engine.api import App
    from engine.db import Store

    cfg = config.load()
    login = admin_login or config.current_login()
    result = App(Store.from_config(cfg), login=login).init(login, admin_name or login, key_file=cfg.key_file)
    if result["key_file_created"]:
        done(f"Created encryption key {result['key_file_created']} (owner-only). Keep a copy somewhere safe: "
             "without it the contact details cannot be read.")
    before, after = result["schema_before"], result["schema"]
    done(f"Schema {'created' if before is None else 'already current' if before == after else 'upgraded'} "
         f"(revision {after}) at {cfg.database_url.split('://')[0]}.")
    if result["admin_created"]:
        done(f"Added {result['admin_created']} as the first admin.")


@click.group()
def staff():
    """Staff members: who may use vcase, and in which role.

    \b
    Roles: officer, advocate, victim_services, facilitator, parole_board, admin.
    """


@staff.command("add")
@click.argument("login")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", required=True, type=click.Choice(
    ["officer", "advocate", "victim_services", "facilitator", "parole_board", "admin", "mailroom"]),
    help="Their role (mailroom: prints and mails letters, reads no case).")
@click.option("--email", default=None, help="Work email for staff notices.")
@click.option("--partner", type=click.IntRange(1, 2**63 - 1), default=None,
              help="A member of this partner's staff (a hybrid or community-based advocate): they may use only "
                   "what the partner's agreement in force grants, and nothing once it ends.")
def staff_add(login, name, role, email, partner):
    """Add a staff member (admins only).

    \b
    Examples:
      vcase staff add oscar --name "Oscar Ortiz" --role officer --email oscar@doc.example
      vcase staff add hana --name "Hana Harbor" --role advocate --partner 3
    """
    out = app().add_staff(login, name, role, email, partner)
    done(f"Added {out['login']} ({out['role']}" + (f", staff of partner {partner}" if partner else "") + ").")


@staff.command("list")
@json_option
def staff_list(as_json):
    """List staff members.

    \b
    Example:
      vcase staff list --json
    """
    rows = app().list_staff()
    emit_json(rows) if as_json else table(rows, ["login", "name", "role", "email", "active", "partner"], title="Staff")


@click.group()
def settings():
    """Agency policy settings (defaults are the victim-protective choice).

    Each setting has a type: `vcase settings set` refuses a value it does not
    take and changes nothing. A bad value stored by other means is never used:
    the setting reads as its default, and `vcase settings list` marks it.
    """


@settings.command("list")
@json_option
def settings_list(as_json):
    """Show every setting, its value and what it takes.

    A stored value the setting's type refuses (written by hand, or by an older
    vcase) is shown as invalid, with the value used instead.

    \b
    Example:
      vcase settings list
    """
    from engine import settings as settings_mod

    instance = app()
    with instance.store.read() as session:
        rows = settings_mod.listing(session, instance.registry)
    if as_json:
        return emit_json(rows)
    table(rows, ["setting", "value", "expected", "note"])


@settings.command("set")
@click.argument("key")
@click.argument("value")
def settings_set(key, value):
    """Change a setting (admins only; recorded in the audit trail).

    The value must be what the setting takes (`vcase settings list` says):
    a number in its range, a time as HH:MM, days as 30,7,1, one of its
    choices, a time zone name, yes or no.

    \b
    Examples:
      vcase settings set dialogue.ipv_policy refuse
      vcase settings set notices.quiet_start 21:30
      vcase settings set agency.time_zone America/Chicago
      vcase settings set privacy.officer_sees_victim_address yes
    """
    instance = app()
    instance.set_setting(key, value)
    done(f"{key} = {instance.settings()[key]}")


@click.group()
def audit():
    """The append-only, hash-chained audit trail."""


@audit.command("verify")
@json_option
def audit_verify(as_json):
    """Check every link of the audit chain; name the first broken entry.

    Exits 1 when the trail has been altered.

    \b
    Example:
      vcase audit verify
    """
    result = app().verify_audit()
    if as_json:
        emit_json(result)
    elif result["ok"]:
        done(f"Audit trail intact: {result['entries']} entries verified.")
    else:
        fields({"entries": result["entries"], "first broken link": result["problems"][0]})
    if not result["ok"]:
        from engine.errors import VcaseError

        raise VcaseError(f"audit trail broken at {result['problems'][0]}")


@click.group()
def key():
    """The agency's encryption key: rotating it.

    \b
    To rotate: make a new key (python -c "from engine.crypto import new_key;
    print(new_key())"), put it FIRST in VCASE_KEY or the key file with the old
    key after it (comma-separated, or one a line), for every vcase process;
    then run `vcase key reseal`. When it reports nothing left under the old
    key, remove the old key.
    """


@key.command("reseal")
@click.option("--batch", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Rows per transaction (the job can be stopped and run again).")
@json_option
def key_reseal(batch, as_json):
    """Seal every stored secret again under the newest key (admin).

    Names, contact details, documents, notices and profiles sealed under an
    older key, or in the format before AES-256-GCM, are rewritten; phone
    numbers' blind indexes and the key check value follow the newest key.
    Run it again at any time: what is already current is left as it is.
    Confirm links and codes sent before the rotation stop working (only
    their keyed hashes are kept); staff can still confirm those notices.

    \b
    Example:
      VCASE_KEY="$NEW,$OLD" vcase key reseal
      VCASE_KEY="$NEW" vcase audit verify     # the old key is no longer needed
    """
    from commands.common import with_progress

    instance = app()
    totals = instance.sealed_rows()
    grand = sum(totals.values())
    seen = {"rows": 0}

    def work(progress):
        def step(_table, rows):
            seen["rows"] += rows
            if progress is not None:
                progress(seen["rows"], grand)
        return instance.reseal(batch, step)

    result = with_progress(work, "resealing")
    if as_json:
        return emit_json(result)
    table([{"table": name, "rows": totals.get(name, 0), "resealed": n} for name, n in result["resealed"].items()],
          ["table", "rows", "resealed"], title="Sealed under the newest key")
    done(f"{result['values_resealed_rows']} row(s) resealed; the key check value is sealed with the newest key. "
         "Once every vcase process uses the new key first, the old one can be removed.")
