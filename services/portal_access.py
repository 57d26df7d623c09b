"""Portal access: access IDs and one-time codes, Argon2id PINs, sign-in, lockout, sessions, CSRF.

Staff issue a victim-side party an access ID and a one-time code (``invite``); the party signs in
with them once and sets a PIN or passphrase. Only Argon2id hashes of the code and the PIN are kept;
a session cookie's token is kept as its SHA-256 (it is random, 256 bits). Sign-in answers the same
for an unknown access ID, a wrong PIN, a locked or a revoked access (``SignInRefused``); five
failures in a row lock the access for 15 minutes, doubling each time up to a day. A session ends
on sign-out, revocation, 15 idle minutes or 12 hours. What the signed-in party then does is in
``services.portal``. Nothing here is logged, and no error names a person or a contact detail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select

from engine import audit
from engine import settings as settings_mod
from engine.clock import from_db
from engine.errors import InvalidInput, NotFound, VcaseError
from engine.models import Party, PortalAccess, PortalSession
from engine.permissions import require, self_actor

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed from a letter
IDLE = timedelta(minutes=15)
LONGEST = timedelta(hours=12)
MAX_FAILURES = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
MIN_PIN = 6
MAX_SECRET = 128


class SignInRefused(VcaseError):
    """The one answer to every failed sign-in: it says nothing about which part was wrong."""

    def __init__(self):
        super().__init__("That access ID and PIN (or code) do not match, or sign-in is paused after several tries.")


class SessionEnded(VcaseError):
    """No session, an ended one, or one idle for too long."""

    def __init__(self):
        super().__init__("You are signed out. Please sign in again.")


def _hasher():
    from argon2 import PasswordHasher

    # Argon2id (the library's default type) at OWASP's minimum: 19 MiB, 2 passes, 1 lane.
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


_DUMMY: list[str] = []


def _verify(hashed: Optional[str], secret: str) -> bool:
    """Argon2id verification; with no hash, the same work against a dummy, so timing says nothing."""
    from argon2.exceptions import VerificationError, InvalidHashError

    if hashed is None:
        if not _DUMMY:
            _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
        hashed, secret = _DUMMY[0], secret + "\x00never"
    try:
        return _hasher().verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _grouped(text: str, size: int) -> str:
    return "-".join(text[i:i + size] for i in range(0, len(text), size))


def normal(typed: str) -> str:
    """An access ID or code as typed (spaces, dashes, lower case allowed) in its stored form."""
    return "".join(ch for ch in (typed or "").upper() if ch.isalnum())[:64]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The form token of a signed-in browser: derived from its session token, so never stored."""
    return hmac.new(session_token.encode(), b"vcase portal csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, sent: Optional[str]) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(session_token), sent)


# -- staff: invite, revoke, status, requests ------------------------------------------------------

def _victim_party(session, party_id: int) -> Party:
    party = session.get(Party, party_id) if 0 < party_id < 2**31 else None
    if party is None:
        raise NotFound(f"no party {party_id}; `vcase party list CASE` shows the parties of a case")
    if party.side != "victim":
        raise InvalidInput(f"party {party_id} is not on the victim side: the person under supervision has no portal")
    if party.is_deceased:
        raise InvalidInput(f"party {party_id} is recorded as deceased: invite their next of kin instead")
    if party.is_minor:
        raise InvalidInput(f"party {party_id} is a minor: invite their guardian instead")
    return party


def invite(app, party_id: int, send: bool = False) -> dict[str, Any]:
    """Issue (or issue again) a party's access ID and a one-time code; any earlier code, PIN and
    session stop working. With ``send`` the code goes at once on the party's first e-mail or text
    channel (not through the outbox table: no database row ever holds the code); otherwise it is
    returned to print for a letter or to read out."""
    now = app.now()
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "portal.manage")
        party = _victim_party(s, party_id)
        days = int(settings_mod.load(s, app.registry)["portal.invite_days"])
        code = _random(10)
        access = s.execute(select(PortalAccess).where(PortalAccess.party_id == party.id)).scalar_one_or_none()
        if access is None:
            access = PortalAccess(party_id=party.id, access_id=_random(12), issued_by=actor.login, issued_at=now)
        _end_sessions(s, access, now)
        access.code_hash, access.code_expires_at = _hasher().hash(code), now + timedelta(days=days)
        access.pin_hash, access.failures, access.locked_until, access.revoked_at = None, 0, None, None
        access.issued_by, access.issued_at = actor.login, now
        s.add(access)
        s.flush()
        channel = _send_invitation(app, s, party, access.access_id, code, now) if send else None
        audit.append(s, at=now, actor=actor, action="portal.invite", case_id=party.case_id,
                     detail={"party": party.id, "sent_by": channel or "given by staff"})
        return {"party": party.id, "access_id": _grouped(access.access_id, 4), "code": _grouped(code, 5),
                "expires_at": (now + timedelta(days=days)).isoformat(), "sent_by": channel}


INVITATION = {
    "en": ("Your victim services portal", "Your access ID is {access_id} and your one-time code is {code}. "
           "Sign in at {url} and choose a PIN. The code works until {until}. Questions: {agency} {phone}."),
    "es": ("Su portal de servicios a víctimas", "Su ID de acceso es {access_id} y su código de un solo uso es {code}. "
           "Entre en {url} y elija un PIN. El código vale hasta {until}. Preguntas: {agency} {phone}."),
}


def _send_invitation(app, session, party: Party, access_id: str, code: str, now: datetime) -> str:
    from engine.channels import DeliveryFailed, Outgoing, from_environment

    chosen = [c for c in party.channels.split(",") if c in ("email", "sms")]
    if not chosen:
        raise InvalidInput(f"party {party.id} has no e-mail or text channel: print the code for a letter instead")
    channel, policy = chosen[0], settings_mod.load(session, app.registry)
    vault = app.store.vault
    address = vault.decrypt_optional(party.email_enc if channel == "email" else party.phone_enc)
    subject, body = INVITATION[party.language if party.language in INVITATION else "en"]
    text = body.format(access_id=_grouped(access_id, 4), code=_grouped(code, 5),
                       url=policy.get("portal.public_url") or "the portal", until=(now + timedelta(
                           days=int(policy["portal.invite_days"]))).date().isoformat(),
                       agency=policy["agency.name"], phone=policy["agency.phone"])
    key = f"portal-invite/{party.id}/{secrets.token_hex(8)}"
    out = Outgoing(notice_id=0, key=key, message_id=f"<{token_hash(key)[:40]}@vcase.invalid>", channel=channel,
                   recipient_name=vault.decrypt(party.name_enc), address=address, subject=subject, body=text,
                   language=party.language, emergency=False, when=now)
    try:
        from_environment(app.outbox)[channel].send(out)
    except DeliveryFailed as exc:
        raise InvalidInput(f"the invitation could not be sent by {channel} ({exc}); nothing was changed") from None
    return channel


def revoke(app, party_id: int) -> dict[str, Any]:
    """End a party's access at once: every session ends, no code or PIN works until a new invite."""
    now = app.now()
    with app.store.write() as s:
        actor = app._actor(s)
        require(actor, "portal.manage")
        party = s.get(Party, party_id) if 0 < party_id < 2**31 else None
        access = s.execute(select(PortalAccess).where(PortalAccess.party_id == party_id)).scalar_one_or_none()
        if party is None or access is None:
            raise NotFound(f"party {party_id} has no portal access; `vcase portal invite --for {party_id}` issues it")
        ended = _end_sessions(s, access, now)
        access.revoked_at, access.code_hash, access.pin_hash = now, None, None
        s.add(access)
        audit.append(s, at=now, actor=actor, action="portal.revoke", case_id=party.case_id,
                     detail={"party": party.id, "sessions_ended": ended})
        return {"party": party.id, "revoked_at": now.isoformat(), "sessions_ended": ended}


def status(app, party_id: int) -> dict[str, Any]:
    """A party's access as staff see it: never the code, the PIN or a token."""
    now = app.now()
    with app.store.read() as s:
        require(app._actor(s), "portal.manage")
        access = s.execute(select(PortalAccess).where(PortalAccess.party_id == party_id)).scalar_one_or_none()
        if access is None:
            return {"party": party_id, "access": "none"}
        live = s.execute(select(PortalSession).where(PortalSession.access_id == access.id,
                                                     PortalSession.ended_at.is_(None))).scalars().all()
        state = ("revoked" if access.revoked_at else "locked" if _locked(access, now)
                 else "invited" if access.pin_hash is None else "active")
        return {"party": party_id, "access": state, "access_id": _grouped(access.access_id, 4),
                "issued_by": access.issued_by, "issued_at": from_db(access.issued_at).isoformat(),
                "code_expires_at": from_db(access.code_expires_at).isoformat() if access.code_hash else None,
                "pin_set": access.pin_hash is not None, "failures": access.failures,
                "last_sign_in": from_db(access.last_sign_in).isoformat() if access.last_sign_in else None,
                "sessions": sum(1 for x in live if now - from_db(x.last_seen) < IDLE)}


def _end_sessions(session, access: PortalAccess, now: datetime) -> int:
    if access.id is None:
        return 0
    rows = session.execute(select(PortalSession).where(PortalSession.access_id == access.id,
                                                       PortalSession.ended_at.is_(None))).scalars().all()
    for row in rows:
        row.ended_at = now
        session.add(row)
    return len(rows)


# -- sign-in and sessions -------------------------------------------------------------------------

def _locked(access: PortalAccess, now: datetime) -> bool:
    return access.locked_until is not None and from_db(access.locked_until) > now


def _lock_for(failures: int) -> timedelta:
    return min(LONGEST_LOCK, FIRST_LOCK * 2 ** max(0, failures - MAX_FAILURES))


@dataclass(frozen=True)
class Signed:
    token: str
    must_set_pin: bool
    language: str


def sign_in(app, access_id: str, secret: str) -> Signed:
    """A new session for the right access ID with its PIN (or, before a PIN is set, its one-time
    code); ``SignInRefused`` for anything else, in the same words and after the same work. A
    failure is counted (and commits) before it is refused."""
    now = app.now()
    secret = (secret or "")[:MAX_SECRET]
    with app.store.write() as s:
        signed = _sign_in(app, s, normal(access_id), secret, now)
    if signed is None:
        raise SignInRefused()
    return signed


def _sign_in(app, s, access_id: str, secret: str, now: datetime) -> Optional[Signed]:
    access = s.execute(select(PortalAccess).where(PortalAccess.access_id == access_id)
                       ).scalar_one_or_none() if access_id else None
    usable = access is not None and access.revoked_at is None and not _locked(access, now)
    with_code = usable and access.pin_hash is None
    if with_code:
        expired = access.code_expires_at is None or from_db(access.code_expires_at) <= now
        ok = _verify(None if expired else access.code_hash, normal(secret)) and not expired
    else:
        ok = _verify(access.pin_hash if usable else None, secret) and usable
    if not ok:
        if usable:  # counted only where there is something to lock; a locked one is left as it is
            access.failures += 1
            if access.failures >= MAX_FAILURES:
                access.locked_until = now + _lock_for(access.failures)
            s.add(access)
        return None
    token = secrets.token_urlsafe(32)
    access.failures, access.locked_until, access.last_sign_in = 0, None, now
    s.add(access)
    s.add(PortalSession(access_id=access.id, token_hash=token_hash(token), must_set_pin=with_code,
                        created_at=now, last_seen=now))
    party = s.get(Party, access.party_id)
    audit.append(s, at=now, actor=self_actor(s, party.id, "portal"), action="portal.sign_in",
                 case_id=party.case_id, detail={"party": party.id, "with": "code" if with_code else "pin"})
    return Signed(token, with_code, party.language)


@dataclass(frozen=True)
class Viewer:
    """The signed-in party, as the web layer sees it."""

    party_id: int
    case_id: int
    language: str
    must_set_pin: bool
    token: str


def signed_in(app, token: Optional[str], touch: bool = True) -> Viewer:
    """The party a session cookie belongs to; ``SessionEnded`` for none, ended, revoked, idle for 15
    minutes or older than 12 hours (an idle one's end is written first). Each use moves the idle
    clock on (``touch``)."""
    if not token or len(token) > 200:
        raise SessionEnded()
    now = app.now()
    with app.store.write() as s:
        found = _session(s, token, now, touch)
    if found is None:
        raise SessionEnded()
    return found


def _session(s, token: str, now: datetime, touch: bool) -> Optional[Viewer]:
    row = s.execute(select(PortalSession).where(PortalSession.token_hash == token_hash(token))).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None
    access = s.get(PortalAccess, row.access_id)
    idle, old = now - from_db(row.last_seen) >= IDLE, now - from_db(row.created_at) >= LONGEST
    if access.revoked_at is not None or idle or old:
        row.ended_at = now
        s.add(row)
        return None
    if touch:
        row.last_seen = now
        s.add(row)
    party = s.get(Party, access.party_id)
    return Viewer(party.id, party.case_id, party.language, row.must_set_pin, token)


def set_pin(app, who: Viewer, pin: str, again: str) -> None:
    """The PIN or passphrase chosen on first sign-in (or to change it): 6 to 128 characters, the
    same twice; the one-time code stops working."""
    if pin != again:
        raise InvalidInput("pin_mismatch")
    if not MIN_PIN <= len(pin) <= MAX_SECRET or pin.strip() != pin or len(set(pin)) < 3:
        raise InvalidInput("pin_weak")
    now = app.now()
    with app.store.write() as s:
        row = s.execute(select(PortalSession).where(PortalSession.token_hash == token_hash(who.token))).scalar_one()
        access = s.get(PortalAccess, row.access_id)
        access.pin_hash, access.code_hash, access.code_expires_at = _hasher().hash(pin), None, None
        row.must_set_pin = False
        s.add_all([access, row])
        audit.append(s, at=now, actor=self_actor(s, who.party_id, "portal"), action="portal.set_pin",
                     case_id=who.case_id, detail={"party": who.party_id})


def sign_out(app, token: Optional[str]) -> None:
    if not token:
        return
    with app.store.write() as s:
        row = s.execute(select(PortalSession).where(PortalSession.token_hash == token_hash(token))).scalar_one_or_none()
        if row is not None and row.ended_at is None:
            row.ended_at = app.now()
            s.add(row)


__all__ = ["invite", "revoke", "status", "sign_in", "signed_in", "set_pin", "sign_out", "csrf_token", "csrf_ok",
           "normal", "token_hash", "SignInRefused", "SessionEnded", "Signed", "Viewer"]
