"""The set-based firing path (engine.batch) does exactly what firing one timer at a time does.

The same agency is built twice, on SQLite and on PostgreSQL: registrations with
advance notices (several timers of one process due at once), a registration
whose guard now refuses its timers, a dialogue whose invitation lapses (a
state left: timers cancelled, notices), a dialogue in follow-up (check-in,
then close: a final state), a paused dialogue (frozen timers stay frozen), and
a held letter whose yearly review arms two timers due at once. A year later
one copy fires everything in batches, the other one timer at a time; every
table must then say the same, notices decrypted and compared word for word.
"""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import audit
from services import letters
from services import notify_api as N
from engine.clock import SimulatedClock
from engine.db import Store
from engine.firing import fire_due
from engine.models import AuditEntry, AuditStream, Notice, Process, Timer
from engine.registry import default
from engine.schema import store_key_check, upgrade
from tests.conftest import KEY, START, build_admin, build_agency, fresh_pg_database
from tests.support import dump

LETTER = "I hurt you, and I have no excuse for it. I am working on myself so that no one else is harmed by me."
CHECKED = "harm,blame,excuses,forgiveness,contact,contact_details,preaching,revictimizing"


def populate(store: Store, tmp_path) -> dict:
    clock = SimulatedClock(START)
    a = build_agency(build_admin(store, clock, tmp_path / "outbox"))
    case, adv, fay, vs, officer = a.case, a.advocate, a.facilitator, a.vs, a.officer
    ids = {}
    ids["reg_victim"] = adv.start(case, "notification", a.victim, "phone", {"events": "all"})["process"]
    ids["reg_guardian"] = adv.start(case, "notification", a.guardian, "phone", {"events": "all"})["process"]
    ids["reg_narrow"] = adv.start(case, "notification", a.victim, "phone", {"events": "all"})["process"]
    N.record_event(officer, case, "release_scheduled", clock.now() + timedelta(days=40), "County jail, east gate")
    # After the advance notices were armed, this registration stops asking for releases: its timers
    # fire into a guard that refuses, and are cancelled with the reason.
    adv.send(ids["reg_narrow"], "change_events", a.victim, "phone", params={"events": "parole_hearing"})

    def to_invited(party):
        pid = adv.start(case, "dialogue", party, "phone")["process"]
        adv.send(pid, "begin_intake")
        adv.send(pid, "record_screening", params={"appeals": "exhausted", "safety_screen": "no_concerns"})
        vs.send(pid, "assign_facilitator", params={"facilitator": "fay"})
        fay.send(pid, "invite_offender")
        return pid

    ids["lapsing"] = to_invited(a.victim)
    ids["paused"] = to_invited(a.victim)
    adv.send(ids["paused"], "pause", a.victim, "phone")
    ids["follow_up"] = pid = to_invited(a.victim)
    officer.act(pid, "dialogue", "offender_accepts", by="offender", via="in_person")
    for party in ("victim", "offender"):
        fay.send(pid, "record_agreements", params={"party": party})
    fay.send(pid, "begin_preparation")
    for party in ("victim", "offender"):
        fay.send(pid, "record_session", params={"party": party})
        fay.send(pid, "mark_ready", params={"party": party})
    fay.send(pid, "schedule", params={"dialogue_at": clock.now() + timedelta(days=20), "format": "in_person"})
    clock.advance(timedelta(days=21))
    fire_due(store, default(), clock.now(), one_at_a_time=True)  # its reminders, the same for both copies
    fay.send(pid, "record_dialogue")
    fay.send(pid, "begin_follow_up")
    lid = letters.submit(officer, case, a.victim, a.offender, LETTER, "in_writing")["letter"]
    letters.send(vs, lid, "accept", params={"checklist": CHECKED})
    ids["letter"] = lid
    clock.advance(timedelta(days=400))  # everything is due now
    return {"clock": clock, "ids": ids}


@contextmanager
def two_copies(kind: str, sqlite_template, tmp_path):
    if kind == "sqlite":
        stores = []
        for name in ("batch", "single"):
            shutil.copy(sqlite_template, tmp_path / f"{name}.db")
            stores.append(Store(f"sqlite:///{tmp_path / name}.db", [KEY]))
        try:
            yield stores
        finally:
            for s in stores:
                s.dispose()
        return
    with fresh_pg_database("vcase_batch") as one, fresh_pg_database("vcase_single") as two:
        stores = [Store(one, [KEY]), Store(two, [KEY])]
        try:
            for s in stores:
                upgrade(s)
                store_key_check(s)
            yield stores
        finally:
            for s in stores:
                s.dispose()


# how dump() shows an AEAD value (repr quotes bytes holding a ' with "), a Fernet token (bytes, text)
SEALED = ("b'\\x00v2", 'b"\\x00v2', "b'gAAAAA", "'gAAAAA")


def comparable(store: Store) -> dict:
    """Every table, with what legitimately differs between the paths (the order rows were inserted
    in, hence ids of new rows) replaced by what identifies them; notices decrypted."""
    out = {table: sorted(tuple("<encrypted>" if v.startswith(SEALED) else v for v in row) for row in rows)
           for table, rows in dump(store).items()}  # sealed values differ each time (random nonces); notices are decrypted below
    with store.read() as s:
        where = {e.id: f"{e.stream}#{e.seq}" for e in s.execute(select(AuditEntry)).scalars()}
        out["audit_entry"] = sorted((e.stream, e.seq, e.action, e.from_state, e.to_state, json.dumps(e.detail, sort_keys=True),
                                     e.prev_hash, e.hash) for e in s.execute(select(AuditEntry)).scalars())
        out["audit_stream"] = sorted((h.stream, h.seq, h.head_hash) for h in s.execute(select(AuditStream)).scalars())
        out["timer"] = sorted((t.process_id, t.name, t.event, t.status, str(t.due_at), str(t.fired_at),
                               t.remaining_seconds, t.note or "", t.case_event_id or 0)
                              for t in s.execute(select(Timer)).scalars())
        v = store.vault
        out["notice"] = sorted(
            (re.sub(r"^audit/(\d+)", lambda m: f"audit/{where[int(m.group(1))]}", n.idempotency_key), n.case_id,
             n.process_id, n.recipient_party_id or 0, n.recipient_staff_id or 0, n.audience, n.template, n.language,
             n.channel, n.status, n.emergency, n.survives_withdrawal, str(n.not_before), str(n.created_at),
             n.case_event_id or 0, v.decrypt(n.subject_enc), v.decrypt(n.body_enc),
             v.decrypt(n.context_enc) if n.context_enc else "")
            for n in s.execute(select(Notice)).scalars())
    return out


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("size", [500, 2])
def test_the_batch_path_writes_what_one_at_a_time_writes(kind, size, sqlite_template, tmp_path):
    with two_copies(kind, sqlite_template, tmp_path) as (batched, single):
        built = [populate(batched, tmp_path / "a"), populate(single, tmp_path / "b")]
        assert comparable(batched) == comparable(single)  # the same agency, before
        now = built[0]["clock"].now()
        results = []
        for store, one in ((batched, False), (single, True)):
            first = fire_due(store, default(), now, size, one_at_a_time=one)
            second = fire_due(store, default(), now, size, one_at_a_time=one)  # the review's two timers, due now
            results.append((first.fired + second.fired, first.skipped + second.skipped))
        assert results[0] == results[1]
        fired, skipped = results[0]
        assert (fired, skipped) == (10, 2), results  # the scenario really fired, and really refused
        after = comparable(batched), comparable(single)
        assert after[0] == after[1]
        ids = built[0]["ids"]
        with batched.read() as s:
            state = {k: s.get(Process, v).state for k, v in ids.items()}
            reasons = [t.note for t in s.execute(select(Timer).where(Timer.process_id == ids["reg_narrow"])).scalars()]
        assert state["lapsing"] == "not_possible" and state["follow_up"] == "closed"
        assert state["paused"] == "paused" and state["letter"] in ("held", "expired")
        assert any("could not fire" in (r or "") for r in reasons)
        with batched.read() as s:
            assert list(audit.verify(s)) == []


def test_a_set_that_fails_to_write_is_undone_and_every_timer_handed_back(store, tmp_path, monkeypatch):
    """A race the locks did not stop (here: a process moved after the batch read it) makes the
    version-guarded update refuse the set; the set is undone, nothing of it stays, and every timer
    is handed back to fire one at a time."""
    from sqlalchemy import func

    from engine import batch
    from engine.timers import due_rows

    built = populate(store, tmp_path)
    now = built["clock"].now()
    claim = batch._claim

    def someone_else_moves_one(session, changes, now):
        session.execute(Process.__table__.update().where(Process.__table__.c.id == changes[0][1].process.id)
                        .values(version=Process.__table__.c.version + 1))
        return claim(session, changes, now)

    monkeypatch.setattr(batch, "_claim", someone_else_moves_one)
    with store.write() as s:
        due = due_rows(s, now, 500)
        entries = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        done, alone = batch.fire(s, store.vault, default(), due, now)
        assert (done.fired, done.skipped) == (0, 0)
        assert [t.id for t in alone] == [t.id for t in due]
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == entries
        assert {t.status for t in s.execute(select(Timer).where(Timer.id.in_([t.id for t in due]))).scalars()} == {"pending"}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_notice_that_cannot_be_rendered_fails_its_own_timer_not_the_batch(kind, sqlite_template, tmp_path,
                                                                            monkeypatch):
    """The guardian's notices cannot be rendered (a broken agency template, say): in both paths her
    registration's timers are cancelled with the reason and everyone else's fire."""
    from engine.errors import RenderError
    from notices import render

    real = render.render

    def broken_for_gail(path, values):
        if values.get("recipient_name") == "Gail Guardian":
            raise RenderError(f"notice template {path} cannot be rendered: broken on purpose")
        return real(path, values)

    with two_copies(kind, sqlite_template, tmp_path) as (batched, single):
        built = [populate(batched, tmp_path / "a"), populate(single, tmp_path / "b")]
        monkeypatch.setattr(render, "render", broken_for_gail)
        now = built[0]["clock"].now()
        results = [fire_due(batched, default(), now, 500), fire_due(single, default(), now, 500, one_at_a_time=True)]
        assert [(r.fired, r.skipped) for r in results] == [(7, 4)] * 2  # 2 more refused than without the fault
        assert comparable(batched) == comparable(single)
        with batched.read() as s:
            gail = [t.note for t in s.execute(select(Timer).where(Timer.process_id == built[0]["ids"]["reg_guardian"],
                                                                  Timer.status == "cancelled")).scalars()]
        assert len(gail) == 2 and all("broken on purpose" in n for n in gail)
