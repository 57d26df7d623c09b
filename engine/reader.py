"""A read-only client for the commands that need no ORM.

``engine.api.App`` loads everything a change needs: the SQLModel classes,
the write path, the compiled workflows. A command that only reads a case
pays for none of that here: a plain connection (``Store.reading``), the
schema's Core view (``engine.tables``), the definitions uncompiled
(``registry.definitions``), and the same rules ``App`` runs
(``engine.views``, ``engine.permissions.resolve``), so both print the same
thing. ``tests/test_reader.py`` proves that, role by role, on SQLite and
PostgreSQL, and that this path imports no ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import views
from engine.clock import SystemClock
from engine.db import Store
from engine.permissions import resolve


class Reader:
    def __init__(self, store: Store, login: str, clock=None):
        self.store = store
        self.login = login
        self.clock = clock or SystemClock()

    @classmethod
    def from_env(cls, clock=None) -> "Reader":
        from engine import config

        cfg = config.load()
        return cls(Store.from_config(cfg), config.current_login(), clock=clock)

    def now(self) -> datetime:
        return self.clock.now()

    def show_case(self, case_number: str) -> dict[str, Any]:
        """What ``App.show_case`` returns, by the same rules (``engine.views.show_case``)."""
        from engine.registry import definitions

        with self.store.reading() as conn:
            actor = resolve(conn, self.login, now=self.now())
            return views.show_case(conn, self.store.vault, definitions(), actor, case_number, self.now())


__all__ = ["Reader"]
