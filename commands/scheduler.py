"""``vcase scheduler``: the daemon, one pass for cron, and status."""

from __future__ import annotations

import sys

import click

from commands.common import COUNT, emit_json, fields, json_option, table


def _scheduler_app():
    """The scheduler acts as the system: it needs the database and the key, not a staff login."""
    from engine.api import App

    app = App.from_env()
    app.store.check_ready()
    return app


@click.group()
def scheduler():
    """Timed steps and notice delivery. The timers table is the truth;
    APScheduler is only the clock that asks it what is due."""


@scheduler.command("run")
@click.option("--interval", type=float, default=0.5, show_default=True,
              help="Seconds between passes (a pass with nothing due is two indexed queries).")
@click.option("--batch", type=COUNT, default=500, show_default=True, help="Timers per transaction.")
@click.option("--log-every", "log_every", type=float, default=10.0, show_default=True,
              help="Seconds between progress lines while there is work (none while idle).")
@click.option("--cache-mib", "cache_mib", type=click.IntRange(8, 65_536), default=None, metavar="MIB",
              help="SQLite: the daemon's page cache per connection, in MiB (default 64; the daemon's memory "
                   "grows by about this much). A statewide database fires faster with more (bench/README.md). "
                   "PostgreSQL: ignored (its own shared_buffers).")
def scheduler_run(interval, batch, log_every, cache_mib):
    """Run the scheduler daemon until SIGTERM or Ctrl-C (then finish the batch, exit 0).

    Several daemons may run on several machines against one PostgreSQL
    database; each timer still fires exactly once. While it works through a
    backlog it prints one line every --log-every seconds: timers fired,
    notices worked, and what is still due. Lines never carry victim data.

    \b
    Example:
      VCASE_SMTP_HOST=mail.agency.example vcase scheduler run --interval 1
      vcase scheduler run --log-every 60 2>> /var/log/vcase-scheduler.log
      vcase scheduler run --cache-mib 512      # a statewide SQLite file, a machine with memory to spare
    """
    from engine.scheduler import Daemon

    if interval <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    if log_every <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--log-every")
    code = Daemon(_scheduler_app(), interval, batch, say=lambda m: click.echo(m, err=True), progress_every=log_every,
                  cache_mib=cache_mib).run()
    sys.exit(code)


@scheduler.command("tick")
@click.option("--until", "until", default=None, metavar="DATE",
              help="Preview: run a simulated clock forward to DATE (the agency's time zone, setting agency.time_zone, "
                   "unless DATE has an offset) on a copy of the database, firing each timer at its own due time. "
                   "Needs --on-a-copy.")
@click.option("--on-a-copy", "copy_to", default=None, metavar="PATH",
              help="With --until: where the preview runs. SQLite: a new file; vcase takes a consistent copy of the "
                   "database there (committed work a running daemon holds in the write-ahead log included). "
                   "PostgreSQL: the URL of a scratch copy you made (createdb -T); vcase does not copy it.")
@click.option("--batch", type=COUNT, default=500, show_default=True, help="Timers per transaction.")
def scheduler_tick(until, copy_to, batch):
    """One pass for cron: fire every due timer once, in due order, and deliver due notices.

    A timer missed during downtime fires on the next pass; its audit entry
    records when it was due and when it fired.

    --until previews the future: every timer up to DATE fires now, and its
    notices are queued, not sent. On the agency's real database the next
    pass would send them, telling victims of events before their time, so
    it runs only on a copy: --on-a-copy PATH copies the SQLite database to
    PATH (a new file) and previews there; the real database is only read.
    Look at the copy with VCASE_DATABASE_URL=sqlite:///PATH; never point a
    daemon at it.

    \b
    Examples:
      vcase scheduler tick
      vcase scheduler tick --until 2027-06-01 --on-a-copy /tmp/preview.db
      VCASE_DATABASE_URL=sqlite:////tmp/preview.db vcase case timeline 2026-CR-0042
      vcase scheduler tick --until 2027-06-01T09:00 --on-a-copy postgresql://db.agency.example/vcase_preview
    """
    from engine.scheduler import tick, worker_id

    if until is None and copy_to is not None:
        raise click.UsageError("--on-a-copy goes with --until DATE: the preview it runs on the copy")
    if until is not None and copy_to is None:
        raise click.UsageError("--until fires timers before their time and cannot be undone: it runs on a copy of "
                               "the database, --on-a-copy PATH (a new file vcase copies the database to)")
    app = _scheduler_app()
    if until is not None:
        return _preview(app, until, copy_to)
    if sys.stderr.isatty():
        result = _tick_with_progress(app, batch)
    else:
        result = tick(app, worker_id(), batch, beat="one pass")
    click.echo(result.line()[0].upper() + result.line()[1:] + ".")


def _preview(app, until: str, copy_to: str) -> None:
    from engine.clock import describe, parse_when
    from engine.scheduler import agency_zone, preview

    zone = agency_zone(app)
    target = parse_when(until, zone, "--until")
    if target < app.now():
        raise click.BadParameter(f"{describe(target, zone)} is in the past; give a future date", param_hint="--until")
    where, fired = preview(app, copy_to, target)
    click.echo(f"Ran the clock of the copy at {where} to {describe(target, zone)}: fired {fired.fired} timer(s), "
               f"{fired.skipped} could not apply; their notices are queued there, not sent. The agency's database "
               "was not changed. Never point a daemon at the copy.")


def _tick_with_progress(app, batch):
    from rich.progress import Progress

    from engine.scheduler import tick, worker_id

    with Progress(transient=True) as bar:
        tasks = {"timers": bar.add_task("timers", total=None), "notices": bar.add_task("notices", total=None)}
        return tick(app, worker_id(), batch, progress=lambda kind, n: bar.advance(tasks.get(kind, tasks["timers"]), n),
                    beat="one pass")


@scheduler.command("status")
@json_option
def scheduler_status(as_json):
    """Workers alive, timers due, queued/held/failed notices, oldest overdue item.

    \b
    Example:
      vcase scheduler status --json
    """
    from engine.api import App
    from engine.scheduler import status

    app = App.from_env()
    app.store.check_ready()
    out = status(app)
    if as_json:
        return emit_json(out)
    fields(out, ["now", "due_timers", "queued_notices", "held_notices", "failed_notices", "sent_notices",
                 "oldest_overdue", "oldest_overdue_seconds", "letters_awaiting_print", "oldest_letter_waiting",
                 "letters_printed_not_mailed"])
    click.echo()
    table(out["workers"], ["worker", "status", "last_seen", "fired", "delivered"], title="Workers",
          empty="No scheduler has run yet.")
