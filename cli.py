"""The ``vcase`` command: a thin layer over ``engine.api``.

Each command parses its options, makes one engine call and prints the result
(a table for people, ``--json`` for programs). Errors are mapped to exit codes
here and only here: refused (``VcaseError``) exits 1 with one line on stderr,
bad usage exits 2, and a traceback appears only with ``--debug``.

Subcommands are imported when used, so ``vcase --help`` loads neither
SQLAlchemy nor the engine.
"""

from __future__ import annotations

import importlib
import sys

import click

COMMANDS = {
    "init": ("commands.setup", "init"),
    "staff": ("commands.setup", "staff"),
    "settings": ("commands.setup", "settings"),
    "case": ("commands.cases", "case"),
    "party": ("commands.cases", "party"),
    "process": ("commands.processes", "process"),
    "workflow": ("commands.processes", "workflow"),
    "dialogue": ("commands.dialogue", "dialogue"),
    "letter": ("commands.letters", "letter"),
    "referral": ("commands.referrals", "referral"),
    "intimidation": ("commands.intimidation", "intimidation"),
    "registration": ("commands.registrations", "registration"),
    "partner": ("commands.partners", "partner"),
    "event": ("commands.notify", "event"),
    "notices": ("commands.notify", "notices"),
    "mailroom": ("commands.mailroom", "mailroom"),
    "scheduler": ("commands.scheduler", "scheduler"),
    "audit": ("commands.setup", "audit"),
    "key": ("commands.setup", "key"),
    "agreement": ("commands.agreements", "agreement"),
    "service": ("commands.services", "service"),
    "report": ("commands.reports", "report"),
    "portal": ("commands.portal", "portal"),
    "demo": ("commands.demo", "demo"),
}

SHORT_HELP = {
    "init": "Create or upgrade the database, make the key, add the first admin.",
    "staff": "Add and list staff members and their roles.",
    "settings": "Show and change agency policy settings.",
    "case": "Open, show and list cases; record safety flags and orders.",
    "party": "Add and show victims, survivors and their representatives.",
    "process": "Start, advance, pause, resume and withdraw any process.",
    "workflow": "List the process definitions and draw them as diagrams.",
    "dialogue": "Victim-offender dialogue: request, screen, invite, prepare, meet, follow up.",
    "letter": "Apology letters: submit, screen, hold until the victim asks, release.",
    "referral": "Refer victims to community partners, sharing only what they consent to.",
    "intimidation": "Intimidation and retaliation reports: escalated at once until someone acts.",
    "registration": "Register victims for notices; opt out; waive.",
    "partner": "The partner directory: organizations victims are referred to, and their contacts.",
    "event": "Record custody and supervision events; correct or cancel them.",
    "notices": "The outbox: list, show, confirm, review held, preview, deliver.",
    "mailroom": "Letters: print the day's batch, record mailing, tracking, delivery, returns.",
    "scheduler": "The daemon, one pass for cron, and status of workers and backlog.",
    "audit": "Verify the tamper-evident audit trail.",
    "key": "Rotate the encryption key: seal stored secrets again under the newest.",
    "agreement": "Formal agreements with partners: draft, sign, review on time, revise, end.",
    "service": "The services log: what victims were given, by the PMT's item codes.",
    "report": "Funders' reports: the VOCA quarterly PMT figures and the restorative programs'.",
    "portal": "The victim portal: serve it; invite, revoke and check a victim's access.",
    "demo": "A guided walk through vcase on a throwaway database.",
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, SHORT_HELP[name]) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
@click.version_option("0.1.0", prog_name="vcase")
@click.pass_context
def vcase(ctx, debug):
    """vcase: case workflows that crime victims start and control.

    Victim-offender dialogue, the apology letter bank and victim
    notification, with every act on a tamper-evident record.

    \b
    Who you are: VCASE_USER (default: your login name) must be a staff member.
    Where the data is: VCASE_DATABASE_URL (default: a SQLite file in VCASE_HOME).
    The key: VCASE_KEY or VCASE_KEY_FILE (vcase init creates one).

    \b
    Examples:
      vcase demo                      # a guided tour on a throwaway database
      vcase init                      # set up the database and key
      vcase case show 2026-CR-0042    # a case as your role may see it
      vcase process events 12         # what may happen next, and who may do it
    """
    ctx.ensure_object(dict)["debug"] = debug


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        vcase.main(args=args, prog_name="vcase", standalone_mode=False)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        if debug:
            raise
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # mapped to one line; the traceback only with --debug
        if debug:
            raise
        return _report(exc)


def _report(exc: Exception) -> int:
    from engine.errors import VcaseError

    if isinstance(exc, VcaseError):
        click.echo(f"Error: {_one_line(str(exc))}", err=True)
        return 1
    try:
        from engine.db import translate

        translated = translate(exc)
    except Exception:
        translated = exc
    if isinstance(translated, VcaseError):
        click.echo(f"Error: {_one_line(str(translated))}", err=True)
        return 1
    # Not the engine's words: a driver's or a library's message may quote the data it choked on
    # (an address, a phone number), so it is scrubbed before it reaches a terminal or a log.
    from engine.redact import scrub

    click.echo(f"Error: unexpected {type(exc).__name__}: {scrub(exc, limit=500)} (run again with --debug for details)",
               err=True)
    return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


if __name__ == "__main__":
    sys.exit(main())
