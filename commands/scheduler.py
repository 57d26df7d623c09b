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
def scheduler_run(interval, batch):
    """Run the scheduler daemon until SIGTERM or Ctrl-C (then finish the batch, exit 0).

    Several daemons may run on several machines against one PostgreSQL
    database; each timer still fires exactly once.

    \b
    Example:
      VCASE_SMTP_HOST=mail.agency.example vcase scheduler run --interval 1
    """
    from engine.scheduler import Daemon

    if interval <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--interval")
    code = Daemon(_scheduler_app(), interval, batch, say=lambda m: click.echo(m, err=True)).run()
    sys.exit(code)


@scheduler.command("tick")
@click.option("--until", "until", default=None, metavar="DATE",
              help="Run a simulated clock forward to DATE, firing each timer at its own due time (previews of a "
                   "copy of the database; needs --on-a-copy).")
@click.option("--on-a-copy", "on_a_copy", is_flag=True,
              help="Confirm that VCASE_DATABASE_URL is a copy: --until fires timers before their time, for good.")
@click.option("--batch", type=COUNT, default=500, show_default=True, help="Timers per transaction.")
def scheduler_tick(until, on_a_copy, batch):
    """One pass for cron: fire every due timer once, in due order, and deliver due notices.

    A timer missed during downtime fires on the next pass; its audit entry
    records when it was due and when it fired.

    --until previews the future on a copy: every timer up to DATE fires now
    and its notices are queued, not sent. On the agency's real database the
    next pass would send them, telling victims of events before their time,
    so it is refused without --on-a-copy. Never point a daemon at the copy.

    \b
    Examples:
      vcase scheduler tick
      cp vcase.db preview.db
      VCASE_DATABASE_URL=sqlite:///preview.db vcase scheduler tick --until 2027-06-01 --on-a-copy
    """
    from engine.scheduler import tick, worker_id

    if until is not None and not on_a_copy:
        raise click.UsageError("--until fires timers before their time and cannot be undone: run it on a copy of the "
                               "database (VCASE_DATABASE_URL=sqlite:///copy.db) and add --on-a-copy")
    app = _scheduler_app()
    if until is not None:
        from engine.clock import SimulatedClock, parse_when

        target = parse_when(until)
        if target < app.now():
            raise click.BadParameter("must be in the future", param_hint="--until")
        app.clock = SimulatedClock(app.now())
        fired = app.run_until(target)
        click.echo(f"Ran the clock to {target.isoformat()}: fired {fired.fired} timer(s), "
                   f"{fired.skipped} could not apply.")
        return
    if sys.stderr.isatty():
        result = _tick_with_progress(app, batch)
    else:
        result = tick(app, worker_id(), batch, beat="one pass")
    click.echo(result.line()[0].upper() + result.line()[1:] + ".")


def _tick_with_progress(app, batch):
    from rich.progress import Progress

    from engine.scheduler import tick, worker_id

    with Progress(transient=True) as bar:
        tasks = {"timers": bar.add_task("timers", total=None), "notices": bar.add_task("notices", total=None)}
        return tick(app, worker_id(), batch, progress=lambda kind, n: bar.advance(tasks[kind], n), beat="one pass")


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
                 "oldest_overdue", "oldest_overdue_seconds"])
    click.echo()
    table(out["workers"], ["worker", "status", "last_seen", "fired", "delivered"], title="Workers",
          empty="No scheduler has run yet.")
