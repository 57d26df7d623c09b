"""Operations for the mail room: print the day's letters, record the hand-off, tracking, delivery, returns.

Each function takes the ``App`` and is one transaction, like ``services.notify_api``; the rules are in
``engine.mailroom``. A typed ``--date`` is a day in the agency's zone (setting ``agency.time_zone``).
"""

from __future__ import annotations

import shutil
from typing import Any, Callable, Optional

from engine import mailroom
from engine import settings as settings_mod


def batch(app, day: Optional[str] = None, progress: Optional[Callable[[int, int], None]] = None) -> dict[str, Any]:
    """Print every letter waiting up to the end of ``day`` (today if none) as one batch."""
    now = app.now()
    made: list = []
    try:
        with app.store.write() as s:
            policy = settings_mod.load(s, app.registry)
            zone = policy.get("agency.time_zone", "UTC")
            when = mailroom.parse_day(day, zone, now)
            out = mailroom.make_batch(s, app.store.vault, app._actor(s), when, zone, now, policy, app.outbox,
                                      progress, made)
    except BaseException:
        for folder in made:  # written, but the transaction did not commit: no trace of a batch that is not
            shutil.rmtree(folder, ignore_errors=True)
        raise
    mailroom.purge_pass(app)
    return out


def mailed(app, batch_id: int) -> dict[str, Any]:
    with app.store.write() as s:
        return mailroom.mark_mailed(s, app._actor(s), batch_id, app.now())


def tracking(app, letter: str, number: str) -> dict[str, Any]:
    with app.store.write() as s:
        return mailroom.record_tracking(s, app.store.vault, app._actor(s), letter, number, app.now())


def delivered(app, letter: str) -> dict[str, Any]:
    with app.store.write() as s:
        return mailroom.record_delivered(s, app._actor(s), letter, app.now())


def returned(app, letter: str, reason: str) -> dict[str, Any]:
    with app.store.write() as s:
        return mailroom.record_returned(s, app.store.vault, app._actor(s), letter, reason, app.now(),
                                        settings_mod.load(s, app.registry))


def list_batches(app, limit: int = 50) -> dict[str, Any]:
    with app.store.read() as s:
        return mailroom.list_batches(s, app._actor(s), app.now(), limit)


def show(app, batch_id: int) -> dict[str, Any]:
    with app.store.read() as s:
        return mailroom.show_batch(s, app._actor(s), batch_id)


__all__ = ["batch", "delivered", "list_batches", "mailed", "returned", "show", "tracking"]
