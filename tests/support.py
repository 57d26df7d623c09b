"""Helpers shared by tests: a full dump of the database to prove nothing changed."""

from __future__ import annotations

from sqlalchemy import inspect, text

TABLES_IGNORED = {"alembic_version"}


def dump(store) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    out = {}
    with store.engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            if table in TABLES_IGNORED:
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted((tuple(map(repr, r)) for r in rows))
    return out


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

    ``refuse`` maps an address to an SMTP reply (e.g. "550 no such user");
    ``fail_next`` makes the next N messages get "451 try again later".
    """

    def __init__(self):
        import socket

        from aiosmtpd.controller import Controller

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.messages = []
        self.refuse: dict[str, str] = {}
        self.fail_next = 0
        self.delay = 0.0  # seconds each message takes (to make a pass last)
        self.gate = None  # a threading.Event each message waits for
        self.waiting = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        import time

        if self.fail_next:
            self.fail_next -= 1
            return "451 try again later"
        if self.gate is not None:
            self.waiting += 1
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        message.received_at = time.monotonic()
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str):
        return [m for m in self.messages if m["To"] == address]

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


def daytime_zone(hour: int = 12) -> str:
    """A fixed-offset zone where it is about ``hour`` o'clock now (real time): a daemon test running on
    the real clock queues routine notices there, so quiet hours, checked at the moment of sending,
    never defer them whatever the time of day the suite runs."""
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    offset = (hour - now.hour + 12) % 24 - 12
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
