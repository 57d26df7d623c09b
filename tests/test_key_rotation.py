"""A key rotation end to end (issue 19): ``vcase key reseal`` moves every stored secret, including
rows written before the AEAD format, under the newest key, after which the old key can go.

Against real SQLite and PostgreSQL: the rows are read back with the new key alone, the phone
number's blind index follows it (a text from the victim's phone still finds her), the key check
value too, and the audit trail records the job (counts only) and still verifies.
"""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from engine.api import App
from engine.crypto import MAGIC, new_key
from engine.db import Store
from engine.models import Notice, Party
from engine.registry import default
from tests.conftest import KEY
from tests.support import dump

NEW = new_key()


def _fernet_era(store: Store, party_id: int) -> None:
    """Make one party's name and one notice's body look as they did before the AEAD format."""
    old = Fernet(KEY.encode())
    vault = store.vault
    with store.write() as s:
        party = s.get(Party, party_id)
        party.name_enc = old.encrypt(vault.decrypt(party.name_enc).encode())
        notice = s.execute(select(Notice).order_by(Notice.id).limit(1)).scalar_one()
        notice.body_enc = old.encrypt(vault.decrypt(notice.body_enc).encode())


def _stale(store: Store) -> int:
    """Values not sealed under the newest key, in every encrypted column."""
    from engine.rekey import sealed_columns

    vault, n = store.vault, 0
    with store.read() as s:
        for table, columns in sealed_columns().values():
            for row in s.execute(select(*[table.c[c] for c in columns])):
                n += sum(1 for v in row if v is not None and not vault.is_current(v))
    return n


def test_reseal_moves_everything_to_the_new_key_and_the_old_key_can_go(store, agency, run, monkeypatch):
    from services.sms_inbound import _parties

    from services import notify_api

    notify_api.register(agency.advocate, agency.case, agency.victim, "all", "phone")  # notices, sealed
    _fernet_era(store, agency.victim)
    rotated = Store(store.url, [NEW, KEY])
    try:
        assert _stale(rotated) > 0
        monkeypatch.setenv("VCASE_KEY", f"{NEW},{KEY}")
        code, out, err = run("ada", "key", "reseal", "--batch", "2", "--json")
        assert code == 0, err
        result = json.loads(out)
        assert result["resealed"]["party"] >= 4 and _stale(rotated) == 0
        code, out, err = run("ada", "key", "reseal", "--json")  # again: nothing left to do
        assert code == 0 and sum(json.loads(out)["resealed"].values()) == 0
    finally:
        rotated.dispose()
    alone = Store(store.url, [NEW])  # the old key removed
    try:
        alone.check_ready()
        app = App(alone, default(), agency.clock, "avery")
        assert app.show_party(agency.victim)["name"] == "Maria Victim"
        assert app.show_party(agency.victim)["phone"] == "+1 312 555 0101"
        with alone.read() as s:
            assert [p.id for p in _parties(s, alone.vault, "+13125550101")] == [agency.victim]
            bodies = [alone.vault.decrypt(n.body_enc) for n in s.execute(select(Notice)).scalars()]
            assert all(bytes(n.subject_enc).startswith(MAGIC) for n in s.execute(select(Notice)).scalars())
        assert bodies
        verified = App(alone, default(), agency.clock, "ada").verify_audit()
        assert verified["ok"]
        with alone.read() as s:
            entries = s.execute(text("SELECT detail FROM audit_entry WHERE action = 'key.reseal' ORDER BY id")).scalars().all()
        assert len(entries) == 2 and all("Maria" not in str(e) and "party" in str(e) for e in entries)
    finally:
        alone.dispose()


def test_only_an_admin_may_reseal_and_a_refusal_changes_nothing(store, agency, run, monkeypatch):
    monkeypatch.setenv("VCASE_KEY", f"{NEW},{KEY}")
    before = dump(store)
    code, out, err = run("vera", "key", "reseal")
    assert code != 0 and "not permitted" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert dump(store) == before


@pytest.mark.parametrize("key", ["not-a-key", ""])
def test_a_malformed_new_key_is_refused_before_anything_is_read(store, agency, run, monkeypatch, key):
    monkeypatch.setenv("VCASE_KEY", f"{key},{KEY}" if key else ",")
    before = dump(store)
    code, out, err = run("ada", "key", "reseal")
    assert code != 0 and "Traceback" not in err
    assert dump(store) == before


@pytest.mark.postgres
def test_a_change_made_while_resealing_is_kept_not_overwritten(pg_store, clock, tmp_path, monkeypatch):
    """A party's e-mail changed (uncommitted) when the reseal reaches her row: the reseal waits for
    that change and seals it, instead of writing back the value it read before (a lost update would
    send her notices to the address she just left)."""
    import threading
    import time as _time

    from engine.rekey import reseal
    from tests.conftest import build_admin, build_agency

    agency = build_agency(build_admin(pg_store, clock, tmp_path / "outbox"))
    rotated = Store(pg_store.url, [NEW, KEY])
    other = pg_store.engine.connect()
    try:
        tx = other.begin()
        other.execute(text("UPDATE party SET email_enc = :v WHERE id = :id"),
                      {"v": pg_store.vault.encrypt("new-address@example.org"), "id": agency.victim})
        worker = threading.Thread(target=reseal, args=(rotated,))
        worker.start()
        _time.sleep(1.0)  # the reseal is now at her row
        tx.commit()
        worker.join(timeout=60)
        assert not worker.is_alive()
        app = App(rotated, default(), agency.clock, "avery")
        assert app.show_party(agency.victim)["email"] == "new-address@example.org"
        assert _stale(rotated) == 0
    finally:
        other.close()
        rotated.dispose()
