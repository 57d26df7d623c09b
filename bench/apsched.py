"""The baseline beside the firing figure: APScheduler 3.x draining one-off jobs from
its SQLAlchemy job store on SQLite.

``n`` date-trigger jobs, all due in the past, are added while the scheduler is
paused (not timed); the clock runs from ``resume()`` until every job has run.
The job is a module-level function that counts (APScheduler pickles a
reference to it into the job store).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

_lock = threading.Lock()
_count = 0
_done = threading.Event()
_target = 0


def job() -> None:
    global _count
    with _lock:
        _count += 1
        if _count >= _target:
            _done.set()


def drain(path: str, n: int, timeout: float = 1800.0) -> dict:
    """Seconds for APScheduler to run ``n`` due one-off jobs from a SQLite job store."""
    global _count, _target
    import apscheduler
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    _count, _target = 0, n
    _done.clear()
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")},
        executors={"default": ThreadPoolExecutor(10)},
        job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
        timezone=timezone.utc,
    )
    scheduler.start(paused=True)
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    t = time.perf_counter()
    for i in range(n):
        scheduler.add_job(job, "date", run_date=past + timedelta(microseconds=i), id=f"job{i}",
                          misfire_grace_time=None)
    setup = time.perf_counter() - t
    t = time.perf_counter()
    scheduler.resume()
    finished = _done.wait(timeout)
    elapsed = time.perf_counter() - t
    left = len(scheduler.get_jobs())
    scheduler.shutdown(wait=True)
    return {"jobs": n, "executed": _count, "seconds": elapsed, "per_second": _count / elapsed if elapsed else 0.0,
            "finished": finished, "left_in_store_at_end": left, "setup_seconds": setup,
            "apscheduler": apscheduler.__version__}
