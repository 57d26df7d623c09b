"""Two-way text messages: what a reply to a text does (a provider's webhook, Twilio's format).

STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) ends texts to that number at once, for every
victim-side party with that phone: ``sms`` leaves their channels, and each text still waiting is
moved to their next channel (a letter last), so nothing safety-critical is lost. START (RESUME,
UNSTOP) puts texts back as their last channel. HELP (INFO) answers with the agency's name and
phone. A six-digit code from an emergency text confirms it (VINE's PIN). Everything is done as the
party themselves (``permissions.self_actor``, ``via=sms``) and audited as such.

The sender is found by the phone's blind index (``records.phone_index``), never by a plain-text
number; a number nobody has gets the same polite answer and changes nothing. The webhook is
accepted only with a valid provider signature (``webhook``); nothing here logs a number or a text.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

from sqlalchemy import select

from engine import confirm_tokens, delivery, outbox, records
from engine import settings as settings_mod
from engine.errors import NotAllowed, NotFound
from engine.models import Notice, Party
from engine.permissions import self_actor

STOP = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
START = ("START", "RESUME", "UNSTOP")
HELP = ("HELP", "INFO")
TOKEN_ENV = "VCASE_TWILIO_AUTH_TOKEN"
REPLIES = {
    "en": {"stop": "You will get no more texts from {agency}. Notices go to your other contact choices. Reply START to get texts again.",
           "start": "Texts from {agency} are back on. Reply STOP to end them, HELP for help.",
           "help": "{agency}: call {phone}. Reply STOP to end texts, START to restart them.",
           "confirmed": "Thank you: we recorded that you received the notice.",
           "unknown": "This number does not take messages. For help call {agency} at {phone}."},
    "es": {"stop": "No recibirá más textos de {agency}. Los avisos irán a sus otros medios. Responda START para recibir textos de nuevo.",
           "start": "Los textos de {agency} están activos otra vez. Responda STOP para terminarlos, HELP para ayuda.",
           "help": "{agency}: llame al {phone}. Responda STOP para terminar los textos, START para reanudarlos.",
           "confirmed": "Gracias: registramos que recibió el aviso.",
           "unknown": "Este número no recibe mensajes. Para ayuda llame a {agency} al {phone}."},
}


def _parties(session, vault, phone: str) -> list[Party]:
    """Every victim-side party with this phone; rows written before the index get it now."""
    for party in session.execute(select(Party).where(Party.phone_enc.is_not(None), Party.phone_index.is_(None))).scalars():
        party.phone_index = records.phone_index(vault, vault.decrypt(party.phone_enc)) or ""
        session.add(party)
    session.flush()
    digest = records.phone_index(vault, phone)
    if digest is None:
        return []
    return list(session.execute(select(Party).where(Party.phone_index == digest, Party.side == "victim")
                                .order_by(Party.id)).scalars())


def handle(app, sender: str, text: str) -> str:
    """The reply to a text ``text`` from ``sender``, after doing what it asks (one transaction)."""
    now = app.now()
    word = (text or "").strip().split()[0].upper() if (text or "").strip() else ""
    with app.store.write() as s:
        policy = settings_mod.load(s, app.registry)
        parties = _parties(s, app.store.vault, sender)
        language = parties[0].language if parties and parties[0].language in REPLIES else "en"
        say = {k: v.format(agency=policy["agency.name"], phone=policy["agency.phone"])
               for k, v in REPLIES[language].items()}
        if word in STOP:
            for party in parties:
                _stop(s, app, party, now, policy)
            return say["stop"]
        if word in START:
            for party in parties:
                if "sms" not in party.channels.split(","):
                    chosen = [c for c in party.channels.split(",") if c] + ["sms"]
                    records.change_choices(s, app.store.vault, self_actor(s, party.id, "sms"), party.id, now,
                                           channels=tuple(chosen))
            return say["start"]  # the same words for a number nobody has: the answer tells nothing
        if word in HELP:
            return say["help"]
        if word.isdigit() and len(word) == 6:
            for party in parties:
                try:
                    row = confirm_tokens.find_code(s, app.store.vault, party.id, word, now)
                except NotFound:
                    continue
                try:
                    delivery.confirm_by_token(s, row, now, "sms")
                except NotAllowed:
                    continue
                return say["confirmed"]
        return say["unknown"]


def _stop(session, app, party: Party, now, policy: Mapping[str, str]) -> None:
    """No more texts to this party: sms leaves their channels; a text still waiting goes by the next."""
    chosen = [c for c in party.channels.split(",") if c]
    if "sms" in chosen:
        records.change_choices(session, app.store.vault, self_actor(session, party.id, "sms"), party.id, now,
                               channels=tuple(c for c in chosen if c != "sms"))
    waiting = session.execute(select(Notice).where(Notice.recipient_party_id == party.id, Notice.channel == "sms",
                                                   Notice.status.in_(("queued", "held")))).scalars().all()
    for notice in waiting:
        was = notice.status
        notice.status, notice.status_reason = "cancelled", "the recipient replied STOP to texts"
        session.add(notice)
        session.flush()
        remaining = [c for c in party.channels.split(",") if c and c != "sms"] + ["letter"]
        copy = outbox.requeue_on_channel(session, app.store.vault, notice, remaining[0], now, policy)
        if was == "held":  # a notice held for review stays held on its new channel
            copy.status = "held"
            session.add(copy)


def webhook(app, url: str, signature: str, params: Mapping[str, str]) -> Optional[str]:
    """A provider's inbound-message webhook: TwiML to answer with, or None (403) when the request
    is not signed with the agency's Twilio auth token (``VCASE_TWILIO_AUTH_TOKEN``) for ``url`` as
    the provider called it (the portal's public address when one is set). Nothing is done then."""
    from twilio.request_validator import RequestValidator
    from twilio.twiml.messaging_response import MessagingResponse

    token = os.environ.get(TOKEN_ENV, "")
    if not token or not signature:
        return None
    public = public_url(app)
    if public:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        url = public + parts.path + (f"?{parts.query}" if parts.query else "")
    if not RequestValidator(token).validate(url, dict(params), signature):
        return None
    reply = handle(app, params.get("From", ""), params.get("Body", ""))
    response = MessagingResponse()
    response.message(reply)
    return str(response)


def public_url(app) -> str:
    with app.store.read() as s:
        return settings_mod.load(s, app.registry).get("portal.public_url", "")


__all__ = ["handle", "webhook", "STOP", "START", "HELP"]
