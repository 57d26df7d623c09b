"""Every load rule of a workflow definition, broken one at a time.

Each bad definition is the toy workflow changed in one place (or a tiny
inline one) and must be refused by ``compile_workflow`` with a
``DefinitionError`` whose ``rule`` names the rule it breaks. The first test
proves the unchanged toy compiles, so each refusal is caused by the change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from enum import Enum

import pytest

from engine.definition import SYSTEM, VICTIM, Notify, Workflow, after, allow, step, text
from engine.errors import DefinitionError
from engine.registry import compile_workflow, default
from tests.toy_workflow import VICTIM_SIDE, WORKFLOW, S

TEN_DAYS = timedelta(days=10)


class WithArchive(str, Enum):
    """The toy's states plus one nothing leads to."""

    open = "open"
    review = "review"
    done = "done"
    paused = "paused"
    withdrawn = "withdrawn"
    archived = "archived"


class Small(str, Enum):
    open = "open"
    stuck = "stuck"
    done = "done"


class SmallPausable(str, Enum):
    open = "open"
    stuck = "stuck"
    done = "done"
    paused = "paused"


class TwoStates(str, Enum):
    open = "open"
    done = "done"


def small(**overrides) -> Workflow:
    """A minimal staff-run workflow (no pause, no withdraw, no notices)."""
    fields = dict(
        name="small", version=1, title="Small", states=Small, initial="open", finals=frozenset({"done"}),
        steps=(step(Small.open, "finish", Small.done, by=allow("officer")),
               step(Small.open, "park", Small.stuck, by=allow("officer")),
               step(Small.stuck, "finish", Small.done, by=allow("officer"))),
        start_by=(allow("officer"),), readers=frozenset({"officer"}),
    )
    fields.update(overrides)
    return Workflow(**fields)


def toy(**overrides) -> Workflow:
    return replace(WORKFLOW, **overrides)


def toy_plus(*extra_steps) -> Workflow:
    return replace(WORKFLOW, steps=WORKFLOW.steps + tuple(extra_steps))


# (rule the definition breaks, how it is broken); the id says what was done.
BROKEN = [
    pytest.param("one initial state", lambda: toy(initial="limbo"), id="initial-state-not-declared"),
    pytest.param("final states exist", lambda: toy(finals=frozenset()), id="no-final-state"),
    pytest.param("nothing leaves a final state",
                 lambda: toy_plus(step(S.done, "reopen", S.review, by=allow("victim_services"))),
                 id="step-out-of-done"),
    # The toy is pausable: resume leads back only to where the process paused, so it reaches nothing new.
    pytest.param("every state reachable", lambda: toy(states=WithArchive), id="archived-unreachable-even-via-resume"),
    pytest.param("a path to a final state",
                 lambda: small(steps=small().steps[:2]), id="stuck-cannot-finish"),
    pytest.param("a path to a final state",
                 lambda: small(states=SmallPausable, steps=small().steps[:2], pause_by=(allow("officer"),),
                               resume_by=(allow("officer"),)),
                 id="stuck-cannot-finish-even-through-pause-and-resume"),
    pytest.param("every template exists",
                 lambda: toy(steps=(step(S.open, "submit", S.review, by=VICTIM_SIDE, params=(text("summary"),),
                                         notify=(Notify("no_such_template", VICTIM),)),) + WORKFLOW.steps[1:]),
                 id="step-notice-template-missing"),
    pytest.param("every template exists",
                 lambda: toy(withdraw_notify=(Notify("gone_missing", VICTIM),)), id="withdraw-template-missing"),
    pytest.param("every timer exists",
                 lambda: toy(timers=(after("nowhere", TEN_DAYS, "expire", name="review_deadline"),)),
                 id="timer-on-unknown-state"),
    pytest.param("every timer exists",
                 lambda: toy(timers=(after(S.open, TEN_DAYS, "expire", name="open_deadline"),)),
                 id="timer-event-has-no-step-from-its-state"),
    pytest.param("every timer exists",
                 lambda: toy(timers=(after(S.review, TEN_DAYS, "vanish", name="review_deadline"),)),
                 id="timer-event-unknown"),
    pytest.param("timer names are unique",
                 lambda: toy(timers=WORKFLOW.timers * 2), id="timer-name-twice"),
    pytest.param("timers fire as the system",
                 lambda: toy(timers=(after(S.review, TEN_DAYS, "note", name="review_deadline"),)),
                 id="timer-fires-a-staff-step"),
    pytest.param("withdrawn reachable from every non-terminal state",
                 lambda: toy(withdraw_by=(), withdraw_notify=(),
                             steps=WORKFLOW.steps + (step(S.review, "drop", S.withdrawn, by=VICTIM_SIDE),)),
                 id="victim-initiated-open-cannot-be-withdrawn"),
    pytest.param("withdrawn reachable from every non-terminal state",
                 lambda: Workflow(name="tiny", version=1, title="Tiny", states=TwoStates, initial="open",
                                  finals=frozenset({"done"}), victim_initiated=True, start_by=(VICTIM_SIDE,),
                                  readers=frozenset({"advocate"}),
                                  steps=(step(TwoStates.open, "finish", TwoStates.done, by=VICTIM_SIDE),)),
                 id="victim-initiated-without-withdrawal"),
    pytest.param("only the victim side starts it",
                 lambda: toy(start_by=(allow("officer", side="offender"),)), id="offender-side-starts"),
    pytest.param("only the victim side starts it",
                 lambda: toy(start_by=(VICTIM_SIDE, allow("advocate"))), id="staff-own-capacity-starts"),
    pytest.param("one step per state and event",
                 lambda: toy_plus(step(S.open, "submit", S.done, by=VICTIM_SIDE)), id="submit-twice-from-open"),
    pytest.param("one step per state and event",
                 lambda: toy_plus(step((S.open, S.review), "note", S.review, by=allow("victim_services"))),
                 id="note-from-review-twice-via-multi-source"),
    pytest.param("paused is generic", lambda: toy(pause_by=(), resume_by=()), id="paused-state-without-pause"),
    pytest.param("withdrawn is final", lambda: toy(finals=frozenset({"done"})), id="withdrawn-not-final"),
    pytest.param("generic events are the engine's",
                 lambda: toy_plus(step(S.open, "pause", S.review, by=VICTIM_SIDE)), id="step-named-pause"),
    pytest.param("steps use known states",
                 lambda: toy_plus(step(S.open, "jump", "nowhere", by=VICTIM_SIDE)), id="step-to-unknown-state"),
    pytest.param("paused takes only resume and withdraw",
                 lambda: toy_plus(step(S.paused, "poke", S.review, by=VICTIM_SIDE)), id="step-out-of-paused"),
    pytest.param("every step says who may send it",
                 lambda: toy_plus(step(S.open, "shrug", S.review, by=())), id="step-without-by"),
]


def test_the_unchanged_toy_and_every_installed_workflow_compile():
    compiled = compile_workflow(WORKFLOW)
    assert compiled.workflow is WORKFLOW
    assert compile_workflow(small()).workflow.name == "small"
    assert default().names()  # the registry the other tests use loaded without a DefinitionError


@pytest.mark.parametrize("rule,build", BROKEN)
def test_a_definition_breaking_a_rule_is_refused_naming_it(rule, build):
    wf = build()
    with pytest.raises(DefinitionError) as refused:
        compile_workflow(wf)
    assert refused.value.rule == rule, str(refused.value)
    assert refused.value.workflow == wf.name
    assert f"'{rule}'" in str(refused.value)


def test_a_timer_may_fire_a_step_that_the_system_shares_with_staff():
    """'timers fire as the system' asks that the system be admitted, not that it be alone."""
    shared = (step(S.review, "expire", S.done, by=(SYSTEM, allow("victim_services"))),)
    wf = toy(steps=tuple(s for s in WORKFLOW.steps if s.event != "expire") + shared)
    assert compile_workflow(wf).workflow.timers == WORKFLOW.timers
