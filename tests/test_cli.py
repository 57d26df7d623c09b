"""The ``vcase`` command: help, JSON output, error mapping, and a real subprocess run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cli
from tests.support import dump
from tests.conftest import KEY

ROOT = Path(__file__).parent.parent
READ_VERBS = {"show", "list", "history", "events", "verify", "status", "timeline", "preview", "interests",
              "notices held", "items", "profile", "pmt", "restorative", "requests"}  # `vcase dialogue held` records that a dialogue took place: a write


def _reads(path: str) -> bool:
    return path.split()[-1] in READ_VERBS or " ".join(path.split()[-2:]) in READ_VERBS


def leaf_commands():
    """(path, command) for every runnable command in the tree."""
    out = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), path + [name])
        else:
            out.append((" ".join(path), cmd))

    walk(cli.vcase, [])
    return out


LEAVES = leaf_commands()


@pytest.mark.parametrize("path,command", LEAVES, ids=[p for p, _ in LEAVES])
def test_every_command_has_help_with_an_example(path, command):
    result = CliRunner().invoke(cli.vcase, path.split() + ["--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`vcase {path} --help` shows no example"
    assert command.help and len(command.help.strip()) > 20


@pytest.mark.parametrize("path,command", [(p, c) for p, c in LEAVES if _reads(p)],
                         ids=[p for p, _ in LEAVES if _reads(p)])
def test_every_read_command_has_json(path, command):
    assert any("--json" in param.opts for param in command.params), f"`vcase {path}` has no --json"


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [p for p, _ in LEAVES if f"vcase {p}" not in readme]
    assert not missing, f"commands not documented in README.md: {missing}"


@pytest.mark.parametrize("args", [["--help"], ["case", "--help"], ["process", "send", "--help"]])
def test_help_loads_no_sqlalchemy(args):
    code = ("import sys, cli\n"
            f"code = cli.main({args!r})\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'engine', 'transitions'))\n"
            "print(loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = eval(out.stdout.strip().splitlines()[-1])
    assert not [m for m in loaded if not m.startswith("engine")], loaded
    assert "engine.db" not in loaded




def test_the_officer_records_when_supervision_ends(run, store):
    assert run("oscar", "case", "open", "C-7", "--person", "Sam Doe", "--officer", "oscar", "--tz", "UTC")[0] == 0
    before = dump(store)
    for args, code in ((["--ends", "2029-02-30"], 2), (["--ends", "2029-06-30", "--clear"], 2), ([], 2)):
        assert run("oscar", "case", "supervision", "C-7", *args)[0] == code
    code, out, err = run("avery", "case", "supervision", "C-7", "--ends", "2029-06-30")
    assert code == 1 and "not permitted" in out + err and "Traceback" not in out + err
    assert dump(store) == before
    code, out, _ = run("oscar", "case", "supervision", "C-7", "--ends", "2029-06-30")
    assert code == 0 and "2029-06-30" in out
    assert json.loads(run("pat", "case", "show", "C-7", "--json")[1])["supervision_ends_on"] == "2029-06-30"
    assert run("oscar", "case", "supervision", "C-7", "--clear")[0] == 0
    assert json.loads(run("oscar", "case", "show", "C-7", "--json")[1])["supervision_ends_on"] is None


NAME = "{{ 'QZ' ~ 'X' }}"  # a template expression as a name: shown as typed, never evaluated


def test_a_case_through_the_cli(run, store):
    assert run("oscar", "case", "open", "C-9", "--person", "Sam Doe", "--officer", "oscar", "--tz", "America/Denver")[0] == 0
    code, out, _ = run("avery", "party", "add", "C-9", "--kind", "victim", "--name", NAME, "--email", "v@example.org",
                       "--channel", "email")
    assert code == 0, out
    code, out, _ = run("avery", "case", "show", "C-9", "--json")
    data = json.loads(out)
    assert [p["name"] for p in data["parties"] if p["kind"] == "victim"] == [NAME]
    code, out, _ = run("avery", "case", "show", "C-9")
    assert NAME in out and "QZX" not in out
    code, out, _ = run("pat", "case", "show", "C-9", "--json")
    assert code == 0 and "parties" not in json.loads(out)
    code, out, _ = run("ada", "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True


BAD = [
    pytest.param(("pat", "case", "open", "C-X", "--person", "A", "--officer", "oscar", "--tz", "UTC"), 1, "not permitted", id="wrong-role"),
    pytest.param(("stranger", "case", "list"), 1, "not an active vcase user", id="unknown-user"),
    pytest.param(("oscar", "case", "show", "NO-SUCH"), 1, "no case", id="unknown-case"),
    pytest.param(("oscar", "case", "open", "C-X", "--person", "A", "--officer", "oscar", "--tz", "Nowhere/City"), 1, "unknown time zone", id="bad-zone"),
    pytest.param(("oscar", "case", "safety", "2026-CR-0001", "--order", "protective", "--from", "2026-13-45"), 2, "Invalid value", id="bad-date"),
    pytest.param(("avery", "process", "start", "2026-CR-0001", "toy", "--for", "999"), 1, "no party", id="unknown-party"),
    pytest.param(("oscar", "process", "start", "2026-CR-0001", "toy"), 1, "not permitted", id="officer-starts"),
    pytest.param(("avery", "process", "send", "1", "approve"), 1, "no process", id="unknown-process"),
    pytest.param(("avery", "process", "send", "x", "approve"), 2, "not a valid integer", id="malformed-id"),
    pytest.param(("avery", "party", "add", "2026-CR-0001", "--kind", "victim", "--name", "' OR 1=1; DROP TABLE party; --",
                  "--language", "xx"), 2, "Invalid value", id="bad-language"),
    pytest.param(("ada", "settings", "set", "no.such", "1"), 1, "unknown setting", id="unknown-setting"),
]


@pytest.mark.parametrize("args,code,message", BAD)
def test_bad_input_is_one_line_and_changes_nothing(run, agency, store, args, code, message):
    before = dump(store)
    got, out, err = run(*args)
    assert got == code, (out, err)
    assert message in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "Traceback" not in out
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert dump(store) == before


def test_event_not_allowed_now_says_what_is(run, agency, store):
    code, out, err = run("avery", "process", "start", "2026-CR-0001", "toy", "--for", str(agency.victim), "--via", "phone")
    assert code == 0, err
    before = dump(store)
    code, _, err = run("vera", "process", "send", "1", "approve")
    assert code == 1 and err.strip() == "Error: Can't approve when in open. Possible now: pause, submit, withdraw."
    assert dump(store) == before


def test_stale_version_is_a_conflict(run, agency, store):
    run("avery", "process", "start", "2026-CR-0001", "toy", "--for", str(agency.victim))
    code, _, err = run("avery", "process", "send", "1", "submit", "--for", str(agency.victim), "--set", "summary=x",
                       "--expect-version", "1")
    assert code == 0, err
    before = dump(store)
    code, _, err = run("avery", "process", "pause", "1", "--for", str(agency.victim), "--expect-version", "1")
    assert code == 1 and "changed since you read it" in err
    assert dump(store) == before


def test_missing_schema_says_run_init(tmp_path, monkeypatch):
    monkeypatch.setenv("VCASE_HOME", str(tmp_path))
    monkeypatch.delenv("VCASE_DATABASE_URL", raising=False)
    monkeypatch.setenv("VCASE_USER", "ada")
    with CliRunner().isolation() as (_, err, _):
        code = cli.main(["case", "list"])
        message = err.getvalue().decode()
    assert code == 1 and "run `vcase init`" in message


def test_old_schema_says_run_init(sqlite_store, monkeypatch, tmp_path):
    from sqlalchemy import text

    with sqlite_store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    monkeypatch.setenv("VCASE_DATABASE_URL", sqlite_store.url)
    monkeypatch.setenv("VCASE_KEY", KEY)
    with CliRunner().isolation() as (_, err, _):
        code = cli.main(["case", "list"])
        message = err.getvalue().decode()
    assert code == 1 and "revision 0000" in message and "vcase init" in message


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("VCASE_HOME", str(tmp_path))
    monkeypatch.delenv("VCASE_DATABASE_URL", raising=False)
    with pytest.raises(Exception):
        cli.main(["--debug", "case", "list"])


def test_installed_command_end_to_end(tmp_path):
    """The installed ``vcase`` entry point, as a user runs it, in a subprocess."""
    exe = Path(sys.executable).parent / "vcase"
    if not exe.exists():
        pytest.skip("the vcase entry point is not installed in this environment (pip install -e .)")
    env = {**os.environ, "VCASE_HOME": str(tmp_path), "VCASE_USER": "ada"}
    env.pop("VCASE_DATABASE_URL", None)
    env.pop("VCASE_KEY", None)

    def sh(*args, user="ada", ok=True):
        result = subprocess.run([str(exe), *args], env={**env, "VCASE_USER": user}, capture_output=True, text=True)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    sh("init", "--name", "Ada Admin")
    key = tmp_path / "vcase.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "vcase.db").stat().st_mode & 0o777 == 0o600
    sh("staff", "add", "oscar", "--name", "Oscar", "--role", "officer")
    sh("case", "open", "C-1", "--person", "Sam", "--officer", "oscar", "--tz", "America/Chicago", user="oscar")
    listed = json.loads(sh("case", "list", "--json", user="oscar").stdout)
    assert [c["case_number"] for c in listed] == ["C-1"]
    refused = sh("staff", "add", "eve", "--name", "Eve", "--role", "admin", user="oscar", ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("Error: an officer is not permitted to add staff members (vcase staff add is for: admin)")
    assert "Audit trail intact" in sh("audit", "verify").stdout


def test_the_cli_offers_the_engines_ways_a_request_is_made():
    from commands.common import VIA
    from engine.permissions import VIA as ENGINE_VIA

    assert tuple(VIA.choices) == tuple(ENGINE_VIA)


def test_tick_until_is_refused_without_on_a_copy_and_writes_nothing(run, store, agency):
    """--until fires timers before their time: on the real database it would tell a victim of an
    event early. Without --on-a-copy it exits 2, says what to do, and changes nothing."""
    from tests.support import dump

    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "wants a letter"})  # a 10-day timer
    before = dump(store)
    code, out, err = run("ada", "scheduler", "tick", "--until", "2027-01-01")
    assert code == 2 and "--on-a-copy" in err and "copy" in err and "Traceback" not in err
    assert dump(store) == before
    code, out, err = run("ada", "scheduler", "tick", "--until", "2027-01-01", "--on-a-copy")
    assert code == 2 and "--on-a-copy" in err and "Traceback" not in err  # it names where the copy goes
    assert dump(store) == before
