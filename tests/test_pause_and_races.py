"""A pause is "not now", not "never tell me about a danger" (issue 13, item 10), and an officer
recording an escape is never refused for a race the engine had with itself (item 11).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from services import notify_api as N
from engine.errors import InvalidInput
from tests.support import dump
from tests.test_notification import notices


def _start(reg, smtp):
    N.deliver(reg.admin)
    smtp.messages.clear()


def test_an_escape_reaches_a_paused_registrant_at_once_on_every_channel(reg, smtp):
    _start(reg, smtp)
    reg.advocate.send(reg.registration, "pause", for_party=reg.victim)
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    N.deliver(reg.admin)
    escape = notices(reg.store, template="notification/victim/escape")
    assert sorted(n.channel for n in escape) == ["email", "sms"] and all(n.status == "sent" for n in escape)
    assert [m["Subject"] for m in smtp.to("maria@example.org")] == ["URGENTE: fuga (2026-CR-0001)"]
    assert reg.advocate.show_process(reg.registration)["state"] == "paused"  # still paused


def test_routine_news_during_a_pause_waits_for_resume(reg, smtp):
    _start(reg, smtp)
    reg.advocate.send(reg.registration, "pause", for_party=reg.victim)
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    N.deliver(reg.admin)
    assert smtp.messages == []
    reg.advocate.send(reg.registration, "resume", for_party=reg.victim)
    N.deliver(reg.admin)
    assert [m["Subject"] for m in smtp.to("maria@example.org")] == ["Traslado (2026-CR-0001)"]


def test_a_registrant_may_choose_that_emergencies_wait_too(reg, smtp):
    _start(reg, smtp)
    reg.advocate.send(reg.registration, "change_events", for_party=reg.victim,
                      params={"emergencies_while_paused": "hold"})
    assert reg.advocate.show_process(reg.registration)["facts"]["events"], "the events are kept"
    reg.advocate.send(reg.registration, "pause", for_party=reg.victim)
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    N.deliver(reg.admin)
    assert smtp.messages == []
    reg.advocate.send(reg.registration, "resume", for_party=reg.victim)
    N.deliver(reg.admin)
    assert [m["Subject"] for m in smtp.to("maria@example.org")] == ["URGENTE: fuga (2026-CR-0001)"]


def test_the_choice_is_made_when_registering(agency, smtp, tmp_path):
    agency.admin.outbox = tmp_path
    out = agency.advocate.start(agency.case, "notification", agency.guardian, "phone",
                                {"events": "escape", "emergencies_while_paused": "hold"})
    assert agency.advocate.show_process(out["process"])["facts"]["emergencies_while_paused"] is False
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="emergencies_while_paused must be one of"):
        agency.advocate.start(agency.case, "notification", agency.victim, "phone",
                              {"events": "escape", "emergencies_while_paused": "sometimes"})
    assert dump(agency.store) == before


def test_withdrawing_while_paused_leaves_nothing_to_send(reg, smtp):
    _start(reg, smtp)
    reg.advocate.send(reg.registration, "pause", for_party=reg.victim)
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    reg.advocate.send(reg.registration, "withdraw", for_party=reg.victim)
    N.deliver(reg.admin)
    assert [m["Subject"] for m in smtp.messages] == ["Ya no recibirá avisos (2026-CR-0001)"]


def test_an_escape_is_recorded_while_the_registration_changes_at_the_same_moment(reg):
    """Another transaction holds the registration's row (the victim changing her choices) while the
    officer records an escape: the fan-out's version check fails once, and the engine tries again on
    the registration as it now is. The officer is not refused."""
    holder = reg.store.engine.connect()
    tx = holder.begin()
    holder.execute(text("UPDATE process SET version = version + 1 WHERE id = :id"), {"id": reg.registration})
    result = {}

    def record():
        try:
            result["out"] = N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
        except Exception as exc:  # the test reports what the officer would have seen
            result["error"] = exc

    worker = threading.Thread(target=record)
    worker.start()
    time.sleep(0.5)  # the officer's transaction is now waiting on the registration (or the database)
    tx.commit()
    holder.close()
    worker.join(30)
    assert "error" not in result, result.get("error")
    assert result["out"]["registrants_notified"] == 1
    assert notices(reg.store, template="notification/victim/escape")
