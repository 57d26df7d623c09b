"""Hostile input over every command: each refusal is one clear line, exit 1 or 2, and writes nothing.

Every leaf command of the `vcase` tree (found by walking it, so a new command
is swept without anyone remembering to add it) is invoked with hostile values
for its arguments and options: unknown and malformed ids, template syntax,
SQL-looking strings, control characters, huge values, impossible dates and
time zones, unknown choices. They are tried as an admin and as the parole
board, against a database that holds a real case, a dialogue and a letter.

A value is accepted only where it is a legitimate value (a name may look like
a template): then it must print literally. Anything else is refused: exit 1
(a refusal, `Error: ...` on one line) or 2 (a usage error), no traceback, no
"unexpected" internal error, and the database exactly as before.
"""

from __future__ import annotations

import click
import pytest

from services import letters
from tests.support import dump
from tests.test_cli import LEAVES

SKIP = {"demo", "init", "scheduler run", "scheduler tick", "notices deliver",
        "portal serve"}  # own database / daemon / sends / a web server
TEXT = ["{{ 'QZ' ~ 'X' }}", "'; DROP TABLE case_file; --", "\x1b[2J\x07", "x" * 5000, "../../etc/passwd", " "]
IDS = ["999999", "-1", "0", "abc", "1e99", "99999999999999999999999", "{{ 'QZ' ~ 'X' }}"]
DATES = ["2026-02-30", "yesterday", "2026-13-01T25:61", "9999-99-99", "'; --"]
ZONES = ["Mars/Olympus_Mons", "UTC; DROP TABLE x", ""]
CHOICE = "no-such-choice"
VARIANTS = max(len(TEXT), len(IDS), len(DATES))


def value_for(param: click.Parameter, n: int) -> str:
    kind = param.type
    name = (param.name or "").lower()
    if isinstance(kind, click.Choice):
        return CHOICE if n % 2 == 0 else TEXT[n % len(TEXT)]
    if isinstance(kind, click.DateTime) or name in ("at", "until", "dialogue_at", "ends", "starts"):
        return DATES[n % len(DATES)]
    if name in ("time_zone", "tz"):
        return ZONES[n % len(ZONES)]
    if isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)) or name.endswith("id") \
            or name in ("victim", "offender", "for_party", "party", "batch", "version", "expect_version"):
        return IDS[n % len(IDS)]
    if isinstance(kind, click.Path) or name == "file":
        return ["/nonexistent/letter.txt", "/dev/null", "/etc", "-"][n % 4]
    return TEXT[n % len(TEXT)]


def hostile_args(command: click.Command, n: int) -> list[str]:
    args: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument):
            args.append(value_for(param, n))
        elif isinstance(param, click.Option) and not param.is_flag and param.name not in ("as_json",):
            if param.required or n % 2:
                args += [param.opts[0], value_for(param, n)]
    return args


SWEPT = [(path, command) for path, command in LEAVES if path not in SKIP]


@pytest.fixture
def world(agency):
    """A case with a dialogue in preparation's way and a held letter, so ids near the real ones exist."""
    pid = agency.advocate.start(agency.case, "dialogue", agency.victim, "phone")["process"]
    agency.advocate.send(pid, "begin_intake")
    lid = letters.submit(agency.officer, agency.case, agency.victim, agency.offender, "I am sorry.", "in_writing")
    return agency, pid, lid["letter"]


@pytest.mark.parametrize("path,command", SWEPT, ids=[p for p, _ in SWEPT])
def test_hostile_values_are_refused_cleanly_or_shown_literally(run, store, world, path, command):
    tried = 0
    for user in ("ada", "pat"):
        for n in range(VARIANTS):
            args = path.split() + hostile_args(command, n)
            before = dump(store)
            code, out, err = run(user, *args)
            tried += 1
            said = out + err
            assert "Traceback" not in said and "unexpected" not in said, (args, said)
            assert code in (0, 1, 2), (args, code, said)
            if code == 1:
                errors = [line for line in err.splitlines() if line.strip()]
                assert len(errors) == 1 and errors[0].startswith("Error: "), (args, err)
            if code != 0:
                assert dump(store) == before, f"a refused `vcase {' '.join(args)}` wrote to the database"
            else:
                assert not [a for a in args if "\x1b" in a or "\x07" in a], f"accepted control characters: {args}"
                assert "QZX" not in said, (args, said)  # template syntax is shown as typed, never evaluated
    assert tried == 2 * VARIANTS
