"""The mail room (issue 18): every letter's delivery states, the daily batch and its manifest, a returned
letter's fallback, owner-only files removed after their retention, and the commands' refusals.

On SQLite and PostgreSQL (the ``store`` fixture). PDFs are read back with pdfplumber.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import select

from engine import mailroom
from engine.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.models import MailBatch, Notice
from services import mailroom as M
from services import notify_api as N
from tests.support import dump

pdfplumber = pytest.importorskip("pdfplumber")

CASE = "2026-CR-0001"
RETURN = "Victim Services Unit; 100 Main Street; Springfield, IL 62701"
ROSA_ADDRESS = "12 Larch Lane\nOakville, IL 60601"


@pytest.fixture
def mail(agency, tmp_path):
    """Rosa, a victim who chose letters first (then e-mail), registered for every event; a mail-room clerk."""
    for app in (agency.admin, agency.officer, agency.advocate, agency.vs):
        app.outbox = tmp_path / "outbox"
    agency.admin.add_staff("mo", "Mo Mailroom", "mailroom")
    agency.clerk = agency.admin.as_user("mo")
    agency.clerk.outbox = tmp_path / "outbox"
    agency.admin.set_setting("letters.return_address", RETURN)
    rosa = agency.advocate.add_party(CASE, "victim", "Rosa Quill", email="rosa@example.org", address=ROSA_ADDRESS,
                                     channels=("letter", "email"), language="es")["id"]
    agency.advocate.explain_confidentiality(rosa, "in_writing")
    agency.rosa = rosa
    agency.registration = N.register(agency.advocate, CASE, rosa, "all", "in_writing")["process"]
    agency.outbox = tmp_path / "outbox"
    return agency


def letters(store, **where) -> list[Notice]:
    with store.read() as s:
        query = select(Notice).where(Notice.channel == "letter").order_by(Notice.id)
        for key, value in where.items():
            query = query.where(getattr(Notice, key) == value)
        return list(s.execute(query).scalars())


def handed_over(agency, events=("transfer",)) -> list[Notice]:
    """Events recorded and delivered: Rosa's letters wait for the mail room."""
    for n, kind in enumerate(events):
        N.record_event(agency.officer, CASE, kind, agency.clock.now() - timedelta(minutes=1 + n), "")
    N.deliver(agency.admin)
    return letters(agency.store, status="awaiting_print")


def pdf_pages(path: Path) -> list[str]:
    with pdfplumber.open(path) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def test_letters_wait_encrypted_until_the_batch_prints_them(mail):
    from engine.scheduler import status

    waiting = handed_over(mail)
    said = status(mail.admin)
    assert said["letters_awaiting_print"] == 2 and said["oldest_letter_waiting"] == mail.clock.now().isoformat()
    assert [n.status for n in waiting] == ["awaiting_print", "awaiting_print"]  # registration confirmation, transfer
    assert all(n.letter_ref and mailroom.REF_PATTERN.fullmatch(n.letter_ref) for n in waiting)
    assert not [p for p in mail.outbox.rglob("*") if p.is_file() and "letters" in p.parts]  # nothing in clear yet
    raw = b"".join(p.read_bytes() for p in Path(mail.store.url.split("///")[-1]).parent.glob("*.db*")) \
        if mail.store.is_sqlite else b""
    assert b"Larch" not in raw and b"Rosa" not in raw


def test_a_days_batch_matches_its_manifest_and_marks_each_letter_printed(mail):
    waiting = handed_over(mail, ("transfer", "escape"))
    out = M.batch(mail.clerk)
    folder = Path(out["path"])
    assert out["letters"] == len(waiting) == 3 and out["certified"] == 1  # the escape letter: certified mail
    rows = list(csv.DictReader(io.StringIO((folder / "manifest.csv").read_text())))
    assert list(rows[0]) == ["sequence", "reference", "first_page", "pages", "certified", "delivery", "presort_zip"]
    pages = pdf_pages(folder / f"batch-{out['batch']}.pdf")
    assert len(pages) == out["pages"] == sum(int(r["pages"]) for r in rows)
    for row in rows:
        first = pages[int(row["first_page"]) - 1]
        assert f"Ref. {row['reference']}" in first and "Rosa Quill" in first and "Larch" in first
        assert (folder / f"{row['reference']}.pdf").is_file() and (folder / f"{row['reference']}.txt").is_file()
    assert {r["reference"] for r in rows} == {n.letter_ref for n in waiting}
    certified = {n.letter_ref for n in waiting if n.emergency}
    assert {r["reference"] for r in rows if r["certified"] == "yes"} == certified
    manifest = (folder / "manifest.csv").read_text()
    assert "Rosa" not in manifest and "Larch" not in manifest and "60601" not in manifest  # not presorted: no ZIP
    assert not [p for p in folder.rglob("*") if "Rosa" in p.name or "Quill" in p.name or CASE in p.name]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    printed = letters(mail.store, status="printed")
    assert {n.id for n in printed} == {n.id for n in waiting}
    assert all(n.mail_batch_id == out["batch"] and n.pages >= 1 for n in printed)
    again = M.batch(mail.clerk)  # nothing is printed twice
    assert again["batch"] is None and again["letters"] == 0


def test_presort_by_zip_when_the_volume_warrants_it(mail):
    mail.admin.set_setting("mailroom.presort_minimum", "2")
    handed_over(mail)
    out = M.batch(mail.clerk)
    rows = list(csv.DictReader(io.StringIO((Path(out["path"]) / "manifest.csv").read_text())))
    assert out["presorted"] and {r["presort_zip"] for r in rows} == {"60601"}


def test_each_step_is_a_state_and_notices_show_proves_it(mail, run):
    waiting = handed_over(mail, ("escape",))
    certified = next(n for n in waiting if n.emergency)
    batch = M.batch(mail.clerk)["batch"]
    assert M.mailed(mail.clerk, batch) == {"batch": batch, "mailed": 2, "pull": []}
    M.tracking(mail.clerk, certified.letter_ref.lower(), "9407 1000 0000 0000 0000 00")
    M.delivered(mail.clerk, certified.letter_ref)
    shown = N.show_notice(mail.vs, certified.id)
    assert shown["status"] == "delivered" and shown["certified"] is True
    assert shown["tracking"] == "9407100000000000000000" and shown["printed"].endswith("by mo")
    assert shown["mailed"].endswith("by mo") and shown["delivered"] and shown["mail_batch"] == batch
    with mail.store.read() as s:
        row = s.get(Notice, certified.id)
        assert row.tracking_enc and b"9407" not in row.tracking_enc  # encrypted
    code, out, _ = run("vera", "notices", "show", str(certified.id))
    assert code == 0 and "delivered" in out and certified.letter_ref in out and "by mo" in out
    code, out, _ = run("mo", "mailroom", "show", str(batch), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["status"] == "mailed" and {r["status"] for r in shown["letters_in_batch"]} == {
        "mailed", "delivered"}
    assert "Rosa" not in out and "Larch" not in out  # the mail room sees references, never who


def test_a_returned_letter_falls_back_to_the_next_channel(mail):
    handed_over(mail)
    batch = M.batch(mail.clerk)["batch"]
    M.mailed(mail.clerk, batch)
    letter = letters(mail.store, template="notification/victim/transfer")[0]
    out = M.returned(mail.clerk, letter.letter_ref, "moved_left_no_address")
    assert out == {"notice": letter.id, "letter": letter.letter_ref, "status": "returned", "fallback_queued": True}
    with mail.store.read() as s:
        [fallback] = s.execute(select(Notice).where(Notice.fallback_of == letter.id)).scalars().all()
        assert fallback.channel == "email" and fallback.status == "queued"
        returned = s.get(Notice, letter.id)
        assert returned.status_reason == "returned by the post office: moved left no address" and returned.returned_at
    N.deliver(mail.admin)
    assert letters(mail.store, id=letter.id)[0].status == "returned"
    emails = list((mail.outbox / "email").glob("*.eml"))
    assert [e for e in emails if "rosa@example.org" in e.read_text(encoding="utf-8")]


def test_a_letter_only_recipient_whose_letter_comes_back_is_said_to_be_unreached(mail):
    gail = mail.guardian  # e-mail only: a letter to her is a fallback; then nothing is left
    handed_over(mail)
    reg = N.register(mail.advocate, CASE, gail, "all", "in_writing")
    with mail.store.write() as s:  # her e-mail refused for good: the fallback is a letter
        from engine import delivery, settings as S

        email = s.execute(select(Notice).where(Notice.process_id == reg["process"])).scalars().first()
        email.status, email.status_reason = "failed", "550 no such user"
        delivery.fall_back(s, mail.store.vault, email, mail.clock.now(), S.load(s, mail.admin.registry))
    N.deliver(mail.admin)
    batch = M.batch(mail.clerk)["batch"]
    M.mailed(mail.clerk, batch)
    letter = next(n for n in letters(mail.store) if n.recipient_party_id == gail)
    assert M.returned(mail.clerk, str(letter.id), "attempted_not_known")["fallback_queued"] is False


def test_a_withdrawal_cancels_letters_not_yet_mailed_and_the_hand_off_names_them(mail):
    handed_over(mail)
    batch = M.batch(mail.clerk)["batch"]
    printed = letters(mail.store, status="printed")
    mail.advocate.send(mail.registration, "withdraw", mail.rosa, "in_writing")
    assert not letters(mail.store, status="printed")
    out = M.mailed(mail.clerk, batch)
    assert out["mailed"] == 0 and out["pull"] == sorted(n.letter_ref for n in printed)
    assert {n.status for n in letters(mail.store, mail_batch_id=batch)} == {"cancelled"}


def test_batch_files_are_removed_after_the_retention_period(mail):
    handed_over(mail)
    out = M.batch(mail.clerk)
    folder = Path(out["path"])
    mail.clock.advance(timedelta(days=29))
    assert mailroom.purge_pass(mail.admin) == 0 and folder.exists()
    mail.clock.advance(timedelta(days=2))
    assert mailroom.purge_pass(mail.admin) == 1 and not folder.exists()
    with mail.store.read() as s:
        batch = s.get(MailBatch, out["batch"])
        assert batch.files_removed_at is not None and batch.letters == 2  # the record stays
    assert {n.status for n in letters(mail.store, mail_batch_id=out["batch"])} == {"printed"}
    assert mail.admin.verify_audit()["ok"]


def test_the_batch_refuses_without_a_return_address_and_writes_nothing(mail):
    handed_over(mail)
    mail.admin.set_setting("letters.return_address", "")
    before = dump(mail.store)
    with pytest.raises(InvalidInput, match="return address"):
        M.batch(mail.clerk)
    assert dump(mail.store) == before and not (mail.outbox / "letters").exists() or not list(
        (mail.outbox / "letters").rglob("*.pdf"))


def test_refusals_are_one_line_and_write_nothing(mail, run):
    handed_over(mail)
    waiting = letters(mail.store, status="awaiting_print")[0]
    before = dump(mail.store)
    cases = [
        (("mo", "mailroom", "tracking", "ZZZZ-ZZZZ", "9407100000000000000000"), "no letter ZZZZ-ZZZZ"),
        (("mo", "mailroom", "tracking", waiting.letter_ref, "9407100000000000000000"), "has not been printed yet"),
        (("mo", "mailroom", "tracking", waiting.letter_ref, "12"), "10 to 34 letters and digits"),
        (("mo", "mailroom", "returned", waiting.letter_ref, "--reason", "refused"), "when it is awaiting_print"),
        (("mo", "mailroom", "delivered", "not a ref"), "neither a letter reference"),
        (("mo", "mailroom", "mailed", "--batch", "99"), "no batch 99"),
        (("mo", "mailroom", "batch", "--date", "2026-02-30"), "malformed --date"),
        (("mo", "mailroom", "batch", "--date", "2099-01-01"), "is in the future"),
        (("oscar", "mailroom", "batch"), "an officer is not permitted to print the day's letters"),
        (("pat", "mailroom", "list"), "the parole board is not permitted"),
        (("mo", "notices", "show", str(waiting.id)), "the mail room is not permitted to read notices"),
        (("mo", "case", "show", CASE), "the mail room is not permitted"),
    ]
    for args, said in cases:
        code, out, err = run(*args)
        assert code == 1 and said in err and len(err.strip().splitlines()) == 1, (args, err)
        assert "Traceback" not in out + err
    code, _, err = run("mo", "mailroom", "returned", waiting.letter_ref, "--reason", "because")
    assert code == 2 and "Invalid value for '--reason'" in err
    assert dump(mail.store) == before


def test_the_commands_print_mail_and_list(mail, run):
    handed_over(mail)
    code, out, err = run("mo", "mailroom", "batch", "--date", mail.clock.now().date().isoformat())
    assert code == 0 and "Batch 1" in out and "2 letter(s)" in out, err
    code, out, _ = run("mo", "mailroom", "mailed", "--batch", "1")
    assert code == 0 and "2 letter(s) mailed" in out
    code, out, _ = run("mo", "mailroom", "mailed", "--batch", "1")
    assert code == 1
    code, out, _ = run("mo", "mailroom", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["awaiting_print"] == 0 and listed["batches"][0]["status"] == "mailed"


def test_the_date_is_the_agencys_day_and_earlier_letters_are_never_left_behind(mail):
    mail.admin.set_setting("agency.time_zone", "America/Chicago")
    handed_over(mail)  # 09:00 in Chicago on 2 March
    assert M.batch(mail.clerk, "2026-03-01")["letters"] == 0  # taken after that day ended
    mail.clock.advance(timedelta(days=3))
    out = M.batch(mail.clerk, "2026-03-04")  # an earlier day's letters go in a later batch
    assert out["letters"] == 2 and out["day"] == "2026-03-04"


def test_the_cli_return_reasons_are_the_engines():
    from commands.mailroom import RETURN_REASONS

    assert RETURN_REASONS == mailroom.RETURN_REASONS


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_any_typed_date_is_a_day_or_a_one_line_refusal(text):
    from datetime import datetime, timezone

    now = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
    try:
        day = mailroom.parse_day(text, "America/Chicago", now)
    except InvalidInput as exc:
        assert "\n" not in str(exc) or "\n" in text
        return
    assert day.isoformat() == text.strip() and day <= now.date()


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_a_tracking_number_is_letters_and_digits_only(text):
    cleaned = "".join(text.split()).replace("-", "").upper()
    assert bool(mailroom.TRACKING.fullmatch(cleaned)) == (10 <= len(cleaned) <= 34 and cleaned.isascii()
                                                          and cleaned.isalnum())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_0007_database_with_letters_upgrades_and_a_mailroom_clerk_blocks_the_downgrade(kind, tmp_path):
    from alembic import command
    from sqlalchemy import text

    from engine.db import SCHEMA_REVISION
    from engine.schema import alembic_config, upgrade
    from tests.test_migrations import _migrate, empty_store

    with empty_store(kind, tmp_path) as store:
        _migrate(store, "0007")
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO staff (id, login, display_name, role, active, created_at) VALUES "
                              "(1, 'ada', 'Ada', 'admin', true, '2026-03-02 15:00:00+00')"))
            conn.execute(text("INSERT INTO case_file (id, case_number, supervised_person, officer_id, time_zone, ipv, "
                              "misconduct_toward_victim, created_at) VALUES (1, 'C-1', 'Sam', 1, 'UTC', false, false, "
                              "'2026-03-02 15:00:00+00')"))
            conn.execute(text("INSERT INTO notice (id, idempotency_key, case_id, recipient_staff_id, audience, template, "
                              "language, channel, emergency, survives_withdrawal, status, subject_enc, body_enc, "
                              "not_before, created_at, attempts, through_pause) VALUES (1, 'k', 1, 1, 'staff', 't', 'en', "
                              "'letter', false, false, 'sent', :b, :b, '2026-03-02 15:00:00+00', "
                              "'2026-03-02 15:00:00+00', 1, false)"), {"b": b"x"})
        assert upgrade(store) == ("0007", SCHEMA_REVISION)
        with store.engine.begin() as conn:
            assert conn.execute(text("SELECT status, certified FROM notice")).one() == ("sent", False)
            with pytest.raises(Exception, match="notice_mail_states_are_letters|CHECK"):
                with conn.begin_nested():  # a mail-room state needs a letter reference
                    conn.execute(text("UPDATE notice SET status = 'awaiting_print'"))
            conn.execute(text("INSERT INTO staff (id, login, display_name, role, active, created_at) VALUES "
                              "(2, 'mo', 'Mo', 'mailroom', true, '2026-03-02 15:00:00+00')"))
        with pytest.raises(RuntimeError, match="mail-room staff are on file"):
            with store.engine.begin() as conn:
                command.downgrade(alembic_config(conn), "0007")
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM staff WHERE role = 'mailroom'"))
        with store.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0007")
        assert store.schema_revision() == "0007"
        assert upgrade(store) == ("0007", SCHEMA_REVISION)


def test_a_letter_counts_as_a_notification_given_once_mailed_never_while_it_waits(mail):
    """The services log's E1 (issue 16) reads delivered notices: a letter waiting for the mail room, or
    cancelled before it was mailed, is no notification given; once mailed it is."""
    from services import pmt_report

    def e1() -> int:
        got = pmt_report.pmt(mail.vs, pmt_report.current_quarter(mail.vs, mail.clock.now()))
        return next(i["times"] for c in got["services"] for i in c["items"] if i["item"] == "E1")

    waiting = handed_over(mail)
    to_rosa = [n for n in waiting if n.recipient_party_id == mail.rosa and n.case_event_id is not None]
    assert to_rosa and e1() == 0
    out = M.batch(mail.clerk)
    assert e1() == 0  # printed, not yet handed to the post
    M.mailed(mail.clerk, out["batch"])
    assert e1() == len(to_rosa)
