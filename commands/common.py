"""Shared pieces of the command layer: the App, output, option types."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def app():
    """The App for this invocation, refusing a missing or old schema or a wrong key."""
    from engine.api import App

    instance = App.from_env()
    instance.store.check_ready()
    return instance


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def table(rows: Sequence[dict[str, Any]], columns: Iterable[str], title: str | None = None, empty: str = "(none)") -> None:
    """A readable table; plain text (no colours) when not on a terminal."""
    columns = list(columns)
    if not rows:
        click.echo(empty)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for col in columns:
        t.add_column(col.replace("_", " "), overflow="fold")
    for row in rows:
        t.add_row(*[_cell(row.get(col)) for col in columns])
    Console(file=sys.stdout, highlight=False, markup=False, width=None if sys.stdout.isatty() else 140).print(t)


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
