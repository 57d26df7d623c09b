"""``vcase scheduler``: fire timed steps that are due."""

from __future__ import annotations

import click

from commands.common import app, done


@click.group()
def scheduler():
    """Timed steps. The timers table is the truth; this only asks it what is due."""


@scheduler.command("tick")
@click.option("--until", "until", default=None, metavar="DATE",
              help="Also fire everything due up to DATE, each at its own due time, in order (previews, tests).")
def scheduler_tick(until):
    """Fire every timer that is due now, once, in due order (for cron).

    A timer missed during downtime fires on the next tick; the audit entry
    records when it was due and when it fired.

    \b
    Examples:
      vcase scheduler tick
      vcase scheduler tick --until 2027-06-01
    """
    instance = app()
    if until is None:
        result = instance.fire_due()
    else:
        from engine.clock import SimulatedClock, parse_when

        target = parse_when(until)
        instance.clock = SimulatedClock(instance.now())
        if target < instance.now():
            raise click.BadParameter("--until must be in the future", param_hint="--until")
        result = instance.run_until(target)
    done(f"Fired {result.fired} timer(s); {result.skipped} could not apply and were recorded as cancelled.")
