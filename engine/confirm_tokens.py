"""Confirming a notice without signing in: a link in an e-mail, a code in a text (VINE's PIN).

A notice that wants confirmation (an emergency to a victim-side party) carries, when it is sent,
a single-use way to confirm it: on e-mail a link to the portal's public address with a random
token (setting ``portal.public_url``; none while it is empty), on a text a six-digit code to reply
with. Only a keyed hash of either is stored (``Vault.blind_index``), tied to one notice, and it
expires (``portal.confirm_link_hours``). Redeeming it confirms the notice as the party themselves
(``permissions.self_actor``, ``delivery.confirm_by_token``), which stops the fallback to a letter.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Mapping, Optional

from sqlalchemy import select
from sqlmodel import Session

from engine.clock import from_db
from engine.crypto import Vault
from engine.errors import NotFound
from engine.models import ConfirmToken, Notice

PUBLIC_URL = "portal.public_url"
HOURS = "portal.confirm_link_hours"
LINK_PATH = "/confirm/"
WORDS = {
    "email": {"en": "Please confirm you received this notice: {url}",
              "es": "Por favor confirme que recibió este aviso: {url}"},
    "sms": {"en": "Reply {code} to confirm you got this.", "es": "Responda {code} para confirmar que lo recibió."},
}


def wants_confirmation(notice: Notice) -> bool:
    return bool(notice.emergency and notice.recipient_party_id and notice.channel in ("email", "sms"))


def _hash(vault: Vault, kind: str, token: str, party_id: Optional[int] = None) -> str:
    return vault.blind_index(token if kind == "link" else f"{party_id}:{token}", f"confirm-{kind}")


def attach(session: Session, vault: Vault, notice: Notice, body: str, now: datetime,
           settings: Mapping[str, str]) -> str:
    """``body`` with the way to confirm it added, for a notice that wants one; a new token each send."""
    if not wants_confirmation(notice):
        return body
    language = notice.language if notice.language in ("en", "es") else "en"
    expires = now + timedelta(hours=float(settings.get(HOURS, "72")))
    if notice.channel == "email":
        base = (settings.get(PUBLIC_URL) or "").rstrip("/")
        if not base.startswith(("https://", "http://")):
            return body
        token = secrets.token_urlsafe(32)
        _store(session, notice, "link", _hash(vault, "link", token), expires, now)
        return f"{body.rstrip()}\n\n{WORDS['email'][language].format(url=base + LINK_PATH + token)}\n"
    for _ in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        digest = _hash(vault, "code", code, notice.recipient_party_id)
        if session.execute(select(ConfirmToken.id).where(ConfirmToken.token_hash == digest)).first() is None:
            _store(session, notice, "code", digest, expires, now)
            return f"{body.rstrip()} {WORDS['sms'][language].format(code=code)}"
    return body


def _store(session: Session, notice: Notice, kind: str, digest: str, expires: datetime, now: datetime) -> None:
    session.add(ConfirmToken(notice_id=notice.id, kind=kind, token_hash=digest, expires_at=expires, created_at=now))
    session.flush()


def find_link(session: Session, vault: Vault, token: str, now: datetime) -> ConfirmToken:
    """The live link token; NotFound for one that is unknown, used or expired (the same words)."""
    return _live(session, _hash(vault, "link", token), "link", now)


def find_code(session: Session, vault: Vault, party_id: int, code: str, now: datetime) -> ConfirmToken:
    return _live(session, _hash(vault, "code", code.strip(), party_id), "code", now)


def _live(session: Session, digest: str, kind: str, now: datetime) -> ConfirmToken:
    row = session.execute(select(ConfirmToken).where(ConfirmToken.token_hash == digest, ConfirmToken.kind == kind)
                          ).scalar_one_or_none()
    if row is None or row.used_at is not None or from_db(row.expires_at) <= now:
        raise NotFound("this confirmation is not valid: it was used already, it has expired, or it does not exist")
    return row
