"""Two-way texts: the inbound webhook (Twilio's form POST, its signature checked) and the outbound
adapter (Twilio's REST client, pointed at a local server that speaks the same API on loopback)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from engine.channels import DeliveryFailed, Outgoing, TwilioSmsChannel, files_only
from engine.models import AuditEntry, Notice
from services import notify_api
from tests.support import dump
from web.app import create

TOKEN = "test-auth-token-0123456789abcdef"
URL = "https://testserver/sms/inbound"
VICTIM_PHONE = "+13125550101"  # Maria's "+1 312 555 0101" as the provider sends it


@pytest.fixture
def webhook(reg, monkeypatch):
    monkeypatch.setenv("VCASE_TWILIO_AUTH_TOKEN", TOKEN)
    client = TestClient(create(reg.admin), base_url="https://testserver")

    def text(sender: str, body: str, signature: str | None = None):
        params = {"From": sender, "To": "+15005550006", "Body": body, "MessageSid": "SM" + "0" * 32}
        sig = signature if signature is not None else RequestValidator(TOKEN).compute_signature(URL, params)
        return client.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": sig})

    reg.text = text
    return reg


def _channels(app, party):
    return app.show_party(party)["channels"]


def test_stop_ends_texts_at_once_and_the_next_channel_takes_over(webhook):
    notify_api.record_event(webhook.officer, webhook.case, "transfer", webhook.clock.now())
    with webhook.store.read() as s:
        waiting = s.execute(select(Notice).where(Notice.channel == "sms", Notice.status == "queued")).scalars().all()
    answer = webhook.text(VICTIM_PHONE, " stop ")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    assert "<Response><Message>" in answer.text and "START" in answer.text
    assert _channels(webhook.advocate, webhook.victim) == ["email"]
    with webhook.store.read() as s:
        for notice in waiting:
            assert s.get(Notice, notice.id).status == "cancelled"
            copy = s.execute(select(Notice).where(Notice.fallback_of == notice.id)).scalar_one()
            assert copy.channel == "email" and copy.status == "queued"
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "party.choices")).scalar_one()
    assert (entry.actor_login, entry.actor_role, entry.via) == (f"self:{webhook.victim}", "self", "sms")
    assert "+1" not in json.dumps(entry.detail) and "312" not in json.dumps(entry.detail)
    answer = webhook.text(VICTIM_PHONE, "START")
    assert answer.status_code == 200 and _channels(webhook.advocate, webhook.victim) == ["email", "sms"]


def test_help_answers_with_the_agency_and_changes_nothing(webhook):
    before = dump(webhook.store)
    answer = webhook.text(VICTIM_PHONE, "HELP")
    assert "1-800-555-0100" in answer.text and "Victim Services Unit" in answer.text
    assert dump(webhook.store) == before


def test_stop_from_an_unknown_number_is_answered_politely_and_changes_nothing(webhook):
    webhook.text(VICTIM_PHONE, "HELP")  # the index of existing rows is filled once, on first use
    before = dump(webhook.store)
    answer = webhook.text("+15550009999", "STOP")
    assert answer.status_code == 200 and "<Message>" in answer.text
    assert dump(webhook.store) == before


def test_a_forged_or_missing_signature_is_refused_and_changes_nothing(webhook, monkeypatch):
    before = dump(webhook.store)
    assert webhook.text(VICTIM_PHONE, "STOP", signature="forged").status_code == 403
    assert webhook.text(VICTIM_PHONE, "STOP", signature="").status_code == 403
    other = RequestValidator("another-token").compute_signature(URL, {"From": VICTIM_PHONE, "Body": "STOP"})
    assert webhook.text(VICTIM_PHONE, "STOP", signature=other).status_code == 403
    monkeypatch.delenv("VCASE_TWILIO_AUTH_TOKEN")
    assert webhook.text(VICTIM_PHONE, "STOP").status_code == 403  # no token configured: the endpoint is shut
    assert dump(webhook.store) == before
    assert _channels(webhook.advocate, webhook.victim) == ["email", "sms"]


def test_the_code_an_emergency_text_gave_confirms_it(webhook, tmp_path):
    notify_api.record_event(webhook.officer, webhook.case, "escape", webhook.clock.now())
    notify_api.deliver(webhook.admin, via=files_only(tmp_path / "files"))
    texts = [json.loads(p.read_text()) for p in (tmp_path / "files").rglob("*.json")]
    urgent = next(t for t in texts if t["emergency"])
    code = next(word.strip(".") for word in " ".join(urgent["parts"]).split() if word.strip(".").isdigit()
                and len(word.strip(".")) == 6)
    before = dump(webhook.store)
    wrong = webhook.text(VICTIM_PHONE, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 200 and dump(webhook.store) == before
    assert webhook.text("+15550009999", code).status_code == 200 and dump(webhook.store) == before  # not her phone
    answer = webhook.text(VICTIM_PHONE, code)
    assert "Gracias" in answer.text  # she reads Spanish
    with webhook.store.read() as s:
        notice = s.get(Notice, urgent["notice"])
        assert notice.status == "confirmed"
    after = dump(webhook.store)
    webhook.text(VICTIM_PHONE, code)  # used once only
    assert dump(webhook.store) == after


def test_no_phone_number_is_stored_in_plain_text(webhook):
    webhook.text(VICTIM_PHONE, "HELP")
    everything = json.dumps(dump(webhook.store))
    assert "3125550101" not in everything and "312 555 0101" not in everything


# -- the outbound adapter against a local server speaking Twilio's REST API --------------------------

class FakeTwilio(BaseHTTPRequestHandler):
    sent: list = []
    answer_status = 201

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        auth = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
        FakeTwilio.sent.append({"path": self.path, "auth": auth, **form})
        if FakeTwilio.answer_status >= 400:
            body = {"code": 21211, "message": "Invalid 'To' Phone Number", "status": FakeTwilio.answer_status}
        else:
            body = {"sid": "SM" + "1" * 32, "status": "queued", "to": form.get("To"), "from": form.get("From"),
                    "body": form.get("Body"), "account_sid": "AC" + "0" * 32}
        data = json.dumps(body).encode()
        self.send_response(FakeTwilio.answer_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # no output: it would print numbers
        pass


@pytest.fixture(scope="module")
def fake_twilio():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _outgoing(to="+13125550101"):
    from datetime import datetime, timezone

    return Outgoing(notice_id=7, key="k", message_id="<m@x>", channel="sms", recipient_name="Maria Victim",
                    address=to, subject="", body="URGENTE: fuga", language="es", emergency=True,
                    when=datetime(2026, 3, 2, tzinfo=timezone.utc))


def test_the_twilio_adapter_sends_through_the_rest_api(fake_twilio):
    FakeTwilio.sent.clear()
    FakeTwilio.answer_status = 201
    sid = "AC" + "0" * 32
    TwilioSmsChannel(sid, "secret-token", "+15005550006", api_url=fake_twilio).send(_outgoing())
    [request] = FakeTwilio.sent
    assert request["path"] == f"/2010-04-01/Accounts/{sid}/Messages.json"
    assert request["auth"] == f"{sid}:secret-token"
    assert (request["To"], request["From"], request["Body"]) == ("+13125550101", "+15005550006", "URGENTE: fuga")


def test_a_refused_number_fails_for_good_without_naming_it(fake_twilio):
    FakeTwilio.answer_status = 400
    try:
        with pytest.raises(DeliveryFailed) as failed:
            TwilioSmsChannel("AC" + "0" * 32, "t", "+15005550006", api_url=fake_twilio).send(_outgoing())
    finally:
        FakeTwilio.answer_status = 201
    assert failed.value.permanent and "21211" in str(failed.value)
    assert "3125550101" not in str(failed.value) and "Maria" not in str(failed.value)


def test_an_unreachable_provider_is_retried():
    with pytest.raises(DeliveryFailed) as failed:
        TwilioSmsChannel("AC" + "0" * 32, "t", "+15005550006", api_url="http://127.0.0.1:9", timeout=2).send(_outgoing())
    assert not failed.value.permanent


def test_the_provider_is_a_setting_and_the_spool_stays_the_default(monkeypatch, tmp_path):
    from engine.channels import SmsChannel, sms_from_environment
    from engine.errors import InvalidInput

    monkeypatch.delenv("VCASE_SMS_PROVIDER", raising=False)
    assert isinstance(sms_from_environment(tmp_path), SmsChannel)
    monkeypatch.setenv("VCASE_SMS_PROVIDER", "twilio")
    with pytest.raises(InvalidInput, match="VCASE_TWILIO_ACCOUNT_SID"):
        sms_from_environment(tmp_path)
    for key, value in (("VCASE_TWILIO_ACCOUNT_SID", "AC1"), ("VCASE_TWILIO_AUTH_TOKEN", "t"), ("VCASE_TWILIO_FROM", "+1500")):
        monkeypatch.setenv(key, value)
    assert isinstance(sms_from_environment(tmp_path), TwilioSmsChannel)
