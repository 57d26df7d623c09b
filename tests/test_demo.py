"""`vcase demo` (what `make demo` runs): the story runs to the end and shows what it says."""

from __future__ import annotations

from click.testing import CliRunner

import cli
from commands.demo import Narrator, run_story


def test_the_story_runs_a_year_and_writes_the_notices_to_files(tmp_path, monkeypatch):
    monkeypatch.setenv("VCASE_SMTP_HOST", "127.0.0.1")  # a real mail server must never get demo mail
    monkeypatch.setenv("VCASE_SMTP_PORT", "9")
    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    assert facts["audit_ok"] and not facts["email_found_in_file"]
    assert facts["dialogue_state"] == "closed"
    assert facts["timers_fired"] == 7  # hearing: 30/7/1 days before; meeting: 7/1 days; check-in; close
    emails = sorted((folder / "outbox" / "email").glob("*.eml"))
    assert facts["outbox_files"] == facts["notices_delivered"]
    assert facts["notices_delivered"] + facts["referral_notices"] + facts["intimidation_files"] == len(emails) + len(
        list((folder / "outbox" / "letters").rglob("*.txt")))
    maria = [p.read_text(encoding="utf-8") for p in emails if "To: maria.lopez@" in p.read_text(encoding="utf-8")]
    assert maria and all("Content-Language: es" in m for m in maria)
    assert not [m for m in maria if "Luis" in m]  # the co-victim's dialogue is his alone


def test_the_demos_letters_are_printed_as_pdfs_beside_their_text(tmp_path):
    import csv

    import pdfplumber

    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    [batch] = [p.parent for p in (folder / "outbox" / "letters").rglob("manifest.csv")]
    rows = list(csv.DictReader((batch / "manifest.csv").open(encoding="utf-8")))
    assert facts["letters_printed"] == len(rows) >= 1
    with pdfplumber.open(batch / f"batch-{facts['mail_batch']}.pdf") as printed:
        assert len(printed.pages) == sum(int(r["pages"]) for r in rows)
        for row in rows:
            page = printed.pages[int(row["first_page"]) - 1].extract_text()
            text = (batch / f"{row['reference']}.txt").read_text(encoding="utf-8")
            assert (batch / f"{row['reference']}.pdf").is_file() and f"Ref. {row['reference']}" in page
            body = text.split("\n\n")[3]  # after the name and address, the date, the "sent" line: the greeting
            assert " ".join(body.split()) in " ".join(page.split())


def test_the_withdrawn_dialogue_told_only_the_co_victim(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    letters = [p.read_text(encoding="utf-8") for p in (folder / "outbox" / "letters").rglob("*.txt")]
    assert letters and not [text for text in letters if "Luis" in text or "Maria" in text]
    assert facts["withdrawn_dialogue"] != facts["dialogue"]


def test_the_command_replaces_its_own_folder_and_refuses_any_other(tmp_path):
    target = tmp_path / "vcase-demo"
    for _ in range(2):
        result = CliRunner().invoke(cli.vcase, ["demo", "--dir", str(target)])
        assert result.exit_code == 0, result.output
        assert "Open the notices in" in result.output and "hash chain                   intact" in result.output
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.txt").write_text("do not delete")
    code = cli.main(["demo", "--dir", str(other)])
    assert code == 1 and (other / "thesis.txt").read_text() == "do not delete"
    result = CliRunner().invoke(cli.vcase, ["demo", "--throwaway"])
    assert result.exit_code == 0 and "throwaway folder was removed" in result.output



def test_the_agreement_comes_up_for_review_and_its_partner_never_reads_the_letter(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    assert facts["agreement_due"] == [facts["agreement"]]


def test_the_referral_tells_the_partner_only_what_maria_agreed_to_share(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    assert facts["referral_notices"] == 3  # the partner, Maria's confirmation, her check-in a month later
    texts = [p.read_text(encoding="utf-8") for p in (folder / "outbox" / "email").glob("*.eml")]
    [to_partner] = [t for t in texts if "To: intake@lakeside.example" in t]
    assert "Maria" in to_partner  # her name: she shared it
    assert "maria.lopez@" not in to_partner and "555 0101" not in to_partner and "2026-CR-0042" not in to_partner


def test_the_3am_intimidation_report_is_escalated_at_once_then_down_the_list(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    assert facts["intimidation_level"] == 1  # the night desk did not answer: once down the list
    texts = [p.read_text(encoding="utf-8") for p in (folder / "outbox" / "email").glob("*.eml")]
    [night] = [t for t in texts if "To: nightdesk@sheriff.example" in t]
    [deputy] = [t for t in texts if "To: ruiz@sheriff.example" in t]
    assert "Date:" in night and ("03:00" in night or "3:00" in night)
    for mail in (night, deputy):
        assert "2026-CR-0042" in mail and "Maria" not in mail and "maria.lopez@" not in mail
        assert "12:00-13:00" not in mail  # never the safe-contact choice
    assert [p for p in (folder / "outbox" / "sms").rglob("*") if p.is_file()], "the night desk was texted too"


def test_the_demo_ends_with_the_quarter_for_the_funder(tmp_path):
    """The PMT chapter: what vcase did itself (the referral and the shelter self-referral: A3; the safety
    plan: C1) is counted with what the advocate typed (A1, B3, C4) and the anonymous hotline call."""
    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    report = facts["pmt"]
    assert facts["pmt_quarter"] == "2027Q3" and report["from"].startswith("2027-04-01 00:00 CDT")
    times = {i["item"]: i["times"] for c in report["services"] for i in c["items"] if i["times"]}
    assert times == {"A1": 1, "A3": 2, "B3": 1, "C1": 1, "C2": 1, "C4": 1}
    assert report["individuals"]["served"] == 1 and report["individuals"]["anonymous_contacts"] == 1
    assert report["demographics"]["gender"]["female"] == 0  # Maria is continuing this year: asked of the new only
    assert report["victimization"]["domestic_family_violence"] == 1


def test_the_demo_victim_can_open_her_portal(tmp_path):
    """`vcase demo --portal`: the access it prints signs the demo's victim in (served here in-process)."""
    import re

    from starlette.testclient import TestClient

    from commands.demo import portal_access
    from web.app import create

    folder = tmp_path / "demo"
    folder.mkdir()
    facts = run_story(folder, Narrator())
    app, access = portal_access(facts)
    client = TestClient(create(app), base_url="https://testserver", follow_redirects=False)
    page = client.get("/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post("/sign-in", data={"csrf": token, "access_id": access["access_id"], "secret": access["code"]})
    assert answer.status_code == 303 and answer.headers["location"] == "/pin"
    app.store.dispose()
