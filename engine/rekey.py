"""A key rotation's second half: every stored secret sealed again under the newest key.

Rotating is two steps. First the new key is put first in ``VCASE_KEY`` (or the
key file), the old ones after it, for every vcase process: from then on new
values are sealed with the new key and old ones still read. Then ``reseal``
rewrites what is stored: every encrypted column of every table (found in the
schema, not listed here), the phone numbers' blind indexes (they follow the
newest key) and the key check value. Values written before the AEAD format
(Fernet tokens) are moved to it on the way. Each batch of rows is its own
transaction, so the job can be stopped and run again; a value already under
the newest key is left as it is. When it reports nothing left, the old key
can be removed.

What cannot move: a confirm link or code already sent is stored only as a
keyed hash, so those issued before the rotation stop matching (the notices can
be confirmed by staff, and new ones carry new links).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from sqlalchemy import LargeBinary, Table, bindparam, func, select, text, update

from engine.db import Store

Progress = Callable[[str, int], None]  # (table, rows just looked at)


def sealed_columns() -> dict[str, tuple[Table, list[str]]]:
    """Every table with encrypted columns (``*_enc``, binary), and those columns."""
    from sqlmodel import SQLModel

    import engine.models  # noqa: F401  (the tables are declared there)

    out = {}
    for table in SQLModel.metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, LargeBinary) and c.name.endswith("_enc")]
        if names:
            out[table.name] = (table, names)
    return out


def counts(store: Store) -> dict[str, int]:
    """Rows of each table that holds encrypted columns (for a progress bar)."""
    with store.read() as session:
        return {name: session.execute(select(func.count()).select_from(table)).scalar_one()
                for name, (table, _) in sealed_columns().items()}


def reseal(store: Store, batch: int = 500, progress: Optional[Progress] = None) -> dict[str, Any]:
    """Seal every stored value under the newest key; what was rewritten, by table."""
    from engine.records import phone_index

    vault = store.vault
    done: dict[str, int] = {}
    for name, (table, columns) in sealed_columns().items():
        key = list(table.primary_key.columns)[0]
        last, done[name] = None, 0
        while True:
            with store.write() as session:
                # Locked as read (PostgreSQL; SQLite's writer is alone already): a victim changing their
                # contact details meanwhile is waited for, never overwritten with the value read before.
                query = select(key, *[table.c[c] for c in columns]).order_by(key).limit(batch).with_for_update()
                if last is not None:
                    query = query.where(key > last)
                rows = session.execute(query).all()
                changes = []
                for row in rows:
                    values = {c: row[i + 1] for i, c in enumerate(columns)}
                    if all(v is None or vault.is_current(v) for v in values.values()):
                        continue
                    change = {c: None if v is None else vault.reseal(v) for c, v in values.items()}
                    if name == "party":  # the blind index of the phone number follows the newest key too
                        change["phone_index"] = phone_index(vault, vault.decrypt_optional(change["phone_enc"]))
                    changes.append({"_pk": row[0], **{f"_{c}": v for c, v in change.items()}})
                if changes:
                    targets = [c for c in changes[0] if c != "_pk"]
                    session.execute(update(table).where(key == bindparam("_pk"))
                                    .values({c[1:]: bindparam(c) for c in targets}), changes)
                done[name] += len(changes)
            if progress is not None:
                progress(name, len(rows))
            if len(rows) < batch:
                break
            last = rows[-1][0]
    with store.write() as session:
        session.execute(text("UPDATE meta SET value = :v WHERE key = 'key_check'"), {"v": vault.check_value()})
    return {"resealed": done, "values_resealed_rows": sum(done.values()), "key_check": "sealed with the newest key"}


__all__ = ["reseal", "counts", "sealed_columns"]
