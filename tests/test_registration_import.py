"""`vcase registration import` and the agency-wide `vcase registration list`.

An import is all rows or none: every row is checked first and each problem is
named by row and column, never by the cell's value; a good file is written in
one transaction through the calls staff make one at a time, so its parties,
registrations, audit entries and confirmation notices are theirs. Runs on
SQLite and, with VCASE_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from engine import runtime
from services import registrations
from engine.errors import NotPermitted
from tests.support import dump

CASE, OTHER = "2026-CR-0001", "2026-CR-0002"
HEADER = ["case", "kind", "name", "email", "phone", "address", "channels", "language", "time_zone", "minor",
          "represents", "events"]
TABLES = ("party", "process", "audit_entry", "notice", "timer")


def person(i: int, case: str = CASE) -> dict[str, str]:
    return {"case": case, "kind": "victim", "name": f"Quinn Importee{i:03d}", "email": f"quinn{i:03d}@example.org",
            "phone": f"+1 312 555 {i:04d}", "address": f"{i} Hidden Lane\nSpringfield",
            "channels": "email,sms" if i % 2 else "letter", "language": "es" if i % 3 == 0 else "en",
            "time_zone": "America/Denver" if i % 5 == 0 else "", "minor": "no", "represents": "",
            "events": "all" if i % 4 else "released,escape"}


def csv_bytes(rows: list[dict[str, str]], header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def victim_data(rows) -> list[str]:
    return [r[c].split("\n")[0] for r in rows for c in ("name", "email", "phone", "address") if r.get(c)]


def counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


@pytest.fixture
def run(run):
    """The CLI as in conftest; an import says the forms explained the limits of confidentiality
    (privacy.confidentiality_first: agency staff register no one before it is on record)."""

    def invoke(user, *args):
        if args[:2] == ("registration", "import"):
            args = (*args, "--confidentiality-explained", "in_writing")
        return run(user, *args)

    return invoke


@pytest.fixture
def world(agency):
    agency.officer.open_case(OTHER, "Sid Supervised", "oscar", "America/Chicago")
    return agency


@pytest.fixture
def write(tmp_path):
    def write(rows, header=HEADER, name="victims.csv") -> str:
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows, header))
        return str(path)

    return write


FIFTY = [person(i, CASE if i < 30 else OTHER) for i in range(1, 51)]


# -- a good file -----------------------------------------------------------------------------

def test_a_good_file_of_50_rows_adds_50_parties_and_50_registrations(run, store, world, write):
    before = counts(store)
    code, out, err = run("avery", "registration", "import", write(FIFTY), "--via", "in_writing", "--json")
    assert code == 0, err
    report = json.loads(out)
    after = counts(store)
    assert after["party"] - before["party"] == 50
    assert after["process"] - before["process"] == 50
    # party.add, party.confidentiality_explained (--confidentiality-explained) and notification.start, each row
    assert after["audit_entry"] - before["audit_entry"] == 150
    assert after["notice"] - before["notice"] == 50  # one confirmation each, on the first channel
    assert (report["parties"], report["registrations"], report["notices"]) == (50, 50, 50)
    assert {c["case_number"]: c["parties"] for c in report["cases"]} == {CASE: 29, OTHER: 21}
    with store.engine.connect() as conn:
        audited = conn.execute(text(
            "SELECT action, actor_login, via, on_behalf_of FROM audit_entry ORDER BY id DESC LIMIT 150")).all()
    assert sorted({a.action for a in audited}) == ["notification.start", "party.add", "party.confidentiality_explained"]
    assert {a.actor_login for a in audited} == {"avery"}
    starts = [a for a in audited if a.action == "notification.start"]
    assert {a.via for a in starts} == {"in_writing"}
    assert sorted(a.on_behalf_of for a in starts) == sorted(r["party"] for r in report["created"])
    assert not [line for line in out.splitlines() if any(v in line for v in victim_data(FIFTY))]
    # the same as the single commands: a party with its details, a registration with its events
    first = next(r for r in report["created"] if r["row"] == 2)
    party = world.advocate.show_party(first["party"])
    assert (party["name"], party["email"], party["channels"]) == ("Quinn Importee001", "quinn001@example.org",
                                                                  ["email", "sms"])
    process = world.advocate.show_process(first["registration"])
    assert process["state"] == "active" and "escape" in process["facts"]["events"]
    assert run("ada", "audit", "verify")[0] == 0


def test_the_table_output_says_what_was_created(run, world, write):
    code, out, _ = run("vera", "registration", "import", write(FIFTY[:3]))
    assert code == 0 and "Imported 3 row(s)" in out and CASE in out


def test_a_guardian_represents_an_earlier_row_and_a_minor_is_reached_through_them(run, store, world, write):
    rows = [dict(person(1), kind="co_victim", minor="yes", events="all", channels="", email="", phone="", address=""),
            dict(person(2), kind="guardian", represents="row:2", events="none")]
    code, out, err = run("avery", "registration", "import", write(rows), "--json")
    assert code == 0, err
    created = {r["row"]: r for r in json.loads(out)["created"]}
    assert created[3]["registration"] is None
    guardian = world.advocate.show_party(created[3]["party"])
    assert guardian["represents"] == created[2]["party"]
    with store.engine.connect() as conn:  # the minor's confirmation goes to the guardian a later row added
        to = conn.execute(text("SELECT recipient_party_id FROM notice WHERE process_id = :p"),
                          {"p": created[2]["registration"]}).scalars().all()
    assert to and set(to) == {created[3]["party"]}


# -- nothing half-written ---------------------------------------------------------------------

BAD_ROWS = [
    pytest.param({"email": "quinn-at-example.org"}, "email", id="malformed-email"),
    pytest.param({"case": "2026-CR-9999"}, "case", id="unknown-case"),
    pytest.param({"events": "released,escaped"}, "events", id="unknown-event-type"),
    pytest.param({"time_zone": "Mars/Olympus_Mons"}, "time_zone", id="bad-time-zone"),
    pytest.param({"name": ""}, "name", id="missing-name"),
    pytest.param({"kind": "supervised_person"}, "kind: must be one of victim, survivor, co_victim, witness, guardian, "
                 "next_of_kin; the person under supervision is never imported", id="supervised-person-kind"),
    pytest.param({"channels": "pigeon"}, "channels", id="unknown-channel"),
    pytest.param({"channels": "sms", "phone": ""}, "channels", id="channel-without-contact"),
    pytest.param({"language": "fr"}, "language", id="unknown-language"),
    pytest.param({"phone": "call me"}, "phone", id="malformed-phone"),
    pytest.param({"minor": "perhaps"}, "minor", id="not-yes-or-no"),
    pytest.param({"kind": "guardian"}, "represents", id="guardian-without-represents"),
    pytest.param({"represents": "3"}, "represents", id="victim-with-represents"),
    pytest.param({"name": "Quinn \x1b[2J Bell\x07"}, "name", id="control-characters"),
    pytest.param({"name": "Maria Victim"}, "name", id="already-a-party"),
    pytest.param({"name": "Quinn Importee001"}, "name", id="twice-in-the-file"),
    pytest.param({"events": ""}, "events", id="no-events"),
]


@pytest.mark.parametrize("change,column", BAD_ROWS)
def test_one_bad_row_in_the_middle_writes_nothing_and_names_row_and_column(run, store, world, write, change, column):
    rows = [dict(r) for r in FIFTY]
    rows[25].update(change)  # the 26th person: spreadsheet row 27
    before = dump(store)
    code, out, err = run("avery", "registration", "import", write(rows))
    assert code == 1, out + err
    assert f"row 27: {column}" in err and len([x for x in err.splitlines() if x.startswith("row ")]) == 1, err
    assert err.strip().splitlines()[-1].startswith("Error: 1 of 50 row(s) have problems")
    assert "Traceback" not in out + err
    assert dump(store) == before
    said = out + err
    leaked = [v for v in victim_data(rows) + [change.get("name") or "", change.get("email") or "", "Maria Victim"]
              if len(v) > 3 and v in said]
    assert not leaked, said


def test_every_problem_is_listed_up_to_a_cap_and_the_rest_counted(run, store, world, write):
    rows = [dict(r, email="nope", language="xx") for r in FIFTY]
    before = dump(store)
    code, _, err = run("avery", "registration", "import", write(rows))
    assert code == 1 and dump(store) == before
    lines = err.strip().splitlines()
    assert lines[0].startswith("row 2: email:") and len([x for x in lines if x.startswith("row ")]) == 20
    assert "... and 80 more problem(s) not shown" in err
    assert "50 of 50 row(s) have problems (100 in all)" in lines[-1]


def test_a_refusal_while_writing_undoes_every_row_already_written(run, store, world, write, monkeypatch):
    real, calls = runtime.start, []

    def start(*args, **kwargs):
        calls.append(1)
        if len(calls) == 30:
            raise NotPermitted("refused for Quinn Importee030 at quinn030@example.org")
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime, "start", start)
    before = dump(store)
    code, out, err = run("avery", "registration", "import", write(FIFTY))
    assert code == 1 and len(calls) == 30
    assert "row 31: refused for [redacted] at [redacted]" in err, err
    assert "Importee" not in out + err
    assert dump(store) == before


def test_a_dry_run_writes_nothing_and_says_what_it_would_create(run, store, world, write):
    before = dump(store)
    code, out, err = run("avery", "registration", "import", write(FIFTY), "--dry-run")
    assert code == 0, err
    assert "Dry run: all 50 row(s) are good" in out and "50 registration(s)" in out and "Nothing was written" in out
    assert dump(store) == before
    code, out, _ = run("avery", "registration", "import", write(FIFTY), "--dry-run", "--json")
    assert json.loads(out)["dry_run"] is True and json.loads(out)["created"] == []
    assert dump(store) == before
    rows = [dict(r) for r in FIFTY]
    rows[5]["email"] = "broken"
    code, _, err = run("avery", "registration", "import", write(rows), "--dry-run")
    assert code == 1 and "row 7: email:" in err and dump(store) == before


def test_importing_the_same_list_twice_registers_no_one_twice(run, store, world, write):
    path = write(FIFTY[:5])
    assert run("avery", "registration", "import", path)[0] == 0
    before = dump(store)
    code, _, err = run("avery", "registration", "import", path)
    assert code == 1 and "5 of 5 row(s)" in err and "row 2: name: a party of this name is already on the case" in err
    assert dump(store) == before


@pytest.mark.parametrize("user", ["oscar", "fay", "pat", "ada"])
def test_a_role_that_could_not_register_row_by_row_is_refused_and_nothing_written(run, store, world, write, user):
    before = dump(store)
    for extra in ([], ["--dry-run"]):
        code, out, err = run(user, "registration", "import", write(FIFTY), *extra)
        assert code == 1 and "not permitted to import registrations" in err, (user, out, err)
        assert len(err.strip().splitlines()) == 1 and "row " not in err
    assert dump(store) == before


@pytest.mark.parametrize("content,said", [
    (b"", "the file is empty"),
    (b"case,kind,name,events\n", "header but no rows"),
    (b"case,kind,nmae,events\n2026-CR-0001,victim,Quinn Q,all\n", "column 3 of the header is not a known column"),
    (b"case,kind,name\n2026-CR-0001,victim,Quinn Q\n", "no events column"),
    (b"case,kind,name,events\n2026-CR-0001,victim,Quinn \xff,all\n", "not UTF-8"),
    (b"case,kind,name,events\n2026-CR-0001,victim,\"Quinn\0Q\",all\n", "row"),
])
def test_a_file_that_is_not_a_list_is_refused_in_one_line(run, store, world, tmp_path, content, said):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = dump(store)
    code, out, err = run("avery", "registration", "import", str(path))
    assert code == 1 and said in err and "Traceback" not in out + err, err
    assert err.strip().splitlines()[-1].startswith("Error: ") and "Quinn" not in err
    assert dump(store) == before


def test_semicolons_a_bom_and_blank_rows_are_read(run, world, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffCase;Kind;Name;Events;Time Zone\n;;;;\n2026-CR-0001;victim;José Peña;all;\n"
                     .encode("utf-8"))
    code, out, err = run("avery", "registration", "import", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["created"][0]["row"] == 3  # the blank row 2 keeps its number


HOSTILE = st.one_of(st.text(max_size=40), st.sampled_from([
    "{{ 'QZ' ~ 'X' }}", "'; DROP TABLE party; --", "\x1b[2J\x07", "x" * 600, "=cmd|' /C calc'!A0", "\u202eevil",
    "row:1", "99999999999999999999", "a@b", "all,none", "\r\n", "\"", "Z@Z.Z\x00",
]))
COLUMNS = ["case", "kind", "name", "email", "phone", "address", "channels", "language", "time_zone", "minor",
           "represents", "events"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(COLUMNS), value=HOSTILE)
def test_hostile_cells_are_refused_by_row_or_taken_literally_and_never_echoed(world, column, value):
    rows = [person(1), person(2)]
    marked = "Zq" + value  # a marker, so an echo cannot be a coincidence
    rows[1][column] = marked
    before = counts(world.store)
    try:
        report = registrations.import_csv(world.advocate, csv_bytes(rows), dry_run=True, explained="in_writing")
        said = json.dumps(report)
        assert report["rows"] == 2
    except registrations.ImportRefused as refused:
        said = str(refused) + "\n".join(refused.problems)
        assert refused.problems and all(p.startswith("row ") for p in refused.problems)
    except Exception as error:  # a file-level refusal (a cell that breaks the CSV itself)
        assert isinstance(error, registrations.InvalidInput), repr(error)
        said = str(error)
    assert counts(world.store) == before
    shown = marked.strip()
    assert len(shown) < 4 or shown not in said
    assert "QZX" not in said


# -- the list across the agency ----------------------------------------------------------------

@pytest.fixture
def registered(world, write, run):
    rows = [dict(person(1), language="es", channels="sms", events="escape"),
            dict(person(2), language="en", channels="email", events="released"),
            dict(person(3, OTHER), language="es", channels="", address="", events="all"),
            dict(person(4, OTHER), language="en", channels="email,letter", events="release_scheduled")]
    code, out, err = run("avery", "registration", "import", write(rows), "--json")
    assert code == 0, err
    ids = [r["registration"] for r in json.loads(out)["created"]]
    world.advocate.act(ids[1], "notification", "pause", by="victim")
    world.advocate.act(ids[3], "notification", "withdraw", by="victim")
    return world, ids


def listed(run, *args, user="vera"):
    code, out, err = run(user, "registration", "list", *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("args,which", [
    ([], [0, 1, 2, 3]),
    ([CASE], [0, 1]),
    (["--case", OTHER], [2, 3]),
    (["--state", "active"], [0, 2]),
    (["--state", "paused"], [1]),
    (["--state", "withdrawn"], [3]),
    (["--state", "waived"], []),
    (["--event", "escape"], [0, 2]),
    (["--event", "release_scheduled"], [2, 3]),
    (["--event", "letter_held"], []),
    (["--language", "es"], [0, 2]),
    (["--channel", "sms"], [0]),
    (["--channel", "email"], [1, 3]),
    (["--channel", "letter"], [2, 3]),  # no choice means letter
    (["--language", "en", "--state", "paused", "--case", CASE], [1]),
])
def test_the_list_across_the_agency_filters(run, registered, args, which):
    _, ids = registered
    out = listed(run, *args)
    assert [r["id"] for r in out["registrations"]] == [ids[i] for i in which]
    assert out["total"] == len(which) and out["more"] == 0
    assert not [v for v in victim_data([person(i) for i in range(1, 5)]) if v in json.dumps(out)]


def test_a_long_list_is_paged_with_a_hint(run, registered):
    _, ids = registered
    page = listed(run, "--limit", "3")
    assert [r["id"] for r in page["registrations"]] == ids[:3] and page["more"] == 1 and page["total"] == 4
    assert [r["id"] for r in listed(run, "--limit", "3", "--offset", "3")["registrations"]] == ids[3:]
    code, out, _ = run("vera", "registration", "list", "--limit", "3")
    assert code == 0 and "1 more; use --offset 3 to see them." in out


@pytest.mark.parametrize("user", ["oscar", "pat", "fay"])
def test_supervision_and_parole_cannot_list_registrations(run, store, registered, user):
    for args in ([], [CASE], ["--state", "active"]):
        code, out, err = run(user, "registration", "list", *args)
        assert code == 1 and "not permitted to read notification processes" in err, (user, out, err)
        assert str(registered[1][0]) not in out


def test_the_engine_refuses_the_list_to_readers_outside_the_definition(registered):
    world, _ = registered
    for app in (world.officer, world.parole, world.facilitator):
        with pytest.raises(NotPermitted):
            registrations.list_registrations(app)
    assert registrations.list_registrations(world.advocate)["total"] == 4


@pytest.mark.parametrize("args,code,said", [
    (["--event", "escaped"], 1, "unknown event type"),
    (["NO-SUCH-CASE"], 1, "no case"),
    (["--state", "gone"], 2, "Invalid value"),
    (["--limit", "0"], 2, "Invalid value"),
    ([CASE, "--case", OTHER], 2, "give the case once"),
])
def test_bad_list_options_are_refused(run, store, registered, args, code, said):
    got, out, err = run("vera", "registration", "list", *args)
    assert got == code and said in err, (out, err)
