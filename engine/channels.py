"""Channel adapters: email over SMTP, SMS through a gateway, letters for the mail room.

Each adapter takes an ``Outgoing`` and either returns (delivered to the
channel) or raises ``DeliveryFailed`` saying whether trying again may help.
Without an SMTP host, email is written as .eml files to the outbox folder,
so a demo or a test machine never needs a mail server. The SMS adapter
writes to a spool folder that a gateway picks up (an HTTP gateway is a
setting). Letters are printable files, one folder per day for the mail room.

Outbox folders hold victim contact details in clear for printing and
sending; they are created readable by their owner only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Optional

SMS_SEGMENT = 160
SMS_PART = 153


class DeliveryFailed(Exception):
    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    notice_id: int
    key: str
    message_id: str
    channel: str
    recipient_name: str
    address: Optional[str]  # email address, phone number or postal address
    subject: str
    body: str
    language: str
    emergency: bool
    when: object  # aware datetime of sending


def message_id_for(key: str, domain: str) -> str:
    """Stable per notice: a retry or a repeat after a crash carries the same Message-ID."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def sms_parts(body: str) -> list[str]:
    """One message when it fits; otherwise numbered parts, so the reader knows there is more."""
    if len(body) <= SMS_SEGMENT:
        return [body]
    chunks = [body[i:i + SMS_PART] for i in range(0, len(body), SMS_PART)]
    return [f"({n}/{len(chunks)}) {chunk}" for n, chunk in enumerate(chunks, 1)]


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write_private(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)


class EmailChannel:
    name = "email"

    def __init__(self, host: Optional[str], port: int, sender: str, starttls: bool = False,
                 user: Optional[str] = None, password: Optional[str] = None, outbox: Optional[Path] = None,
                 timeout: float = 10.0):
        self.host, self.port, self.sender, self.starttls = host, port, sender, starttls
        self.user, self.password, self.outbox, self.timeout = user, password, outbox, timeout

    @property
    def domain(self) -> str:
        return self.sender.rsplit("@", 1)[-1] if "@" in self.sender else "vcase.invalid"

    def build(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = out.address or ""
        msg["Subject"] = out.subject
        msg["Message-ID"] = out.message_id
        msg["Date"] = format_datetime(out.when)
        msg["X-Vcase-Notice"] = str(out.notice_id)
        if out.emergency:
            msg["Importance"] = "high"
        msg.set_content(out.body)
        msg["Content-Language"] = out.language  # after set_content, which drops Content-* headers
        return msg

    def send(self, out: Outgoing) -> None:
        if not out.address:
            raise DeliveryFailed("no email address on file", permanent=True)
        message = self.build(out)
        if not self.host:
            folder = _private_dir((self.outbox or Path(".")) / "email")
            _write_private(folder / f"{out.notice_id:08d}.eml", message.as_string())
            return
        import smtplib

        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc.recipients}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP server {self.host}:{self.port} unreachable: {exc}") from None


class SmsChannel:
    """Writes each message to a spool folder; with a gateway URL, posts it there."""

    name = "sms"

    def __init__(self, spool: Path, gateway_url: Optional[str] = None, timeout: float = 10.0):
        self.spool, self.gateway_url, self.timeout = spool, gateway_url, timeout

    def send(self, out: Outgoing) -> None:
        if not out.address:
            raise DeliveryFailed("no phone number on file", permanent=True)
        payload = {"id": out.message_id, "notice": out.notice_id, "to": out.address, "parts": sms_parts(out.body),
                   "emergency": out.emergency}
        if self.gateway_url:
            return self._post(payload)
        _write_private(_private_dir(self.spool / "sms") / f"{out.notice_id:08d}.json",
                       json.dumps(payload, ensure_ascii=False, indent=2))

    def _post(self, payload: dict) -> None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.gateway_url, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json", "Idempotency-Key": payload["id"]})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status >= 300:
                    raise DeliveryFailed(f"SMS gateway answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway answered {exc.code}", permanent=400 <= exc.code < 500) from None
        except OSError as exc:
            raise DeliveryFailed(f"SMS gateway unreachable: {exc}") from None


class LetterChannel:
    """A printable file per notice, batched in a folder per day for the mail room."""

    name = "letter"

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, out: Outgoing) -> None:
        day = _private_dir(self.folder / "letters" / out.when.strftime("%Y-%m-%d"))
        address = out.address or "(hand delivery: no postal address on file)"
        _write_private(day / f"{out.notice_id:08d}.txt",
                       f"{out.recipient_name}\n{address}\n\n{out.subject}\n\n{out.body}\n\nRef: {out.message_id}\n")


def from_environment(outbox: Path) -> dict[str, object]:
    """The channels as configured by VCASE_SMTP_* and VCASE_SMS_GATEWAY_URL."""
    env = os.environ
    email = EmailChannel(
        host=env.get("VCASE_SMTP_HOST") or None, port=int(env.get("VCASE_SMTP_PORT", "25")),
        sender=env.get("VCASE_SMTP_FROM", "notices@vcase.invalid"),
        starttls=env.get("VCASE_SMTP_STARTTLS", "") in ("1", "true", "yes"),
        user=env.get("VCASE_SMTP_USER") or None, password=env.get("VCASE_SMTP_PASSWORD") or None, outbox=outbox)
    return {"email": email, "sms": SmsChannel(outbox, env.get("VCASE_SMS_GATEWAY_URL") or None),
            "letter": LetterChannel(outbox)}


def files_only(outbox: Path) -> dict[str, object]:
    """Every channel writing files into ``outbox`` (no network): for the demo and previews."""
    return {"email": EmailChannel(host=None, port=25, sender="notices@vcase.invalid", outbox=outbox),
            "sms": SmsChannel(outbox, None), "letter": LetterChannel(outbox)}


__all__ = ["DeliveryFailed", "EmailChannel", "LetterChannel", "Outgoing", "SmsChannel", "files_only", "from_environment",
           "message_id_for", "sms_parts"]
