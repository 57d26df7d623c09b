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

from sqlalchemy import bindparam, insert, select, text, update
from sqlmodel import Session

from engine.bulk import execute_many
from engine.clock import from_db, require_utc
from engine.errors import Conflict
from engine.models import AuditEntry, AuditStream

GENESIS = "0" * 64


def stream_for(case_id: Optional[int], process_id: Optional[int] = None) -> str:
    if process_id is not None:
        return f"process:{process_id}"
    return f"case:{case_id}" if case_id is not None else "system"


HASHED = ("stream", "seq", "at", "actor_login", "actor_role", "on_behalf_of", "via", "case_id", "process_id",
          "action", "from_state", "to_state", "detail", "prev_hash")


def digest(entry: AuditEntry) -> str:
    return _digest({name: getattr(entry, name) for name in HASHED})


def _digest(values: dict[str, Any]) -> str:
    body = dict(values, at=from_db(values["at"]).isoformat())
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def entry_values(*, stream: str, seq: int, prev_hash: str, at: datetime, actor, action: str,
                 case_id: Optional[int] = None, process_id: Optional[int] = None, from_state: Optional[str] = None,
                 to_state: Optional[str] = None, detail: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The columns of the entry ``seq`` of ``stream``, after ``prev_hash``, with its hash."""
    values = dict(
        stream=stream, seq=seq, at=require_utc(at), actor_login=actor.login, actor_role=actor.role,
        on_behalf_of=actor.party_id, via=actor.via, case_id=case_id, process_id=process_id,
        action=action, from_state=from_state, to_state=to_state,
        detail=json.loads(json.dumps(detail or {}, default=str)), prev_hash=prev_hash,
    )
    values["hash"] = _digest(values)
    return values


def append(
    session: Session, *, at: datetime, actor, action: str, case_id: Optional[int] = None,
    process_id: Optional[int] = None, from_state: Optional[str] = None, to_state: Optional[str] = None,
    detail: Optional[dict[str, Any]] = None,
) -> int:
    """Add one entry in the caller's transaction; its id. ``actor`` is an ``engine.permissions.Actor``."""
    session.flush()  # what the caller added so far is written first
    return append_many(session, [dict(at=at, actor=actor, action=action, case_id=case_id, process_id=process_id,
                                      from_state=from_state, to_state=to_state, detail=detail)])[0]


def append_many(session: Session, entries: list[dict[str, Any]]) -> list[int]:
    """Append entries (``entry_values`` keyword arguments without stream, seq and prev_hash) in a few
    statements: each chained in memory after its stream's head, which is locked on PostgreSQL. The ids,
    in order."""
    if not entries:
        return []
    streams = {stream_for(e.get("case_id"), e.get("process_id")) for e in entries}
    head_query = select(AuditStream.stream, AuditStream.seq, AuditStream.head_hash).where(AuditStream.stream.in_(streams))
    if session.get_bind().dialect.name == "postgresql":
        head_query = head_query.with_for_update()
    heads = {stream: (seq, h) for stream, seq, h in session.execute(head_query)}
    tip, rows = {}, []
    for e in entries:
        stream = stream_for(e.get("case_id"), e.get("process_id"))
        seq, prev = tip.get(stream) or heads.get(stream) or (0, GENESIS)
        values = entry_values(stream=stream, seq=seq + 1, prev_hash=prev, **e)
        tip[stream] = (seq + 1, values["hash"])
        rows.append(values)
    moved = [{"s": s, "old": heads[s][0], "seq": seq, "h": h} for s, (seq, h) in tip.items() if s in heads]
    if moved:
        heads_table = AuditStream.__table__
        count = execute_many(session, update(heads_table).where(
            heads_table.c.stream == bindparam("s"), heads_table.c.seq == bindparam("old"))
            .values(seq=bindparam("seq"), head_hash=bindparam("h")), moved)
        if count != len(moved):
            raise Conflict("another change to this record was made at the same time; nothing was written, try again")
    new = [{"stream": s, "seq": seq, "head_hash": h} for s, (seq, h) in tip.items() if s not in heads]
    if new:
        execute_many(session, insert(AuditStream.__table__), new)
    ids = _next_ids(session, len(rows))
    for values, entry_id in zip(rows, ids):
        values["id"] = entry_id
    execute_many(session, insert(AuditEntry.__table__), rows)  # one executemany: no RETURNING row by row
    return ids


def _next_ids(session: Session, n: int) -> list[int]:
    """``n`` new audit entry ids, increasing. PostgreSQL: from the column's sequence (safe beside other
    writers). SQLite: after the highest, which this transaction may take because it holds the one
    write lock (every write transaction begins IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        return sorted(session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('audit_entry', 'id')) FROM generate_series(1, :n)"), {"n": n}).scalars())
    top = session.execute(text("SELECT coalesce(max(id), 0) FROM audit_entry")).scalar_one()
    return list(range(top + 1, top + 1 + n))


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
