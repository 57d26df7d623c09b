"""Channel adapters: email over SMTP, SMS through a gateway, letters for the mail room.

Each adapter takes an ``Outgoing`` and either returns (delivered to the
channel) or raises ``DeliveryFailed`` saying whether trying again may help.
Without an SMTP host, email is written as .eml files to the outbox folder,
so a demo or a test machine never needs a mail server. The SMS adapter
writes to a spool folder that a gateway picks up (an HTTP gateway is a
setting). Letters wait, encrypted, for the mail room's daily batch (``engine.mailroom``).

Outbox folders hold victim contact details in clear for printing and
sending: every folder vcase makes there is owner-only (0700) whatever the
umask, and one it finds wider but owns is narrowed.

A failure's words often quote the other side (a refused recipient's reply
names the address; a gateway's error body may repeat the number), and they
end up in a notice's status, the daemon's log and error messages. So every
``DeliveryFailed`` message is scrubbed (``engine.redact``) of the recipient's
own details and of anything shaped like an address or a number.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Iterable, Optional

from engine.redact import scrub

SMS_SEGMENT = 160
SMS_PART = 153


class DeliveryFailed(Exception):
    """A channel could not deliver. The message is scrubbed of contact details (``known``: the
    recipient's own address and name) before anyone can store, log or print it."""

    def __init__(self, message: str, permanent: bool = False, known: Iterable[Optional[str]] = ()):
        super().__init__(scrub(message, known))
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


def _known(out: Outgoing) -> tuple[Optional[str], ...]:
    return (out.address, out.recipient_name)


def _private_dir(root: Path, *parts: str) -> Path:
    """``root / parts``, every folder of it from ``root`` down owner-only (0700).

    ``mkdir(mode=)`` is masked by the umask and ``parents=True`` makes parents with the default
    mode, so each folder is made on its own and then set explicitly. A folder that already exists
    is narrowed if this user owns it (one made by an older vcase); others are left alone.
    Missing folders above ``root`` are made owner-only too; existing ones there are never touched.
    """
    missing = [p for p in [root, *root.parents] if not p.exists()]
    for folder in reversed(missing[1:]):
        _make_private(folder)
    path = root
    _make_private(path)
    for part in parts:
        path = path / part
        _make_private(path)
    return path


def _make_private(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = folder.stat()
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        os.chmod(folder, 0o700)


def _write_private(path: Path, data: str | bytes) -> None:
    """An owner-only file (0600) whatever the umask; text is written as UTF-8."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older run keeps its mode through O_TRUNC
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def _write_file(out: Outgoing, root: Path, parts: tuple[str, ...], name: str, data: str) -> None:
    """A notice as a private file; a full disk or a bad folder is a delivery failure worth retrying."""
    try:
        _write_private(_private_dir(root, *parts) / name, data)
    except OSError as exc:
        raise DeliveryFailed(f"could not write {'/'.join(parts)}/{name}: {exc.strerror or exc}",
                             known=_known(out)) from None


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
        known = _known(out)
        if not out.address:
            raise DeliveryFailed("no email address on file", permanent=True)
        try:
            message = self.build(out)
        except (ValueError, TypeError) as exc:  # an address the e-mail headers cannot hold
            raise DeliveryFailed(f"the address on file cannot be used for e-mail: {exc}", permanent=True,
                                 known=known) from None
        if not self.host:
            return _write_file(out, self.outbox or Path("outbox"), ("email",), f"{out.notice_id:08d}.eml",
                               message.as_string())
        import smtplib

        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            replies = list(exc.recipients.values())  # {address: (code, reply)}: the address is not repeated
            codes = [code for code, _ in replies]
            said = "; ".join(f"{code} {_text(reply)}" for code, reply in replies)
            raise DeliveryFailed(f"recipient refused: {said}", permanent=all(c >= 500 for c in codes),
                                 known=known) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500,
                                 known=known) from None
        except smtplib.SMTPNotSupportedError as exc:  # e.g. an international address, no SMTPUTF8
            raise DeliveryFailed(f"the mail server cannot take this message: {exc}", permanent=True,
                                 known=known) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP server {self.host}:{self.port} unreachable: {exc}", known=known) from None


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
            return self._post(payload, _known(out))
        _write_file(out, self.spool, ("sms",), f"{out.notice_id:08d}.json",
                    json.dumps(payload, ensure_ascii=False, indent=2))

    def _post(self, payload: dict, known: tuple[Optional[str], ...]) -> None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.gateway_url, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json", "Idempotency-Key": payload["id"]})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if response.status >= 300:
                    raise DeliveryFailed(f"SMS gateway answered {response.status}", known=known)
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway answered {exc.code}: {_body(exc)}", permanent=400 <= exc.code < 500,
                                 known=known) from None
        except OSError as exc:
            raise DeliveryFailed(f"SMS gateway unreachable: {exc}", known=known) from None


class TwilioSmsChannel:
    """Sends each text through Twilio's REST API (its ``Client``; ``api_url`` points it elsewhere, e.g.
    a local server that speaks the same API in tests). A 4xx answer (a bad number, an opted-out
    one) fails for good, so the notice falls back to the next channel; 429, 5xx and network
    errors are retried."""

    name = "sms"

    def __init__(self, account_sid: str, auth_token: str, sender: str, api_url: Optional[str] = None,
                 timeout: float = 10.0):
        self.account_sid, self.auth_token, self.sender = account_sid, auth_token, sender
        self.api_url, self.timeout = api_url, timeout
        self._client = None

    def client(self):
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            self._client = Client(self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=self.timeout))
            if self.api_url:  # every REST call of the 2010 API goes to this base instead of api.twilio.com
                self._client.api.base_url = self.api_url.rstrip("/")
        return self._client

    def send(self, out: Outgoing) -> None:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        if not out.address:
            raise DeliveryFailed("no phone number on file", permanent=True)
        known = _known(out)
        try:
            self.client().messages.create(to=out.address, from_=self.sender, body=out.body)
        except TwilioRestException as exc:
            permanent = 400 <= exc.status < 500 and exc.status != 429
            raise DeliveryFailed(f"Twilio answered {exc.status} (error {exc.code})", permanent=permanent,
                                 known=known) from None
        except (TwilioException, OSError) as exc:
            raise DeliveryFailed(f"Twilio unreachable: {type(exc).__name__}", known=known) from None
        except Exception as exc:  # requests' connection errors, timeouts: try again later
            raise DeliveryFailed(f"Twilio unreachable: {type(exc).__name__}", known=known) from None


class LetterChannel:
    """Letters go to the mail room: taking one writes nothing in clear. The notice waits, encrypted, in
    the state ``awaiting_print`` until the mail room prints the day's batch (``engine.mailroom``), which
    writes the print-ready PDF and the text file. The mail room's folder is made (owner-only) when a
    letter is taken, so a folder that cannot be written is a delivery failure now, not at print time."""

    name = "letter"
    holds_for_mailroom = True

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, out: Outgoing) -> None:
        try:
            _private_dir(self.folder, "letters")
        except OSError as exc:
            raise DeliveryFailed(f"could not write to the mail room's folder letters: {exc.strerror or exc}",
                                 known=_known(out)) from None


def _text(reply: object) -> str:
    """A server's reply as text (smtplib gives bytes)."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _body(exc) -> str:
    """The start of a gateway's error body, which may repeat what was sent (scrubbed by DeliveryFailed)."""
    try:
        return _text(exc.read(500)) or "(no body)"
    except Exception:  # the body is a courtesy; the status code is what matters
        return "(no body)"


def from_environment(outbox: Path) -> dict[str, object]:
    """The channels as configured by VCASE_SMTP_* and VCASE_SMS_GATEWAY_URL."""
    env = os.environ
    email = EmailChannel(
        host=env.get("VCASE_SMTP_HOST") or None, port=int(env.get("VCASE_SMTP_PORT", "25")),
        sender=env.get("VCASE_SMTP_FROM", "notices@vcase.invalid"),
        starttls=env.get("VCASE_SMTP_STARTTLS", "") in ("1", "true", "yes"),
        user=env.get("VCASE_SMTP_USER") or None, password=env.get("VCASE_SMTP_PASSWORD") or None, outbox=outbox)
    return {"email": email, "sms": sms_from_environment(outbox), "letter": LetterChannel(outbox)}


def sms_from_environment(outbox: Path):
    """Texts go to the spool folder (or VCASE_SMS_GATEWAY_URL) unless VCASE_SMS_PROVIDER=twilio, which
    needs VCASE_TWILIO_ACCOUNT_SID, VCASE_TWILIO_AUTH_TOKEN and VCASE_TWILIO_FROM (VCASE_TWILIO_API_URL
    only to point the client at another server)."""
    env = os.environ
    if env.get("VCASE_SMS_PROVIDER", "") == "twilio":
        missing = [k for k in ("VCASE_TWILIO_ACCOUNT_SID", "VCASE_TWILIO_AUTH_TOKEN", "VCASE_TWILIO_FROM") if not env.get(k)]
        if missing:
            from engine.errors import InvalidInput

            raise InvalidInput(f"VCASE_SMS_PROVIDER=twilio needs {', '.join(missing)}")
        return TwilioSmsChannel(env["VCASE_TWILIO_ACCOUNT_SID"], env["VCASE_TWILIO_AUTH_TOKEN"], env["VCASE_TWILIO_FROM"],
                                env.get("VCASE_TWILIO_API_URL") or None)
    return SmsChannel(outbox, env.get("VCASE_SMS_GATEWAY_URL") or None)


def files_only(outbox: Path) -> dict[str, object]:
    """Every channel writing files into ``outbox`` (no network): for the demo and previews."""
    return {"email": EmailChannel(host=None, port=25, sender="notices@vcase.invalid", outbox=outbox),
            "sms": SmsChannel(outbox, None), "letter": LetterChannel(outbox)}


__all__ = ["DeliveryFailed", "EmailChannel", "LetterChannel", "Outgoing", "SmsChannel", "TwilioSmsChannel", "files_only",
           "from_environment", "sms_from_environment",
           "message_id_for", "sms_parts"]
