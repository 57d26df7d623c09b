"""The figures. Each is measured next to its baseline in the same run; none asserts anything."""

from __future__ import annotations

import contextlib

import json
import random
import re
import subprocess
import statistics
from collections import Counter
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from bench import data as D
from bench import procs as P

UTC = timezone.utc
STEP = ("notification workflow, timer advance-<event>-7d firing advance_release_scheduled on an active registration: "
        "event applied (self-loop, version bump), 1 audit entry, 1 notice queued (release_scheduled_advance, email)")


@dataclass
class Sizes:
    fire_n: int = 100_000  # due timers, SQLite
    single_n: int = 5_000  # due timers fired one at a time (the reference path), for information
    aps_n: int = 10_000  # APScheduler one-off jobs
    pg_n: int = 10_000  # due timers, PostgreSQL
    floor_n: int = 100_000  # due timers replayed without vcase (bench.floor), SQLite; PostgreSQL takes pg_n
    floor_rounds: int = 1
    idle_big: int = 1_000_000  # idle instances (the 1M database: idle, case_show, memory)
    idle_small: int = 10_000
    idle_due: int = 1_000  # due timers fired per round
    idle_rounds: int = 5
    runs: int = 10  # wall-time runs of each command and its baseline
    latency_events: int = 200
    latency_gap: float = 0.1  # mean seconds between events (exponential)
    latency_intervals: tuple[float, ...] = (0.0, 5.0)  # daemon --interval; 0: the command's default
    memory_due: int = 1_000  # due timers the daemon fires in the memory figure
    memory_seconds: float = 180.0  # at most this long
    render_n: int = 20_000
    per_case: int = 5  # registrations per case


QUICK = dict(fire_n=2_000, single_n=500, aps_n=1_000, pg_n=1_000, floor_n=1_000, idle_big=50_000, idle_small=5_000, idle_due=200, idle_rounds=2,
             runs=3, latency_events=30, latency_intervals=(0.0,), memory_due=200, memory_seconds=60.0, render_n=3_000)


@dataclass
class Figure:
    name: str
    title: str
    value: Optional[float]
    unit: str
    baseline_label: str = "-"
    baseline: Optional[float] = None
    ratio: Optional[float] = None
    ratio_label: str = ""
    target: str = "-"
    met: Optional[bool] = None
    size: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ctx:
    def __init__(self, sizes: Sizes, workdir: Path, pg_admin_url: Optional[str], say: Callable[[str], None]):
        self.sizes, self.workdir, self.pg_admin_url, self.say = sizes, workdir, pg_admin_url, say
        self.now = datetime.now(UTC).replace(microsecond=0)
        self._idle: Optional[dict[str, D.Built]] = None
        self.pg_databases: list[str] = []

    # -- the 1M (idle) databases: shared by idle, case_show and memory ----------------------

    def idle_round_now(self, r: int) -> datetime:
        return self.now - timedelta(hours=self.sizes.idle_rounds - r)

    def idle_plan(self, idle: int) -> D.Plan:
        s = self.sizes
        groups = [D.Group(s.idle_due, self.idle_round_now(r) - timedelta(minutes=30),
                          self.idle_round_now(r) - timedelta(seconds=1)) for r in range(s.idle_rounds)]
        groups.append(D.Group(s.memory_due, self.now - timedelta(minutes=20), self.now - timedelta(seconds=1)))
        due = sum(g.count for g in groups)
        n = -(-(idle + due) // s.per_case) * s.per_case
        return D.Plan(instances=n, groups=groups, idle_lo=self.now + timedelta(days=1),
                      idle_hi=self.now + timedelta(days=365), per_case=s.per_case)

    def idle_dbs(self) -> dict[str, D.Built]:
        if self._idle is None:
            self._idle = {}
            for label, idle in (("big", self.sizes.idle_big), ("small", self.sizes.idle_small)):
                path = self.workdir / f"idle-{label}.db"
                self.say(f"building the {label} SQLite database: {idle:,} idle instances ...")
                built = D.build(D.sqlite_url(path), self.idle_plan(idle), self.now, say=self.say)
                self.say(f"  built in {built.seconds:.0f}s ({path.stat().st_size / 1e9:.2f} GB)")
                self._idle[label] = built
        return self._idle


class StatementTimer:
    """Time spent inside the database driver, by statement shape (first words and table)."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine = engine
        self.by: dict[str, list] = {}
        self.total = 0.0
        self._start: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        self._start[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        elapsed = time.perf_counter() - self._start.pop(id(cursor), time.perf_counter())
        words = statement.split()
        table = next((w for prev, w in zip(words, words[1:]) if prev.upper() in ("FROM", "INTO", "UPDATE")), "")
        key = f"{words[0].upper()} {table}".strip()
        slot = self.by.setdefault(key, [0, 0.0])
        slot[0] += 1
        slot[1] += elapsed
        self.total += elapsed

    def reset(self) -> None:
        self.by, self.total = {}, 0.0

    def summary(self, steps: int) -> dict:
        steps = max(1, steps)
        return {"sql_ms_per_step": self.total / steps * 1e3,
                "statements_per_step": sum(v[0] for v in self.by.values()) / steps,
                "top_ms_per_step": {k: round(v[1] / steps * 1e3, 3) for k, v in
                                    sorted(self.by.items(), key=lambda kv: -kv[1][1])[:8]}}

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def _counts(store, since_id: int = 0) -> dict[str, int]:
    from sqlalchemy import func, select

    from engine.models import AuditEntry, Notice, Timer

    with store.engine.connect() as c:
        return {
            "audit_entries": c.execute(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == D.FIRED_ACTION)).scalar_one(),
            "distinct_processes": c.execute(select(func.count(func.distinct(AuditEntry.process_id))).where(
                AuditEntry.action == D.FIRED_ACTION)).scalar_one(),
            "notices_queued": c.execute(select(func.count()).select_from(Notice).where(
                Notice.template == "notification/victim/release_scheduled_advance")).scalar_one(),
            "timers_fired": c.execute(select(func.count()).select_from(Timer).where(Timer.status == "fired")).scalar_one(),
            "timers_skipped": c.execute(select(func.count()).select_from(Timer).where(Timer.status == "cancelled")).scalar_one(),
        }


# -- 1. due timed steps fired per second, SQLite, beside APScheduler ----------------------------

def fire_sqlite(ctx: Ctx) -> list[Figure]:
    from engine.db import Store
    from engine.firing import fire_due
    from engine.registry import default
    from engine.scheduler import settle

    from bench.apsched import drain

    s = ctx.sizes
    plan = D.Plan(instances=s.fire_n, groups=[D.Group(s.fire_n, ctx.now - timedelta(days=1), ctx.now - timedelta(seconds=1))],
                  idle_lo=ctx.now + timedelta(days=1), idle_hi=ctx.now + timedelta(days=365), per_case=s.per_case)
    path = ctx.workdir / "fire.db"
    ctx.say(f"building the SQLite database: {plan.cases * plan.per_case:,} instances, all due ...")
    built = D.build(D.sqlite_url(path), plan, ctx.now, say=ctx.say)
    n = built.instances
    store = Store(built.url, [built.key])
    registry = default()
    ctx.say(f"firing {n:,} due timers (fire_due, batch 500) ...")
    settle()  # as the daemon does once it has started
    with store.daemon_mode():  # as the daemon runs: its page cache, checkpoints on their own thread
        sql = StatementTimer(store.engine)
        t, cpu = time.perf_counter(), time.process_time()
        result = fire_due(store, registry, ctx.now)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        sql.close()
    checks = _counts(store)
    store.dispose()
    rate = result.fired / elapsed
    sql_summary = sql.summary(result.fired)
    ctx.say(f"  {result.fired:,} fired in {elapsed:.1f}s: {rate:,.0f}/s (CPU {cpu:.1f}s: {result.fired / cpu:,.0f}/s of "
            f"CPU; {sql_summary['sql_ms_per_step']:.2f} ms/step in the driver, "
            f"{sql_summary['statements_per_step']:.1f} statements/step)")
    ctx.say(f"APScheduler baseline: draining {s.aps_n:,} one-off jobs from SQLAlchemyJobStore(sqlite) ...")
    aps = drain(str(ctx.workdir / "apscheduler.db"), s.aps_n)
    ctx.say(f"  {aps['executed']:,} run in {aps['seconds']:.1f}s: {aps['per_second']:,.0f}/s")
    ratio = rate / aps["per_second"]
    single = _fire_one_at_a_time(ctx)
    return [Figure(
        "fire_sqlite", "due timed steps fired per second (SQLite)", rate, "steps/s",
        f"APScheduler {aps['apscheduler']} SQLAlchemyJobStore(sqlite), {aps['jobs']:,} one-off jobs", aps["per_second"],
        ratio, "x baseline", ">= 10,000/s and >= 10x baseline", rate >= 10_000 and ratio >= 10,
        f"{n:,} due ({plan.cases:,} cases)",
        f"{result.fired:,} fired in {elapsed:.0f}s ({result.fired / cpu:,.0f}/s per CPU-second); "
        f"{checks['audit_entries']:,} audit entries, {checks['notices_queued']:,} notices queued; "
        f"{sql_summary['statements_per_step']:.0f} SQL statements/step",
        {"fired": result.fired, "skipped": result.skipped, "seconds": elapsed, "cpu_seconds": cpu, "sql": sql_summary,
         "checks": checks, "step": STEP,
         "apscheduler": aps, "build_seconds": built.seconds, "rows": built.rows}),
        Figure("fire_sqlite_single", "the same, one timer at a time (the reference path the batch is tested against)",
               single["rate"], "steps/s", f"the batch path above ({rate:,.0f}/s)", rate, single["rate"] / rate,
               "of the batch path", "(information)", None, f"{single['fired']:,} due",
               f"{single['statements_per_step']:.0f} SQL statements/step", single)]


def _fire_one_at_a_time(ctx: Ctx) -> dict:
    """``fire_due(..., one_at_a_time=True)`` on a smaller copy of the same data: the before figure."""
    from engine.db import Store
    from engine.firing import fire_due
    from engine.registry import default

    s = ctx.sizes
    plan = D.Plan(instances=s.single_n, groups=[D.Group(s.single_n, ctx.now - timedelta(days=1), ctx.now - timedelta(seconds=1))],
                  idle_lo=ctx.now + timedelta(days=1), idle_hi=ctx.now + timedelta(days=365), per_case=s.per_case)
    built = D.build(D.sqlite_url(ctx.workdir / "fire-single.db"), plan, ctx.now, say=ctx.say)
    store = Store(built.url, [built.key])
    ctx.say(f"firing {built.instances:,} due timers one at a time (the reference path) ...")
    sql = StatementTimer(store.engine)
    t = time.perf_counter()
    result = fire_due(store, default(), ctx.now, one_at_a_time=True)
    elapsed = time.perf_counter() - t
    sql.close()
    store.dispose()
    summary = sql.summary(result.fired)
    ctx.say(f"  {result.fired:,} fired in {elapsed:.1f}s: {result.fired / elapsed:,.0f}/s")
    return {"fired": result.fired, "seconds": elapsed, "rate": result.fired / elapsed,
            "statements_per_step": summary["statements_per_step"]}


# -- 2. the same on PostgreSQL: 2 daemons vs 1 ------------------------------------------------

def fire_pg(ctx: Ctx) -> list[Figure]:
    from sqlalchemy import create_engine, func, select, text

    from engine.models import Timer, Worker

    if not ctx.pg_admin_url:
        return [Figure("fire_pg", "steps/s on PostgreSQL, 2 daemons vs 1", None, "x", notes="skipped: no --pg-url")]
    s = ctx.sizes
    tpl_name, run_name = "vcase_bench_tpl", "vcase_bench_run"
    ctx.pg_databases += [tpl_name, run_name]
    zone = _zone_at(ctx.now, 1)  # 01:00 there: the queued notices wait for the morning, so the daemons only fire
    plan = D.Plan(instances=s.pg_n, groups=[D.Group(s.pg_n, ctx.now - timedelta(days=1), ctx.now - timedelta(seconds=1))],
                  idle_lo=ctx.now + timedelta(days=1), idle_hi=ctx.now + timedelta(days=365), per_case=s.per_case,
                  zone=zone)
    ctx.say(f"building the PostgreSQL template database: {plan.cases * plan.per_case:,} instances, all due ...")
    url = D.pg_create(ctx.pg_admin_url, tpl_name)
    built = D.build(url, plan, ctx.now, say=ctx.say)
    n = built.instances
    runs: dict[int, dict] = {}
    for k in (1, 2):
        run_url = D.pg_create(ctx.pg_admin_url, run_name, template=tpl_name)
        home = ctx.workdir / f"pg{k}"
        home.mkdir(exist_ok=True)
        env = P.vcase_env(run_url, built.key, home)
        engine = create_engine(run_url)
        pending_q = select(func.count()).select_from(Timer).where(Timer.status == "pending", Timer.due_at <= func.now())
        defaults = P.daemon_defaults()
        ctx.say(f"{k} daemon(s) (scheduler run, its defaults: --interval {defaults['interval']:g} --batch "
                f"{defaults['batch']}) on {n:,} due timers ...")
        daemons = [P.Daemon(env, log_dir=ctx.workdir) for _ in range(k)]
        start = end = None
        cpu_at_start: dict[int, float] = {}
        machine_at_start = (0.0, 0.0)
        deadline = time.perf_counter() + 120 + n / 20
        waits: Counter = Counter()  # what the daemons' sessions are doing, sampled every 0.2 s
        activity = text("SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') || CASE WHEN wait_event_type = "
                        "'Lock' THEN ' <- ' || regexp_replace(left(query, 70), '\\s+', ' ', 'g') ELSE '' END "
                        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state = 'active'")
        daemon_cpu, machine_busy = [], None
        try:
            while time.perf_counter() < deadline:
                for d in daemons:
                    d.poll_running()
                if start is None and any(d.running_at for d in daemons):
                    start = min(d.running_at for d in daemons if d.running_at)
                    cpu_at_start = {i: d.cpu_seconds() or 0.0 for i, d in enumerate(daemons)}
                    machine_at_start = P.machine_cpu()
                with engine.connect() as conn:
                    pending = conn.execute(pending_q).scalar_one()
                    if start is not None:
                        waits.update(conn.execute(activity).scalars().all())
                        waits["samples"] += 1
                if pending == 0:
                    end = time.perf_counter()
                    daemon_cpu = [(d.cpu_seconds() or 0.0) - cpu_at_start.get(i, 0.0) for i, d in enumerate(daemons)]
                    busy, total = P.machine_cpu()
                    machine_busy = (busy - machine_at_start[0]) / max(1.0, total - machine_at_start[1])
                    break
                time.sleep(0.2)
        finally:
            codes = [d.stop(timeout=10) for d in daemons]
            logs = [d.text() for d in daemons]
            for d in daemons:
                d.cleanup()
        with engine.connect() as conn:
            shares = conn.execute(select(Worker.fired).where(Worker.fired > 0)).scalars().all()
        from engine.db import Store

        store = Store(run_url, [built.key])
        checks = _counts(store)
        store.dispose()
        engine.dispose()
        elapsed = (end - start) if end and start else None
        fired_twice = checks["audit_entries"] - checks["distinct_processes"]
        runs[k] = {"seconds": elapsed, "per_second": n / elapsed if elapsed else None, "checks": checks,
                   "fired_twice": fired_twice, "worker_shares": shares, "exit_codes": codes,
                   "pg_activity_samples": dict(waits.most_common()),
                   "daemon_cpu_seconds": daemon_cpu, "machine_cpu_busy": machine_busy,
                   "daemon_cpu_ms_per_step": sum(daemon_cpu) / max(1, checks["timers_fired"]) * 1e3,
                   "errors": [line for log in logs for line in log.splitlines()
                              if "tick failed" in line or "heartbeat failed" in line][:5]}
        ctx.say(f"  {checks['timers_fired']:,} fired in {elapsed or float('nan'):.1f}s "
                f"({runs[k]['per_second'] or 0:,.0f}/s); fired twice: {fired_twice}; shares {shares}")
        ctx.say(f"  daemon sessions sampled: {dict(waits.most_common(6))}")
        ctx.say(f"  daemon CPU {sum(daemon_cpu):.1f}s ({runs[k]['daemon_cpu_ms_per_step']:.1f} ms/step); machine "
                f"{(machine_busy or 0):.0%} busy")
        D.pg_drop(ctx.pg_admin_url, run_name)
    D.pg_drop(ctx.pg_admin_url, tpl_name)
    one, two = runs[1]["per_second"], runs[2]["per_second"]
    ratio = two / one if one and two else None
    twice = runs[1]["fired_twice"] + runs[2]["fired_twice"]
    return [
        Figure("fire_pg", "steps/s on PostgreSQL, 2 daemons vs 1", two, "steps/s (2 daemons)",
               "1 daemon", one, ratio, "x 1 daemon", ">= 1.5x, each daemon >= 5,000/s, zero steps fired twice",
               bool(ratio and ratio >= 1.5 and two / 2 >= 5_000 and twice == 0), f"{n:,} due ({plan.cases:,} cases)",
               f"fired twice: {twice}; each daemon {(two or 0) / 2:,.0f} steps/s in the pair; 2-daemon shares "
               f"{runs[2]['worker_shares']}; machine CPU busy "
               f"{(runs[1]['machine_cpu_busy'] or 0):.0%} -> {(runs[2]['machine_cpu_busy'] or 0):.0%}; daemon CPU "
               f"{runs[1]['daemon_cpu_ms_per_step']:.1f} -> {runs[2]['daemon_cpu_ms_per_step']:.1f} ms/step; sessions "
               f"waiting on a lock {_lock_share(runs[2]['pg_activity_samples']):.0%} of samples",
               {"runs": runs, "build_seconds": built.seconds, "step": STEP}),
    ]


def fire_floor(ctx: Ctx) -> list[Figure]:
    """The firing figure's data fired by the engine, beside the writes it sends replayed through the
    driver with no vcase code (``bench.floor``): the rate no code writing a step can pass here."""
    from bench import floor

    s = ctx.sizes
    out = []
    for database, n, url in (("SQLite", s.floor_n, None), ("PostgreSQL", s.pg_n, ctx.pg_admin_url)):
        if database == "PostgreSQL" and not url:
            continue
        ctx.say(f"the floor on {database}: {n:,} due, the engine beside its statements replayed through the driver ...")
        f = floor.measure(n, s.floor_rounds, bare=True, pg_url=url, say=ctx.say)
        ctx.say(f"  the engine {f['engine_steps_per_s']:,}/s; its writes alone {f['writes_only_steps_per_s']:,}/s; "
                f"without the reader indexes {f['bare_writes_steps_per_s']:,}/s")
        target = 10_000 if database == "SQLite" else 5_000
        out.append(Figure(
            f"fire_floor_{database.lower()}", f"a step's writes alone, replayed through the driver without vcase ({database})",
            float(f["writes_only_steps_per_s"]), "steps/s", "the engine firing the same timers, same run",
            float(f["engine_steps_per_s"]), f["engine_steps_per_s"] / f["writes_only_steps_per_s"], "of the floor reached",
            f"(information: the firing target, {target:,}/s, is out of reach of any code while this is below it)",
            None, f"{n:,} due, median of {s.floor_rounds}",
            f"its statements with their reads {f['replay_steps_per_s']:,}/s; the writes without the "
            f"{len(f['bare_dropped'])} reader indexes {f['bare_writes_steps_per_s']:,}/s", f))
    return out


def _lock_share(samples: dict) -> float:
    sessions = sum(v for k, v in samples.items() if k != "samples")
    locked = sum(v for k, v in samples.items() if k.startswith("Lock:"))
    return locked / sessions if sessions else 0.0


# -- 3. firing 1,000 due among 1M idle vs among 10k idle ------------------------------------

def idle(ctx: Ctx) -> list[Figure]:
    from engine.db import Store
    from engine.firing import fire_due
    from engine.registry import default

    s = ctx.sizes
    dbs = ctx.idle_dbs()
    registry = default()
    stores = {label: Store(b.url, [b.key]) for label, b in dbs.items()}
    times: dict[str, list[float]] = {"big": [], "small": []}
    cpus: dict[str, list[float]] = {"big": [], "small": []}
    fired: dict[str, list[int]] = {"big": [], "small": []}
    tuned = contextlib.ExitStack()
    for store in stores.values():  # as the daemon runs: its page cache, checkpoints on their own thread
        tuned.enter_context(store.daemon_mode())
    sqls = {label: StatementTimer(store.engine) for label, store in stores.items()}
    for r in range(s.idle_rounds):
        now = ctx.idle_round_now(r)
        for label in (("big", "small") if r % 2 == 0 else ("small", "big")):
            t, cpu = time.perf_counter(), time.process_time()
            result = fire_due(stores[label], registry, now)
            times[label].append(time.perf_counter() - t)
            cpus[label].append(time.process_time() - cpu)
            fired[label].append(result.fired)
        ctx.say(f"  round {r + 1}: {fired['big'][-1]} fired in {times['big'][-1]:.2f}s among {dbs['big'].instances:,}; "
                f"{fired['small'][-1]} in {times['small'][-1]:.2f}s among {dbs['small'].instances:,}")
    sql = {label: t.summary(sum(fired[label])) for label, t in sqls.items()}
    for label, store in stores.items():
        sqls[label].close()
    tuned.close()
    for store in stores.values():
        store.dispose()
    big, small = statistics.median(times["big"]), statistics.median(times["small"])
    ratio = big / small
    cpu_ratio = statistics.median(cpus["big"]) / statistics.median(cpus["small"])
    ctx.say(f"  driver time per step {sql['big']['sql_ms_per_step']:.2f} ms vs {sql['small']['sql_ms_per_step']:.2f} ms; "
            f"top big: {sql['big']['top_ms_per_step']}")
    return [Figure(
        "idle", f"cost of firing {s.idle_due:,} due steps among {s.idle_big:,} idle instances (SQLite)", big, "s",
        f"the same among {s.idle_small:,} idle", small, ratio, "x", "ratio <= 1.5", ratio <= 1.5,
        f"{dbs['big'].instances:,} vs {dbs['small'].instances:,} instances; median of {s.idle_rounds} rounds",
        f"per step {big / max(1, s.idle_due) * 1e3:.2f} vs {small / max(1, s.idle_due) * 1e3:.2f} ms, of which in the "
        f"driver {sql['big']['sql_ms_per_step']:.2f} vs {sql['small']['sql_ms_per_step']:.2f} ms; CPU-time ratio "
        f"{cpu_ratio:.2f}",
        {"times": times, "cpu_seconds": cpus, "cpu_ratio": cpu_ratio, "sql": sql, "fired": fired,
         "rows": {k: b.rows for k, b in dbs.items()},
         "build_seconds": {k: b.seconds for k, b in dbs.items()}})]


# -- 4, 5. command wall times -------------------------------------------------------------

def _vcase_cmd() -> list[str]:
    script = Path(sys.executable).parent / "vcase"
    return [str(script)] if script.exists() else [sys.executable, str(P.ROOT / "cli.py")]


def _cpu_note(out: dict) -> str:
    return (f"min {out['min']:.3f}s vs {out['baseline_min']:.3f}s; CPU time (user+sys) {out['cpu_median']:.3f}s vs "
            f"{out['baseline_cpu_median']:.3f}s = {out['cpu_median'] / out['baseline_cpu_median']:.2f}x")


def case_show(ctx: Ctx) -> list[Figure]:
    s = ctx.sizes
    big = ctx.idle_dbs()["big"]
    home = ctx.workdir / "show"
    home.mkdir(exist_ok=True)
    env = P.vcase_env(big.url, big.key, home, user="avery")
    number = D.case_number(big.plan.cases // 2)
    cmd = _vcase_cmd() + ["case", "show", number]
    base = [sys.executable, "-c", "import sqlmodel"]
    ctx.say(f"`vcase case show {number}` on {big.instances:,} instances vs `python -c 'import sqlmodel'`, {s.runs} runs ...")
    out = P.alternate(cmd, base, s.runs, env=env)
    ratio = out["median"] / out["baseline_median"]
    return [Figure("case_show", "`vcase case show` wall time (SQLite)", out["median"], "s",
                   "python -c 'import sqlmodel'", out["baseline_median"], ratio, "x", "ratio <= 1.2", ratio <= 1.2,
                   f"{big.instances:,} instances; median of {s.runs}", _cpu_note(out), out)]


def pmt(ctx: Ctx) -> list[Figure]:
    """`vcase report pmt` on the statewide database (years of registrations and delivered notices)
    against `vcase case show` on the same database, run alternately."""
    from services.pmt_report import quarter_containing

    s = ctx.sizes
    big = ctx.idle_dbs()["big"]
    home = ctx.workdir / "pmt"
    home.mkdir(exist_ok=True)
    quarter = quarter_containing((ctx.now - timedelta(days=200)).date(), 10)
    report = _vcase_cmd() + ["report", "pmt", "--quarter", quarter, "--json"]
    show = _vcase_cmd() + ["case", "show", D.case_number(big.plan.cases // 2)]
    ctx.say(f"`vcase report pmt --quarter {quarter}` vs `vcase case show` on {big.instances:,} instances, "
            f"{s.runs} runs ...")
    env = P.vcase_env(big.url, big.key, home, user="vera")
    out = P.alternate(report, show, s.runs, env=env, base_env=env)
    said = subprocess.run(report, env=env, capture_output=True, text=True)
    if said.returncode != 0:
        raise RuntimeError(f"vcase report pmt failed: {said.stderr.strip()}")
    served = json.loads(said.stdout)["individuals"]
    ratio = out["median"] / out["baseline_median"]
    return [Figure("pmt", "`vcase report pmt` wall time (SQLite)", out["median"], "s", "`vcase case show`",
                   out["baseline_median"], ratio, "x", "ratio <= 3", ratio <= 3,
                   f"{big.instances:,} instances, {D.HISTORY_DAYS // 365} years; median of {s.runs}",
                   f"{quarter}: {served['served']:,} served ({served['new']:,} new); " + _cpu_note(out), out)]


def help_(ctx: Ctx) -> list[Figure]:
    s = ctx.sizes
    cmd = _vcase_cmd() + ["--help"]
    base = [sys.executable, "-c", "import click"]
    ctx.say(f"`vcase --help` vs `python -c 'import click'`, {s.runs} runs ...")
    env = P.vcase_env("sqlite:///unused.db", "", ctx.workdir)
    out = P.alternate(cmd, base, s.runs, env=env)
    ratio = out["median"] / out["baseline_median"]
    return [Figure("help", "`vcase --help` wall time", out["median"], "s", "python -c 'import click'",
                   out["baseline_median"], ratio, "x", "ratio <= 1.5", ratio <= 1.5, f"median of {s.runs}",
                   _cpu_note(out), out)]


def _queued(store) -> int:
    from sqlalchemy import func, select

    from engine.models import Notice

    with store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(Notice).where(Notice.status == "queued")).scalar_one()


# -- 6. event recorded -> email received ----------------------------------------------------

def _zone_at(now: datetime, hour: int) -> str:
    """A fixed-offset IANA zone where it is about ``hour`` o'clock now (Etc/GMT-N is UTC+N)."""
    offset = (hour - now.hour + 12) % 24 - 12
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _daytime_zone(now: datetime) -> str:
    """Noon there, so quiet hours never defer the notices."""
    return _zone_at(now, 12)


def _fresh_agency(ctx: Ctx, name: str):
    """A new SQLite database in the work folder with the schema, a key, the first admin and the
    standard staff: (key, url, store, admin)."""
    from engine.api import App
    from engine.db import Store
    from engine.records import bootstrap_admin
    from engine.registry import default
    from engine.schema import store_key_check, upgrade

    key = D.new_key()
    url = D.sqlite_url(ctx.workdir / f"{name}.db")
    store = Store(url, [key])
    upgrade(store)
    store_key_check(store)
    admin = App(store, default(), login="ada")
    with store.write() as session:
        bootstrap_admin(session, "ada", "Ada Admin", admin.now())
    for login, full_name, role in D.STAFF:
        admin.add_staff(login, full_name, role, email=f"{login}@agency.example")
    return key, url, store, admin


def latency(ctx: Ctx) -> list[Figure]:
    from services import notify_api as N

    s = ctx.sizes
    key, url, store, admin = _fresh_agency(ctx, "latency")
    officer, advocate = admin.as_user("oscar"), admin.as_user("avery")
    zone = _daytime_zone(datetime.now(UTC))
    officer.open_case("LAT-1", "Sam Supervised", "oscar", zone)
    party = advocate.add_party("LAT-1", "victim", "Maria Victim", email="maria@example.org", channels=("email",))
    advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
    N.register(advocate, "LAT-1", party["id"], "released")
    figures = []
    for interval in s.latency_intervals:
        sink = P.SmtpSink().start()
        home = ctx.workdir / f"latency-{interval:g}"
        home.mkdir(exist_ok=True)
        env = P.vcase_env(url, key, home, VCASE_SMTP_HOST="127.0.0.1", VCASE_SMTP_PORT=str(sink.port),
                          VCASE_SMTP_FROM="notices@doc.example")
        default = float(P.daemon_defaults()["interval"])
        label = f"{interval:g}" if interval else f"{default:g} (default)"
        daemon = P.Daemon(env, interval=interval or None, log_dir=ctx.workdir)
        interval = interval or default
        recorded: dict[int, float] = {}
        try:
            daemon.wait_running()
            P.wait_for(lambda: _queued(store) == 0, seconds=interval * 3 + 30)  # the registration's own notice first
            sink.received.clear()
            ctx.say(f"recording {s.latency_events} `released` events (mean gap {s.latency_gap}s), daemon --interval {label} ...")
            rng = random.Random(11)
            for i in range(s.latency_events):
                N.record_event(officer, "LAT-1", "released", datetime.now(UTC), f"bench-{i}")
                recorded[i] = time.perf_counter()
                time.sleep(rng.expovariate(1 / s.latency_gap))
            P.wait_for(lambda: len(sink.received) >= s.latency_events, seconds=interval * 4 + 60)
        finally:
            daemon.stop(timeout=30)
            log = daemon.text()
            daemon.cleanup()
            sink.stop()
        lat = []
        for at, msg in sink.received:
            m = re.search(r"bench-(\d+)", msg.get_body(("plain",)).get_content())
            if m and int(m.group(1)) in recorded:
                lat.append(at - recorded[int(m.group(1))])
        lat.sort()
        missing = s.latency_events - len(lat)

        def pct(p):
            return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] if lat else None

        p99 = pct(99) if not missing else None
        figures.append(Figure(
            f"latency@{interval:g}s", f"event recorded -> email received (SMTP loopback), daemon --interval {label}",
            p99, "s (p99)", "VINE's published 15 minutes", 900.0, (p99 / 900.0) if p99 else None, "of baseline",
            "p99 <= 1 s", bool(p99 is not None and p99 <= 1.0), f"{s.latency_events} events, 1 registrant",
            f"p50 {pct(50) or 0:.2f}s, max {lat[-1] if lat else 0:.2f}s, missing {missing}",
            {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": lat[-1] if lat else None, "received": len(lat),
             "missing": missing, "zone": zone, "daemon_log_tail": log[-400:]}))
        ctx.say(f"  p50 {pct(50) or 0:.2f}s p99 {pct(99) or 0:.2f}s missing {missing}")
    store.dispose()
    return figures


def intimidation_latency(ctx: Ctx) -> list[Figure]:
    """An intimidation report recorded -> the first escalation e-mail received by a real SMTP server
    on loopback, the daemon running at its default interval; the case's zone is at 03:00 (an
    emergency ignores quiet hours)."""
    from services import case_contacts, intimidation, partners

    s = ctx.sizes
    key, url, store, admin = _fresh_agency(ctx, "intimidation")
    officer, advocate, vs = admin.as_user("oscar"), admin.as_user("avery"), admin.as_user("vera")
    zone = _zone_at(datetime.now(UTC), 3)
    officer.open_case("INT-1", "Sam Supervised", "oscar", zone)
    party = advocate.add_party("INT-1", "victim", "Maria Victim", email="maria@example.org", channels=("email",))
    advocate.explain_confidentiality(party["id"], "in_person")
    law = partners.add(vs, name="Sheriff", model="systems_based", sector="law_enforcement")["id"]
    desk = partners.add_contact(vs, law, name="Night desk", email="desk@sheriff.example")["id"]
    pros = partners.add(vs, name="Prosecutor", model="systems_based", sector="prosecutor")["id"]
    ada = partners.add_contact(vs, pros, name="ADA", email="ada@da.example")["id"]
    case_contacts.set_contacts(vs, "INT-1", law_enforcement=[desk], prosecutor=[ada])
    sink = P.SmtpSink().start()
    home = ctx.workdir / "intimidation-home"
    home.mkdir(exist_ok=True)
    env = P.vcase_env(url, key, home, VCASE_SMTP_HOST="127.0.0.1", VCASE_SMTP_PORT=str(sink.port),
                      VCASE_SMTP_FROM="notices@doc.example")
    interval = float(P.daemon_defaults()["interval"])
    daemon = P.Daemon(env, log_dir=ctx.workdir)
    recorded: dict[int, float] = {}
    try:
        daemon.wait_running()
        ctx.say(f"recording {s.latency_events} intimidation reports (mean gap {s.latency_gap}s) at 03:00 in {zone} ...")
        rng = random.Random(15)
        for _ in range(s.latency_events):
            out = intimidation.report(advocate, "INT-1", party["id"], account="Texts threatening her.",
                                      happened_at=datetime.now(UTC).isoformat(), by_whom="unknown",
                                      reached_via="text", safe_channel="phone", safe_times="evenings")
            recorded[out["report"]] = time.perf_counter()
            time.sleep(rng.expovariate(1 / s.latency_gap))
        P.wait_for(lambda: len(sink.received) >= 3 * s.latency_events, seconds=interval * 4 + 60)
    finally:
        daemon.stop(timeout=30)
        log = daemon.text()
        daemon.cleanup()
        sink.stop()
    first: dict[int, float] = {}
    for at, msg in sink.received:
        m = re.search(r"intimidation #(\d+)", str(msg["Subject"]))
        if m and int(m.group(1)) in recorded:
            rid = int(m.group(1))
            first[rid] = min(first.get(rid, at), at)
    lat = sorted(first[rid] - recorded[rid] for rid in first)
    missing = s.latency_events - len(lat)

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))] if lat else None

    p99 = pct(99) if not missing else None
    ctx.say(f"  p50 {pct(50) or 0:.2f}s p99 {pct(99) or 0:.2f}s missing {missing}")
    store.dispose()
    return [Figure(
        "intimidation_latency", "intimidation report recorded -> first escalation email received (SMTP loopback), "
        f"daemon --interval {interval:g} (default), 03:00 in the case's zone",
        p99, "s (p99)", "VINE's published 15 minutes", 900.0, (p99 / 900.0) if p99 else None, "of baseline",
        "p99 <= 1 s", bool(p99 is not None and p99 <= 1.0), f"{s.latency_events} reports, 3 escalations each",
        f"p50 {pct(50) or 0:.2f}s, max {lat[-1] if lat else 0:.2f}s, missing {missing}",
        {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": lat[-1] if lat else None, "received": len(lat),
         "missing": missing, "zone": zone, "daemon_log_tail": log[-400:]})]


# -- 7. daemon peak memory with 1M instances ----------------------------------------------------

def memory(ctx: Ctx) -> list[Figure]:
    from sqlalchemy import create_engine, func, select

    from engine.models import Notice, Timer, Worker

    s = ctx.sizes
    big = ctx.idle_dbs()["big"]
    home = ctx.workdir / "memory"
    home.mkdir(exist_ok=True)
    env = P.vcase_env(big.url, big.key, home)
    engine = create_engine(big.url)
    now = datetime.now(UTC)
    with engine.connect() as c:
        due_before = c.execute(select(func.count()).select_from(Timer).where(
            Timer.status == "pending", Timer.due_at <= now)).scalar_one()
    ctx.say(f"daemon (its defaults) on {big.instances:,} instances: {due_before:,} timers due, then notices ...")
    daemon = P.Daemon(env, log_dir=ctx.workdir)
    peak, worked = 0.0, False
    try:
        daemon.wait_running()
        started = time.perf_counter()
        while time.perf_counter() - started < s.memory_seconds:
            peak = max(peak, daemon.peak_rss_mb() or 0.0)
            with engine.connect() as c:
                now = datetime.now(UTC)
                pending = c.execute(select(func.count()).select_from(Timer).where(
                    Timer.status == "pending", Timer.due_at <= now)).scalar_one()
                queued = c.execute(select(func.count()).select_from(Notice).where(
                    Notice.status == "queued", Notice.not_before <= now)).scalar_one()
            if pending == 0 and queued == 0 and time.perf_counter() - started > 5:
                worked = True
                time.sleep(2)  # one more pass with nothing to do
                peak = max(peak, daemon.peak_rss_mb() or 0.0)
                break
            time.sleep(0.25)
    finally:
        daemon.stop(timeout=30)
        daemon.cleanup()
    with engine.connect() as c:
        shares = c.execute(select(Worker.fired, Worker.delivered)).all()
    engine.dispose()
    return [Figure("memory", f"daemon peak memory (VmHWM), {big.instances:,} instances (SQLite)", peak, "MB", "-", None, None, "",
                   "<= 200 MB", peak <= 200, f"{big.instances:,} instances",
                   f"fired {sum(r[0] for r in shares):,}, delivered {sum(r[1] for r in shares):,}"
                   + ("" if worked else f" (stopped after {s.memory_seconds:.0f}s with work left)"),
                   {"due_at_start": due_before, "workers": [tuple(r) for r in shares], "drained": worked})]


# -- 8. notices rendered per second ------------------------------------------------------------

def render(ctx: Ctx) -> list[Figure]:
    from jinja2 import Environment, FileSystemLoader

    from engine.crypto import Vault, new_key
    from engine.models import Case, CaseEvent, Party, Process
    from engine.outbox import build_context
    from engine.registry import default
    from engine.settings import defaults
    from notices import contexts
    from notices import render as R

    s = ctx.sizes
    template = "en/notification/victim/released.email"
    vault = Vault([new_key()])
    now = datetime.now(UTC)
    case = Case(id=1, case_number="2026-CR-0042", supervised_person="Sam", officer_id=1, time_zone="America/Chicago",
                created_at=now)
    party = Party(id=2, case_id=1, kind="victim", side="victim", name_enc=vault.encrypt("Maria Lopez"), channels="email",
                  language="en", created_at=now)
    process = Process(id=3, case_id=1, workflow="notification", workflow_version=1, state="active", victim_initiated=True,
                      data={}, started_at=now, updated_at=now)
    event = CaseEvent(id=4, case_id=1, type="released", at=now, details="Released to the county jail's front desk.",
                      recorded_by="oscar", recorded_at=now)
    settings = defaults(default())
    context = build_context(vault, "victim", party, case, process, event, None, now, settings, None)
    values = contexts.as_dict(context)
    bare = Environment(loader=FileSystemLoader(str(R.TEMPLATES))).get_template(template)
    if R.render(template, values).body != bare.render(values).strip().partition("\n")[2].strip():
        ctx.say("  note: engine and bare renderings differ (whitespace options)")

    def engine_render():
        R.render(template, contexts.as_dict(context))

    def engine_render_only():
        R.render(template, values)

    def engine_full():
        c = build_context(vault, "victim", party, case, process, event, None, now, settings, None)
        R.render(template, contexts.as_dict(c))

    def baseline():
        bare.render(values)

    def rate(fn, n):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return n / (time.perf_counter() - t)

    for fn in (engine_render, engine_full, baseline):
        rate(fn, 200)  # warm
    rates: dict[str, list[float]] = {"engine": [], "render_only": [], "full": [], "baseline": []}
    for _ in range(3):
        rates["baseline"].append(rate(baseline, s.render_n))
        rates["engine"].append(rate(engine_render, s.render_n))
        rates["render_only"].append(rate(engine_render_only, s.render_n))
        rates["full"].append(rate(engine_full, max(1, s.render_n // 4)))
    eng, full, base = (statistics.median(rates[k]) for k in ("engine", "full", "baseline"))
    ctx.say(f"  render {eng:,.0f}/s; context+render {full:,.0f}/s; bare jinja2 {base:,.0f}/s")
    return [
        Figure("render", "notices rendered per second, release notice (notices.render.render)", eng, "notices/s",
               "bare jinja2 Environment, same template, dict", base, eng / base, "of baseline", ">= 0.5 of baseline",
               eng / base >= 0.5, f"{s.render_n:,} renders x 3",
               f"{template}; render.render alone (dict given) {statistics.median(rates['render_only']):,.0f}/s",
               {"rates": rates}),
        Figure("render_full", "  the same with the context built (outbox.build_context + render)", full, "notices/s",
               "bare jinja2 Environment, same template, dict", base, full / base, "of baseline", "(information)",
               None, f"{max(1, s.render_n // 4):,} x 3", "babel date formatting, name decryption", {}),
    ]


FIGURES: dict[str, Callable[[Ctx], list[Figure]]] = {
    "fire_sqlite": fire_sqlite,
    "fire_pg": fire_pg,
    "fire_floor": fire_floor,
    "idle": idle,
    "case_show": case_show,
    "pmt": pmt,
    "help": help_,
    "latency": latency,
    "intimidation_latency": intimidation_latency,
    "memory": memory,
    "render": render,
}
