"""Applying events: who may do what, when, and that a refusal writes nothing.

The first test is table-driven over the toy workflow: every reachable state x
every event x every kind of actor. The expected outcome comes from the
``MAY`` table below, written out by hand from the toy's rules, never from
the engine's own permission code. An allowed event moves the state, bumps the
version by one and writes exactly one audit entry; a refused one raises the
right error and leaves every table exactly as it was.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from engine import runtime
from engine.api import App
from engine.clock import SimulatedClock
from engine.definition import Workflow, allow, step, when
from engine.db import Store
from engine.errors import Hidden, InvalidInput, NotAllowed, NotFound, NotPermitted
from engine.permissions import SYSTEM
from engine.records import bootstrap_admin
from engine.registry import Registry, default
from engine.schema import store_key_check, upgrade
from tests.conftest import KEY, STAFF, START, fresh_pg_database
from tests.support import dump
from tests.toy_workflow import VICTIM_SIDE, WORKFLOW, S

# -- the expectation table ----------------------------------------------------------

STATES = ("open", "review", "paused", "done", "withdrawn")
EVENTS = ("submit", "approve", "note", "expire", "pause", "resume", "withdraw")
# actor id -> (staff login, the party they act for, or None for their own capacity); "system" is the scheduler
ACTORS = {
    "officer": ("oscar", None),
    "advocate": ("avery", None),
    "victim_services": ("vera", None),
    "facilitator": ("fay", None),
    "parole_board": ("pat", None),
    "admin": ("ada", None),
    "advocate_for_victim": ("avery", "victim"),
    "victim_services_for_victim": ("vera", "victim"),
    "advocate_for_guardian": ("avery", "guardian"),
    "officer_for_offender": ("oscar", "offender"),
    "advocate_for_offender": ("avery", "offender"),
    "officer_for_victim": ("oscar", "victim"),
    "system": (None, None),
}
# The toy is started for the victim: the guardian of the minor co-victim does not act in her name.
FOR_VICTIM = {"advocate_for_victim", "victim_services_for_victim"}
# (state, event) -> (where it leads, who may send it). Anything missing does not apply in that state.
# The "paused" process was paused from review, so resume leads back to review.
MAY = {
    ("open", "submit"): ("review", FOR_VICTIM),
    ("review", "approve"): ("done", {"victim_services"}),
    ("review", "note"): ("review", {"victim_services"}),
    ("review", "expire"): ("done", {"system"}),
    ("open", "pause"): ("paused", FOR_VICTIM | {"facilitator"}),
    ("review", "pause"): ("paused", FOR_VICTIM | {"facilitator"}),
    ("paused", "resume"): ("review", FOR_VICTIM | {"facilitator"}),
    ("open", "withdraw"): ("withdrawn", FOR_VICTIM | {"officer_for_offender"}),
    ("review", "withdraw"): ("withdrawn", FOR_VICTIM | {"officer_for_offender"}),
    ("paused", "withdraw"): ("withdrawn", FOR_VICTIM | {"officer_for_offender"}),
}


READERS = {"advocate", "victim_services", "facilitator", "admin", "advocate_for_victim", "victim_services_for_victim",
           "advocate_for_guardian", "advocate_for_offender", "system"}  # the toy's readers, whoever they act for


def expected(state: str, event: str, actor: str):
    """('moves', target) | ('refused', NotAllowed) | ('refused', NotPermitted) | ('refused', Hidden).

    For a reader the state is checked before the actor: an event that does not
    apply is NotAllowed whoever sends it. A non-reader learns nothing of the
    state: one who may send no event of the toy is told it does not exist
    (Hidden); one who may never send this event is NotPermitted; one who could
    send it in some state gets a NotAllowed that names none."""
    moves = (state, event) in MAY and actor in MAY[(state, event)][1]
    if actor not in READERS and not moves:
        if not any(actor in who for _, who in MAY.values()):
            return "refused", Hidden
        if not any(actor in who for (_, e), (_, who) in MAY.items() if e == event):
            return "refused", NotPermitted
        return "refused", NotAllowed
    if (state, event) not in MAY:
        return "refused", NotAllowed
    target, who = MAY[(state, event)]
    return ("moves", target) if actor in who else ("refused", NotPermitted)


CASES = [pytest.param(s, e, a, id=f"{s}-{e}-{a}") for s in STATES for e in EVENTS for a in ACTORS]


def test_the_table_covers_what_the_toy_allows():
    """A sanity check on the table itself: 23 allowed combinations, the rest refused."""
    outcomes = [expected(s, e, a)[0] for s in STATES for e in EVENTS for a in ACTORS]
    assert outcomes.count("moves") == 23
    assert len(outcomes) == len(STATES) * len(EVENTS) * len(ACTORS) == 455


# -- one agency per database for the whole table (each test gets its own process) -----

@contextmanager
def private_pg_store():
    """A PostgreSQL database of its own, so the per-test truncation of ``pg_store`` cannot touch it."""
    with fresh_pg_database("vcase_matrix") as url:
        store = Store(url, [KEY])
        try:
            upgrade(store)
            store_key_check(store)
            yield store
        finally:
            store.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request, sqlite_template, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "vcase.db"
        shutil.copy(sqlite_template, path)
        store = Store(f"sqlite:///{path}", [KEY])
        yield _seed(store)
        store.dispose()
    else:
        with private_pg_store() as store:
            yield _seed(store)


def _seed(store: Store) -> SimpleNamespace:
    clock = SimulatedClock(START)
    admin = App(store, default(), clock, login="ada")
    with store.write() as session:
        bootstrap_admin(session, "ada", "Ada Admin", clock.now())
    for login, name, role in STAFF:
        admin.add_staff(login, name, role)
    admin.as_user("oscar").open_case("2026-CR-0001", "Sam Supervised", "oscar", "America/Chicago")
    advocate = admin.as_user("avery")
    victim = advocate.add_party("2026-CR-0001", "victim", "Maria Victim", email="maria@example.org",
                                channels=("email",))
    minor = advocate.add_party("2026-CR-0001", "co_victim", "Kim Minor", minor=True)
    guardian = advocate.add_party("2026-CR-0001", "guardian", "Gail Guardian", represents=minor["id"])
    for party in (victim, minor, guardian):  # privacy.confidentiality_first: on record before acting for them
        advocate.explain_confidentiality(party["id"], "in_person")
    offender = next(p for p in advocate.list_parties("2026-CR-0001") if p["kind"] == "supervised_person")
    parties = {"victim": victim["id"], "guardian": guardian["id"], "offender": offender["id"]}
    return SimpleNamespace(store=store, clock=clock, admin=admin, parties=parties, cached={})


def send(world, process_id: int, event: str, actor: str) -> None:
    """Send ``event`` as one of ACTORS, the way each really does it (the system through the runtime)."""
    params = {"summary": "the victim's request, in her words"} if event == "submit" else None
    login, party = ACTORS[actor]
    if actor == "system":
        with world.store.write() as session:
            runtime.apply(session, world.store.vault, default(), process_id=process_id, event=event, actor=SYSTEM,
                          now=world.clock.now(), params=params)
        return
    world.admin.as_user(login).send(process_id, event, for_party=world.parties[party] if party else None,
                                    params=params)


def make_process(world, state: str) -> int:
    """A new toy process brought to ``state`` by the usual people."""
    pid = world.admin.as_user("avery").start("2026-CR-0001", "toy", world.parties["victim"])["process"]
    path = {"open": [], "review": ["submit"], "paused": ["submit", "pause"], "done": ["submit", "approve"],
            "withdrawn": ["withdraw"]}[state]
    for event in path:
        send(world, pid, event, "victim_services" if event == "approve" else "advocate_for_victim")
    assert row(world, pid)[0] == state
    return pid


def process_in(world, state: str) -> int:
    """A process in ``state`` shared by the refusals (which write nothing); a fresh one if it moved."""
    pid = world.cached.get(state)
    if pid is None or row(world, pid)[0] != state:
        pid = world.cached[state] = make_process(world, state)
    return pid


def row(world, pid: int) -> tuple:
    with world.store.engine.connect() as conn:
        return tuple(conn.execute(text("SELECT state, version, paused_from FROM process WHERE id = :id"),
                                  {"id": pid}).one())


def audit_rows(world) -> int:
    with world.store.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()


def last_audit(world) -> tuple:
    with world.store.engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT action, process_id, from_state, to_state, actor_role, on_behalf_of FROM audit_entry "
            "ORDER BY id DESC LIMIT 1")).one())


@pytest.mark.parametrize("state,event,actor", CASES)
def test_every_state_event_and_actor(world, state, event, actor):
    outcome, what = expected(state, event, actor)
    if outcome == "moves":
        pid = make_process(world, state)
        _, version, _ = row(world, pid)
        entries = audit_rows(world)
        send(world, pid, event, actor)
        assert row(world, pid) == (what, version + 1, state if event == "pause" else None)
        assert audit_rows(world) == entries + 1
        login, party = ACTORS[actor]
        role = "system" if actor == "system" else dict((s[0], s[2]) for s in STAFF).get(login, "admin")
        assert last_audit(world) == (f"toy.{event}", pid, state, what, role,
                                     world.parties[party] if party else None)
    else:
        pid = process_in(world, state)
        before = dump(world.store)
        with pytest.raises(what) as refused:
            send(world, pid, event, actor)
        assert type(refused.value) is what, f"{type(refused.value).__name__}: {refused.value}"
        assert dump(world.store) == before


# -- victim initiation: engine side (the schema side is in test_records.py) -----------

@pytest.mark.parametrize("login,party", [
    pytest.param("oscar", "offender", id="officer-for-the-offender"),
    pytest.param("avery", "offender", id="advocate-for-the-offender"),
    pytest.param("avery", None, id="advocate-own-capacity"),
    pytest.param("vera", None, id="victim_services-own-capacity"),
    pytest.param("oscar", None, id="officer-own-capacity"),
    pytest.param("ada", None, id="admin-own-capacity"),
])
def test_only_the_victim_side_can_start_a_victim_initiated_process(agency, login, party):
    before = dump(agency.store)
    with pytest.raises(NotPermitted):
        agency.admin.as_user(login).start(agency.case, "toy", getattr(agency, party) if party else None)
    assert dump(agency.store) == before


@pytest.mark.parametrize("party", ["victim", "guardian"])
def test_the_victim_side_starts_it_and_is_recorded_as_initiator(agency, party):
    started = agency.advocate.start(agency.case, "toy", getattr(agency, party), via="phone")
    shown = agency.vs.show_process(started["process"])
    assert (shown["state"], shown["version"], shown["initiator_party"]) == ("open", 1, getattr(agency, party))
    history = agency.vs.history(started["process"])
    assert [(h["action"], h["for_party"], h["via"]) for h in history] == [("start", getattr(agency, party), "phone")]


# -- pinned versions ----------------------------------------------------------------

def _registry(*workflows: Workflow) -> Registry:
    registry = Registry()
    for wf in workflows:
        registry.add(wf)
    return registry


def _facilitator_approves(version: int) -> Workflow:
    """The toy with one rule changed: the facilitator approves instead of victim services."""
    steps = tuple(step(S.review, "approve", S.done, by=allow("facilitator")) if s.event == "approve" else s
                  for s in WORKFLOW.steps)
    return replace(WORKFLOW, version=version, steps=steps)


def test_a_running_process_keeps_the_version_it_started_on(agency):
    v1_only = _registry(WORKFLOW)
    as_ = lambda login: App(agency.store, v1_only, agency.clock, login)  # noqa: E731
    old = as_("avery").start(agency.case, "toy", agency.victim)["process"]
    as_("avery").send(old, "submit", agency.victim, params={"summary": "s"})

    both = _registry(WORKFLOW, _facilitator_approves(2))
    as_ = lambda login: App(agency.store, both, agency.clock, login)  # noqa: E731
    new = as_("avery").start(agency.case, "toy", agency.victim)["process"]
    as_("avery").send(new, "submit", agency.victim, params={"summary": "s"})
    assert [as_("vera").show_process(p)["workflow_version"] for p in (old, new)] == [1, 2]

    before = dump(agency.store)
    with pytest.raises(NotPermitted):
        as_("fay").send(old, "approve")  # v2's rule does not apply to a v1 process
    with pytest.raises(NotPermitted):
        as_("vera").send(new, "approve")  # nor v1's rule to a v2 one
    assert dump(agency.store) == before
    assert as_("vera").send(old, "approve")["to"] == "done"
    assert as_("fay").send(new, "approve")["to"] == "done"


def test_a_definition_changed_without_a_version_bump_is_refused(agency):
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]  # pins toy v1's fingerprint
    edited = _registry(_facilitator_approves(1))
    before = dump(agency.store)
    for attempt in (lambda: App(agency.store, edited, agency.clock, "avery").send(pid, "submit", agency.victim,
                                                                                   params={"summary": "s"}),
                    lambda: App(agency.store, edited, agency.clock, "avery").start(agency.case, "toy", agency.victim)):
        with pytest.raises(NotAllowed, match="has changed"):
            attempt()
    assert dump(agency.store) == before


def test_a_process_whose_version_was_removed_is_not_run_on_another(agency):
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    only_v2 = App(agency.store, _registry(_facilitator_approves(2)), agency.clock, "avery")
    before = dump(agency.store)
    with pytest.raises(NotFound, match="no longer installed"):
        only_v2.send(pid, "submit", agency.victim, params={"summary": "s"})
    assert dump(agency.store) == before


# -- bad input changes nothing ---------------------------------------------------------

WITH_A_DATE = replace(
    WORKFLOW, name="toy_dated", withdraw_notify=(),
    steps=(step(S.open, "submit", S.review, by=VICTIM_SIDE, params=(when("meet_on"),),
                record=lambda f: {"meet_on": f.params["meet_on"]}),) + WORKFLOW.steps[1:],
)


@pytest.fixture
def in_review(agency) -> int:
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    agency.advocate.send(pid, "submit", agency.victim, params={"summary": "s"})
    return pid


def test_unknown_process_is_not_found(agency):
    before = dump(agency.store)
    with pytest.raises(NotFound):
        agency.vs.send(9999, "note")
    with pytest.raises(NotFound):
        agency.vs.show_process(9999)
    assert dump(agency.store) == before


def test_unknown_or_missing_login_is_not_permitted(agency, in_review):
    before = dump(agency.store)
    for login in ("mallory", ""):
        with pytest.raises(NotPermitted):
            agency.admin.as_user(login).send(in_review, "note")
        with pytest.raises(NotPermitted):
            agency.admin.as_user(login).start(agency.case, "toy", agency.victim)
    assert dump(agency.store) == before


def test_unknown_party_event_or_argument_is_refused(agency, in_review):
    before = dump(agency.store)
    with pytest.raises(NotFound):
        agency.advocate.send(in_review, "withdraw", for_party=9999)
    with pytest.raises(NotAllowed, match="no event"):
        agency.vs.send(in_review, "teleport")
    with pytest.raises(InvalidInput, match="unexpected argument"):
        agency.vs.send(in_review, "note", params={"mood": "sunny"})
    with pytest.raises(InvalidInput, match="unexpected argument"):
        agency.advocate.start(agency.case, "toy", agency.victim, params={"summary": "start takes none"})
    assert dump(agency.store) == before


def test_submit_without_its_required_argument_writes_nothing(agency):
    pid = agency.advocate.start(agency.case, "toy", agency.victim)["process"]
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="missing summary"):
        agency.advocate.send(pid, "submit", agency.victim)
    with pytest.raises(InvalidInput, match="longer than"):
        agency.advocate.send(pid, "submit", agency.victim, params={"summary": "x" * 2001})
    assert dump(agency.store) == before


@pytest.mark.parametrize("value", ["2026-02-30", "next tuesday", "2026-13-01T09:00", "",
                                   datetime(2026, 4, 1, 10, 0)], ids=["feb-30", "words", "month-13", "empty", "naive"])
def test_a_malformed_when_is_invalid_and_writes_nothing(agency, value):
    app = App(agency.store, _registry(WITH_A_DATE), agency.clock, "avery")
    pid = app.start(agency.case, "toy_dated", agency.victim)["process"]
    before = dump(agency.store)
    with pytest.raises(InvalidInput):
        app.send(pid, "submit", agency.victim, params={"meet_on": value})
    assert dump(agency.store) == before


def test_a_when_without_offset_is_read_in_the_case_time_zone(agency):
    app = App(agency.store, _registry(WITH_A_DATE), agency.clock, "avery")
    pid = app.start(agency.case, "toy_dated", agency.victim)["process"]
    app.send(pid, "submit", agency.victim, params={"meet_on": "2026-04-01T10:00"})  # Chicago, CDT
    assert app.as_user("vera").show_process(pid)["facts"]["meet_on"] == "2026-04-01T15:00:00+00:00"


def test_an_unknown_time_zone_when_opening_a_case_is_invalid(agency):
    before = dump(agency.store)
    with pytest.raises(InvalidInput, match="time zone"):
        agency.officer.open_case("2026-CR-0002", "Sam Other", "oscar", "Mars/Olympus_Mons")
    with pytest.raises(InvalidInput, match="time zone"):
        agency.officer.open_case("2026-CR-0002", "Sam Other", "oscar", "")
    assert dump(agency.store) == before


def test_a_naive_now_is_invalid_and_writes_nothing(agency, in_review):
    naive = datetime(2026, 3, 2, 9, 0)
    before = dump(agency.store)
    vault, registry = agency.store.vault, default()
    with pytest.raises(InvalidInput, match="no time zone"):
        with agency.store.write() as session:
            runtime.apply(session, vault, registry, process_id=in_review, event="expire", actor=SYSTEM, now=naive)
    with pytest.raises(InvalidInput, match="no time zone"):
        with agency.store.write() as session:
            actor = agency.admin.as_user("avery")._actor(session, agency.victim)
            runtime.start(session, vault, registry, case_number=agency.case, workflow="toy", actor=actor, now=naive)
    with pytest.raises(InvalidInput):
        SimulatedClock(naive)
    assert dump(agency.store) == before
    assert agency.clock.now() - START == timedelta(0)
