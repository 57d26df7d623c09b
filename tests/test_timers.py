"""Durable timers on a simulated clock: armed on entry, frozen by pause with
their remaining time, re-armed by resume, cancelled by withdrawal, fired
exactly once even when the scheduler was down, on the wall clock of the case."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.clock import from_db
from engine.models import AuditEntry, Notice, Timer
from tests.conftest import START

UTC = timezone.utc
DUE = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)  # START (Mon 2 March, 09:00 CST) + 10 days = 09:00 CDT


def timers(store, pid: int) -> list[Timer]:
    with store.read() as s:
        return list(s.execute(select(Timer).where(Timer.process_id == pid).order_by(Timer.id)).scalars())


def notices(store, pid: int) -> list[Notice]:
    with store.read() as s:
        return list(s.execute(select(Notice).where(Notice.process_id == pid).order_by(Notice.id)).scalars())


def entries(store, action: str) -> list[AuditEntry]:
    with store.read() as s:
        return list(s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars())


@pytest.fixture
def in_review(agency) -> int:
    """A toy process submitted at START: its 10-day review deadline is armed."""
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "wants a letter"})
    return pid


def test_a_ten_day_timer_keeps_the_local_time_across_the_dst_change(agency, in_review):
    assert START.astimezone(ZoneInfo("America/Chicago")).isoformat() == "2026-03-02T09:00:00-06:00"
    (timer,) = timers(agency.store, in_review)
    assert (timer.name, timer.status, from_db(timer.due_at)) == ("review_deadline", "pending", DUE)
    assert from_db(timer.due_at).astimezone(ZoneInfo("America/Chicago")).isoformat() == "2026-03-12T09:00:00-05:00"
    assert DUE - START == timedelta(days=10, hours=-1)  # ten wall-clock days, one hour short in absolute time


def test_pause_keeps_the_remaining_time_and_resume_rearms_it(agency, in_review):
    paused_at = agency.clock.advance(timedelta(days=3, hours=5, minutes=7))
    agency.advocate.send(in_review, "pause", agency.victim)
    (timer,) = timers(agency.store, in_review)
    remaining = (DUE - paused_at).total_seconds()
    assert (timer.status, timer.remaining_seconds) == ("frozen", remaining)

    resumed_at = agency.clock.advance(timedelta(days=40))  # long after the original deadline
    agency.facilitator.send(in_review, "resume")
    (timer,) = timers(agency.store, in_review)
    assert (timer.status, timer.remaining_seconds) == ("pending", None)
    assert from_db(timer.due_at) == resumed_at + timedelta(seconds=remaining)

    agency.admin.run_until(from_db(timer.due_at) - timedelta(seconds=1))
    assert agency.vs.show_process(in_review)["state"] == "review"
    agency.admin.run_until(from_db(timer.due_at) + timedelta(days=1))
    assert agency.vs.show_process(in_review)["state"] == "done"
    (fired,) = entries(agency.store, "toy.expire")
    assert fired.detail["timer"]["due_at"] == (resumed_at + timedelta(seconds=remaining)).isoformat()


def test_a_timer_does_not_fire_while_paused(agency, in_review):
    agency.clock.advance(timedelta(days=1))
    agency.advocate.send(in_review, "pause", agency.victim)
    result = agency.admin.run_until(DUE + timedelta(days=30))
    assert result.fired == 0
    assert agency.clock.now() == DUE + timedelta(days=30)
    assert agency.vs.show_process(in_review)["state"] == "paused"
    assert [t.status for t in timers(agency.store, in_review)] == ["frozen"]
    assert entries(agency.store, "toy.expire") == []


@pytest.mark.parametrize("paused_first", [False, True], ids=["from-review", "from-paused"])
def test_withdrawal_cancels_every_timer_and_unsent_notice_but_its_own(agency, in_review, paused_first):
    assert [n.status for n in notices(agency.store, in_review)] == ["queued"]  # the "submitted" notice, not yet sent
    agency.clock.advance(timedelta(days=2))
    if paused_first:
        agency.advocate.send(in_review, "pause", agency.victim)
    agency.advocate.send(in_review, "withdraw", agency.victim)

    assert [(t.status, t.remaining_seconds) for t in timers(agency.store, in_review)] == [("cancelled", None)]
    unsent = [n for n in notices(agency.store, in_review) if n.status in ("queued", "held", "sending")]
    assert unsent, "the withdrawal notices themselves are queued"
    assert all(n.survives_withdrawal and n.template.endswith("/ended") for n in unsent)
    assert {n.audience for n in unsent} == {"victim", "offender"}
    (submitted,) = [n for n in notices(agency.store, in_review) if n.template.endswith("/submitted")]
    assert (submitted.status, submitted.status_reason) == ("cancelled", "process withdrawn")

    assert agency.admin.run_until(DUE + timedelta(days=30)).fired == 0
    assert entries(agency.store, "toy.expire") == []


def test_a_timer_due_during_downtime_fires_once_late_and_says_so(agency, in_review):
    back_up = agency.clock.set(DUE + timedelta(days=2, hours=3))  # the scheduler was down when it fell due
    result = agency.admin.fire_due()
    assert (result.fired, result.skipped) == (1, 0)
    (fired,) = entries(agency.store, "toy.expire")
    assert fired.detail["timer"] == {"name": "review_deadline", "due_at": DUE.isoformat(),
                                     "fired_at": back_up.isoformat()}
    assert (fired.actor_role, fired.from_state, fired.to_state) == ("system", "review", "done")
    (timer,) = timers(agency.store, in_review)
    assert (timer.status, from_db(timer.fired_at), from_db(timer.due_at)) == ("fired", back_up, DUE)

    agency.clock.advance(timedelta(minutes=5))
    assert agency.admin.fire_due().fired == 0
    assert agency.admin.fire_due().fired == 0
    assert len(entries(agency.store, "toy.expire")) == 1
    assert agency.vs.show_process(in_review)["version"] == 3


def test_a_timer_is_not_fired_before_it_is_due(agency, in_review):
    agency.clock.set(DUE - timedelta(microseconds=1))
    assert agency.admin.fire_due().fired == 0
    agency.clock.set(DUE)
    assert agency.admin.fire_due().fired == 1


def test_leaving_the_state_cancels_its_timer_and_an_internal_step_keeps_it(agency, in_review):
    agency.clock.advance(timedelta(days=1))
    agency.vs.send(in_review, "note")  # review -> review: the deadline keeps running
    assert [(t.status, from_db(t.due_at)) for t in timers(agency.store, in_review)] == [("pending", DUE)]
    agency.vs.send(in_review, "approve")
    assert [t.status for t in timers(agency.store, in_review)] == ["cancelled"]
    assert agency.admin.run_until(DUE + timedelta(days=1)).fired == 0


def test_a_timer_whose_process_moved_on_is_skipped_and_recorded(agency, in_review):
    """A timer left pending by mistake cannot move a process it no longer applies to."""
    agency.vs.send(in_review, "approve")
    with agency.store.write() as s:
        s.add(Timer(process_id=in_review, name="stray", event="expire", due_at=DUE, created_at=START))
    agency.clock.set(DUE)
    result = agency.admin.fire_due()
    assert (result.fired, result.skipped) == (0, 1)
    (stray,) = [t for t in timers(agency.store, in_review) if t.name == "stray"]
    assert stray.status == "cancelled" and stray.note.startswith("could not fire")
    assert agency.vs.show_process(in_review)["state"] == "done"


def test_the_schema_holds_one_live_timer_per_name(store, in_review):
    """The partial unique index from migration 0001 (not declared on the model): a second live
    timer of the same name is refused by the database; a cancelled or fired one does not count."""
    from sqlalchemy import insert, update

    from engine.errors import Conflict

    armed = timers(store, in_review)[0]
    row = {"process_id": in_review, "name": armed.name, "event": armed.event, "due_at": DUE, "created_at": START}
    with pytest.raises(Conflict, match="unique"):
        with store.write() as s:
            s.execute(insert(Timer), [row])
    with pytest.raises(Conflict, match="unique"):
        with store.write() as s:
            s.execute(insert(Timer), [{**row, "status": "frozen", "remaining_seconds": 60.0}])
    with store.write() as s:
        s.execute(update(Timer).where(Timer.id == armed.id).values(status="cancelled"))
        s.execute(insert(Timer), [row])
    assert [t.status for t in timers(store, in_review)] == ["cancelled", "pending"]
