"""``vcase letter``: the commands end to end, and what parole and supervision can see through the CLI.

The CLI runs in-process through ``cli.main`` (as in test_cli.py) on both databases.
"""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

import cli
from engine.models import AuditEntry, Document
from tests.conftest import KEY
from tests.support import dump
from tests.test_letter_bank import (  # noqa: F401  (letter_registry is an autouse fixture)
    CHECKLIST, LETTER, letter_registry, register_for_letters, rows,
)

CASE = "2026-CR-0001"


@pytest.fixture
def run(store, admin, monkeypatch, tmp_path):
    """Invoke the CLI in-process against the test database as a given user (stdin optional)."""
    monkeypatch.setenv("VCASE_DATABASE_URL", store.url)
    monkeypatch.setenv("VCASE_KEY", KEY)
    monkeypatch.setenv("VCASE_HOME", str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "letter", ("commands.letters", "letter"))
    monkeypatch.setitem(cli.SHORT_HELP, "letter", "Apology letters: submit, screen, hold, release.")

    def invoke(user, *args, input=None):
        monkeypatch.setenv("VCASE_USER", user)
        runner = CliRunner()
        with runner.isolation(input=input) as (out, err, _):
            code = cli.main(list(args))
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return code, stdout, stderr

    return invoke


@pytest.fixture
def letter_file(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_text(LETTER, encoding="utf-8")
    return str(path)


def ok(result) -> str:
    code, out, err = result
    assert code == 0, (out, err)
    return out


def submitted(run, agency, letter_file) -> int:
    out = ok(run("oscar", "letter", "submit", CASE, "--victim", str(agency.victim), "--for", str(agency.offender),
                 "--file", letter_file, "--via", "in_writing"))
    return int(re.search(r"Letter (\d+)", out).group(1))


def _letter_commands():
    from commands.letters import letter

    ctx = click.Context(letter)
    return [(name, letter.get_command(ctx, name)) for name in letter.list_commands(ctx)]


@pytest.mark.parametrize("name,command", _letter_commands(), ids=[n for n, _ in _letter_commands()])
def test_every_letter_command_has_help_with_an_example(name, command):
    from commands.letters import letter

    result = CliRunner().invoke(letter, [name, "--help"])
    assert result.exit_code == 0 and "Example" in result.output, result.output
    if name in ("show", "list"):
        assert any("--json" in p.opts for p in command.params)


def test_a_letter_through_the_cli(run, agency, letter_file, tmp_path):
    register_for_letters(agency, agency.victim, "process")
    letter_id = submitted(run, agency, letter_file)
    ok(run("vera", "letter", "review", str(letter_id), "--begin"))
    out = ok(run("vera", "letter", "review", str(letter_id), "--return", "blame", "--return", "contact",
                 "--note", "no request to meet"))
    assert "returned to the writer for revision (1 notice(s) queued)" in out
    revised = tmp_path / "v2.txt"
    revised.write_text(LETTER + "\nRevised.", encoding="utf-8")
    out = ok(run("fay", "letter", "resubmit", str(letter_id), "--for", str(agency.offender), "--file", str(revised)))
    assert "version 2" in out
    out = ok(run("vera", "letter", "review", str(letter_id), "--accept", "--check", CHECKLIST))
    assert "held in the bank (2 notice(s) queued)" in out  # the writer's, and the registered victim's one
    ok(run("avery", "letter", "request", str(letter_id), "--for", str(agency.victim), "--via", "phone"))
    out = ok(run("vera", "letter", "release", str(letter_id), "--identity-checked", "--method", "email"))
    assert "released (email); the writer is not told" in out
    shown = json.loads(ok(run("avery", "letter", "show", str(letter_id), "--json")))
    assert shown["state"] == "released" and [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["facts"]["return_reasons"] == ["blame", "contact"] and "text" not in shown
    listed = json.loads(ok(run("fay", "letter", "list", CASE, "--json")))
    assert [(r["id"], r["state"], r["versions"]) for r in listed] == [(letter_id, "released", 2)]
    table = ok(run("fay", "letter", "list", CASE))
    assert "released" in table
    text = ok(run("avery", "letter", "show", str(letter_id), "--text", "--version", "1"))
    assert LETTER in text and "Revised." not in text
    reads = [e for e in rows(agency.store, AuditEntry, process_id=letter_id) if e.action.endswith("read_letter")]
    assert [(e.actor_login, e.detail["version"]) for e in reads] == [("avery", 1)]


def test_submit_reads_standard_input(run, agency):
    out = ok(run("oscar", "letter", "submit", CASE, "--victim", str(agency.victim), "--for", str(agency.offender),
                 "--file", "-", input="Lo siento. ¿Cómo podría repararlo?".encode()))
    letter_id = int(re.search(r"Letter (\d+)", out).group(1))
    assert json.loads(ok(run("vera", "letter", "show", str(letter_id), "--text", "--json")))["text"] == \
        "Lo siento. ¿Cómo podría repararlo?"


@pytest.mark.parametrize("content,message", [
    (b"caf\xe9 latin-1", "is not UTF-8 text"),
    (b"y" * 20_001, "the limit is 20,000"),
    (b"", "is empty"),
], ids=["not-utf8", "too-large", "empty"])
@pytest.mark.parametrize("command", ["submit", "resubmit"])
def test_a_bad_file_is_one_clear_line_and_writes_nothing(run, agency, letter_file, tmp_path, content, message, command):
    letter_id = submitted(run, agency, letter_file)
    ok(run("vera", "letter", "review", str(letter_id), "--return", "preaching"))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    before = dump(agency.store)
    if command == "submit":
        code, out, err = run("oscar", "letter", "submit", CASE, "--victim", str(agency.victim), "--for",
                             str(agency.offender), "--file", str(bad))
    else:
        code, out, err = run("oscar", "letter", "resubmit", str(letter_id), "--for", str(agency.offender),
                             "--file", str(bad))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("Error: the letter ") and message in lines[0], err
    assert "Traceback" not in out + err
    assert dump(agency.store) == before


def test_usage_mistakes_exit_2(run, agency, letter_file):
    letter_id = submitted(run, agency, letter_file)
    before = dump(agency.store)
    for args in (("review", str(letter_id)), ("review", str(letter_id), "--accept", "--return", "blame"),
                 ("review", str(letter_id), "--begin", "--check", "harm"),
                 ("release", str(letter_id), "--method", "pigeon"), ("show", str(letter_id), "--version", "1")):
        code, _, err = run("vera", "letter", *args)
        assert code == 2, (args, err)
    assert dump(agency.store) == before


# -- parole and supervision ---------------------------------------------------------------------

def _every_letter_command(letter_id: int, party: int, path: str) -> list[tuple[str, ...]]:
    lid = str(letter_id)
    return [
        ("submit", CASE, "--victim", str(party), "--for", str(party), "--file", path),
        ("review", lid, "--begin"),
        ("review", lid, "--accept", "--check", CHECKLIST),
        ("review", lid, "--return", "blame"),
        ("resubmit", lid, "--for", str(party), "--file", path),
        ("request", lid, "--for", str(party), "--via", "phone"),
        ("defer", lid, "--for", str(party)),
        ("release", lid, "--identity-checked", "--method", "mail"),
        ("decline", lid, "--for", str(party)),
        ("withdraw", lid, "--for", str(party)),
        ("show", lid),
        ("show", lid, "--text"),
        ("show", lid, "--json"),
        ("list", CASE),
        ("list", CASE, "--json"),
    ]


def test_the_list_covers_every_letter_command():
    assert {args[0] for args in _every_letter_command(1, 1, "x")} == {n for n, _ in _letter_commands()}


@pytest.mark.parametrize("target", ["existing", "missing"])
def test_parole_is_not_permitted_any_letter_command(run, agency, letter_file, target):
    letter_id = submitted(run, agency, letter_file)
    ok(run("vera", "letter", "review", str(letter_id), "--accept", "--check", CHECKLIST))
    if target == "missing":
        letter_id, party = 9999, 9999
        commands = [tuple("NO-SUCH-CASE" if a == CASE else a for a in args)
                    for args in _every_letter_command(letter_id, party, letter_file)]
    else:
        commands = _every_letter_command(letter_id, agency.victim, letter_file)
    before = dump(agency.store)
    for args in commands:
        code, out, err = run("pat", "letter", *args)
        assert code == 1 and out == "", (args, out, err)
        assert err.strip() == "Error: parole_board is not permitted to use the letter bank", (args, err)
    assert dump(agency.store) == before


def _supervision_views(run) -> dict[tuple[str, ...], str]:
    views = {}
    for user in ("oscar", "pat"):
        for args in (("case", "show", CASE), ("case", "show", CASE, "--json"), ("process", "list", CASE),
                     ("process", "list", CASE, "--json"), ("case", "list"), ("case", "list", "--json")):
            views[(user, *args)] = ok(run(user, *args))
    return views


def test_supervision_and_parole_views_never_mention_letters(run, agency, letter_file, tmp_path):
    baseline = _supervision_views(run)
    register_for_letters(agency, agency.victim, "process")
    held = submitted(run, agency, letter_file)
    ok(run("vera", "letter", "review", str(held), "--accept", "--check", CHECKLIST))
    returned = submitted(run, agency, letter_file)
    ok(run("vera", "letter", "review", str(returned), "--return", "blame"))
    released = submitted(run, agency, letter_file)
    ok(run("vera", "letter", "review", str(released), "--accept", "--check", CHECKLIST))
    ok(run("avery", "letter", "request", str(released), "--for", str(agency.victim)))
    ok(run("vera", "letter", "release", str(released), "--identity-checked", "--method", "mail"))
    assert len(rows(agency.store, Document)) == 3
    views = _supervision_views(run)
    for key, text in views.items():
        assert text == baseline[key], f"{key} changed once letters existed"
        for word in ("letter_bank", "apology", "Apology", "QX7", "held", "released", "returned", "submitted"):
            assert word not in text, (key, word)
        if key[0] == "pat":
            assert "letter" not in text.lower(), key
        else:
            # the officer sees the case's parties, whose delivery channels may be "letter" (mail): nothing else
            assert text.lower().count("letter") == baseline[key].lower().count("letter")


def test_supervision_may_log_a_letter_but_not_read_one(run, agency, letter_file):
    letter_id = submitted(run, agency, letter_file)
    before = dump(agency.store)
    for args in (("show", str(letter_id)), ("show", str(letter_id), "--text"), ("list", CASE),
                 ("show", "9999", "--json")):
        code, out, err = run("oscar", "letter", *args)
        assert code == 1 and err.strip() == "Error: officer is not permitted to read letters", (args, err)
    assert dump(agency.store) == before
    ok(run("vera", "letter", "review", str(letter_id), "--accept", "--check", CHECKLIST))
    ok(run("avery", "letter", "request", str(letter_id), "--for", str(agency.victim)))
    code, out, err = run("oscar", "letter", "resubmit", str(letter_id), "--for", str(agency.offender),
                         "--file", letter_file)
    assert code == 1 and "victim_requested" not in err and "requested" not in err
    out = ok(run("oscar", "letter", "withdraw", str(letter_id), "--for", str(agency.offender)))
    assert out.strip() == f"Letter {letter_id} withdrawn."
