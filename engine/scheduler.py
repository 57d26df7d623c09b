"""The scheduler: APScheduler is the clock, the database is the truth.

``tick()`` is one pass: fire every due timer, deliver every due notice, beat
the heart. ``Daemon`` runs ticks from an APScheduler interval job plus a
cron-style sweep. APScheduler's job store (in memory, per process) holds only
these fixed jobs, never per-case timers, so nothing is lost to a job store
and several daemons on several machines share the one database safely: the
database's guarded updates and row locks decide who fires what.

Catch-up: the jobs have no misfire grace limit and coalesce, and a late tick
fires every overdue timer once, oldest first; the audit entry records when
each was due and when it fired.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Optional

from sqlalchemy import func, select

from engine.clock import from_db
from engine.models import Notice, Timer, Worker

HEARTBEAT_STALE = timedelta(minutes=2)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class TickResult:
    fired: int = 0
    skipped: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def line(self) -> str:
        return (f"fired {self.fired} timer(s) ({self.skipped} could not apply), delivered {self.sent} notice(s) "
                f"({self.retried} retrying, {self.failed} failed)")


def tick(app, worker: str = "", batch: int = 500, stop: Optional[threading.Event] = None,
         progress: Optional[Callable[[str, int], None]] = None, beat: str = "running") -> TickResult:
    """One pass: due timers, then due notices, in bounded batches; stops between batches when asked."""
    from engine.delivery import deliver_pass
    from engine.firing import fire_batch

    result = TickResult()
    while not (stop and stop.is_set()):
        fired = fire_batch(app.store, app.registry, app.now(), batch)
        result.fired += fired.fired
        result.skipped += fired.skipped
        if progress:
            progress("timers", fired.fired)
            if fired.skipped:
                progress("skipped", fired.skipped)
        if fired.fired + fired.skipped < batch:
            break
    if not (stop and stop.is_set()):
        delivered = deliver_pass(app, batch=min(batch, 50), worker=worker,
                                       progress=(lambda n: progress("notices", n)) if progress else None)
        result.sent, result.retried, result.failed = delivered.sent, delivered.retried, delivered.failed
        from engine.mailroom import purge_pass

        purge_pass(app)  # printed batches' files past their retention period
    if worker and (result.fired or result.skipped or result.sent or result.retried or result.failed
                   or _beat_due(worker, app.now())):
        heartbeat(app, worker, result, status=beat)
    return result


HEARTBEAT_EVERY = timedelta(seconds=10)  # an idle worker writes its heartbeat this often, not every pass
_last_beat: dict[str, datetime] = {}


def _beat_due(worker: str, now: datetime) -> bool:
    last = _last_beat.get(worker)
    return last is None or not timedelta(0) <= now - last < HEARTBEAT_EVERY


def simulate(app, until: datetime, via=None) -> TickResult:
    """Run a simulated clock forward to ``until`` doing the daemon's work at each moment something
    falls due (a timer, or a notice's earliest send time), in order: for the demo and previews.
    ``via``: the channels to send through (the environment's if None)."""
    from engine.delivery import deliver_pass
    from engine.firing import fire_due
    from engine.timers import next_due

    total = TickResult()
    stuck = None  # after a moment where nothing could move, only notices due later count
    while True:
        with app.store.read() as s:
            moments = [m for m in (next_due(s, until), _next_notice(s, until, stuck)) if m is not None]
        if not moments:
            app.clock.set(until)
            return total
        app.clock.set(max(min(moments), app.now()))
        fired = fire_due(app.store, app.registry, app.now())
        sent = deliver_pass(app, via=via)
        total.fired, total.skipped = total.fired + fired.fired, total.skipped + fired.skipped
        total.sent, total.retried, total.failed = (total.sent + sent.sent, total.retried + sent.retried,
                                                   total.failed + sent.failed)
        stuck = None if (fired.fired or fired.skipped or sent.handled) else app.now()


def agency_zone(app) -> str:
    """The agency's time zone (setting ``agency.time_zone``, UTC until set): the zone of a time typed
    for the scheduler, which has no case to take one from."""
    from engine import settings as settings_mod

    with app.store.read() as s:
        return settings_mod.load(s, app.registry).get("agency.time_zone", "UTC")


PG_HOWTO = ("vcase copies only a SQLite database: for PostgreSQL make a scratch copy yourself (createdb -T vcase "
            "vcase_preview, or pg_dump vcase | psql vcase_preview) and name it: --on-a-copy postgresql://HOST/vcase_preview")


def preview_target(store, target: str) -> str:
    """The database URL a preview runs on, refusing any way it could be the real one (nothing is
    written by a refusal). SQLite: ``target`` is a new file that will hold a copy. PostgreSQL:
    ``target`` is the URL of a scratch database the user copied; vcase does not copy one."""
    from sqlalchemy.engine import make_url

    from engine.errors import InvalidInput

    if target.startswith("postgresql"):
        if store.is_sqlite:
            raise InvalidInput("the copy of a SQLite database is a file: --on-a-copy PATH (a new file)")
        mine, theirs = make_url(store.url), make_url(target)
        if (mine.host or "localhost", mine.port or 5432, mine.database) == \
                (theirs.host or "localhost", theirs.port or 5432, theirs.database):
            raise InvalidInput("--on-a-copy names the agency's own database (VCASE_DATABASE_URL); name a scratch copy")
        return target
    if not store.is_sqlite:
        raise InvalidInput(PG_HOWTO)
    path = Path(target).expanduser().resolve()
    if path.exists():
        raise InvalidInput(f"{path} already exists; name a new file for the copy")
    if not path.parent.is_dir():
        raise InvalidInput(f"no folder {path.parent} for the copy")
    return f"sqlite:///{path}"


def copy_sqlite(store, url: str) -> Path:
    """A consistent copy of the SQLite database at ``url``'s (new) file, with SQLite's backup API:
    every committed transaction is in it, the ones still in the write-ahead log included, which
    copying the file misses while a daemon runs. The real file is only read (a read-only connection
    never checkpoints), and the copy is readable by its owner only."""
    import os
    import sqlite3

    source_path = Path(store.engine.url.database).resolve()
    target = Path(url.split("///", 1)[-1])
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # owner-only before a byte is written
    os.close(fd)
    try:
        try:
            source = sqlite3.connect(f"{source_path.as_uri()}?mode=ro", uri=True, timeout=30)
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:  # no -shm yet and none can be made read-only: an ordinary reader
            source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def preview(app, target: str, until: datetime):
    """Run a simulated clock to ``until`` on a copy of the database (``preview_target``), firing each
    timer at its own due time; notices are queued there, never sent. Returns (where, BatchResult)."""
    from engine.api import App
    from engine.clock import SimulatedClock
    from engine.db import Store

    url = preview_target(app.store, target)
    if app.store.is_sqlite:
        where = str(copy_sqlite(app.store, url))
    else:
        where = target
    copy = App(Store(url, app.store._keys), app._registry, SimulatedClock(app.now()), app.login, app.outbox)
    try:
        copy.store.check_ready()
        return where, copy.run_until(until)
    finally:
        copy.store.engine.dispose()


def _next_notice(session, until: datetime, after: Optional[datetime]):
    from engine.delivery import due_query

    query = due_query(until, 1, skip_locked=False)
    if after is not None:
        query = query.where(Notice.not_before > after)
    row = session.execute(query).scalars().first()
    return from_db(row.not_before) if row is not None else None


def settle() -> None:
    """Move everything loaded at start-up (modules, the ORM, compiled workflows) out of the garbage
    collector's view: a long-running worker's collections then scan only what its batches make
    (about 10% more steps per second). Call once, after start-up."""
    import gc

    gc.collect()
    gc.freeze()


def heartbeat(app, worker: str, result: Optional[TickResult] = None, status: str = "running") -> None:
    now = app.now()
    _last_beat[worker] = now
    with app.store.write() as session:
        row = session.get(Worker, worker)
        if row is None:
            parts = worker.split(":")
            pid = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            row = Worker(id=worker, host=parts[0], pid=pid, started_at=now, last_seen=now)
        row.last_seen, row.status = now, status
        if result:
            row.fired += result.fired
            row.delivered += result.sent
        session.add(row)


def status(app) -> dict[str, Any]:
    """Workers, what is due, queued and failed notices, and the oldest overdue item."""
    from engine.permissions import require

    now = app.now()
    with app.store.read() as s:
        require(app._actor(s), "scheduler.status")
        workers = [{"worker": w.id, "status": w.status if w.status != "running" or now - from_db(w.last_seen) < HEARTBEAT_STALE
                    else "silent", "last_seen": from_db(w.last_seen).isoformat(), "started_at": from_db(w.started_at).isoformat(),
                    "fired": w.fired, "delivered": w.delivered}
                   for w in s.execute(select(Worker).order_by(Worker.last_seen.desc())).scalars()]
        due_timers = s.execute(select(func.count()).select_from(Timer).where(
            Timer.status == "pending", Timer.due_at <= now)).scalar_one()
        oldest_timer = from_db(s.execute(select(func.min(Timer.due_at)).where(
            Timer.status == "pending", Timer.due_at <= now)).scalar())
        counts = dict(s.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())
        oldest_notice = from_db(s.execute(select(func.min(Notice.not_before)).where(
            Notice.status == "queued", Notice.not_before <= now)).scalar())
        oldest_letter = from_db(s.execute(select(func.min(Notice.sent_at)).where(
            Notice.status == "awaiting_print")).scalar())
    overdue = [x for x in (oldest_timer, oldest_notice) if x is not None]
    return {
        "now": now.isoformat(), "workers": workers, "due_timers": due_timers,
        "queued_notices": counts.get("queued", 0), "held_notices": counts.get("held", 0),
        "failed_notices": counts.get("failed", 0), "sent_notices": counts.get("sent", 0) + counts.get("confirmed", 0),
        # Letters with the mail room: waiting for print (since when), printed but not yet handed over.
        "letters_awaiting_print": counts.get("awaiting_print", 0),
        "oldest_letter_waiting": oldest_letter.isoformat() if oldest_letter else None,
        "letters_printed_not_mailed": counts.get("printed", 0),
        "oldest_overdue": min(overdue).isoformat() if overdue else None,
        "oldest_overdue_seconds": int((now - min(overdue)).total_seconds()) if overdue else 0,
    }


def due_left(app) -> tuple[int, int]:
    """Timers and notices due now and not yet done (two indexed counts)."""
    now = app.now()
    with app.store.read() as s:
        timers_due = s.execute(select(func.count()).select_from(Timer).where(
            Timer.status == "pending", Timer.due_at <= now)).scalar_one()
        notices_due = s.execute(select(func.count()).select_from(Notice).where(
            Notice.status == "queued", Notice.not_before <= now)).scalar_one()
    return timers_due, notices_due


class Progress:
    """A daemon's work, said at most once every ``every`` seconds while there is some: how many
    timers fired and notices were worked since the last line, and how many are still due. An idle
    daemon says nothing; a pass that runs for minutes is not silent."""

    def __init__(self, app, say: Callable[[str], None], every: float = 10.0, clock: Callable[[], float] = None):
        import time

        self.app, self.say, self.every = app, say, every
        self.clock = clock or time.monotonic
        self.since = self.clock()
        self.counts = {"timers": 0, "skipped": 0, "notices": 0}

    def add(self, kind: str, n: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n
        self.due()

    def due(self, idle: bool = False) -> None:
        """Say the line if ``every`` seconds passed, or at once when the work is done (``idle``)."""
        if not any(self.counts.values()) or not (idle or self.clock() - self.since >= self.every):
            return
        timers_due, notices_due = due_left(self.app)
        skipped = f" ({self.counts['skipped']:,} could not apply)" if self.counts["skipped"] else ""
        self.say(f"fired {self.counts['timers']:,} timer(s){skipped}, worked {self.counts['notices']:,} notice(s) "
                 f"in {self.clock() - self.since:.0f}s; due now: {timers_due:,} timer(s), {notices_due:,} notice(s)")
        self.counts = {k: 0 for k in self.counts}
        self.since = self.clock()


class _SkippedRuns:
    """APScheduler warns each interval that a pass is still running (max_instances=1 is the point):
    not news while a backlog is worked; ``Progress`` says what is happening instead."""

    def filter(self, record) -> bool:
        return "maximum number of running instances" not in record.getMessage()


class Daemon:
    """``vcase scheduler run``: ticks every ``interval`` seconds until SIGTERM/SIGINT."""

    def __init__(self, app, interval: float = 0.5, batch: int = 500, say: Callable[[str], None] = print,
                 progress_every: float = 10.0, cache_mib: Optional[int] = None):
        self.app, self.interval, self.batch, self.say = app, interval, batch, say
        self.cache_mib = cache_mib  # SQLite: each connection's page cache (None: engine.db's default)
        self.worker = worker_id()
        self.stop = threading.Event()
        self.progress = Progress(app, say, progress_every)

    def _tick(self) -> None:
        from engine.redact import scrub

        try:
            result = tick(self.app, self.worker, self.batch, self.stop, progress=self.progress.add)
        except Exception as exc:  # a failed pass is retried on the next; it never kills the daemon
            self.say(f"tick failed, will retry: {type(exc).__name__}: {scrub(exc)}")
            return
        self.progress.due(idle=not (result.fired or result.skipped or result.sent or result.retried or result.failed))

    def _sweep(self) -> None:
        from engine.redact import scrub

        try:
            heartbeat(self.app, self.worker)
        except Exception as exc:
            self.say(f"heartbeat failed: {type(exc).__name__}: {scrub(exc)}")

    def run(self) -> int:
        import signal

        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        import logging

        clock_log = logging.getLogger("vcase.scheduler.clock")  # APScheduler's own lines, less the skipped runs
        if not any(isinstance(f, _SkippedRuns) for f in clock_log.filters):
            clock_log.addFilter(_SkippedRuns())
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()}, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone="UTC",
            logger=clock_log)
        scheduler.add_job(self._tick, "interval", seconds=self.interval, id="fire_and_deliver",
                          next_run_time=datetime.now().astimezone())
        scheduler.add_job(self._sweep, "interval", seconds=max(self.interval * 3, 10), id="heartbeat")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        heartbeat(self.app, self.worker)
        with self.app.store.daemon_mode(cache_kib=self.cache_mib * 1024 if self.cache_mib else None):
            settle()
            scheduler.start()
            cache = self.app.store.page_cache_kib()
            cache = f", page cache {cache // 1024:,} MiB" if cache is not None else ""
            self.say(f"scheduler {self.worker} running: every {self.interval:g}s{cache}; stop with Ctrl-C or SIGTERM")
            self.stop.wait()
            self.say("stopping: finishing the current batch")
            scheduler.shutdown(wait=True)
        heartbeat(self.app, self.worker, status="stopped")
        self.say("stopped")
        return 0
