"""The audit trail: append-only by trigger, tamper-evident by hash chain.

Tampering is done the way an intruder with database access would: drop the
append-only trigger, then change or delete a row with plain SQL. ``verify``
must then name the entry (or the stream whose tail was cut).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import audit
from engine.migrations import append_only
from engine.models import AuditEntry
from tests.support import dump


@pytest.fixture
def history(agency):
    """A case with a varied history: start, submit, pause, resume, a note, a fired timer, a withdrawn process."""
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "asks for a letter, \u00e9t\u00e9 \U0001f4dd"})
    agency.clock.advance(timedelta(days=1))
    agency.facilitator.send(pid, "pause")
    agency.clock.advance(timedelta(days=2))
    agency.facilitator.send(pid, "resume")
    agency.vs.send(pid, "note")
    agency.admin.run_until(agency.clock.now() + timedelta(days=30))
    other = agency.advocate.start(agency.case, "toy", agency.guardian)["process"]
    agency.advocate.send(other, "withdraw", agency.guardian, params={"reason": "changed her mind"})
    agency.admin.set_setting("agency.name", "County Victim Services")
    assert agency.vs.show_process(pid)["state"] == "done"
    return agency


def sql(store, statement: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def scalar(store, statement: str, **params):
    with store.engine.connect() as conn:
        return conn.execute(text(statement), params).scalar_one()


def problems(store) -> list[audit.Problem]:
    with store.read() as s:
        return list(audit.verify(s))


@contextmanager
def triggers_dropped(store):
    """What an intruder would do first; put back afterwards (the PostgreSQL database outlives the test)."""
    if store.is_sqlite:
        sql(store, "DROP TRIGGER audit_entry_no_update")
        sql(store, "DROP TRIGGER audit_entry_no_delete")
    else:
        sql(store, "DROP TRIGGER audit_entry_no_change ON audit_entry")
    try:
        yield
    finally:
        if store.is_sqlite:
            for statement in append_only.SQLITE:
                sql(store, statement)
        else:
            sql(store, append_only.POSTGRESQL[1])


def test_verify_passes_on_a_clean_history(history):
    report = history.admin.verify_audit()
    assert report["ok"] and report["problems"] == []
    assert report["entries"] == scalar(history.store, "SELECT count(*) FROM audit_entry") > 15
    streams = scalar(history.store, "SELECT count(DISTINCT stream) FROM audit_entry")
    processes = scalar(history.store, "SELECT count(DISTINCT process_id) FROM audit_entry")
    assert processes >= 1 and streams == 2 + processes  # "system" (staff, settings), "case:1", one per process
    assert history.vs.verify_audit()["ok"]


@pytest.mark.parametrize("column,value", [
    ("actor_login", "'mallory'"),
    ("to_state", "'withdrawn'"),
    ("on_behalf_of", "NULL"),
    ("detail", "'{}'"),
    ("at", "at"),  # rewritten in place: unchanged content must still verify (control, see below)
], ids=["who", "outcome", "for-whom", "detail", "unchanged-rewrite"])
def test_an_altered_entry_is_named_by_id(history, column, value):
    store = history.store
    target = scalar(store, "SELECT id FROM audit_entry WHERE action = 'toy.submit'")
    with triggers_dropped(store):
        sql(store, f"UPDATE audit_entry SET {column} = {value} WHERE id = :id", id=target)
    found = problems(store)
    if column == "at":
        assert found == []
        return
    assert [(p.entry_id, p.what) for p in found] == [(target, "content does not match its hash (altered)")]
    report = history.admin.verify_audit()
    assert not report["ok"]
    stream = scalar(store, "SELECT stream FROM audit_entry WHERE id = :id", id=target)
    assert stream.startswith("process:") and report["problems"][0].startswith(f"audit entry {target} ({stream} #")


def test_a_rehashed_entry_is_caught_by_the_next_link(history):
    """An intruder who also recomputes the altered entry's own hash breaks the link after it."""
    store = history.store
    with store.read() as s:
        entry = s.execute(select(AuditEntry).where(AuditEntry.action == "toy.submit")).scalar_one()
        after = s.execute(select(AuditEntry.id).where(AuditEntry.stream == entry.stream,
                                                      AuditEntry.seq == entry.seq + 1)).scalar_one()
        s.expunge(entry)
    entry.actor_login = "mallory"
    forged, target = audit.digest(entry), entry.id
    with triggers_dropped(store):
        sql(store, "UPDATE audit_entry SET actor_login = 'mallory', hash = :h WHERE id = :id", h=forged, id=target)
    assert [(p.entry_id, p.what) for p in problems(store)] == [(after, "does not link to the entry before it")]


def test_deleting_the_last_entry_is_detected(history):
    store = history.store
    last = scalar(store, "SELECT max(id) FROM audit_entry WHERE stream = 'case:1'")
    with triggers_dropped(store):
        sql(store, "DELETE FROM audit_entry WHERE id = :id", id=last)
    found = problems(store)
    assert [(p.entry_id, p.stream) for p in found] == [(None, "case:1")]
    assert "removed" in found[0].what
    assert not history.admin.verify_audit()["ok"]


def test_deleting_an_entry_in_the_middle_is_detected(history):
    store = history.store
    seq = scalar(store, "SELECT seq FROM audit_entry WHERE action = 'toy.pause'")
    stream = scalar(store, "SELECT stream FROM audit_entry WHERE action = 'toy.pause'")
    following = scalar(store, "SELECT id FROM audit_entry WHERE stream = :st AND seq = :s", st=stream, s=seq + 1)
    with triggers_dropped(store):
        sql(store, "DELETE FROM audit_entry WHERE stream = :st AND seq = :s", st=stream, s=seq)
    found = problems(store)
    assert {p.entry_id for p in found} == {following}
    assert any("entries removed" in p.what for p in found)


def test_deleting_a_whole_stream_is_detected(history):
    store = history.store
    with triggers_dropped(store):
        sql(store, "DELETE FROM audit_entry WHERE stream = 'system'")
    assert [(p.entry_id, p.stream) for p in problems(store)] == [(None, "system")]


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET actor_login = 'mallory' WHERE id = 1",
    "UPDATE audit_entry SET detail = detail",
    "DELETE FROM audit_entry WHERE id = (SELECT max(id) FROM audit_entry)",
    "DELETE FROM audit_entry",
], ids=["update-one", "update-all-unchanged", "delete-last", "delete-all"])
def test_the_triggers_refuse_changes_to_the_trail(history, statement):
    store = history.store
    before = dump(store)
    with pytest.raises(DBAPIError, match="append-only"):
        sql(store, statement)
    assert dump(store) == before
    assert problems(store) == []


def test_verify_only_for_roles_that_may(history):
    from engine.errors import NotPermitted

    for app in (history.officer, history.advocate, history.facilitator, history.parole):
        with pytest.raises(NotPermitted):
            app.verify_audit()
