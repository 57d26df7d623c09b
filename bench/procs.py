"""Subprocesses: timed commands, scheduler daemons, their peak memory, an SMTP sink."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def vcase_env(url: str, key: str, home: Path, user: str = "", **extra: str) -> dict[str, str]:
    """The environment a `vcase` command or daemon gets: only built-in workflows and templates."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VCASE_") and k not in ("PYTHONPATH",)}
    env.update(VCASE_DATABASE_URL=url, VCASE_KEY=key, VCASE_HOME=str(home), VCASE_OUTBOX=str(home / "outbox"),
               PYTHONPATH=str(ROOT))
    if user:
        env["VCASE_USER"] = user
    env.update(extra)
    return env


def wall(cmd: list[str], env: Optional[dict] = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds user + system) of one run of ``cmd``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def alternate(cmd: list[str], baseline: list[str], runs: int, env: Optional[dict] = None,
              base_env: Optional[dict] = None) -> dict:
    """Median wall time (and CPU time) of ``cmd`` and ``baseline``, run alternately ``runs``
    times each after one untimed warm-up of each (page cache, .pyc files)."""
    wall(cmd, env)
    wall(baseline, base_env)
    a, b = [], []
    for _ in range(runs):
        a.append(wall(cmd, env))
        b.append(wall(baseline, base_env))
    median = statistics.median
    return {"runs": runs, "median": median(x[0] for x in a), "baseline_median": median(x[0] for x in b),
            "cpu_median": median(x[1] for x in a), "baseline_cpu_median": median(x[1] for x in b),
            "all": [x[0] for x in a], "baseline_all": [x[0] for x in b],
            "min": min(x[0] for x in a), "baseline_min": min(x[0] for x in b)}


class Daemon:
    """`python cli.py scheduler run` as a subprocess, logging to a file."""

    def __init__(self, env: dict, interval: Optional[float] = None, batch: Optional[int] = None,
                 log_dir: Optional[Path] = None):
        """``interval`` / ``batch`` None: the command's own defaults (no flag given)."""
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False, dir=log_dir)
        self.started = time.perf_counter()
        flags = (["--interval", f"{interval:g}"] if interval else []) + (["--batch", str(batch)] if batch else [])
        self.proc = subprocess.Popen([PYTHON, "cli.py", "scheduler", "run", *flags],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log, text=True)
        self.running_at: Optional[float] = None

    def text(self) -> str:
        return Path(self.log.name).read_text()

    def poll_running(self) -> bool:
        if self.running_at is None and "running" in self.text():
            self.running_at = time.perf_counter()
        if self.proc.poll() is not None and self.running_at is None:
            raise RuntimeError(f"daemon exited {self.proc.returncode}: {self.text()[-800:]}")
        return self.running_at is not None

    def wait_running(self, timeout: float = 120.0) -> float:
        deadline = time.perf_counter() + timeout
        while not self.poll_running():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"daemon did not start: {self.text()[-800:]}")
            time.sleep(0.02)
        return self.running_at

    def cpu_seconds(self) -> Optional[float]:
        return cpu_seconds(self.proc.pid)

    def peak_rss_mb(self) -> Optional[float]:
        return vm_hwm_mb(self.proc.pid)

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # only ever this daemon, by its own pid
                return self.proc.wait(timeout=30)
        return self.proc.returncode

    def cleanup(self) -> None:
        try:
            os.remove(self.log.name)
        except OSError:
            pass


def daemon_defaults() -> dict[str, object]:
    """The defaults of `vcase scheduler run` (--interval, --batch), read from the command itself."""
    from commands.scheduler import scheduler_run

    return {p.name: p.default for p in scheduler_run.params if p.name in ("interval", "batch")}


def vm_hwm_mb(pid: int) -> Optional[float]:
    """Peak resident set size (VmHWM) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU seconds of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot (/proc/stat)."""
    try:
        values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


def wait_for(condition: Callable[[], bool], seconds: float, every: float = 0.1) -> bool:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that timestamps what it receives."""

    def __init__(self):
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.received: list[tuple[float, object]] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        at = time.perf_counter()
        self.received.append((at, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
