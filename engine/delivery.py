"""Delivering queued notices through the channels, with proof.

A batch of due notices is claimed under row locks (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite's single writer), sent, and its outcome
recorded in the same transaction. A crash before the commit leaves the
notices queued, so they are sent again with the same Message-ID: at least
once, never lost. A withdrawal's cancellation waits for those locks, so no
notice of a process goes out after its withdrawal commits.

Failures retry with growing delays; a notice that keeps failing, or that
fails for good, falls back to the recipient's next channel and finally to
a letter (Ohio's certified mail). Notices of a paused process wait. A letter
taken by the letter channel waits for the mail room (``engine.mailroom``):
printed, mailed, and delivered or returned (which falls back the same way).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Mapping

from sqlalchemy import or_, select
from sqlmodel import Session

from engine import audit, confirm_tokens
from engine.channels import DeliveryFailed, Outgoing, message_id_for
from engine.crypto import Vault
from engine.db import Store
from engine.definition import PAUSED, SELF_ROLE
from engine.errors import NotAllowed, NotFound
from engine.models import Notice, PartnerContact, Party, Process, Staff
from engine.permissions import Actor, require
from engine.redact import scrub

MAX_ATTEMPTS = 8


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    fallbacks: int = 0
    deferred: int = 0  # due, but inside the recipient's quiet hours: moved to their end
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed

    def __iadd__(self, other: "DeliveryResult") -> "DeliveryResult":
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.fallbacks += other.fallbacks
        self.deferred += other.deferred
        self.errors += other.errors
        return self


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes, at most 30 (VINE retries every 30 minutes)."""
    return timedelta(minutes=min(30, 2 ** max(0, attempts - 1)))


def due_query(now: datetime, limit: int, skip_locked: bool):
    query = (select(Notice).outerjoin(Process, Notice.process_id == Process.id)
             .where(Notice.status == "queued", Notice.not_before <= now,
                    or_(Notice.process_id.is_(None), Process.state != PAUSED, Notice.through_pause.is_(True)))
             .order_by(Notice.emergency.desc(), Notice.not_before, Notice.id).limit(limit))
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=Notice)
    return query


def deliver_batch(store: Store, registry, channels: Mapping[str, object], now: datetime, limit: int = 50,
                  worker: str = "") -> DeliveryResult:
    from engine.settings import load

    result = DeliveryResult()
    with store.write() as session:
        due = session.execute(due_query(now, limit, skip_locked=not store.is_sqlite)).scalars().all()
        settings = load(session, registry) if due else {}
        for notice in due:
            if not store.is_sqlite and not _process_still_live(session, notice):
                continue
            if _quiet_now(session, notice, now, settings):
                result.deferred += 1
                continue
            _deliver_one(session, store.vault, channels, notice, now, worker, result, settings)
    return result


def _process_still_live(session: Session, notice: Notice) -> bool:
    """Hold the process still while sending: a pause or withdrawal waits for this commit, and a
    process being changed right now (locked) is skipped until the next pass. Never waits."""
    if notice.process_id is None:
        return True
    state = session.execute(select(Process.state).where(Process.id == notice.process_id)
                            .with_for_update(read=True, skip_locked=True)).scalar()
    return state is not None and (state != PAUSED or notice.through_pause)


def _quiet_now(session: Session, notice: Notice, now: datetime, settings: Mapping[str, str]) -> bool:
    """Checked again at the moment of sending: a routine notice that became due inside the recipient's
    quiet hours (a resumed registration, a release, a retry) waits for their end. True if it waits."""
    from engine.outbox import recipient_zone, send_time

    wake = send_time(now, notice.emergency, recipient_zone(session, notice), settings)
    if wake <= now:
        return False
    notice.not_before = wake
    session.add(notice)
    session.flush()
    return True


def deliver_due(store: Store, registry, channels: Mapping[str, object], now: datetime, batch: int = 50,
                worker: str = "", progress=None) -> DeliveryResult:
    """Deliver everything due at ``now`` in bounded batches."""
    total = DeliveryResult()
    while True:
        result = deliver_batch(store, registry, channels, now, batch, worker)
        total += result
        if progress:
            progress(result.handled)
        if result.handled == 0 and result.deferred == 0:  # a batch may queue fallbacks due at once
            return total


def _deliver_one(session: Session, vault: Vault, channels, notice: Notice, now: datetime, worker: str,
                 result: DeliveryResult, settings: Mapping[str, str]) -> None:
    channel = channels[notice.channel]
    notice.message_id = notice.message_id or message_id_for(notice.idempotency_key, getattr(channel, "domain", "vcase.invalid"))
    notice.attempts += 1
    notice.claimed_by = worker or None
    message = outgoing(session, vault, notice, now)
    if confirm_tokens.wants_confirmation(notice):  # a link or a code to confirm it, new on each send
        message = replace(message, body=confirm_tokens.attach(session, vault, notice, message.body, now, settings))
    try:
        channel.send(message)
    except DeliveryFailed as exc:
        # The channel's words may quote a server's reply, which can name the recipient: scrubbed here
        # as well as where the channel built them, since this text goes to a plain column and the log.
        said = scrub(exc, known=(message.address, message.recipient_name))
        if exc.permanent or notice.attempts >= MAX_ATTEMPTS:
            notice.status, notice.status_reason = "failed", f"after {notice.attempts} attempt(s): {said}"
            result.failed += 1
            result.fallbacks += fall_back(session, vault, notice, now, settings)
        else:
            from engine.outbox import recipient_zone, send_time

            retry_at = send_time(now + backoff(notice.attempts), notice.emergency, recipient_zone(session, notice),
                                 settings)
            notice.not_before, notice.status_reason = retry_at, f"retrying: {said}"
            result.retried += 1
        result.errors.append(f"notice {notice.id}: {said}")
    else:
        if getattr(channel, "holds_for_mailroom", False):  # a letter waits for the mail room, still encrypted
            take_letter(notice, now, settings)
        else:
            notice.status, notice.sent_at, notice.status_reason = "sent", now, None
        result.sent += 1
    session.add(notice)
    session.flush()


REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread


def new_reference() -> str:
    """A random letter reference such as ``7K3F-9QX2``: nothing about the case, the person or the notice."""
    import secrets

    chars = "".join(secrets.choice(REF_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def take_letter(notice: Notice, now: datetime, settings: Mapping[str, str]) -> None:
    """The letter channel took ``notice``: it waits for the mail room (``engine.mailroom``), its text
    still encrypted; ``sent_at`` is when it was taken. An emergency letter goes certified (setting
    ``mailroom.certified_emergencies``)."""
    notice.status, notice.sent_at, notice.status_reason = "awaiting_print", now, None
    notice.letter_ref = notice.letter_ref or new_reference()
    notice.certified = bool(notice.emergency) and settings.get("mailroom.certified_emergencies", "yes") == "yes"


def outgoing(session: Session, vault: Vault, notice: Notice, now: datetime) -> Outgoing:
    """What a channel is given for ``notice``: the recipient's name and address for it, the decrypted text."""
    if notice.recipient_party_id:
        party = session.get(Party, notice.recipient_party_id)
        name = vault.decrypt(party.name_enc)
        address = {"email": vault.decrypt_optional(party.email_enc), "sms": vault.decrypt_optional(party.phone_enc),
                   "letter": vault.decrypt_optional(party.address_enc)}[notice.channel]
    elif notice.recipient_contact_id:
        from engine.outbox import contact_email

        contact = session.get(PartnerContact, notice.recipient_contact_id)
        # A letter to a partner goes to the mail room with no postal address: staff send it by hand.
        # An emergency to a designated responder also goes by text to the contact's own phone.
        name, address = contact.name, {"email": contact_email(contact), "sms": contact.phone}.get(notice.channel)
    else:
        staff = session.get(Staff, notice.recipient_staff_id)
        name, address = staff.display_name, staff.email if notice.channel == "email" else None
    return Outgoing(notice_id=notice.id, key=notice.idempotency_key, message_id=notice.message_id, channel=notice.channel,
                    recipient_name=name, address=address, subject=vault.decrypt(notice.subject_enc),
                    body=vault.decrypt(notice.body_enc), language=notice.language, emergency=notice.emergency, when=now)


def group_of(notice: Notice) -> str:
    """Notices to one recipient about one thing share a group: every channel and every fallback."""
    return "/".join(notice.idempotency_key.split("/")[:4])


def _group(session: Session, notice: Notice) -> list[Notice]:
    prefix = group_of(notice)
    return list(session.execute(select(Notice).where(
        or_(Notice.idempotency_key == prefix, Notice.idempotency_key.like(prefix.replace("%", r"\%") + "/%")))).scalars())


def fall_back(session: Session, vault: Vault, notice: Notice, now: datetime, settings: Mapping[str, str]) -> int:
    """Queue the same notice on the recipient's next untried channel (a letter last). 1 if queued."""
    from engine.outbox import requeue_on_channel

    chosen = ["letter"]
    if notice.recipient_party_id:
        party = session.get(Party, notice.recipient_party_id)
        chosen = [c for c in party.channels.split(",") if c] + ["letter"]
    tried = {n.channel for n in _group(session, notice) if n.status != "cancelled"}
    remaining = [c for c in chosen if c not in tried]
    if not remaining:
        return 0
    requeue_on_channel(session, vault, notice, remaining[0], now, settings)
    return 1


def fall_back_unconfirmed(session: Session, vault: Vault, now: datetime, window: timedelta,
                          settings: Mapping[str, str]) -> int:
    """An emergency nobody confirmed within ``window`` goes out once more as a letter
    (Ohio's certified mail), unless a copy on any channel was confirmed."""
    from engine.outbox import requeue_on_channel

    stale = session.execute(select(Notice).where(
        Notice.status == "sent", Notice.emergency.is_(True), Notice.sent_at <= now - window)
        .order_by(Notice.id)).scalars().all()
    done: set[str] = set()
    count = 0
    for notice in stale:
        key = group_of(notice)
        if key in done:
            continue
        done.add(key)
        group = _group(session, notice)
        if any(n.status == "confirmed" for n in group) or any(n.channel == "letter" for n in group):
            continue
        requeue_on_channel(session, vault, notice, "letter", now, settings)
        count += 1
    return count


def confirm(session: Session, actor: Actor, notice_id: int, now: datetime) -> Notice:
    """The recipient confirmed they got it (VINE's PIN): recorded, and the retries stop. Staff with the
    permission confirm any notice; a party acting for themselves (role ``self``) only one sent to them,
    any other being one that does not exist."""
    notice = session.get(Notice, notice_id) if 0 < notice_id < 2**63 else None
    if actor.role == SELF_ROLE:
        if notice is None or notice.recipient_party_id != actor.party_id:
            raise NotFound(f"no notice {notice_id}")
    else:
        require(actor, "notice.confirm")
    if notice is None:
        raise NotFound(f"no notice {notice_id}; `vcase notices list` shows them")
    if notice.status != "sent":
        raise NotAllowed(f"notice {notice_id} is {notice.status}; only a sent notice can be confirmed")
    notice.status, notice.confirmed_at = "confirmed", now
    session.add(notice)
    audit.append(session, at=now, actor=actor, action="notice.confirm", case_id=notice.case_id,
                 process_id=notice.process_id, detail={"notice": notice.id})
    return notice


def confirm_by_token(session: Session, row, now: datetime, via: str) -> Notice:
    """Use a confirm token (``engine.confirm_tokens``) once and confirm its notice as the party it
    was sent to, acting for themselves (``via`` portal or sms)."""
    from engine.permissions import self_actor

    notice = session.get(Notice, row.notice_id)
    row.used_at = now
    session.add(row)
    session.flush()
    if notice.status == "confirmed":
        return notice
    if notice.status != "sent":
        raise NotAllowed("this notice cannot be confirmed now")
    return confirm(session, self_actor(session, notice.recipient_party_id, via), notice.id, now)


def deliver_pass(app, batch: int = 50, worker: str = "", progress=None, via=None) -> DeliveryResult:
    """Fall back on emergencies nobody confirmed in time, then send everything due now (through
    ``via``, a channel map, or the channels the environment configures)."""
    from engine import settings as settings_mod
    from engine.channels import from_environment

    with app.store.write() as s:
        policy = settings_mod.load(s, app.registry)
        window = timedelta(hours=float(policy["notices.confirm_window_hours"]))
        fallbacks = fall_back_unconfirmed(s, app.store.vault, app.now(), window, policy)
    result = deliver_due(app.store, app.registry, via or from_environment(app.outbox), app.now(), batch, worker,
                         progress)
    result.fallbacks += fallbacks
    return result
