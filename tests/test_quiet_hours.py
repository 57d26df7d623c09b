"""Quiet hours hold on every path that sets or moves a delivery time, and at the moment of sending
(issue 13, item 4).

Each path below brings a routine notice to the point of going out inside the
recipient's quiet hours (21:00-07:00 in Chicago): it must not reach the mail
server before 07:00, and must reach it then. Emergencies go at once on every
path. A real SMTP server on loopback; the clock is simulated.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from services import notify_api as N
from engine.clock import from_db, parse_when, zone
from services.review import Selection
from tests.test_notification import notices

TZ = "America/Chicago"


def at(text: str):
    return parse_when(text, TZ)


def _quiet(reg, smtp):
    N.deliver(reg.admin)  # the registration's confirmation, in the day
    smtp.messages.clear()


def path_queued_at_night(reg, smtp):
    reg.clock.set(at("2026-03-04T23:00"))
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")


def path_retry_falls_into_the_night(reg, smtp):
    reg.clock.set(at("2026-03-04T20:59"))
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    smtp.fail_next = 1  # 451: retried in a minute, at 21:00
    N.deliver(reg.admin)
    assert not smtp.messages
    reg.clock.set(at("2026-03-04T21:01"))


def path_resumed_at_night(reg, smtp):
    reg.clock.set(at("2026-03-04T12:00"))
    reg.advocate.send(reg.registration, "pause", for_party=reg.victim)
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    N.deliver(reg.admin)
    assert not smtp.messages
    reg.clock.set(at("2026-03-04T23:30"))
    reg.advocate.send(reg.registration, "resume", for_party=reg.victim)


def path_released_from_review_at_night(reg, smtp):
    reg.admin.set_setting("notification.mass_threshold", "1")  # two registrants are a burst
    second = reg.advocate.add_party(reg.case, "survivor", "Sol Survivor", email="sol@example.org", channels=("email",))
    reg.advocate.explain_confidentiality(second["id"], "in_person")  # privacy.confidentiality_first
    N.register(reg.advocate, reg.case, second["id"], "transfer")
    reg.clock.set(at("2026-03-04T12:00"))
    out = N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    assert out["held_for_review"] == 2
    reg.clock.set(at("2026-03-04T22:00"))
    N.review(reg.vs, Selection(event_id=out["case_event"]), release=True)


def path_fallback_queued_at_night(reg, smtp):
    smtp.refuse["maria@example.org"] = "550 no such user"  # email fails for good: SMS is next
    reg.clock.set(at("2026-03-04T20:59:30"))
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    reg.clock.set(at("2026-03-04T21:30"))


def path_due_by_day_but_the_daemon_was_down(reg, smtp):
    reg.clock.set(at("2026-03-04T18:00"))
    N.record_event(reg.officer, reg.case, "transfer", reg.clock.now(), "")
    reg.clock.set(at("2026-03-05T02:00"))  # nothing delivered in between: sending now would wake her


PATHS = [path_queued_at_night, path_retry_falls_into_the_night, path_resumed_at_night,
         path_released_from_review_at_night, path_fallback_queued_at_night, path_due_by_day_but_the_daemon_was_down]


def _transfer_sent(reg):
    return [n for n in notices(reg.store, template="notification/victim/transfer") if n.status == "sent"]


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])
def test_a_routine_notice_waits_for_the_end_of_quiet_hours_on_every_path(reg, smtp, path):
    _quiet(reg, smtp)
    path(reg, smtp)
    for minutes in range(0, 8 * 60, 45):  # the daemon's passes through the night
        N.deliver(reg.admin)
        local = reg.clock.now().astimezone(zone(TZ))
        if not (local.hour >= 21 or local.hour < 7):
            break
        assert not _transfer_sent(reg), f"sent at {local:%H:%M} local"
        reg.clock.advance(timedelta(minutes=45))
    reg.clock.set(max(reg.clock.now(), at("2026-03-05T07:00")))
    N.deliver(reg.admin)
    sent = _transfer_sent(reg)
    assert sent, "it goes out when quiet hours end"
    for notice in sent:
        local = from_db(notice.sent_at).astimezone(zone(TZ))
        assert 7 <= local.hour < 21, f"sent at {local:%H:%M} local"


def test_an_emergency_goes_at_once_at_night_even_after_a_retry(reg, smtp):
    _quiet(reg, smtp)
    reg.clock.set(at("2026-03-04T23:00"))
    smtp.fail_next = 1
    N.record_event(reg.officer, reg.case, "escape", reg.clock.now(), "")
    N.deliver(reg.admin)
    reg.clock.advance(timedelta(minutes=1))  # the retry's delay, still at night
    N.deliver(reg.admin)
    assert [m["Subject"] for m in smtp.to("maria@example.org")] == ["URGENTE: fuga (2026-CR-0001)"]


def test_quiet_hours_are_the_recipients_own(agency, smtp, tmp_path):
    """A registrant in another zone is reckoned in hers, not in the case's."""
    agency.admin.outbox = tmp_path
    party = agency.advocate.add_party(agency.case, "survivor", "Lena Far", email="lena@example.org",
                                      channels=("email",), time_zone="Europe/Berlin")
    agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
    N.register(agency.advocate, agency.case, party["id"], "transfer")
    agency.clock.set(at("2026-03-04T16:00"))  # 16:00 in Chicago, 23:00 in Berlin
    N.record_event(agency.officer, agency.case, "transfer", agency.clock.now(), "")
    N.deliver(agency.admin)
    assert not [m for m in smtp.to("lena@example.org") if m["Subject"].startswith("Transfer")]
    agency.clock.set(parse_when("2026-03-05T07:00", "Europe/Berlin"))
    N.deliver(agency.admin)
    assert [m for m in smtp.to("lena@example.org") if "ransfer" in m["Subject"]]
