"""The mail room: letters printed in daily batches, handed to the post office, tracked, delivered or returned.

A letter's delivery states (``engine.models.MAIL_STATUSES``), each a guarded step with its time and who:

    queued -> awaiting_print   the letter channel took it (``engine.delivery.take_letter``); its text
                               stays encrypted in the notice
           -> printed          in a batch: one print-ready PDF of the day's letters and a manifest (CSV)
           -> mailed           the batch was handed to the post office (a tracking number may follow)
           -> delivered        certified mail's proof of delivery
           -> returned         it came back: the recipient's next channel is tried (``fall_back``)

A withdrawal or a correction cancels a letter still ``awaiting_print`` or ``printed`` (it has not left
the building); recording the hand-off lists the printed letters to pull from the batch.

What the mail room sees: references, page counts, certified or not, and (for a presorted batch) ZIP
codes. Each letter carries an opaque reference (``letter_ref``) instead of anything that tells what
the case is about. The batch's files are owner-only and removed after
``mailroom.batch_retention_days``; the batch row and every letter's state stay as the proof.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import func, or_, select
from sqlmodel import Session

from engine import audit
from engine.clock import UTC, from_db, zone
from engine.crypto import Vault
from engine.definition import PAUSED
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.models import MailBatch, Notice, Process
from engine.permissions import Actor, require

REF_PATTERN = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
TRACKING = re.compile(r"[A-Z0-9]{10,34}")  # USPS (20-22 digits), UPU S10 (RA123456789US) and the like
RETURN_REASONS = ("attempted_not_known", "insufficient_address", "no_such_number", "moved_left_no_address",
                  "forwarding_expired", "refused", "unclaimed", "vacant", "undeliverable_other")
CANCELLABLE = ("awaiting_print", "printed")  # letters that have not left the building
ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")


def day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants a day in ``tz_name`` starts and ends."""
    tz = zone(tz_name)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def parse_day(text: Optional[str], tz_name: str, now: datetime, what: str = "--date") -> date:
    """A day typed as YYYY-MM-DD (the agency's zone); none: today there. A future day is refused."""
    today = now.astimezone(zone(tz_name)).date()
    if text is None:
        return today
    raw = text.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"malformed {what} {text[:40]!r}; use YYYY-MM-DD, e.g. 2027-03-14") from None
    if day > today:
        raise InvalidInput(f"{what} {day} is in the future (today is {today} in {tz_name}); nothing is printed ahead")
    return day


def waiting(session: Session, until: datetime, lock: bool = False) -> list[Notice]:
    """Letters waiting for print that were taken before ``until`` (earlier days' included: none is left
    behind). A letter of a paused process waits for it, as its other notices do."""
    query = (select(Notice).outerjoin(Process, Notice.process_id == Process.id)
             .where(Notice.status == "awaiting_print", Notice.sent_at < until,
                    or_(Notice.process_id.is_(None), Process.state != PAUSED, Notice.through_pause.is_(True)))
             .order_by(Notice.id))
    if lock:
        query = query.with_for_update(of=Notice)
    return list(session.execute(query).scalars())


@dataclass
class Printed:
    """One letter laid out for a batch."""

    notice: Notice
    document: Any  # a WeasyPrint Document
    text: str  # the text file's content
    zip_code: str
    by_hand: bool


@dataclass
class BatchPlan:
    letters: list[Printed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # letters left waiting, and why (references only)


def lay_out(session: Session, vault: Vault, notices: list[Notice], settings: Mapping[str, str],
            progress: Optional[Callable[[int, int], None]] = None) -> BatchPlan:
    """Each letter as a PDF document, from its encrypted text. A letter whose address cannot fit an
    envelope window is left waiting and named (by reference) in ``problems``."""
    from engine.delivery import outgoing
    from engine.outbox import recipient_zone
    from notices import pdf

    plan = BatchPlan()
    head = pdf.letterhead(settings, plan.problems)
    for n, notice in enumerate(notices, 1):
        message = outgoing(session, vault, notice, from_db(notice.sent_at))
        dated = from_db(notice.created_at).astimezone(zone(recipient_zone(session, notice))).date()
        lines = pdf.address_lines(message.recipient_name, message.address)
        letter = pdf.Letter(reference=notice.letter_ref, recipient_name=message.recipient_name, address=lines,
                            language=notice.language, dated=dated, body=message.body)
        try:
            document = pdf.render_letter(letter, head)
        except InvalidInput as exc:
            plan.problems.append(f"letter {notice.letter_ref} was left waiting: {exc}; correct the address")
            continue
        found = ZIP.findall(lines[-1]) if lines else []
        text = "\n".join([message.recipient_name, *lines, "", pdf.dated_text(dated, notice.language), "",
                          message.body, "", f"Ref. {notice.letter_ref}", ""])
        plan.letters.append(Printed(notice, document, text, found[-1] if found else "", not lines))
        if progress:
            progress(n, len(notices))
    return plan


def presort(letters: list[Printed], minimum: int) -> bool:
    """Sort by ZIP code for the post office when the volume warrants it (letters without one last);
    else keep the order the letters came in. True if sorted."""
    if len(letters) < minimum:
        return False
    letters.sort(key=lambda p: (p.zip_code == "", p.zip_code, p.notice.letter_ref))
    return True


def manifest(letters: list[Printed], presorted: bool) -> tuple[str, int]:
    """The manifest (CSV) and the batch's page count. Columns: what the mail room needs to stuff and
    send each envelope, and nothing more: the name and address show through the window."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["sequence", "reference", "first_page", "pages", "certified", "delivery", "presort_zip"])
    page = 1
    for n, item in enumerate(letters, 1):
        pages = len(item.document.pages)
        writer.writerow([n, item.notice.letter_ref, page, pages, "yes" if item.notice.certified else "no",
                         "by_hand" if item.by_hand else "mail", item.zip_code if presorted else ""])
        page += pages
    return out.getvalue(), page - 1


def make_batch(session: Session, vault: Vault, actor: Actor, day: date, tz_name: str, now: datetime,
               settings: Mapping[str, str], outbox: Path, progress: Optional[Callable[[int, int], None]] = None,
               made: Optional[list[Path]] = None) -> dict[str, Any]:
    """Print every letter waiting up to the end of ``day``: one PDF, its manifest, each letter's text and
    PDF, in ``outbox/letters/<day>/batch-<id>/`` (owner-only); the letters become ``printed``. The
    caller's transaction commits it; if it does not, the folder (appended to ``made``) is the caller's
    to remove."""
    from engine.channels import _private_dir, _write_private
    from notices import pdf

    require(actor, "mailroom.print")
    if not settings.get("letters.return_address"):
        raise InvalidInput("set the agency's return address first (vcase settings set letters.return_address "
                           "'Name; Street; City, ST ZIP'): undeliverable mail must come back to the agency")
    notices = waiting(session, day_bounds(day, tz_name)[1], lock=True)
    if not notices:
        return {"batch": None, "day": day.isoformat(), "letters": 0, "pages": 0, "problems": []}
    plan = lay_out(session, vault, notices, settings, progress)
    if not plan.letters:
        return {"batch": None, "day": day.isoformat(), "letters": 0, "pages": 0, "problems": plan.problems}
    presorted = presort(plan.letters, int(settings.get("mailroom.presort_minimum", "500")))
    listing, pages = manifest(plan.letters, presorted)
    batch = MailBatch(day=day, status="printed", letters=len(plan.letters), pages=pages, presorted=presorted,
                      folder="", created_at=now, created_by=actor.login)
    session.add(batch)
    session.flush()
    batch.folder = f"letters/{day.isoformat()}/batch-{batch.id}"
    folder = _private_dir(outbox, *batch.folder.split("/"))
    if made is not None:
        made.append(folder)
    try:
        _write_private(folder / f"batch-{batch.id}.pdf", pdf.combine([p.document for p in plan.letters]))
        _write_private(folder / "manifest.csv", listing)
        for item in plan.letters:
            _write_private(folder / f"{item.notice.letter_ref}.pdf", pdf.pdf_bytes(item.document))
            _write_private(folder / f"{item.notice.letter_ref}.txt", item.text)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidInput(f"could not write the batch in {batch.folder}: {exc.strerror or exc}; nothing was printed") from None
    for item in plan.letters:
        item.notice.status, item.notice.mail_batch_id = "printed", batch.id
        item.notice.pages = len(item.document.pages)
        session.add(item.notice)
    session.add(batch)
    session.flush()
    audit.append(session, at=now, actor=actor, action="mailroom.print",
                 detail={"batch": batch.id, "day": day.isoformat(), "letters": batch.letters, "pages": pages,
                         "notices": [p.notice.id for p in plan.letters]})
    return {**batch_row(session, batch), "path": str(folder), "problems": plan.problems}


def _batch(session: Session, batch_id: int) -> MailBatch:
    batch = session.get(MailBatch, batch_id)
    if batch is None:
        raise NotFound(f"no batch {batch_id}; `vcase mailroom list` shows them")
    return batch


def mark_mailed(session: Session, actor: Actor, batch_id: int, now: datetime) -> dict[str, Any]:
    """The batch was handed to the post office: its printed letters become ``mailed``. Letters cancelled
    since printing (a withdrawal, a correction) are named: pull them before the hand-off."""
    require(actor, "mailroom.record")
    batch = _batch(session, batch_id)
    if batch.status != "printed":
        raise NotAllowed(f"batch {batch_id} was already handed over at {from_db(batch.mailed_at):%Y-%m-%d %H:%M} UTC "
                         f"by {batch.mailed_by}", event="mailed", state=batch.status)
    letters = _letters(session, batch.id)
    mailed = [n for n in letters if n.status == "printed"]
    pulled = sorted(n.letter_ref for n in letters if n.status == "cancelled")
    for notice in mailed:
        notice.status = "mailed"
        session.add(notice)
    batch.status, batch.mailed_at, batch.mailed_by = "mailed", now, actor.login
    session.add(batch)
    session.flush()
    audit.append(session, at=now, actor=actor, action="mailroom.mailed",
                 detail={"batch": batch.id, "letters": len(mailed), "pulled": len(pulled)})
    return {"batch": batch.id, "mailed": len(mailed), "pull": pulled}


def _letters(session: Session, batch_id: int) -> list[Notice]:
    return list(session.execute(select(Notice).where(Notice.mail_batch_id == batch_id)
                                .order_by(Notice.letter_ref)).scalars())


def find_letter(session: Session, key: str) -> Notice:
    """A letter by its reference (``7K3F-9QX2``, as printed on it) or its notice id."""
    raw = (key or "").strip().upper()
    notice = None
    if REF_PATTERN.fullmatch(raw):
        notice = session.execute(select(Notice).where(Notice.letter_ref == raw)).scalar_one_or_none()
    elif raw.isdigit() and len(raw) <= 18:
        notice = session.get(Notice, int(raw))
    else:
        raise InvalidInput(f"{key[:40]!r} is neither a letter reference (as printed, e.g. 7K3F-9QX2) nor a notice id")
    if notice is None or notice.channel != "letter":
        raise NotFound(f"no letter {key}; `vcase mailroom show BATCH` lists a batch's letters")
    return notice


def _step(session: Session, actor: Actor, key: str, wanted: tuple[str, ...], what: str) -> Notice:
    require(actor, "mailroom.record")
    notice = find_letter(session, key)
    if notice.status not in wanted:
        hint = {"awaiting_print": "it has not been printed yet (`vcase mailroom batch`)",
                "printed": "its batch has not been handed over yet (`vcase mailroom mailed --batch B`)"}.get(
                    notice.status, f"only a {' or '.join(wanted)} letter can be")
        raise NotAllowed(f"Can't record {what} for letter {notice.letter_ref or notice.id} when it is {notice.status}: "
                         f"{hint}", event=what, state=notice.status)
    return notice


def record_tracking(session: Session, vault: Vault, actor: Actor, key: str, number: str, now: datetime) -> dict[str, Any]:
    """A mailed letter's tracking number (certified mail), stored encrypted: the carrier's tracking page
    tells where the letter went."""
    cleaned = re.sub(r"[\s-]", "", number or "").upper()
    if not TRACKING.fullmatch(cleaned):
        raise InvalidInput("a tracking number is 10 to 34 letters and digits (spaces and dashes are ignored), "
                           "e.g. 9407 1000 0000 0000 0000 00")
    notice = _step(session, actor, key, ("mailed", "delivered"), "a tracking number")
    notice.tracking_enc = vault.encrypt(cleaned)
    session.add(notice)
    session.flush()
    audit.append(session, at=now, actor=actor, action="mailroom.tracking", case_id=notice.case_id,
                 process_id=notice.process_id, detail={"notice": notice.id, "letter": notice.letter_ref})
    return {"notice": notice.id, "letter": notice.letter_ref, "status": notice.status, "tracking": "recorded"}


def record_delivered(session: Session, actor: Actor, key: str, now: datetime) -> dict[str, Any]:
    """Proof of delivery came back (a certified-mail receipt, the carrier's tracking)."""
    notice = _step(session, actor, key, ("mailed",), "delivery")
    notice.status, notice.confirmed_at = "delivered", now
    session.add(notice)
    session.flush()
    audit.append(session, at=now, actor=actor, action="mailroom.delivered", case_id=notice.case_id,
                 process_id=notice.process_id, detail={"notice": notice.id, "letter": notice.letter_ref})
    return {"notice": notice.id, "letter": notice.letter_ref, "status": notice.status}


def record_returned(session: Session, vault: Vault, actor: Actor, key: str, reason: str, now: datetime,
                    settings: Mapping[str, str]) -> dict[str, Any]:
    """The letter came back: ``returned`` with the post office's reason (a code: no free text, which
    could carry an address), and the recipient's next channel is tried, as for a failed e-mail."""
    from engine.delivery import fall_back

    if reason not in RETURN_REASONS:
        raise InvalidInput(f"unknown reason {reason[:40]!r}; use one of: {', '.join(RETURN_REASONS)}")
    notice = _step(session, actor, key, ("mailed",), "a return")
    notice.status, notice.returned_at = "returned", now
    notice.status_reason = f"returned by the post office: {reason.replace('_', ' ')}"
    session.add(notice)
    session.flush()
    queued = fall_back(session, vault, notice, now, settings)
    audit.append(session, at=now, actor=actor, action="mailroom.returned", case_id=notice.case_id,
                 process_id=notice.process_id, detail={"notice": notice.id, "letter": notice.letter_ref,
                                                       "reason": reason, "fallback": bool(queued)})
    return {"notice": notice.id, "letter": notice.letter_ref, "status": notice.status, "fallback_queued": bool(queued)}


def batch_row(session: Session, batch: MailBatch) -> dict[str, Any]:
    certified = session.execute(select(func.count()).select_from(Notice).where(
        Notice.mail_batch_id == batch.id, Notice.certified.is_(True))).scalar_one()
    return {"batch": batch.id, "day": batch.day.isoformat(), "status": batch.status, "letters": batch.letters,
            "pages": batch.pages, "certified": certified, "presorted": batch.presorted,
            "printed_at": from_db(batch.created_at).isoformat(), "printed_by": batch.created_by,
            "mailed_at": from_db(batch.mailed_at).isoformat() if batch.mailed_at else None,
            "mailed_by": batch.mailed_by, "folder": batch.folder,
            "files": "removed " + from_db(batch.files_removed_at).date().isoformat() if batch.files_removed_at else "kept"}


def list_batches(session: Session, actor: Actor, now: datetime, limit: int = 50) -> dict[str, Any]:
    """The latest batches, and what is waiting to be printed."""
    require(actor, "mailroom.read")
    batches = session.execute(select(MailBatch).order_by(MailBatch.id.desc()).limit(limit)).scalars().all()
    count, oldest = session.execute(select(func.count(), func.min(Notice.sent_at)).where(
        Notice.status == "awaiting_print")).one()
    return {"batches": [batch_row(session, b) for b in batches],
            "awaiting_print": count, "oldest_waiting": from_db(oldest).isoformat() if oldest else None}


def show_batch(session: Session, actor: Actor, batch_id: int) -> dict[str, Any]:
    """A batch and its letters: references, pages, certified, state, whether a tracking number is on
    record (never the text, the name or the address)."""
    require(actor, "mailroom.read")
    batch = _batch(session, batch_id)
    letters = [{"letter": n.letter_ref, "notice": n.id, "pages": n.pages, "certified": n.certified,
                "status": n.status, "tracking": "recorded" if n.tracking_enc else None}
               for n in _letters(session, batch.id)]
    return {**batch_row(session, batch), "letters_in_batch": letters}


def purge_expired(session: Session, outbox: Path, now: datetime, settings: Mapping[str, str]) -> int:
    """Remove the files of batches printed more than ``mailroom.batch_retention_days`` ago (the rows and
    the letters' states stay). Returns how many batches' files were removed."""
    from engine.permissions import SYSTEM

    cutoff = now - timedelta(days=int(settings.get("mailroom.batch_retention_days", "30")))
    expired = session.execute(select(MailBatch).where(MailBatch.files_removed_at.is_(None),
                                                      MailBatch.created_at <= cutoff)).scalars().all()
    root = outbox.resolve()
    for batch in expired:
        folder = (outbox / batch.folder).resolve()
        if root in folder.parents and folder.name == f"batch-{batch.id}":  # never outside the outbox
            shutil.rmtree(folder, ignore_errors=True)
        batch.files_removed_at = now
        session.add(batch)
        audit.append(session, at=now, actor=SYSTEM, action="mailroom.files_removed",
                     detail={"batch": batch.id, "retention_days": settings.get("mailroom.batch_retention_days")})
    session.flush()
    return len(expired)


def expired_count(session: Session, now: datetime, settings: Mapping[str, str]) -> int:
    cutoff = now - timedelta(days=int(settings.get("mailroom.batch_retention_days", "30")))
    return session.execute(select(func.count()).select_from(MailBatch).where(
        MailBatch.files_removed_at.is_(None), MailBatch.created_at <= cutoff)).scalar_one()


_last_purge: dict[int, datetime] = {}
PURGE_EVERY = timedelta(minutes=1)


def purge_pass(app) -> int:
    """The scheduler's check for batch files past their retention, at most once a minute per process."""
    from engine import settings as settings_mod

    now = app.now()
    last = _last_purge.get(id(app.store))
    if last is not None and timedelta(0) <= now - last < PURGE_EVERY:
        return 0
    _last_purge[id(app.store)] = now
    with app.store.read() as s:
        if not expired_count(s, now, settings_mod.load(s, app.registry)):
            return 0
    with app.store.write() as s:
        return purge_expired(s, app.outbox, now, settings_mod.load(s, app.registry))


def mail_record(session: Session, vault: Vault, notice: Notice) -> dict[str, Any]:
    """A letter's mail-room record for ``vcase notices show``: each step with its time and who."""
    if notice.channel != "letter" or notice.letter_ref is None:
        return {}
    batch = session.get(MailBatch, notice.mail_batch_id) if notice.mail_batch_id else None
    return {
        "letter_ref": notice.letter_ref, "certified": notice.certified,
        "handed_to_mailroom": from_db(notice.sent_at).isoformat() if notice.sent_at else None,
        "mail_batch": notice.mail_batch_id, "pages": notice.pages,
        "printed": f"{from_db(batch.created_at).isoformat()} by {batch.created_by}" if batch else None,
        "mailed": (f"{from_db(batch.mailed_at).isoformat()} by {batch.mailed_by}"
                   if batch and batch.mailed_at and notice.status in ("mailed", "delivered", "returned") else None),
        "tracking": vault.decrypt(notice.tracking_enc) if notice.tracking_enc else None,
        "delivered": from_db(notice.confirmed_at).isoformat() if notice.status == "delivered" else None,
        "returned": from_db(notice.returned_at).isoformat() if notice.returned_at else None,
    }


__all__ = ["CANCELLABLE", "RETURN_REASONS", "day_bounds", "find_letter", "list_batches", "mail_record", "make_batch",
           "mark_mailed", "parse_day", "purge_expired", "record_delivered", "record_returned", "record_tracking",
           "show_batch", "waiting"]
