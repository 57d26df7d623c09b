"""Generated data of stated size, in the real schema, shaped like what the engine writes.

One template case is created through the real API (``engine.api.App`` and
``services.notify_api``): an officer opens a case, an advocate adds ``per_case``
survivors (email) and registers each for notices (a ``notification`` process),
and the officer records a ``release_scheduled`` event, which arms one advance
notice timer per registration (the agency setting ``notification.advance_days``
is ``7``, so exactly one). The template's rows are then cloned in bulk (ids
shifted, foreign keys, JSON details and idempotency keys remapped, every clone's
audit chains re-hashed with ``engine.audit.digest``) until there are
``instances`` registrations. Each clone has what the engine wrote for the
template: case, offender and survivor parties, the case event, the process (state
``active``, version 2), its pending ``advance-<event>-7d`` timer, two notices
(``registered`` and ``release_scheduled``; marked sent, so no daemon re-sends
them; each clone's registration and notices are dated a day further back, over three
years, so a funder's report reads years of history) and its audit entries (3 per registration + 2 per case), on the chains
the engine keeps them on (``case:<id>``, ``process:<id>``), each chain valid
for ``vcase audit verify``.

A timer firing is then the notification workflow's ``advance_release_scheduled``
step: a self-loop on ``active`` (no timers armed or cancelled), guarded by the
registration's subscription, that writes one audit entry and queues exactly one
notice (``release_scheduled_advance``, e-mail, to the registrant).

Which timers are due is the ``Plan``: groups of timers due in given windows,
the rest idle (due later), spread at random (fixed seed) over all processes.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Callable, Optional

UTC = timezone.utc
TEMPLATE_CASE = "BENCH-0000000"
WORKFLOW = "notification"
TIMER_EVENT = "advance_release_scheduled"
FIRED_ACTION = f"{WORKFLOW}.{TIMER_EVENT}"
HISTORY_DAYS = 3 * 365
STAFF = [("oscar", "Oscar Officer", "officer"), ("avery", "Avery Advocate", "advocate"),
         ("vera", "Vera Victim-Services", "victim_services")]


def case_number(c: int) -> str:
    return f"BENCH-{c:07d}"


@dataclass
class Group:
    count: int
    lo: datetime
    hi: datetime


@dataclass
class Plan:
    instances: int
    groups: list[Group]
    idle_lo: datetime
    idle_hi: datetime
    per_case: int = 5
    seed: int = 7
    zone: str = "America/Chicago"  # the cases' time zone (quiet hours are reckoned in it)

    @property
    def cases(self) -> int:
        return max(1, self.instances // self.per_case)

    @property
    def due(self) -> int:
        return sum(g.count for g in self.groups)

    def due_times(self) -> list[datetime]:
        """due_at for each process index (case-major: process i is on case i // per_case)."""
        n = self.cases * self.per_case
        rng = random.Random(self.seed)
        d = min(self.due, n)
        span_idle = (self.idle_hi - self.idle_lo).total_seconds()
        out = [self.idle_lo + timedelta(seconds=span_idle * rng.random()) for _ in range(n)]
        chosen = list(range(n)) if d == n else rng.sample(range(n), d)
        rng.shuffle(chosen)
        pos = 0
        for g in self.groups:
            span = (g.hi - g.lo).total_seconds()
            for i in chosen[pos:pos + g.count]:
                out[i] = g.lo + timedelta(seconds=span * rng.random())
            pos += g.count
        return out


def warmed(now: datetime, warm: int, due: int, idle: int = 500) -> tuple["Plan", datetime]:
    """A plan for measuring one firing: ``warm`` timers due two days ago (fired first, uncounted: caches,
    compiled statements), ``due`` due within the last day, ``idle`` more due later; and the moment
    that fires the warm-up group alone."""
    plan = Plan(instances=warm + due + idle,
                groups=[Group(warm, now - timedelta(days=2), now - timedelta(days=1, hours=1)),
                        Group(due, now - timedelta(days=1), now - timedelta(seconds=1))],
                idle_lo=now + timedelta(days=1), idle_hi=now + timedelta(days=365))
    return plan, now - timedelta(days=1, minutes=30)


@dataclass
class Built:
    url: str
    key: str
    t0: datetime
    plan: Plan
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return self.plan.cases * self.plan.per_case


def new_key() -> str:
    from engine.crypto import new_key as k

    return k()


def t0_for(now: datetime) -> datetime:
    """The template is dated 30 days before ``now`` (whole minutes)."""
    return (now - timedelta(days=30)).replace(second=0, microsecond=0)


# -- the template, through the API ------------------------------------------------

def seed_template(store, t0: datetime, per_case: int, zone: str = "America/Chicago"):
    from services import notify_api as N
    from services import service_log
    from engine.api import App
    from engine.clock import SimulatedClock
    from engine.records import bootstrap_admin
    from engine.registry import default
    from engine.schema import store_key_check, upgrade

    upgrade(store)
    store_key_check(store)
    clock = SimulatedClock(t0)
    admin = App(store, default(), clock, login="ada")
    with store.write() as s:
        bootstrap_admin(s, "ada", "Ada Admin", t0)
    for login, name, role in STAFF:
        admin.add_staff(login, name, role, email=f"{login}@agency.example")
    admin.set_setting("notification.advance_days", "7")
    # The bench measures the scheduler, not intake: its template registrations skip the record of the
    # limits of confidentiality (an extra audited row per party, cloned into every case).
    admin.set_setting("privacy.confidentiality_first", "no")
    officer, advocate = admin.as_user("oscar"), admin.as_user("avery")
    officer.open_case(TEMPLATE_CASE, "Sam Supervised", "oscar", zone)
    for k in range(per_case):
        party = advocate.add_party(TEMPLATE_CASE, "survivor", f"Survivor {k}", email=f"survivor{k}@example.org",
                                   channels=("email",))
        N.register(advocate, TEMPLATE_CASE, party["id"], "release_scheduled,released")
        if k < len(PROFILES):  # some victims answered the funder's questions (the PMT report decrypts them)
            service_log.set_profile(advocate, party["id"], PROFILES[k], "in_person")
    N.record_event(officer, TEMPLATE_CASE, "release_scheduled", t0 + timedelta(days=60), "")
    return admin


# Two of a case's five victims have a demographic profile on file (the answers the PMT report counts).
PROFILES = (
    {"race": ["black_african_american"], "gender": ["female"], "age": ["25-59"],
     "victimization": ["domestic_family_violence"]},
    {"race": ["asian", "white_non_latino"], "gender": ["male"], "age": ["60+"],
     "victimization": ["stalking_harassment"], "classification": ["limited_english_proficiency"]},
)


# -- cloning ---------------------------------------------------------------------

CLONED = ("case_file", "party", "case_event", "process", "timer", "notice", "audit_entry")
KEYED_BY_PARTY = ("party_profile",)  # no id of their own: cloned with their party


def _template_rows(store) -> dict[str, list[dict]]:
    from sqlalchemy import select

    from engine.models import AuditEntry, AuditStream, Case, CaseEvent, Notice, Party, PartyProfile, Process, Timer

    with store.engine.connect() as conn:
        case = conn.execute(select(Case.__table__).where(Case.case_number == TEMPLATE_CASE)).mappings().one()
        cid = case["id"]
        rows = {
            "case_file": [dict(case)],
            "party": [dict(r) for r in conn.execute(select(Party.__table__).where(Party.case_id == cid).order_by(Party.id)).mappings()],
            "case_event": [dict(r) for r in conn.execute(select(CaseEvent.__table__).where(CaseEvent.case_id == cid).order_by(CaseEvent.id)).mappings()],
            "process": [dict(r) for r in conn.execute(select(Process.__table__).where(Process.case_id == cid).order_by(Process.id)).mappings()],
            "notice": [dict(r) for r in conn.execute(select(Notice.__table__).where(Notice.case_id == cid).order_by(Notice.id)).mappings()],
            # every chain the case's history is on (``case:<id>``, and ``process:<id>`` where the engine keeps one)
            "audit_entry": [dict(r) for r in conn.execute(select(AuditEntry.__table__).where(AuditEntry.case_id == cid).order_by(AuditEntry.id)).mappings()],
        }
        streams = sorted({a["stream"] for a in rows["audit_entry"]})
        rows["audit_stream"] = [dict(r) for r in conn.execute(select(AuditStream.__table__).where(AuditStream.stream.in_(streams))).mappings()]
        party_ids = [p["id"] for p in rows["party"]]
        rows["party_profile"] = [dict(r) for r in conn.execute(
            select(PartyProfile.__table__).where(PartyProfile.party_id.in_(party_ids)).order_by(PartyProfile.party_id)).mappings()]
        pids = [p["id"] for p in rows["process"]]
        rows["timer"] = [dict(r) for r in conn.execute(select(Timer.__table__).where(Timer.process_id.in_(pids)).order_by(Timer.id)).mappings()]
    for table in CLONED:
        ids = [r["id"] for r in rows[table]]
        if ids != list(range(ids[0], ids[0] + len(ids))):
            raise RuntimeError(f"template {table} ids are not contiguous: {ids}")
    if {a["stream"] for a in rows["audit_entry"]} != {h["stream"] for h in rows["audit_stream"]}:
        raise RuntimeError("every audit stream of the template needs its head row")
    if len(rows["timer"]) != len(rows["process"]):
        raise RuntimeError("expected one advance timer per registration (notification.advance_days = 7)")
    return rows


def _aware(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Cloner:
    """Rows of clone ``c`` of the template (c = 0 is the template itself, never emitted), as
    tuples in the writer's storage form: the template row converted once, the changed columns set."""

    def __init__(self, tpl: dict[str, list[dict]], due: list[datetime], conv: Callable, columns: Callable):
        from engine.channels import message_id_for

        self.tpl, self.due, self.conv, self.message_id_for = tpl, due, conv, message_id_for
        self.n = {t: len(tpl[t]) for t in CLONED}
        self.case_id = tpl["case_file"][0]["id"]
        self.per_case = len(tpl["process"])
        self.proc_index = {p["id"]: k for k, p in enumerate(tpl["process"])}
        self.cols = {t: columns(t) for t in CLONED + KEYED_BY_PARTY + ("audit_stream",)}
        self.ix = {t: {c: i for i, c in enumerate(cols)} for t, cols in self.cols.items()}
        self.base = {t: [[conv(r[c]) for c in self.cols[t]] for r in tpl[t]] for t in CLONED + KEYED_BY_PARTY}
        self.sent_at = conv(tpl["notice"][0]["created_at"])
        # Years of history: clone c registered and was notified c mod HISTORY_DAYS days before the template
        # (what a funder's report reads: registrations and delivered notices by when).
        self.t0 = _aware(tpl["notice"][0]["created_at"])
        self.history = [conv(self.t0 - timedelta(days=d)) for d in range(HISTORY_DAYS)]

    def shift(self, table: str, old: Optional[int], c: int) -> Optional[int]:
        return None if old is None else old + c * self.n[table]

    def rows(self, c: int) -> dict[str, list]:
        from engine.audit import digest

        sh, tpl, conv = self.shift, self.tpl, self.conv
        cid = sh("case_file", self.case_id, c)
        out: dict[str, list] = {}

        def rows_of(table, changes):
            ix, result = self.ix[table], []
            for base, r in zip(self.base[table], tpl[table]):
                row = list(base)
                for col, value in changes(r).items():
                    row[ix[col]] = value
                result.append(row)
            return result

        number = case_number(c)
        out["case_file"] = rows_of("case_file", lambda r: {"id": cid, "case_number": number,
                                                           "supervised_person": f"Person {c}"})
        out["party"] = rows_of("party", lambda r: {"id": sh("party", r["id"], c), "case_id": cid,
                                                   "represents_id": sh("party", r["represents_id"], c)})
        out["party_profile"] = rows_of("party_profile", lambda r: {"party_id": sh("party", r["party_id"], c)})
        out["case_event"] = rows_of("case_event", lambda r: {"id": sh("case_event", r["id"], c), "case_id": cid,
                                                             "corrects_id": sh("case_event", r["corrects_id"], c)})
        then = self.history[c % HISTORY_DAYS]
        out["process"] = rows_of("process", lambda r: {"id": sh("process", r["id"], c), "case_id": cid,
                                                       "initiator_party_id": sh("party", r["initiator_party_id"], c),
                                                       "started_at": then})

        def timer(r):
            ce = sh("case_event", r["case_event_id"], c)
            return {"id": sh("timer", r["id"], c), "process_id": sh("process", r["process_id"], c),
                    "case_event_id": ce, "name": f"advance-{ce}-7d",
                    "due_at": conv(self.due[c * self.per_case + self.proc_index[r["process_id"]]])}

        out["timer"] = rows_of("timer", timer)

        def notice(r):
            _, audit_id, index, who, channel = r["idempotency_key"].split("/")
            key = f"audit/{sh('audit_entry', int(audit_id), c)}/{index}/p{sh('party', int(who[1:]), c)}/{channel}"
            return {"id": sh("notice", r["id"], c), "idempotency_key": key, "case_id": cid,
                    "process_id": sh("process", r["process_id"], c),
                    "recipient_party_id": sh("party", r["recipient_party_id"], c),
                    "case_event_id": sh("case_event", r["case_event_id"], c), "status": "sent", "attempts": 1,
                    "sent_at": then, "message_id": self.message_id_for(key, "vcase.invalid")}

        out["notice"] = rows_of("notice", notice)
        heads: dict[str, tuple[int, str]] = {}
        ix, entries = self.ix["audit_entry"], []
        for base, a in zip(self.base["audit_entry"], tpl["audit_entry"]):
            stream = self.stream(a["stream"], c)
            prev = heads.get(stream, (0, "0" * 64))[1]
            detail = dict(a["detail"])
            if "party" in detail:
                detail["party"] = sh("party", detail["party"], c)
            if "case_event" in detail:
                detail["case_event"] = sh("case_event", detail["case_event"], c)
            if "case_number" in detail:
                detail["case_number"] = number
            e = dict(a, id=sh("audit_entry", a["id"], c), stream=stream, case_id=cid,
                     process_id=sh("process", a["process_id"], c), on_behalf_of=sh("party", a["on_behalf_of"], c),
                     detail=detail, prev_hash=prev)
            e["hash"] = digest(SimpleNamespace(**e))
            heads[stream] = (e["seq"], e["hash"])
            row = list(base)
            for col in ("id", "stream", "case_id", "process_id", "on_behalf_of", "prev_hash", "hash"):
                row[ix[col]] = e[col]
            row[ix["detail"]] = conv(detail)
            entries.append(row)
        out["audit_entry"] = entries
        out["audit_stream"] = [[{"stream": stream, "seq": seq, "head_hash": head}[col] for col in self.cols["audit_stream"]]
                               for stream, (seq, head) in heads.items()]
        return out

    def stream(self, name: str, c: int) -> str:
        """``case:<id>`` and ``process:<id>`` follow their clone; any other stream name is kept."""
        kind, _, ident = name.partition(":")
        table = {"case": "case_file", "process": "process"}.get(kind)
        if table is None or not ident.isdigit():
            raise RuntimeError(f"do not know how to clone audit stream {name!r}")
        return f"{kind}:{self.shift(table, int(ident), c)}"


# -- writers -----------------------------------------------------------------------

def _columns(table: str) -> list[str]:
    from sqlmodel import SQLModel

    import engine.models  # noqa: F401

    return [c.name for c in SQLModel.metadata.tables[table].columns]


def _sqlite_value(v):
    if isinstance(v, datetime):
        v = v.astimezone(UTC) if v.tzinfo else v
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    return v


def _pg_value(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return _aware(v)


class SqliteWriter:
    conv = staticmethod(_sqlite_value)

    def __init__(self, path: str):
        import sqlite3

        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-400000")
        self.conn.execute("PRAGMA foreign_keys=OFF")  # the rows are consistent by construction
        self.conn.execute("BEGIN")

    def write(self, table: str, rows: list) -> None:
        cols = _columns(table)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        self.conn.executemany(sql, rows)

    def execute(self, sql: str, params=()) -> None:
        self.conn.execute(sql, tuple(self.conv(p) for p in params))

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.close()


class PgWriter:
    conv = staticmethod(_pg_value)

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        self.conn.execute("SET session_replication_role = replica")  # no FK triggers while loading

    def write(self, table: str, rows: list) -> None:
        cols = _columns(table)
        with self.conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)

    def execute(self, sql: str, params=()) -> None:
        self.conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        self.conn.execute("SET session_replication_role = DEFAULT")
        for table in CLONED + ("staff",):
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
        self.conn.close()


def build(url: str, plan: Plan, now: datetime, key: Optional[str] = None,
          say: Callable[[str], None] = lambda m: None) -> Built:
    """Create the schema with the real migration, seed the template through the API, clone it."""
    from engine.db import Store

    started = time.perf_counter()
    key = key or os.environ.get("VCASE_BENCH_KEY") or new_key()  # a fixed key: a kept database can be opened again
    t0 = t0_for(now)
    store = Store(url, [key])
    seed_template(store, t0, plan.per_case, plan.zone)
    tpl = _template_rows(store)
    store.dispose()
    due = plan.due_times()
    is_sqlite = url.startswith("sqlite")
    writer = SqliteWriter(url.split("///", 1)[1]) if is_sqlite else PgWriter(url)
    cloner = Cloner(tpl, due, writer.conv, _columns)
    # the template itself: its timers get their planned due times, its notices count as sent
    for k, t in enumerate(tpl["timer"]):
        writer.execute("UPDATE timer SET due_at = ? WHERE id = ?", (due[k], t["id"]))
    writer.execute("UPDATE notice SET status = 'sent', attempts = 1, sent_at = created_at WHERE case_id = ?",
                   (tpl["case_file"][0]["id"],))
    tables = CLONED + KEYED_BY_PARTY + ("audit_stream",)
    buf: dict[str, list] = {t: [] for t in tables}
    counts = {t: len(tpl[t]) for t in tables}
    chunk = 2000
    last = time.perf_counter()
    for c in range(1, plan.cases):
        for table, rows in cloner.rows(c).items():
            buf[table].extend(rows)
            counts[table] += len(rows)
        if c % chunk == 0 or c == plan.cases - 1:
            for table in tables:
                if buf[table]:
                    writer.write(table, buf[table])
                    buf[table] = []
            if time.perf_counter() - last > 15:
                last = time.perf_counter()
                say(f"  ... {c * plan.per_case:,} of {plan.cases * plan.per_case:,} instances")
    writer.close()
    return Built(url=url, key=key, t0=t0, plan=plan, seconds=time.perf_counter() - started, rows=counts)


# -- PostgreSQL databases for the benchmark ---------------------------------------------

def pg_admin(url: str):
    from sqlalchemy import create_engine

    from engine.config import normalise_url

    return create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")


def pg_url_for(admin_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    from engine.config import normalise_url

    return make_url(normalise_url(admin_url)).set(database=name).render_as_string(hide_password=False)


def pg_create(admin_url: str, name: str, template: Optional[str] = None) -> str:
    from sqlalchemy import text

    if name in ("test", "postgres", "template0", "template1"):
        raise ValueError(f"refusing to touch database {name!r}")
    engine = pg_admin(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return pg_url_for(admin_url, name)


def pg_drop(admin_url: str, name: str) -> None:
    from sqlalchemy import text

    if name in ("test", "postgres", "template0", "template1"):
        raise ValueError(f"refusing to touch database {name!r}")
    engine = pg_admin(admin_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def sqlite_url(path) -> str:
    return f"sqlite:///{os.fspath(path)}"


def copy_sqlite(src: str, dst: str) -> None:
    import shutil

    for suffix in ("-wal", "-shm"):
        if os.path.exists(dst + suffix):
            os.remove(dst + suffix)
    shutil.copyfile(src, dst)
