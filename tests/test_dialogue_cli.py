"""``vcase dialogue``: the verbs end to end through the CLI, as each role, on both databases.

The CLI runs in-process (``cli.main``) on the real clock; the simulated-clock
behaviour (timers, reminders, daylight saving) is in test_dialogue.py.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.models import Interest, Notice, Process
from tests.support import dump

CASE = "2026-CR-0001"


def ok(result) -> str:
    code, out, err = result
    assert code == 0, (out, err)
    return out


def refused(run, store, user, *args, match: str, code: int = 1) -> str:
    before = dump(store)
    got, out, err = run(user, *args)
    assert got == code, (out, err)
    assert re.search(match, out + err), out + err
    assert "Traceback" not in out + err
    assert dump(store) == before
    return out + err


def state(store, pid: int) -> str:
    with store.read() as s:
        return s.get(Process, pid).state


def requested(run, agency) -> int:
    out = ok(run("avery", "dialogue", "request", CASE, "--victim", str(agency.victim), "--via", "phone"))
    return int(re.search(r"Dialogue (\d+) requested", out).group(1))


def test_a_dialogue_through_the_cli_to_its_date(run, agency, store):
    pid = requested(run, agency)
    ok(run("avery", "dialogue", "intake", str(pid)))
    ok(run("avery", "dialogue", "screen", str(pid), "--appeals", "exhausted", "--safety", "no_concerns"))
    ok(run("vera", "dialogue", "assign-facilitator", str(pid), "--facilitator", "fay"))
    ok(run("fay", "dialogue", "invite", str(pid)))
    answered = ok(run("oscar", "dialogue", "respond", str(pid), "accept", "--via", "in_person"))
    # the officer relays the answer but cannot read dialogues: the reply names no state
    assert "offender_accepts recorded" in answered and "offender_accepted" not in answered
    for party in ("victim", "offender"):
        ok(run("fay", "dialogue", "agreement", str(pid), "--party", party))
    ok(run("fay", "dialogue", "prepare", str(pid)))
    for party in ("victim", "offender"):
        ok(run("fay", "dialogue", "prep-session", str(pid), "--party", party))
        ok(run("fay", "dialogue", "ready", str(pid), "--party", party))
    at = (datetime.now(timezone.utc) + timedelta(days=10)).strftime("%Y-%m-%dT10:00")
    out = ok(run("fay", "dialogue", "schedule", str(pid), "--at", at, "--format", "virtual"))
    assert "preparation -> dialogue_scheduled" in out
    refused(run, store, "fay", "dialogue", "held", str(pid), match="cannot be recorded as held before that day")
    shown = json.loads(ok(run("fay", "process", "show", str(pid), "--json")))
    assert shown["facts"]["format"] == "virtual"
    assert {t["name"] for t in shown["timers"]} == {"dialogue_reminder_week", "dialogue_reminder_day"}
    ok(run("avery", "dialogue", "pause", str(pid), "--by", "victim", "--reason", "needs time"))
    assert state(store, pid) == "paused"
    ok(run("fay", "dialogue", "resume", str(pid), "--by", "facilitator"))
    ok(run("avery", "dialogue", "withdraw", str(pid), "--by", "victim", "--via", "phone"))
    assert state(store, pid) == "withdrawn"
    with store.read() as s:
        ended = [n for n in s.execute(select(Notice).where(Notice.process_id == pid, Notice.audience == "offender"))
                 .scalars() if n.template.endswith("process_ended")]
    assert len(ended) == 1


@pytest.mark.parametrize("user,extra", [("oscar", ()), ("fay", ()), ("pat", ()), ("avery", ("offender",))])
def test_only_victim_services_record_a_request_for_the_victim(run, agency, store, user, extra):
    victim = str(agency.offender if extra else agency.victim)
    refused(run, store, user, "dialogue", "request", CASE, "--victim", victim, match="not permitted|only a victim-side")


def test_parole_and_supervision_are_told_nothing_of_a_dialogue(run, agency, store):
    pid = requested(run, agency)
    missing = pid + 100
    for user in ("pat", "oscar"):
        for verb in (("intake",), ("withdraw", "--by", "victim"), ("assess", "--outcome", "approved")):
            answers = []
            for target in (pid, missing):
                got, out, err = run(user, "dialogue", verb[0], str(target), *verb[1:])
                assert got == 1 and "Traceback" not in out + err
                answers.append((out + err).replace(str(target), "N"))
            if user == "pat":
                assert answers[0] == answers[1], answers
            assert "requested" not in answers[0] and "dialogue" not in answers[0].lower()


def test_a_verb_of_one_workflow_does_not_act_on_another(run, agency, store):
    reg = agency.advocate.start(CASE, "notification", agency.victim, "phone", {"events": "all"})["process"]
    refused(run, store, "avery", "dialogue", "withdraw", str(reg), "--by", "victim", match=f"no process {reg}")


def test_bad_input_is_one_line_and_writes_nothing(run, agency, store):
    pid = requested(run, agency)
    refused(run, store, "avery", "dialogue", "screen", str(pid), "--appeals", "maybe", "--safety", "no_concerns",
            match="Invalid value for '--appeals'", code=2)
    refused(run, store, "fay", "dialogue", "invite", str(pid), match=r"Can't invite the person under supervision \(dialogue invite\) when in requested\. "
                                                           r"Possible now: dialogue pause, dialogue withdraw\.$")
    refused(run, store, "avery", "dialogue", "intake", "999999", match="no process 999999")
    ok(run("avery", "dialogue", "intake", str(pid)))
    ok(run("avery", "dialogue", "screen", str(pid), "--appeals", "waived", "--safety", "no_concerns"))
    refused(run, store, "vera", "dialogue", "assign-facilitator", str(pid), "--facilitator", "pat",
            match="fay|facilitator")
    ok(run("vera", "dialogue", "assign-facilitator", str(pid), "--facilitator", "fay"))
    refused(run, store, "avery", "dialogue", "invite", str(pid), match="not permitted")
    ok(run("fay", "dialogue", "invite", str(pid)))
    ok(run("fay", "dialogue", "respond", str(pid), "accept"))
    for party in ("victim", "offender"):
        ok(run("fay", "dialogue", "agreement", str(pid), "--party", party))
    ok(run("fay", "dialogue", "prepare", str(pid)))
    for party in ("victim", "offender"):
        ok(run("fay", "dialogue", "ready", str(pid), "--party", party))
    refused(run, store, "fay", "dialogue", "schedule", str(pid), "--at", "next tuesday", "--format", "virtual",
            match="--at|dialogue_at|date")
    refused(run, store, "fay", "dialogue", "schedule", str(pid), "--at", "2020-01-01T10:00", "--format", "virtual",
            match="must be in the future")
    refused(run, store, "avery", "dialogue", "withdraw", str(pid), "--by", "victim", "--expect-version", "1",
            match="changed since you read it")


def test_interest_on_file_through_the_cli(run, agency, store):
    out = ok(run("oscar", "dialogue", "interest", CASE, "--offender", str(agency.offender), "--via", "in_writing"))
    assert "nothing was started" in out
    with store.read() as s:
        counts = [s.execute(select(func.count()).select_from(t)).scalar_one() for t in (Interest, Process, Notice)]
    assert counts == [1, 0, 0]
    rows = json.loads(ok(run("vera", "dialogue", "interests", CASE, "--json")))
    assert [(r["party"], r["via"]) for r in rows] == [(agency.offender, "in_writing")]
    refused(run, store, "oscar", "dialogue", "interests", CASE, match="not permitted")
    refused(run, store, "avery", "dialogue", "interest", CASE, "--offender", str(agency.victim),
            match="person under supervision")
