"""``vcase process`` (the generic verbs for every workflow) and ``vcase workflow``."""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, fields, json_option, parse_sets, table

for_option = click.option("--for", "for_party", type=ID, default=None,
                          help="The party you act for (id from `vcase party list CASE`).")
via_option = click.option("--via", type=VIA, default=None, help="How the party made the request.")


def moved(out, noun: str = "Process") -> None:
    """One line for an event applied; the states only when the user's role may read the process."""
    notices = f", {out['notices']} notice(s) queued" if out["notices"] else ""
    if "to" not in out:
        done(f"{noun} {out['process']}: {out['event']} recorded{notices}.")
        return
    came = f"{out['from']} -> " if out["from"] else ""
    done(f"{noun} {out['process']}: {out['event']}: {came}{out['to']} (version {out['version']}{notices}).")


@click.group()
def process():
    """Any process, through the generic verbs.

    Domain verbs (e.g. `vcase dialogue ...`) call the same engine.
    """


@process.command("start")
@click.argument("case_number")
@click.argument("workflow")
@for_option
@via_option
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A start argument (repeatable).")
def process_start(case_number, workflow, for_party, via, sets):
    """Start a process on a case.

    Victim-initiated processes start only for a victim-side party.

    \b
    Example:
      vcase process start 2026-CR-0042 dialogue --for 3 --via phone
    """
    moved(app().start(case_number, workflow, for_party, via, parse_sets(sets)))


@process.command("send")
@click.argument("process_id", type=ID)
@click.argument("event")
@for_option
@via_option
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="An event argument (repeatable).")
@click.option("--expect-version", type=ID, default=None,
              help="Refuse if the process changed since you saw this version.")
def process_send(process_id, event, for_party, via, sets, expect_version):
    """Apply an event to a process (the generic advance).

    `vcase process events ID` lists what may happen now and who may do it.

    \b
    Examples:
      vcase process send 12 begin_intake
      vcase process send 12 schedule --set dialogue_at=2027-03-14T10:00 --set format=in_person --expect-version 7
    """
    moved(app().send(process_id, event, for_party, via, parse_sets(sets), expect_version))


def _generic(event: str, summary: str, example: str):
    @click.argument("process_id", type=ID)
    @for_option
    @via_option
    @click.option("--reason", default=None, help="Why (kept in the audit trail; never sent to anyone).")
    @click.option("--expect-version", type=ID, default=None, help="Refuse if the process changed since this version.")
    def command(process_id, for_party, via, reason, expect_version):
        params = {"reason": reason} if reason else {}
        moved(app().send(process_id, event, for_party, via, params, expect_version))

    command.__doc__ = f"{summary}\n\n    \b\n    Example:\n      {example}\n    "
    return process.command(event)(command)


_generic("pause", "Put a process on hold: timers freeze with their remaining time; only resume and withdraw apply.",
         "vcase process pause 12 --for 3 --reason 'victim needs time'")
_generic("resume", "Continue a paused process where it was; timers re-arm with the time they had left.",
         "vcase process resume 12 --for 3")
_generic("withdraw", "End a process now: pending timers and unsent notices are cancelled with it.",
         "vcase process withdraw 12 --for 3 --via phone")


@process.command("show")
@click.argument("process_id", type=ID)
@json_option
def process_show(process_id, as_json):
    """Show a process: state, version, facts recorded, live timers.

    \b
    Example:
      vcase process show 12 --json
    """
    out = app().show_process(process_id)
    if as_json:
        return emit_json(out)
    fields(out, ["id", "workflow", "workflow_version", "case_number", "state", "paused_from", "version",
                 "ended", "started_at", "updated_at", "facts"])
    if out["timers"]:
        click.echo()
        table(out["timers"], ["name", "event", "status", "due_at", "remaining_seconds"], title="Timers")


@process.command("list")
@click.argument("case_number")
@click.option("--workflow", default=None, help="Only this workflow.")
@json_option
def process_list(case_number, workflow, as_json):
    """List the processes of a case that your role may read.

    \b
    Example:
      vcase process list 2026-CR-0042 --workflow dialogue
    """
    rows = app().list_processes(case_number, workflow)
    emit_json(rows) if as_json else table(rows, ["id", "workflow", "state", "version", "ended", "updated_at"])


@process.command("history")
@click.argument("process_id", type=ID)
@json_option
def process_history(process_id, as_json):
    """Everything that happened to a process, from the audit trail.

    \b
    Example:
      vcase process history 12
    """
    rows = app().history(process_id)
    emit_json(rows) if as_json else table(rows, ["at", "action", "from", "to", "actor", "role", "for_party", "via"])


@process.command("events")
@click.argument("process_id", type=ID)
@json_option
def process_events(process_id, as_json):
    """What you may do next, who may do it, and what blocks it now.

    Only the steps your role may take are listed (never the scheduler's own).
    A step whose checks read its arguments (a date, a facilitator) shows what
    blocks it already, and which arguments the rest are checked with when you
    send it.

    \b
    Example:
      vcase process events 12
      vcase process events 12 --json
    """
    session = app()
    rows = session.next_events(process_id)
    if as_json:
        return emit_json(rows)
    if not rows:
        ended = session.show_process(process_id)["ended"]
        return click.echo("Nothing: the process has ended." if ended else
                          "Nothing your role may do now: the next steps are other roles' or the scheduler's.")
    table([dict(r, blocked=blockers(r)) for r in rows], ["event", "to", "who", "params", "blocked", "help"])


def blockers(row) -> str | None:
    """What blocks an event now, and the arguments its other checks need (``--set NAME=...``)."""
    parts = [row["blocked"]] if row["blocked"] else []
    if row["needs"]:
        parts.append("needs " + ", ".join(f"--set {n}=..." for n in row["needs"]) + " to check the rest")
    return "; ".join(parts) or None


@click.group()
def workflow():
    """The process definitions this installation runs."""


@workflow.command("list")
@json_option
def workflow_list(as_json):
    """List workflow definitions and versions.

    \b
    Example:
      vcase workflow list
    """
    from engine.api import workflow_rows
    from engine.registry import default

    rows = workflow_rows(default())
    emit_json(rows) if as_json else table(rows, ["name", "version", "title", "victim_initiated", "states", "readers"])


@workflow.command("show")
@click.argument("name")
@click.option("--version", type=ID, default=None, help="A specific version (default: the newest).")
@json_option
def workflow_show(name, version, as_json):
    """Print a definition as a Mermaid state diagram (or, with --json, as data).

    Paste the output into any Mermaid renderer (GitHub renders it in
    Markdown inside a ```mermaid block).

    \b
    Example:
      vcase workflow show dialogue > dialogue.mmd
      vcase workflow show dialogue --json
    """
    from engine.diagram import describe, mermaid
    from engine.registry import default

    registry = default()
    compiled = registry.get(name, version) if version else registry.latest(name)
    if as_json:
        return emit_json(describe(compiled.workflow))
    click.echo(mermaid(compiled.workflow), nl=False)
