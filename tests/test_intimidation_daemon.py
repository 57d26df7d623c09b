"""Escalations under a real daemon: killed with SIGKILL mid-escalation, it still delivers every
escalation and re-escalation once to a real SMTP server on loopback (a repeat is the same email
with the same Message-ID), and fires each re-escalation once."""

from __future__ import annotations

import random
import signal
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from engine.models import AuditEntry, Notice, Timer
from services import intimidation
from tests.support import SmtpSink
from tests.test_intimidation import ACCOUNT, case  # noqa: F401 (the fixture)
from tests.test_scheduler import count, daemon_env, start_daemon, wait_for

REPORTS = 8
KILLS = 6


def test_a_daemon_killed_mid_escalation_delivers_every_escalation_once(case, tmp_path):  # noqa: F811
    rng = random.Random(20261202)
    smtp = SmtpSink()
    smtp.delay = 0.03
    smtp.start()
    try:
        # Recorded 40 minutes ago on the real clock: the first notices are due, and so is each
        # report's re-escalation (15 minutes); the re-armed one after it lies in the future.
        case.clock.set(datetime.now(timezone.utc) - timedelta(minutes=40))
        ids = [intimidation.report(case.advocate, case.case, case.victim, account=ACCOUNT,
                                   happened_at=(case.clock.now() - timedelta(minutes=5)).isoformat(),
                                   by_whom="acting_for_them", reached_via="phone", safe_channel="phone",
                                   safe_times="evenings")["report"] for _ in range(REPORTS)]
        unsent = select(func.count()).select_from(Notice).where(Notice.status.in_(("queued", "sending")))
        due = select(func.count()).select_from(Timer).where(Timer.status == "pending",
                                                             Timer.due_at <= datetime.now(timezone.utc))
        assert count(case.store, due) == REPORTS
        env = daemon_env(case.store, smtp=smtp, outbox=tmp_path)
        for _ in range(KILLS):
            daemon = start_daemon(env, interval="0.1", batch=str(rng.choice([2, 5])))
            wait_for(lambda: daemon.poll() is not None or rng.random() < 0.5, seconds=5, every=rng.uniform(0.02, 0.2))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
        daemon = start_daemon(env, interval="0.1", batch="50")
        wait_for(lambda: count(case.store, unsent) == 0 and count(case.store, due) == 0, seconds=180)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        with case.store.read() as s:
            emails = list(s.execute(select(Notice).where(Notice.channel == "email",
                                                         Notice.process_id.in_(ids))).scalars())
            fired = s.execute(select(AuditEntry.process_id).where(
                AuditEntry.action == "intimidation.re_escalate")).scalars().all()
        assert sorted(fired) == sorted(ids), "each re-escalation fired exactly once"
        # per report: law[0], pros[0], the officer; then law[1], pros[0] again, and victim services
        assert len(emails) == REPORTS * 6 and all(n.status == "sent" for n in emails)
        received = [m["Message-ID"] for m in smtp.messages]
        assert set(received) == {n.message_id for n in emails}, "every escalation arrived"
        for mid in set(received):
            copies = [m for m in smtp.messages if m["Message-ID"] == mid]
            assert len({(m["To"], m["Subject"], m.get_payload()) for m in copies}) == 1
    finally:
        smtp.stop()
