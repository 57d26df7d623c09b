"""The partner directory: `vcase partner ...` and ``services.partners`` (issue 14, item 1).

Every value is checked before anything is written and refused in one line
naming its field; names are unique (spaces and case aside); a retired partner
is kept, hidden from default lists and refused for new work; every change is
on the audit trail; a CSV import is all rows or none, its problems named by
row and column, never by the cell's value. Runs on SQLite and, with
VCASE_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import PARTNER_SECTORS, PARTNER_SERVICES
from services import partners
from tests.support import dump

SAFE_HARBOR = ["partner", "add", "Safe Harbor", "--model", "community_based", "--sector", "dv_program",
               "--services", "personal_advocacy,emotional_support_safety,shelter_housing", "--languages", "en,es-MX",
               "--area", "Cook County", "--hours", "24/7", "--hotline", "+1 312 555 0100", "--24-7", "--privileged",
               "--referral-method", "phone the hotline", "--referral-email", "intake@safeharbor.example"]
HEADER = ["name", "model", "sector", "services", "languages", "service_area", "hours", "hotline_24_7",
          "hotline_phone", "privileged", "referral_method", "referral_email", "contact_name", "contact_role",
          "contact_email", "contact_phone"]


def partner_row(i: int) -> dict[str, str]:
    return {"name": f"Partner Program {i:03d}", "model": ("community_based", "systems_based", "Hybrid")[i % 3],
            "sector": ("dv_program", "Sexual assault program", "legal_aid", "shelter_housing")[i % 4],
            "services": "information_referral;personal_advocacy" if i % 2 else "", "languages": "en|es" if i % 2 else "",
            "service_area": f"District {i}", "hours": "Mon-Fri 9-5", "hotline_24_7": "yes" if i % 5 == 0 else "no",
            "hotline_phone": f"+1 312 555 {i:04d}" if i % 5 == 0 else "", "privileged": "yes" if i % 2 else "",
            "referral_method": "e-mail the intake desk", "referral_email": f"intake{i}@partner.example",
            "contact_name": f"Casey Contact{i}" if i % 3 else "", "contact_role": "intake" if i % 3 else "",
            "contact_email": f"casey{i}@partner.example" if i % 3 else "", "contact_phone": ""}


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def count(store, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def actions(store) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(text("SELECT action FROM audit_entry WHERE action LIKE 'partner%' ORDER BY id"))
                    .scalars())


@pytest.fixture
def write(tmp_path):
    def write(rows, header=HEADER, name="partners.csv") -> str:
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows, header))
        return str(path)

    return write


@pytest.fixture
def harbor(run, agency):
    code, out, err = run("vera", *SAFE_HARBOR, "--json")
    assert code == 0, err
    return json.loads(out)


# -- add, show, update, retire ----------------------------------------------------------------

def test_add_then_show_by_id_and_by_name(run, agency, harbor):
    assert harbor["sector"] == "dv_program" and harbor["languages"] == ["en", "es-mx"]
    assert harbor["services"] == ["personal_advocacy", "emotional_support_safety", "shelter_housing"]
    assert harbor["hotline_24_7"] and harbor["privileged"] and not harbor["retired"]
    code, out, _ = run("oscar", "partner", "show", str(harbor["id"]), "--json")
    assert code == 0 and json.loads(out) == {**harbor, "contacts": []}
    code, out, _ = run("fay", "partner", "show", "  safe   HARBOR ", "--json")
    assert code == 0 and json.loads(out)["id"] == harbor["id"]
    code, out, _ = run("avery", "partner", "show", "Safe Harbor")
    assert code == 0 and "Cook County" in out and "intake@safeharbor.example" in out and "No contacts." in out


def test_update_changes_only_what_is_given_and_is_audited(run, store, agency, harbor):
    code, out, err = run("vera", "partner", "update", str(harbor["id"]), "--hours", "Mon-Sat 8-8",
                         "--languages", "en,es,vi", "--not-privileged", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["changed"] == ["hours", "languages", "privileged"]
    assert got["hours"] == "Mon-Sat 8-8" and got["languages"] == ["en", "es", "vi"] and not got["privileged"]
    assert got["sector"] == "dv_program" and got["hotline_24_7"]
    code, out, _ = run("vera", "partner", "update", "Safe Harbor", "--referral-email", "")
    assert code == 0 and "changed referral_email" in out
    assert json.loads(run("avery", "partner", "show", "1", "--json")[1])["referral_email"] is None
    code, out, _ = run("vera", "partner", "update", "1", "--hours", "Mon-Sat 8-8")
    assert code == 0 and "changed nothing" in out
    assert actions(store) == ["partner.add", "partner.update", "partner.update"]
    with store.engine.connect() as conn:
        detail = conn.execute(text("SELECT detail FROM audit_entry WHERE action = 'partner.update' ORDER BY id")).first()[0]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["changed"]["hours"] == ["24/7", "Mon-Sat 8-8"]
    assert json.loads(run("ada", "audit", "verify", "--json")[1])["ok"] is True


def test_nothing_to_update_is_refused(run, agency, harbor):
    code, _, err = run("vera", "partner", "update", "1")
    assert code == 1 and err.startswith("Error: nothing to change")


def test_retire_keeps_the_record_hides_it_and_refuses_new_work(run, store, agency, harbor):
    code, out, err = run("vera", "partner", "retire", "1", "--reason", "program closed")
    assert code == 0, err
    assert json.loads(run("oscar", "partner", "list", "--json")[1]) == []
    retired = json.loads(run("oscar", "partner", "list", "--retired", "--json")[1])
    assert [p["id"] for p in retired] == [1] and retired[0]["retired"] and retired[0]["retired_at"]
    assert [p["id"] for p in json.loads(run("oscar", "partner", "list", "--all", "--json")[1])] == [1]
    assert json.loads(run("oscar", "partner", "show", "1", "--json")[1])["retired"] is True
    code, _, err = run("vera", "partner", "retire", "1")
    assert code == 1 and "already retired" in err
    with store.read() as s:
        with pytest.raises(NotAllowed, match=r"partner 1 \(Safe Harbor\) was retired on .* takes no new work"):
            partners.active_partner(s, 1)
        with pytest.raises(NotFound, match="no partner 99"):
            partners.active_partner(s, 99)
    assert run("vera", "partner", "reinstate", "1")[0] == 0
    with store.read() as s:
        assert partners.active_partner(s, 1).name == "Safe Harbor"
    code, _, err = run("vera", "partner", "reinstate", "1")
    assert code == 1 and "not retired" in err
    assert count(store, "partner") == 1
    assert actions(store) == ["partner.add", "partner.retire", "partner.reinstate"]


def test_unknown_partner_is_not_found(run, agency):
    for ref in ("42", "No Such Program", str(2**70)):
        code, _, err = run("oscar", "partner", "show", ref)
        assert code == 1 and err.startswith("Error: no partner") and "Traceback" not in err


def test_a_number_is_an_id_first_then_a_name(agency):
    partners.add(agency.vs, name="Safe Harbor", model="community_based", sector="dv_program")
    partners.add(agency.vs, name="211", model="systems_based", sector="other")
    assert partners.show(agency.officer, "1")["name"] == "Safe Harbor"
    assert partners.show(agency.officer, "211")["name"] == "211"
    with pytest.raises(NotFound, match="no partner 3;"):
        partners.show(agency.officer, "3")


# -- every field is checked ------------------------------------------------------------------

GOOD = {"name": "Bright Path", "model": "hybrid", "sector": "child_advocacy"}
BAD_FIELDS = [
    ({"model": "police_based"}, "model must be one of"),
    ({"model": ""}, "model is required"),
    ({"sector": "dv"}, "sector must be one of"),
    ({"services": "personal_advocacy,counselling"}, "services item 2 is not a service"),
    ({"languages": "english"}, "languages item 1 is not a language code"),
    ({"languages": "en,e1"}, "languages item 2 is not a language code"),
    ({"languages": " , "}, "languages is empty"),
    ({"referral_email": "intake at example.org"}, "referral_email is not an e-mail address"),
    ({"referral_email": "a@b"}, "referral_email is not an e-mail address"),
    ({"hotline_phone": "call us"}, "hotline_phone is not a phone number"),
    ({"hotline_phone": "123"}, "hotline_phone is not a phone number"),
    ({"hotline_24_7": True}, "hotline_24_7 is yes but there is no hotline_phone"),
    ({"hotline_24_7": "maybe"}, "hotline_24_7 must be yes or no"),
    ({"name": "   "}, "name is empty"),
    ({"name": "Bell\x07Program"}, "name contains a control character"),
    ({"name": "x" * 201}, "name contains a control character or is longer than 200"),
    ({"hours": "9-5\nand more"}, "hours contains a control character"),
    ({"service_area": "\x1b[31mred"}, "service_area contains a control character"),
    ({"referral_method": "y" * 301}, "referral_method contains a control character or is longer than 300"),
]


@pytest.mark.parametrize("change,message", BAD_FIELDS, ids=[f"{list(c)[0]}-{n}" for n, (c, _) in enumerate(BAD_FIELDS)])
def test_each_bad_value_is_refused_naming_its_field_and_nothing_is_written(agency, store, change, message):
    before = dump(store)
    with pytest.raises(InvalidInput, match=message):
        partners.add(agency.vs, **{**GOOD, **change})
    assert dump(store) == before


@pytest.mark.parametrize("change,message", [c for c in BAD_FIELDS if "required" not in c[1]],
                         ids=[f"{list(c)[0]}-{n}" for n, (c, m) in enumerate(BAD_FIELDS) if "required" not in m])
def test_each_bad_value_is_refused_on_update_too(agency, store, change, message):
    partners.add(agency.vs, **GOOD)
    before = dump(store)
    with pytest.raises(InvalidInput, match=message.replace("is required", "is empty")):
        partners.update(agency.vs, "Bright Path", **change)
    assert dump(store) == before


def test_words_are_taken_as_people_write_them(agency):
    out = partners.add(agency.vs, name="Casa", model="Community-based", sector="Sexual assault program",
                       services="Personal advocacy | information referral; personal_advocacy", languages="ES, en")
    assert (out["model"], out["sector"]) == ("community_based", "sexual_assault_program")
    assert out["services"] == ["personal_advocacy", "information_referral"] and out["languages"] == ["es", "en"]
    assert out["languages"] == partners.show(agency.officer, "casa")["languages"]


def test_a_bad_value_on_the_command_line_is_one_line(run, store, agency):
    before = dump(store)
    code, out, err = run("vera", "partner", "add", "Z", "--model", "hybrid", "--sector", "bakery")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("Error: sector must be one of: dv_program")
    code, _, err = run("vera", "partner", "add", "Z", "--sector", "other")
    assert code == 2 and "--model" in err
    assert dump(store) == before


def test_the_help_lists_every_sector_and_service():
    help_text = partners_help()
    assert all(s in help_text for s in PARTNER_SECTORS + PARTNER_SERVICES)


def partners_help() -> str:
    from commands.partners import partner_add

    return partner_add.help


# -- names are unique --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Safe Harbor", "safe harbor", "  SAFE   Harbor "])
def test_a_duplicate_name_is_refused(run, store, agency, harbor, name):
    before = dump(store)
    code, _, err = run("vera", "partner", "add", name, "--model", "hybrid", "--sector", "other")
    assert code == 1 and "already in the directory (partner 1)" in err
    assert dump(store) == before


def test_renaming_onto_another_partner_is_refused_but_a_retired_name_stays_taken(run, store, agency, harbor):
    assert run("vera", "partner", "add", "Bright Path", "--model", "hybrid", "--sector", "other")[0] == 0
    code, _, err = run("vera", "partner", "update", "Bright Path", "--name", "SAFE HARBOR")
    assert code == 1 and "already in the directory (partner 1)" in err
    assert run("vera", "partner", "retire", "1")[0] == 0
    code, _, err = run("vera", "partner", "add", "Safe Harbor", "--model", "hybrid", "--sector", "other")
    assert code == 1 and "already in the directory" in err
    assert run("vera", "partner", "update", "Bright Path", "--name", "Bright Path Center")[0] == 0


# -- contacts ----------------------------------------------------------------------------------

def test_contacts_ranked_first_to_call_first_and_deactivated_not_deleted(run, store, agency, harbor):
    for args in (["--name", "Lee Late", "--email", "lee@safeharbor.example"],
                 ["--name", "Dana Diaz", "--role", "intake coordinator", "--phone", "+1 312 555 0101", "--order", "1"],
                 ["--name", "Sam Second", "--email", "sam@safeharbor.example", "--order", "2"]):
        code, _, err = run("vera", "partner", "contact", "add", "1", *args)
        assert code == 0, err
    names = [c["name"] for c in json.loads(run("oscar", "partner", "contact", "list", "1", "--json")[1])]
    assert names == ["Dana Diaz", "Sam Second", "Lee Late"]
    code, out, err = run("vera", "partner", "contact", "update", "2", "--inactive", "--json")
    assert code == 0 and json.loads(out)["changed"] == ["active"], err
    shown = json.loads(run("avery", "partner", "show", "Safe Harbor", "--json")[1])
    assert [c["name"] for c in shown["contacts"]] == ["Sam Second", "Lee Late"]
    listed = json.loads(run("avery", "partner", "contact", "list", "1", "--all", "--json")[1])
    assert [c["name"] for c in listed] == ["Sam Second", "Lee Late", "Dana Diaz"]
    code, _, err = run("vera", "partner", "contact", "update", "3", "--order", "", "--email", "")
    assert code == 1 and "needs an email or a phone" in err
    assert run("vera", "partner", "contact", "update", "3", "--order", "", "--phone", "+1 312 555 0199")[0] == 0
    assert count(store, "partner_contact") == 3
    assert actions(store) == ["partner.add"] + ["partner.contact.add"] * 3 + ["partner.contact.update"] * 2


@pytest.mark.parametrize("args,message", [
    (["--name", "Nobody"], "a contact needs an email or a phone"),
    (["--name", "A", "--email", "not-an-address"], "contact email is not an e-mail address"),
    (["--name", "A", "--phone", "12-34"], "contact phone is not a phone number"),
    (["--name", "A\x1b]0;pwned\x07", "--phone", "+1 312 555 0101"], "contact name contains a control character"),
    (["--name", "", "--phone", "+1 312 555 0101"], "contact name is empty"),
])
def test_a_bad_contact_is_refused(run, store, agency, harbor, args, message):
    before = dump(store)
    code, _, err = run("vera", "partner", "contact", "add", "1", *args)
    assert code == 1 and message in err and "Traceback" not in err
    assert dump(store) == before


def test_a_bad_contact_order_is_refused(agency, store):
    partners.add(agency.vs, **GOOD)
    for order in ("0", "x", "1000", "-1"):
        with pytest.raises(InvalidInput, match="contact escalation_order must be a whole number"):
            partners.add_contact(agency.vs, 1, name="A", phone="+1 312 555 0101", escalation_order=order)
    with pytest.raises(NotFound, match="no partner contact 9"):
        partners.update_contact(agency.vs, 9, role="x")


# -- lists and filters -------------------------------------------------------------------------

@pytest.fixture
def directory(agency):
    vs = agency.vs
    partners.add(vs, name="Safe Harbor", model="community_based", sector="dv_program",
                 services="personal_advocacy,shelter_housing", languages="en,es-MX")
    partners.add(vs, name="County Prosecutor Victim Unit", model="systems_based", sector="prosecutor",
                 services="justice_system_assistance,information_referral")
    partners.add(vs, name="Voces Unidas", model="hybrid", sector="sexual_assault_program",
                 services="emotional_support_safety", languages="es")
    partners.add(vs, name="Old Shelter", model="community_based", sector="shelter_housing",
                 services="shelter_housing")
    partners.retire(vs, "Old Shelter")
    return agency


@pytest.mark.parametrize("filters,names", [
    ({}, ["County Prosecutor Victim Unit", "Safe Harbor", "Voces Unidas"]),
    ({"sector": "prosecutor"}, ["County Prosecutor Victim Unit"]),
    ({"service": "shelter_housing"}, ["Safe Harbor"]),
    ({"service": "shelter_housing", "which": "all"}, ["Old Shelter", "Safe Harbor"]),
    ({"language": "es"}, ["Safe Harbor", "Voces Unidas"]),
    ({"language": "es-mx"}, ["Safe Harbor"]),
    ({"model": "community_based"}, ["Safe Harbor"]),
    ({"which": "retired"}, ["Old Shelter"]),
    ({"sector": "health"}, []),
], ids=lambda v: json.dumps(v) if isinstance(v, dict) else None)
def test_list_filters(directory, filters, names):
    assert [p["name"] for p in partners.list_partners(directory.officer, **filters)] == names


def test_list_on_the_command_line(run, directory):
    code, out, _ = run("fay", "partner", "list", "--service", "shelter_housing", "--language", "es", "--json")
    assert code == 0 and [p["name"] for p in json.loads(out)] == ["Safe Harbor"]
    code, out, _ = run("fay", "partner", "list", "--all")
    assert code == 0 and "Old Shelter" in out and "retired at" in out
    code, _, err = run("fay", "partner", "list", "--service", "bread")
    assert code == 1 and "service must be one of" in err
    code, out, _ = run("fay", "partner", "list", "--sector", "health")
    assert code == 0 and "No partners match." in out


# -- who may read and change it ------------------------------------------------------------------

@pytest.mark.parametrize("login,reads,manages", [
    ("oscar", True, False), ("avery", True, False), ("fay", True, False), ("vera", True, True),
    ("ada", True, True), ("pat", False, False)])
def test_who_may_read_and_who_may_change(run, store, agency, harbor, login, reads, manages):
    before = dump(store)
    for args, allowed in ((["partner", "list"], reads), (["partner", "show", "1"], reads),
                          (["partner", "contact", "list", "1"], reads),
                          (["partner", "update", "1", "--hours", "x"], manages),
                          (["partner", "retire", "1"], manages),
                          (["partner", "contact", "add", "1", "--name", "N", "--phone", "+1 312 555 0101"], manages)):
        code, out, err = run(login, *args)
        if allowed:
            assert code == 0, (args, err)
        else:
            assert code == 1 and "not permitted" in err and "partner" in err, (args, err)
    if not manages:
        assert dump(store) == before


def test_the_parole_board_is_told_in_the_words_of_the_commands(agency):
    with pytest.raises(NotPermitted, match="the parole board is not permitted to read the partner directory"):
        partners.list_partners(agency.parole)


# -- hostile input -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["{{ 'QZ' ~ 'X' }}", "' OR 1=1; DROP TABLE partner; --", "Ñandú Ayuda 🌈",
                                  "<script>alert(1)</script>", "%_%"])
def test_strange_names_are_kept_as_typed(run, store, agency, name):
    code, out, err = run("vera", "partner", "add", name, "--model", "hybrid", "--sector", "other", "--json")
    assert code == 0, err
    assert json.loads(run("oscar", "partner", "show", name, "--json")[1])["name"] == name
    listed = run("oscar", "partner", "list")[1]
    assert name in listed and "QZX" not in listed
    assert count(store, "partner") == 1


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.text(max_size=60))
def test_any_name_is_stored_as_typed_or_refused_in_one_line(agency, value):
    try:
        out = partners.add(agency.vs, name=value, model="hybrid", sector="other")
    except InvalidInput as refused:
        assert "\n" not in str(refused) and str(refused).startswith(("name ", "a partner of this name"))
        return
    assert out["name"] == value.strip()
    partners.retire(agency.vs, out["id"])


# -- CSV import --------------------------------------------------------------------------------

FORTY = [partner_row(i) for i in range(1, 41)]


def test_a_good_file_adds_every_partner_and_its_first_contact(run, store, agency, write):
    code, out, err = run("vera", "partner", "import", write(FORTY), "--json")
    assert code == 0, err
    report = json.loads(out)
    contacts = sum(1 for r in FORTY if r["contact_name"])
    assert (report["rows"], report["partners"], report["contacts"]) == (40, 40, contacts)
    assert [c["row"] for c in report["created"]] == list(range(2, 42))
    assert count(store, "partner") == 40 and count(store, "partner_contact") == contacts
    assert actions(store) == [a for r in FORTY for a in ["partner.add"] + ["partner.contact.add"] * bool(r["contact_name"])]
    third = partners.show(agency.officer, "Partner Program 003")
    assert (third["model"], third["sector"], third["languages"]) == ("community_based", "shelter_housing", ["en", "es"])
    assert third["services"] == ["information_referral", "personal_advocacy"] and third["privileged"]
    assert third["contacts"] == []  # row 3 has no contact
    fifth = partners.show(agency.officer, "Partner Program 005")
    assert fifth["hotline_24_7"] and fifth["hotline_phone"] == "+1 312 555 0005"
    assert fifth["contacts"][0]["name"] == "Casey Contact5" and fifth["contacts"][0]["escalation_order"] == 1
    assert json.loads(run("ada", "audit", "verify", "--json")[1])["ok"] is True


def test_the_table_output_and_the_progress(run, agency, write):
    code, out, _ = run("vera", "partner", "import", write(FORTY[:3]))
    assert code == 0 and "Imported 3 row(s): 3 partner(s), 2 contact(s)." in out and "Partner Program 002" in out
    seen = []
    partners.import_csv(agency.vs, csv_bytes(FORTY[3:8]), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, 5) for n in range(1, 6)]


def test_a_dry_run_writes_nothing(run, store, agency, write):
    before = dump(store)
    code, out, err = run("vera", "partner", "import", write(FORTY), "--dry-run")
    assert code == 0, err
    assert "Dry run: all 40 row(s) are good; this would add 40 partner(s)" in out
    assert dump(store) == before
    code, out, _ = run("vera", "partner", "import", write(FORTY), "--dry-run", "--json")
    assert json.loads(out)["dry_run"] is True and json.loads(out)["created"] == []
    assert dump(store) == before


@pytest.mark.parametrize("change,column", [
    ({"model": "police"}, "model"), ({"sector": ""}, "sector"), ({"services": "advocacy"}, "services"),
    ({"languages": "Spanish"}, "languages"), ({"referral_email": "intake@"}, "referral_email"),
    ({"hotline_phone": "555"}, "hotline_phone"), ({"hotline_24_7": "yes", "hotline_phone": ""}, "hotline_phone"),
    ({"privileged": "sometimes"}, "privileged"), ({"name": ""}, "name"), ({"name": "Partner Program 001"}, "name"),
    ({"contact_email": "", "contact_phone": ""}, "contact_email"), ({"contact_phone": "x"}, "contact_phone"),
    ({"contact_name": ""}, "contact_name"), ({"hours": "a\x00b"}, "hours"),
], ids=lambda v: "-".join(v) if isinstance(v, dict) else v)
def test_one_bad_row_in_the_middle_writes_nothing_and_names_row_and_column(run, store, agency, write, change, column):
    rows = [dict(r) for r in FORTY]
    rows[19].update(change)  # the 20th partner: spreadsheet row 21
    if column.startswith("contact") and not rows[19]["contact_name"] and column != "contact_name":
        rows[19]["contact_name"] = "Kit Contact"
    before = dump(store)
    code, out, err = run("vera", "partner", "import", write(rows))
    assert code == 1, out + err
    problems = [x for x in err.splitlines() if x.startswith("row ")]
    assert problems and problems[0].startswith(f"row 21: {column}: ") and len(problems) == 1, err
    assert err.strip().splitlines()[-1].startswith("Error: 1 of 40 row(s) have problems")
    assert "Traceback" not in out + err
    assert dump(store) == before


def test_a_name_already_in_the_directory_is_refused_not_updated(run, store, agency, write, harbor):
    rows = FORTY[:3] + [dict(partner_row(9), name="SAFE harbor")]
    before = dump(store)
    code, _, err = run("vera", "partner", "import", write(rows))
    assert code == 1 and "row 5: name: a partner of this name is already in the directory (partner 1)" in err
    assert dump(store) == before


def test_many_problems_are_all_listed_with_a_count(run, store, agency, write):
    rows = [dict(r, model="nope") for r in FORTY]
    code, _, err = run("vera", "partner", "import", write(rows))
    assert code == 1 and "... and 20 more problem(s) not shown" in err
    assert "Error: 40 of 40 row(s) have problems (40 in all)" in err


@pytest.mark.parametrize("data,message", [
    (b"", "the file is empty"),
    (b"name,model,sector\n", "a header but no rows"),
    (b"name,model\nA,hybrid\n", "the header has no sector column"),
    (b"name,model,sector,colour\nA,hybrid,other,red\n", "column 4 of the header is not a known column"),
    (b"name,model,sector,name\nA,hybrid,other,B\n", "names column name twice"),
    (b"\xff\xfe\x00n", "not UTF-8"),
])
def test_a_broken_file_is_refused_whole(agency, store, data, message):
    before = dump(store)
    with pytest.raises(InvalidInput, match=message):
        partners.import_csv(agency.vs, data)
    assert dump(store) == before


def test_semicolons_separate_cells_too(agency):
    data = "name;model;sector;services\nCasa Segura;community_based;dv_program;personal_advocacy\n".encode()
    assert partners.import_csv(agency.vs, data)["partners"] == 1


def test_only_victim_services_and_admins_import(run, store, agency, write):
    before = dump(store)
    for login in ("oscar", "avery", "fay", "pat"):
        code, _, err = run(login, "partner", "import", write(FORTY[:2]))
        assert code == 1 and "not permitted to change the partner directory" in err
    assert dump(store) == before


COLUMNS = [c for c in HEADER]
HOSTILE = st.one_of(st.text(max_size=40), st.sampled_from(
    ["\x00", "\x1b[2J", '"', '",,,"', "\r\n", "=HYPERLINK(\"x\")", "{{ 'QZ' ~ 'X' }}", "' OR 1=1 --", "\u202e"]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(column=st.sampled_from(COLUMNS), value=HOSTILE)
def test_hostile_cells_are_refused_by_row_or_taken_literally_and_never_echoed(agency, column, value):
    rows = [partner_row(1), partner_row(2)]
    marked = "Zq" + value  # a marker, so an echo cannot be a coincidence
    rows[1][column] = marked
    before = count(agency.store, "partner")
    try:
        report = partners.import_csv(agency.vs, csv_bytes(rows), dry_run=True)
        assert report["rows"] == 2
        said = json.dumps({k: v for k, v in report.items() if k != "created"})
    except partners.ImportRefused as refused:
        said = str(refused) + "\n".join(refused.problems)
        assert refused.problems and all(p.startswith("row ") for p in refused.problems)
    except InvalidInput as error:  # a file-level refusal (a cell that breaks the CSV itself)
        said = str(error)
    assert count(agency.store, "partner") == before
    shown = marked.strip()
    assert len(shown) < 4 or shown not in said
    assert "QZX" not in said
