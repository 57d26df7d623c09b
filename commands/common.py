"""Shared pieces of the command layer: the App, output, option types."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
ID = click.IntRange(1, 2**63 - 1)  # a record id: a positive number a database column can hold
COUNT = click.IntRange(1, 100_000)  # a batch size or a row limit
# How a party's request reached staff: engine.permissions.VIA (not imported here: --help stays light)
VIA = click.Choice(["phone", "in_person", "in_writing", "email", "video"])


def app():
    """The App for this invocation, refusing a missing or old schema or a wrong key."""
    from engine.api import App

    instance = App.from_env()
    instance.store.check_ready()
    return instance


def reader():
    """The read-only client for commands that only read a case (no ORM is loaded: see
    ``engine.reader``), refusing a missing or old schema or a wrong key as ``app()`` does."""
    from engine.reader import Reader

    instance = Reader.from_env()
    instance.store.check_ready()
    return instance


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def table(rows: Sequence[dict[str, Any]], columns: Iterable[str], title: str | None = None, empty: str = "(none)") -> None:
    """A readable table: drawn with rich on a terminal, aligned plain text otherwise (pipes, files)."""
    columns = list(columns)
    if not rows:
        click.echo(empty)
        return
    if not sys.stdout.isatty():
        return _plain(rows, columns, title)
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for col in columns:
        t.add_column(col.replace("_", " "), overflow="fold")
    for row in rows:
        t.add_row(*[_cell(row.get(col)) for col in columns])
    Console(file=sys.stdout, highlight=False, markup=False, width=None if sys.stdout.isatty() else 140).print(t)


def _plain(rows: Sequence[dict[str, Any]], columns: list[str], title: str | None) -> None:
    cells = [[c.replace("_", " ") for c in columns]] + [
        [_cell(row.get(c)).replace("\n", " ") for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    if title:
        click.echo(title)
    for n, line in enumerate(cells):
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * width for width in widths))


def fields(data: dict[str, Any], keys: Iterable[str] | None = None) -> None:
    """A record as aligned ``key: value`` lines."""
    keys = list(keys or data.keys())
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        click.echo(f"{key.replace('_', ' '):<{width}}  {_cell(data.get(key))}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def parse_sets(pairs: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` pairs for an event's arguments."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--set takes key=value, got {pair!r}")
        out[key.strip()] = value
    return out


def done(message: str) -> None:
    click.echo(message)


SHOWN = 20  # problems listed before "... and N more"


def show_problems(problems: Sequence[str]) -> None:
    """An import's row problems on standard error, the first ``SHOWN`` of them."""
    for line in problems[:SHOWN]:
        click.echo(line, err=True)
    if len(problems) > SHOWN:
        click.echo(f"... and {len(problems) - SHOWN} more problem(s) not shown", err=True)


def with_progress(work, label: str = "importing"):
    """Run ``work(progress)`` with a progress bar on standard error when it is a terminal;
    ``progress(done, total)`` moves it (``None`` is passed when there is no terminal)."""
    if not sys.stderr.isatty():
        return work(None)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        return work(lambda finished, total: bar.update(task, completed=finished, total=total))
