"""Encrypted, versioned texts attached to a process (a letter and its revisions).

A step that declares ``attach="letter"`` takes the text with the event; the
engine stores it as the next version in the same transaction. The audit
trail records the kind, version and size, never the text. Every read of a
text is itself an audit entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import func, select
from sqlmodel import Session

from engine import audit
from engine.crypto import Vault
from engine.errors import InvalidInput, NotFound
from engine.models import Document, Process

MAX_BYTES = 20_000


def as_text(raw: bytes | str, what: str = "the text", max_bytes: int = MAX_BYTES) -> str:
    """Check size and encoding before anything is stored."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise InvalidInput(f"{what} is {len(data):,} bytes; the limit is {max_bytes:,}: shorten it and try again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} is not UTF-8 text (byte {exc.start}); save it as UTF-8 and try again") from None
    if not text.strip():
        raise InvalidInput(f"{what} is empty")
    from engine.records import plain_text

    return plain_text(text, what, len(text), lines=True)


def store(session: Session, vault: Vault, process_id: int, kind: str, text: str, author: str,
          now: datetime) -> Document:
    latest = session.execute(select(func.max(Document.version)).where(
        Document.process_id == process_id, Document.kind == kind)).scalar() or 0
    document = Document(process_id=process_id, kind=kind, version=latest + 1, body_enc=vault.encrypt(text),
                        size=len(text.encode("utf-8")), created_by=author, created_at=now)
    session.add(document)
    session.flush()
    return document


def read(session: Session, vault: Vault, process_id: int, kind: str, actor, now: datetime,
         version: Optional[int] = None) -> tuple[Document, str]:
    """The text (latest version unless given), with an audit entry for the read."""
    query = select(Document).where(Document.process_id == process_id, Document.kind == kind)
    query = query.where(Document.version == version) if version else query.order_by(Document.version.desc())
    document = session.execute(query.limit(1)).scalar_one_or_none()
    if document is None:
        raise NotFound(f"process {process_id} has no {kind}" + (f" version {version}" if version else ""))
    text = vault.decrypt(document.body_enc)
    process = session.get(Process, process_id)
    audit.append(session, at=now, actor=actor, action=f"{process.workflow}.read_{kind}", case_id=process.case_id,
                 process_id=process_id, detail={"kind": kind, "version": document.version})
    return document, text


def versions(session: Session, process_id: int, kind: str) -> list[Document]:
    return list(session.execute(select(Document).where(Document.process_id == process_id, Document.kind == kind)
                                .order_by(Document.version)).scalars())
