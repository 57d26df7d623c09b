"""The daemon killed with SIGKILL at 20 random moments while it fires timers and delivers to a
real SMTP server on loopback; after a clean restart every notice has arrived, none is lost, a
repeat carries the same Message-ID (and is the same email), and no timer fired twice."""

from __future__ import annotations

import random
import signal

from sqlalchemy import func, select

from services import notify_api as N
from engine.models import AuditEntry, Notice, Timer
from tests.support import SmtpSink, daytime_zone
from tests.test_scheduler import count, daemon_env, registrants, start_daemon, wait_for

KILLS = 20


def test_twenty_random_kills_lose_nothing_and_fire_nothing_twice(agency, tmp_path):
    rng = random.Random(20261121)  # the kill moments are random but the same on every run
    smtp = SmtpSink()
    smtp.delay = 0.03
    smtp.start()
    try:
        # the daemons run on the real clock, and quiet hours are checked again at sending: daytime there
        agency.officer.transfer_case(agency.case, time_zone=daytime_zone())
        registrants(agency, 45)  # under the mass-change guard (50), so nothing is held
        for kind in ("released", "transfer", "furlough"):
            N.record_event(agency.officer, agency.case, kind, agency.clock.now(), "")
        toys = []
        for _ in range(40):  # each in review with its 10-day timer, long overdue on the real clock
            pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
            agency.advocate.send(pid, "submit", agency.victim, params={"summary": "s"})
            toys.append(pid)
        pending = select(func.count()).select_from(Timer).where(Timer.status == "pending")
        unsent = select(func.count()).select_from(Notice).where(Notice.status.in_(("queued", "sending")))
        assert count(agency.store, pending) == 40 and count(agency.store, unsent) >= 45 * 4 + 40
        env = daemon_env(agency.store, smtp=smtp, outbox=tmp_path)
        kills = 0
        while kills < KILLS:
            daemon = start_daemon(env, interval="0.1", batch=str(rng.choice([5, 10, 25])))
            wait_for(lambda: daemon.poll() is not None or rng.random() < 0.5, seconds=5, every=rng.uniform(0.02, 0.3))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
            kills += 1
        assert count(agency.store, unsent) > 0, "the backlog should outlast the kills"
        daemon = start_daemon(env, interval="0.1", batch="50")
        wait_for(lambda: count(agency.store, unsent) == 0 and count(agency.store, pending) == 0, seconds=180)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        with agency.store.read() as s:
            notices = list(s.execute(select(Notice).where(Notice.channel == "email")).scalars())
            fired = s.execute(select(AuditEntry.process_id).where(AuditEntry.action == "toy.expire")).scalars().all()
        assert sorted(fired) == sorted(toys), "every timer fired exactly once"
        assert all(n.status == "sent" for n in notices)
        received = [m["Message-ID"] for m in smtp.messages]
        assert set(received) == {n.message_id for n in notices}, "every notice arrived"
        for mid in set(received):
            copies = [m for m in smtp.messages if m["Message-ID"] == mid]
            assert len({(m["To"], m["Subject"], m.get_payload()) for m in copies}) == 1
        print(f"kills survived: {kills}; emails {len(notices)}, received {len(received)} "
              f"({len(received) - len(set(received))} repeats); timers fired {len(fired)}")
    finally:
        smtp.stop()
