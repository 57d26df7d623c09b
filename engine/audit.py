"""The append-only, hash-chained audit trail.

One chain per stream (``process:<id>`` for a process's events, ``case:<id>``
for the rest of a case, ``system`` for staff and settings), so unrelated
processes never wait on each other: two scheduler workers firing timers of
different processes on one case do not queue on one stream head. Each entry's
hash covers its content and the previous entry's hash; the stream head row
is advanced with a guarded update, which keeps appends serial and makes a
truncated tail detectable. Only the engine writes here; database triggers
refuse updates and deletes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Optional

from sqlalchemy import select, text, update
from sqlmodel import Session

from engine.clock import from_db, require_utc
from engine.errors import Conflict
from engine.models import AuditEntry, AuditStream

GENESIS = "0" * 64


def stream_for(case_id: Optional[int], process_id: Optional[int] = None) -> str:
    if process_id is not None:
        return f"process:{process_id}"
    return f"case:{case_id}" if case_id is not None else "system"


def digest(entry: AuditEntry) -> str:
    body = {
        "stream": entry.stream, "seq": entry.seq, "at": from_db(entry.at).isoformat(),
        "actor_login": entry.actor_login, "actor_role": entry.actor_role,
        "on_behalf_of": entry.on_behalf_of, "via": entry.via, "case_id": entry.case_id,
        "process_id": entry.process_id, "action": entry.action, "from_state": entry.from_state,
        "to_state": entry.to_state, "detail": entry.detail, "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def append(
    session: Session, *, at: datetime, actor, action: str, case_id: Optional[int] = None,
    process_id: Optional[int] = None, from_state: Optional[str] = None, to_state: Optional[str] = None,
    detail: Optional[dict[str, Any]] = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction. ``actor`` is an ``engine.permissions.Actor``."""
    stream = stream_for(case_id, process_id)
    head_query = select(AuditStream.seq, AuditStream.head_hash).where(AuditStream.stream == stream)
    if session.get_bind().dialect.name == "postgresql":
        head_query = head_query.with_for_update()
    head = session.execute(head_query).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    entry = AuditEntry(
        stream=stream, seq=seq, at=require_utc(at), actor_login=actor.login, actor_role=actor.role,
        on_behalf_of=actor.party_id, via=actor.via, case_id=case_id, process_id=process_id,
        action=action, from_state=from_state, to_state=to_state,
        detail=json.loads(json.dumps(detail or {}, default=str)), prev_hash=prev, hash="",
    )
    entry.hash = digest(entry)
    if head:
        moved = session.execute(
            update(AuditStream).where(AuditStream.stream == stream, AuditStream.seq == seq - 1)
            .values(seq=seq, head_hash=entry.hash)
        ).rowcount
        if moved != 1:
            raise Conflict("another change to this record was made at the same time; nothing was written, try again")
    else:
        session.add(AuditStream(stream=stream, seq=seq, head_hash=entry.hash))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Problem:
    entry_id: Optional[int]
    stream: str
    seq: Optional[int]
    what: str

    def __str__(self) -> str:
        where = f"audit entry {self.entry_id} ({self.stream} #{self.seq})" if self.entry_id else f"stream {self.stream}"
        return f"{where}: {self.what}"


def verify(session: Session) -> Iterator[Problem]:
    """Yield every broken link, in stream order; an intact trail yields nothing."""
    heads = {s.stream: s for s in session.execute(select(AuditStream)).scalars()}
    current, prev_hash, expected_seq = None, GENESIS, 1
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.stream, AuditEntry.seq).execution_options(yield_per=2000))
    for (entry,) in rows:
        if entry.stream != current:
            if current is not None:
                yield from _check_head(heads.pop(current, None), current, expected_seq - 1, prev_hash)
            current, prev_hash, expected_seq = entry.stream, GENESIS, 1
        if entry.seq != expected_seq:
            yield Problem(entry.id, entry.stream, entry.seq, f"sequence jumps from {expected_seq - 1} to {entry.seq} (entries removed)")
        if entry.prev_hash != prev_hash:
            yield Problem(entry.id, entry.stream, entry.seq, "does not link to the entry before it")
        if digest(entry) != entry.hash:
            yield Problem(entry.id, entry.stream, entry.seq, "content does not match its hash (altered)")
        prev_hash, expected_seq = entry.hash, entry.seq + 1
    if current is not None:
        yield from _check_head(heads.pop(current, None), current, expected_seq - 1, prev_hash)
    for stream in heads:
        yield Problem(None, stream, None, "has a head but no entries (entries removed)")


def _check_head(head: Optional[AuditStream], stream: str, last_seq: int, last_hash: str) -> Iterator[Problem]:
    if head is None or head.seq != last_seq or head.head_hash != last_hash:
        yield Problem(None, stream, last_seq, "its last entries were removed or replaced (head does not match)")


def count(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
