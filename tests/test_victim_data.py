"""Victim contact details never reach plain text: not a notice's status, not a log line, not an error.

A real SMTP server on loopback refuses the recipient with a reply that names
her address and her name; the notice's status reason, `vcase notices list`
(table and JSON) and the delivery errors the daemon logs hold no part of
either, and the SQLite file holds the address only encrypted. Each kind of
outside text a channel can be handed (a refused recipient, an SMTP reply, a
gateway's error body, an OSError) is tried on its own. The outbox folders are
owner-only whatever the umask.
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from services import notify_api as N
from engine.channels import DeliveryFailed, EmailChannel, LetterChannel, Outgoing, SmsChannel, files_only
from engine.models import Notice
from engine.redact import scrub
from tests.support import SmtpSink

ADDRESS = "zq.hollowell@hollowell-family.net"
NAME = "Zora Hollowell"
PHONE = "+1 (312) 555-0199"
PARTS = ("zq.hollowell", "hollowell", "hollowell-family.net", "zora")  # case-insensitive
REPLY = (f"550 5.1.1 <{ADDRESS}>: Recipient address rejected: {NAME} ({ADDRESS.upper()}) unknown; "
         "zq.hollowell... User unknown")


def leaks(text: str) -> list[str]:
    low = text.lower()
    return [p for p in PARTS if p in low] + (["phone"] if re.search(r"555\D?0199", text) else [])


@pytest.fixture
def refused(agency, smtp, tmp_path):
    """Zora registered by e-mail only; the server refuses her address; a release is recorded and sent."""
    for app in (agency.admin, agency.officer, agency.advocate, agency.vs):
        app.outbox = tmp_path / "outbox"
    party = agency.advocate.add_party(agency.case, "victim", NAME, email=ADDRESS, phone=PHONE, channels=("email",))
    agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
    N.register(agency.advocate, agency.case, party["id"], "all", "phone")
    N.deliver(agency.admin)  # the confirmation: refused too
    smtp.refuse[ADDRESS] = REPLY
    N.record_event(agency.officer, agency.case, "released", agency.clock.now(), "")
    agency.result = N.deliver(agency.admin)
    agency.zora = party["id"]
    return agency


def test_a_refused_recipient_leaves_no_part_of_her_address_in_plain_text(refused, run):
    with refused.store.read() as s:
        failed = [n for n in s.execute(select(Notice).where(Notice.recipient_party_id == refused.zora,
                                                             Notice.channel == "email")).scalars()
                  if n.status == "failed"]
    assert failed, "the server's refusal should fail the e-mail notices"
    for notice in failed:
        assert "recipient refused: 550" in notice.status_reason and not leaks(notice.status_reason), notice.status_reason
    assert refused.result.errors and not leaks(" ".join(refused.result.errors)), refused.result.errors
    code, table, err = run("vera", "notices", "list")
    assert code == 0 and "recipient refused" in table and not leaks(table + err), table
    code, out, err = run("vera", "notices", "list", "--json")
    reasons = [r["reason"] or "" for r in json.loads(out)]
    assert code == 0 and any("recipient refused" in r for r in reasons) and not leaks(out + err), reasons


def test_the_sqlite_file_holds_the_address_only_encrypted(refused):
    if not refused.store.url.startswith("sqlite"):
        pytest.skip("a raw file scan is for SQLite (PostgreSQL's pages are checked by the tests above)")
    refused.store.dispose()
    path = Path(refused.store.url.split("///", 1)[1])
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]
    raw = b"".join(p.read_bytes() for p in files).lower()
    for part in PARTS + ("3125550199",):
        assert part.encode() not in raw, f"{part!r} is in {path.name} in plain text"


# -- each kind of outside text, on its own ----------------------------------------------------------------

def outgoing(channel: str, address: str = ADDRESS) -> Outgoing:
    return Outgoing(notice_id=7, key="k", message_id="<m@doc.example>", channel=channel, recipient_name=NAME,
                    address=address, subject="Notice", body="Text", language="en", emergency=False,
                    when=datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc))


@pytest.mark.parametrize("reply,permanent", [(REPLY, True), ("450 4.2.1 <%s> mailbox busy, try later" % ADDRESS, False)],
                         ids=["550-refused", "450-refused-for-now"])
def test_smtp_recipient_refused_is_scrubbed(reply, permanent):
    sink = SmtpSink().start()
    try:
        sink.refuse[ADDRESS] = reply
        channel = EmailChannel("127.0.0.1", sink.port, "notices@doc.example")
        with pytest.raises(DeliveryFailed) as caught:
            channel.send(outgoing("email"))
    finally:
        sink.stop()
    said = str(caught.value)
    assert said.startswith("recipient refused: " + reply[:3]) and not leaks(said), said
    assert caught.value.permanent is permanent


def test_smtp_reply_after_data_is_scrubbed():
    sink = SmtpSink().start()
    try:
        sink.fail_next = 1  # "451 try again later" at DATA
        channel = EmailChannel("127.0.0.1", sink.port, "notices@doc.example")
        with pytest.raises(DeliveryFailed) as caught:
            channel.send(outgoing("email"))
    finally:
        sink.stop()
    assert str(caught.value) == "SMTP 451: try again later" and caught.value.permanent is False


def test_smtp_response_exception_text_is_scrubbed(monkeypatch):
    import smtplib

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPDataError(554, f"message for {NAME} <{ADDRESS}> rejected; call {PHONE}".encode())

    monkeypatch.setattr(smtplib.SMTP, "send_message", refuse)
    sink = SmtpSink().start()
    try:
        with pytest.raises(DeliveryFailed) as caught:
            EmailChannel("127.0.0.1", sink.port, "notices@doc.example").send(outgoing("email"))
    finally:
        sink.stop()
    assert str(caught.value).startswith("SMTP 554: message for") and not leaks(str(caught.value))
    assert caught.value.permanent is True


def test_an_unreachable_server_is_said_without_data():
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed) as caught:
        EmailChannel("127.0.0.1", port, "notices@doc.example", timeout=2).send(outgoing("email"))
    said = str(caught.value)
    assert said.startswith(f"SMTP server 127.0.0.1:{port} unreachable") and caught.value.permanent is False, said


class Gateway(BaseHTTPRequestHandler):
    status = 400

    def do_POST(self):
        sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = f"invalid destination {sent['to']} for {NAME}".encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.mark.parametrize("status,permanent", [(400, True), (503, False)])
def test_a_gateway_error_body_is_kept_but_scrubbed(status, permanent, tmp_path):
    handler = type("G", (Gateway,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        channel = SmsChannel(tmp_path, f"http://127.0.0.1:{server.server_port}/send", timeout=5)
        with pytest.raises(DeliveryFailed) as caught:
            channel.send(outgoing("sms", PHONE))
    finally:
        server.shutdown()
        server.server_close()
    said = str(caught.value)
    assert said.startswith(f"SMS gateway answered {status}: invalid destination") and not leaks(said), said
    assert caught.value.permanent is permanent


def test_an_oserror_writing_a_file_is_a_scrubbed_retryable_failure(tmp_path):
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the folder should be")
    for channel, address in ((LetterChannel(blocked), f"{NAME}\n1 Elm Street"), (SmsChannel(blocked), PHONE),
                             (EmailChannel(None, 25, "n@doc.example", outbox=blocked), ADDRESS)):
        with pytest.raises(DeliveryFailed) as caught:
            channel.send(outgoing(channel.name, address))
        assert str(caught.value).startswith("could not write") and not leaks(str(caught.value))
        assert caught.value.permanent is False


def test_every_delivery_failed_is_scrubbed_even_without_known_values():
    assert str(DeliveryFailed(f"no such user {ADDRESS} / {PHONE}")) == "no such user [address] / [number]"


def test_scrub_cuts_known_values_in_the_forms_a_server_echoes_them():
    known = (ADDRESS, NAME)
    for text in (ADDRESS.upper(), "zq.hollowell... User unknown", "user HOLLOWELL unknown", f"<{ADDRESS}>"):
        assert not leaks(scrub(text, known)), text
    assert not leaks(scrub("13125550199 refused", (PHONE,)))
    assert scrub("connect to 192.168.100.200:25 failed on 2026-03-05 10:00") == \
        "connect to 192.168.100.200:25 failed on 2026-03-05 10:00"


def test_the_cli_scrubs_an_unexpected_error(run, monkeypatch):
    from engine import api

    def boom(self, *args, **kwargs):
        raise RuntimeError(f"driver choked on {ADDRESS} and {PHONE}")

    monkeypatch.setattr(api.App, "list_cases", boom)
    code, out, err = run("oscar", "case", "list")
    assert code == 1 and err.startswith("Error: unexpected RuntimeError: driver choked on [address] and [number]")
    assert not leaks(out + err)


# -- outbox folders ---------------------------------------------------------------------------------------

def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode)
            for p in [root, *root.rglob("*")] if p.is_dir()}


def test_outbox_folders_are_owner_only_under_umask_022(tmp_path):
    root = tmp_path / "home" / "deep" / "outbox"  # parents that do not exist yet
    old = os.umask(0o022)
    try:
        channels = files_only(root)
        for name, address in (("email", ADDRESS), ("sms", PHONE), ("letter", "1 Elm Street")):
            channels[name].send(outgoing(name, address))
    finally:
        os.umask(old)
    modes = _modes(tmp_path / "home")
    assert set(modes) >= {"home", "home/deep", "home/deep/outbox", "home/deep/outbox/email", "home/deep/outbox/sms",
                          "home/deep/outbox/letters"}, modes
    assert all(mode == 0o700 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}
    files = [p for p in root.rglob("*") if p.is_file()]
    # A letter writes nothing when taken: it waits, encrypted, for the mail room's batch (tests/test_mailroom.py
    # checks the batch's files are owner-only too).
    assert len(files) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_outbox_folders_left_wide_by_an_older_vcase_are_narrowed(tmp_path):
    root = tmp_path / "outbox"
    for folder in (root, root / "letters"):
        folder.mkdir()
        folder.chmod(0o755)
    above = tmp_path.stat().st_mode
    LetterChannel(root).send(outgoing("letter", "1 Elm Street"))
    assert all(mode == 0o700 for mode in _modes(root).values()), _modes(root)
    assert tmp_path.stat().st_mode == above  # nothing above the outbox is touched
