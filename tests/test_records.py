"""Records at rest: names and contact details are encrypted, the key is checked,
and the schema itself refuses a victim-initiated process that the victim side
did not start."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from engine.api import App
from engine.crypto import new_key
from engine.db import Store
from engine.errors import EncryptionKeyError
from engine.models import Case, Process
from engine.registry import default
from tests.conftest import KEY
from tests.support import dump

EMAIL = "maria.unique@example.org"
NAME = "Mariela Quintanilla-Unique"
PHONE = "+1 312 555 0199"
ADDRESS = "742 Evergreen Terrace, Springfield"
SECRETS = (EMAIL, NAME, PHONE, ADDRESS)
ONLY_SQLITE = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


@pytest.fixture
def victim_on_file(agency) -> int:
    """A victim with every kind of contact detail, and notices rendered for her (her name is in them)."""
    party = agency.advocate.add_party(agency.case, "victim", NAME, email=EMAIL, phone=PHONE, address=ADDRESS,
                                      channels=("email", "sms"))
    agency.advocate.explain_confidentiality(party["id"], "in_person")  # privacy.confidentiality_first
    pid = agency.advocate.start(agency.case, "toy", party["id"])["process"]
    agency.advocate.send(pid, "submit", party["id"], params={"summary": "wants to be told"})
    agency.advocate.send(pid, "withdraw", party["id"])
    shown = agency.advocate.show_party(party["id"])
    assert (shown["email"], shown["name"], shown["phone"], shown["address"]) == SECRETS  # stored, readable by staff
    return party["id"]


def _file_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@ONLY_SQLITE
def test_names_and_contact_details_are_not_in_the_sqlite_file(store, agency, victim_on_file):
    path = Path(store.engine.url.database)
    before_checkpoint = _file_bytes(path)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    after_checkpoint = _file_bytes(path)
    for data in (before_checkpoint, after_checkpoint):
        assert b"2026-CR-0001" in data  # the scan does see plain text: case numbers are not secret
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} is readable in {path.name}"
            assert secret.encode("utf-16-le") not in data


def test_names_and_contact_details_are_in_no_column(store, agency, victim_on_file):
    everything = repr(dump(store))
    assert "2026-CR-0001" in everything
    for secret in SECRETS + ("Maria Victim", "maria@example.org", "Gail Guardian"):
        assert secret not in everything


def test_a_different_key_is_refused_before_anything_is_read(store, agency, victim_on_file):
    wrong = Store(store.url, [new_key()])
    try:
        with pytest.raises(EncryptionKeyError, match="not the one this database was created with"):
            wrong.check_ready()
        with pytest.raises(EncryptionKeyError):  # even without the check, never garbage
            App(wrong, default(), agency.clock, "avery").show_party(victim_on_file)
    finally:
        wrong.dispose()


@pytest.mark.parametrize("keys", [None, []], ids=["none", "empty"])
def test_a_missing_key_is_refused(store, agency, keys):
    keyless = Store(store.url, keys)
    try:
        with pytest.raises(EncryptionKeyError, match="no encryption key"):
            keyless.check_ready()
    finally:
        keyless.dispose()


def test_a_malformed_key_is_refused(store, agency):
    broken = Store(store.url, ["not-a-fernet-key"])
    try:
        with pytest.raises(EncryptionKeyError, match="malformed"):
            broken.check_ready()
    finally:
        broken.dispose()


def test_the_old_key_still_reads_after_rotation(store, agency, victim_on_file):
    rotated = Store(store.url, [new_key(), KEY])
    try:
        rotated.check_ready()
        assert App(rotated, default(), agency.clock, "avery").show_party(victim_on_file)["email"] == EMAIL
    finally:
        rotated.dispose()


# -- the schema's half of "only the victim side starts a victim-initiated process" ----------

def _insert_process(store, agency, *, victim_initiated: bool, party: int | None, side: str | None) -> None:
    """Write a process row directly, past the engine, in a transaction of its own."""
    now = agency.clock.now()
    with store.engine.begin() as conn:
        case_id = conn.execute(select(Case.id).where(Case.case_number == agency.case)).scalar_one()
        conn.execute(insert(Process.__table__).values(
            case_id=case_id, workflow="toy", workflow_version=1, state="open", paused_from=None, version=1,
            victim_initiated=victim_initiated, initiator_party_id=party, initiator_side=side, data={},
            terminal=False, started_at=now, updated_at=now))


def _processes(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Process.__table__)).scalar_one()


def test_the_schema_accepts_a_victim_side_initiator(store, agency):
    _insert_process(store, agency, victim_initiated=True, party=agency.victim, side="victim")
    _insert_process(store, agency, victim_initiated=True, party=agency.guardian, side="victim")
    _insert_process(store, agency, victim_initiated=False, party=agency.offender, side="offender")
    assert _processes(store) == 3


@pytest.mark.parametrize("party,side", [
    pytest.param("offender", "offender", id="offender-side-initiator"),
    pytest.param("offender", "victim", id="offender-party-claimed-as-victim-side"),
    pytest.param("victim", "offender", id="victim-party-claimed-as-offender-side"),
    pytest.param(None, None, id="no-initiator-at-all"),
    pytest.param(None, "victim", id="victim-side-but-no-party"),
    pytest.param("victim", None, id="victim-party-but-no-side"),
])
def test_the_schema_refuses_a_victim_initiated_process_not_started_by_the_victim_side(store, agency, party, side):
    before = dump(store)
    with pytest.raises(IntegrityError):
        _insert_process(store, agency, victim_initiated=True, party=getattr(agency, party) if party else None,
                        side=side)
    assert dump(store) == before
