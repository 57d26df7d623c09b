"""Opening the database: SQLite (embedded default) or PostgreSQL.

SQLite gets WAL, a busy timeout and foreign keys; write transactions start
with ``BEGIN IMMEDIATE`` so a writer never works from a stale snapshot.
``Store`` bundles the engine, the vault and the schema check; the outermost
caller opens one transaction with ``store.write()`` and passes the session
down (functions that change state never commit themselves).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from engine import config as config_mod
from engine.crypto import Vault, read_keys
from engine.errors import Busy, Conflict, EncryptionKeyError, InvalidInput, SchemaError, Transient

if TYPE_CHECKING:  # the ORM is imported when a session is opened: a read command on Core never loads it
    from sqlmodel import Session

SCHEMA_REVISION = "0010"
BUSY_TIMEOUT_MS = 10_000
# A long-running worker on SQLite (``Store.daemon_mode``): a page cache of its own (the default is 2 MiB,
# a few hot pages of a statewide database), and the WAL copied back into the database by a thread of its
# own, so the firing thread's commits never stop for a checkpoint. The worker's own checkpoint stays as
# a backstop should that thread fall behind (at 8,192 pages, 32 MiB of WAL, instead of 1,000).
DAEMON_CACHE_KIB = 65_536
DAEMON_AUTOCHECKPOINT_PAGES = 8_192
CHECKPOINT_EVERY_SECONDS = 0.25


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("vcase_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def translate(exc: Exception) -> Exception:
    """Turn a driver error into the engine error a person can act on."""
    message = str(getattr(exc, "orig", exc)).lower()
    # before "locked": PostgreSQL's deadlock report says "blocked by process"
    if isinstance(exc, OperationalError) and ("could not serialize" in message or "deadlock" in message):
        return Transient("another change to the same record was made at the same time; nothing was written, try again")
    if isinstance(exc, OperationalError) and ("locked" in message or "busy" in message):
        return Busy("the database is busy with another vcase command; try again in a moment")
    if isinstance(exc, OperationalError) and "no such table" in message:
        return SchemaError("the database has no vcase schema; run `vcase init` first")
    if isinstance(exc, OverflowError) or (isinstance(exc, DataError) and "out of range" in message):
        return InvalidInput("a number given is out of range; check the id")
    if isinstance(exc, IntegrityError):
        return Conflict(f"the change conflicts with data already stored ({_first_line(message)}); nothing was written")
    return exc


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0][:200] if message.strip() else "integrity error"


def flushed(session):
    """``session``, with what the caller added through the ORM written first: a read through
    ``engine.tables`` (Core) does not autoflush as an ORM query does. A plain connection as it is."""
    flush = getattr(session, "flush", None)
    if flush is not None:
        flush()
    return session


def _forget(info: dict) -> None:
    """Drop the per-transaction caches (``vcase.*``: settings, orders, parties) from ``info``."""
    for key in [k for k in info if isinstance(k, str) and k.startswith("vcase.")]:
        del info[key]


class Store:
    """The database and the key, checked once when opened."""

    def __init__(self, url: str, keys: list[str] | None, engine: Engine | None = None):
        self.url = url
        self.engine = engine or make_engine(url)
        self._keys = keys
        self._vault: Vault | None = None

    @classmethod
    def from_config(cls, cfg: "config_mod.Config | None" = None) -> "Store":
        cfg = cfg or config_mod.load()
        return cls(cfg.database_url, read_keys(cfg.key, cfg.key_file))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            if not self._keys:
                raise EncryptionKeyError(
                    "no encryption key: set VCASE_KEY or VCASE_KEY_FILE to the agency's key (vcase init creates one)"
                )
            self._vault = Vault(self._keys)
        return self._vault

    def schema_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return None

    def check_ready(self) -> None:
        """Refuse to work on a missing or out-of-date schema, or with the wrong key."""
        revision = self.schema_revision()
        if revision is None:
            raise SchemaError("the database has no vcase schema; run `vcase init` first")
        if revision != SCHEMA_REVISION:
            raise SchemaError(
                f"the database schema is at revision {revision}, this vcase needs {SCHEMA_REVISION}; run `vcase init` to upgrade"
            )
        with self.engine.connect() as conn:
            stored = conn.execute(text("SELECT value FROM meta WHERE key = 'key_check'")).scalar()
        if stored is None:
            raise SchemaError("the database was not initialised completely; run `vcase init`")
        self.vault.verify_check_value(stored)

    @contextmanager
    def write(self) -> Iterator["Session"]:
        """One write transaction: commits on success, rolls back on any error."""
        from sqlmodel import Session

        with self.engine.connect() as conn:
            conn = conn.execution_options(vcase_write=True)
            session = Session(bind=conn, expire_on_commit=False, autoflush=True)
            try:
                with conn.begin():
                    yield session
                    session.flush()
            except Exception as exc:
                session.close()
                translated = translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
            session.close()

    def write_retrying(self, work, tries: int = 3):
        """``work(session)`` in one write transaction, run again (from the start, up to ``tries``
        times) when the database gave it up for another transaction's sake (``Transient``): for a
        change only the system can race, such as a case event's fan-out, which a person must
        never be refused for."""
        for attempt in range(tries):
            try:
                with self.write() as session:
                    return work(session)
            except Transient:
                if attempt == tries - 1:
                    raise

    @contextmanager
    def read(self) -> Iterator["Session"]:
        """A read-only transaction (rolled back at the end)."""
        from sqlmodel import Session

        with self.reading() as conn:
            session = Session(bind=conn, expire_on_commit=False)
            try:
                yield session
            finally:
                session.close()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction on a plain connection, for readers written on ``engine.tables``
        (they take a session or a connection alike): no ORM is loaded. Rolled back at the end."""
        with self.engine.connect() as conn:
            # A pooled connection's ``info`` outlives the transaction: the per-transaction caches go with
            # it, or a protective order recorded since would read as absent on the next use of the connection.
            _forget(conn.info)
            try:
                with conn.begin() as tx:
                    yield conn
                    tx.rollback()
            except Exception as exc:
                translated = translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
            finally:
                _forget(conn.info)

    @contextmanager
    def daemon_mode(self, cache_kib: int | None = None) -> Iterator[None]:
        """Tune the connections of a long-running worker (SQLite; PostgreSQL is left as it is): a page
        cache of ``cache_kib`` KiB each (default ``DAEMON_CACHE_KIB``), and checkpoints on a thread of
        their own. On leaving, the WAL is checkpointed once more and the tuning undone."""
        if not self.is_sqlite:
            yield
            return
        import threading

        cache = int(cache_kib or DAEMON_CACHE_KIB)

        def tune(dbapi_conn, _record):
            dbapi_conn.execute(f"PRAGMA cache_size=-{cache}")
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={DAEMON_AUTOCHECKPOINT_PAGES}")

        self.engine.dispose()  # connections made from now on are tuned
        event.listen(self.engine, "connect", tune)
        stop = threading.Event()
        thread = threading.Thread(target=self._checkpoints, args=(stop,), name="vcase-checkpoint", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            event.remove(self.engine, "connect", tune)
            self.engine.dispose()

    def _checkpoints(self, stop) -> None:
        """Copy the WAL back into the database while the worker writes (SQLite releases the GIL for
        it: the second core). PASSIVE: it never waits for, or blocks, a reader or the writer."""
        conn = self.engine.raw_connection()
        try:
            while True:
                try:
                    conn.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:  # busy with another process's checkpoint: the next round catches up
                    pass
                if stop.wait(CHECKPOINT_EVERY_SECONDS):
                    conn.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    return
        finally:
            conn.close()

    def page_cache_kib(self) -> int | None:
        """The page cache (KiB) a connection of this store gets now (SQLite; None on PostgreSQL)."""
        if not self.is_sqlite:
            return None
        with self.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
            if pages >= 0:  # a count of pages, not KiB
                pages = -pages * conn.exec_driver_sql("PRAGMA page_size").scalar_one() // 1024
        return -pages

    def dispose(self) -> None:
        self.engine.dispose()
