"""Fixtures: real databases, a simulated clock, a seeded agency.

``store`` runs each test on a fresh SQLite file and, when
``VCASE_TEST_POSTGRES_URL`` is set, again on a fresh PostgreSQL database
(created once per run, emptied between tests). Without that variable the
PostgreSQL runs skip with a visible reason.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
os.environ.setdefault("VCASE_TEMPLATE_DIRS", str(TESTS / "templates"))
os.environ.setdefault("VCASE_WORKFLOWS", "tests.toy_workflow")

from engine.api import App  # noqa: E402
from engine.clock import SimulatedClock  # noqa: E402
from engine.crypto import new_key  # noqa: E402
from engine.db import Store  # noqa: E402
from engine.registry import default  # noqa: E402
from engine.schema import store_key_check, upgrade  # noqa: E402

PG_URL = os.environ.get("VCASE_TEST_POSTGRES_URL", "")
KEY = new_key()
START = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in Chicago
STAFF = [
    ("oscar", "Oscar Officer", "officer"),
    ("avery", "Avery Advocate", "advocate"),
    ("vera", "Vera Victim-Services", "victim_services"),
    ("fay", "Fay Facilitator", "facilitator"),
    ("pat", "Pat Parole-Board", "parole_board"),
]


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1) if PG_URL.startswith("postgresql://") else PG_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store(f"sqlite:///{path}", [KEY])
    upgrade(store)
    store_key_check(store)
    store.dispose()
    return path


@contextmanager
def fresh_pg_database(prefix: str = "vcase_own"):
    """The URL of a new, empty PostgreSQL database of its own, dropped afterwards."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need VCASE_TEST_POSTGRES_URL (for example postgresql://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this run, dropped at the end."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need VCASE_TEST_POSTGRES_URL (for example postgresql://postgres@127.0.0.1:5432/test)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"vcase_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    store = Store(url, [KEY])
    upgrade(store)
    store_key_check(store)
    store.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    from sqlalchemy import text

    store = Store(url, [KEY])
    with store.engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'meta')"))]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # The key check value as the session made it: a key rotation test reseals it under its new key.
        conn.execute(text("UPDATE meta SET value = :v WHERE key = 'key_check'"), {"v": store.vault.check_value()})
    store.dispose()


@pytest.fixture
def sqlite_store(sqlite_template, tmp_path) -> Store:
    path = tmp_path / "vcase.db"
    shutil.copy(sqlite_template, path)
    store = Store(f"sqlite:///{path}", [KEY])
    yield store
    store.dispose()


@pytest.fixture
def pg_store(pg_database) -> Store:
    _truncate(pg_database)
    store = Store(pg_database, [KEY])
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request) -> Store:
    return request.getfixturevalue({"sqlite": "sqlite_store", "postgres": "pg_store"}[request.param])


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def build_admin(store: Store, clock: SimulatedClock, outbox: Path) -> App:
    """An App acting as the first admin, with the standard staff added."""
    app = App(store, default(), clock, login="ada", outbox=outbox)
    with store.write() as session:
        from engine.records import bootstrap_admin

        bootstrap_admin(session, "ada", "Ada Admin", clock.now())
    for login, name, role in STAFF:
        app.add_staff(login, name, role, email=f"{login}@agency.example")
    return app


def build_agency(admin: App):
    """A case with a victim (email + SMS, Spanish), a guardian for a minor co-victim.

    Returns a namespace of Apps per role and the ids involved.
    """
    from types import SimpleNamespace

    officer = admin.as_user("oscar")
    officer.open_case("2026-CR-0001", "Sam Supervised", "oscar", "America/Chicago")
    advocate = admin.as_user("avery")
    victim = advocate.add_party("2026-CR-0001", "victim", "Maria Victim", email="maria@example.org",
                                phone="+1 312 555 0101", channels=("email", "sms"), language="es")
    minor = advocate.add_party("2026-CR-0001", "co_victim", "Kim Minor", minor=True)
    guardian = advocate.add_party("2026-CR-0001", "guardian", "Gail Guardian", represents=minor["id"],
                                  email="gail@example.org", channels=("email",))
    # Agency staff record nothing a victim-side party says or asks for before the limits of
    # confidentiality were explained to them (privacy.confidentiality_first): on record here for all three.
    for party in (victim, minor, guardian):
        advocate.explain_confidentiality(party["id"], "in_person")
    parties = officer.list_parties("2026-CR-0001")
    offender = next(p for p in parties if p["kind"] == "supervised_person")
    return SimpleNamespace(
        admin=admin, officer=officer, advocate=advocate, vs=admin.as_user("vera"), facilitator=admin.as_user("fay"),
        parole=admin.as_user("pat"), case="2026-CR-0001", victim=victim["id"], minor=minor["id"],
        guardian=guardian["id"], offender=offender["id"], store=admin.store, clock=admin.clock,
    )


@pytest.fixture
def admin(store, clock, tmp_path) -> App:
    """An App acting as the first admin, with the standard staff added."""
    return build_admin(store, clock, tmp_path / "outbox")


@pytest.fixture
def agency(admin):
    """A case with a victim, a minor co-victim and her guardian: see ``build_agency``."""
    return build_agency(admin)


@pytest.fixture
def run(store, admin, monkeypatch, tmp_path):
    """Invoke the CLI in-process (``cli.main``) against the test database as a given user."""
    import cli
    from click.testing import CliRunner

    monkeypatch.setenv("VCASE_DATABASE_URL", store.url)
    monkeypatch.setenv("VCASE_KEY", KEY)
    monkeypatch.setenv("VCASE_HOME", str(tmp_path))

    def invoke(user, *args):
        monkeypatch.setenv("VCASE_USER", user)
        runner = CliRunner()
        code = None
        with runner.isolation() as (out, err, _):
            code = cli.main(list(args))
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return code, stdout, stderr

    return invoke


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server on loopback, and the environment pointing vcase at it."""
    from tests.support import SmtpSink

    sink = SmtpSink().start()
    monkeypatch.setenv("VCASE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VCASE_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("VCASE_SMTP_FROM", "notices@doc.example")
    yield sink
    sink.stop()


@pytest.fixture
def reg(agency, tmp_path):
    """The Spanish-speaking victim (email then SMS) registered for everything."""
    from services import notify_api

    for app in (agency.admin, agency.officer, agency.advocate, agency.vs):
        app.outbox = tmp_path / "outbox"
    out = notify_api.register(agency.advocate, agency.case, agency.victim, "all,letter_held", "phone")
    agency.registration = out["process"]
    return agency
