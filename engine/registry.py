"""Loads workflow definitions and compiles each into one ``transitions`` Machine.

One Machine per definition version, never one per case and never bound onto
a database row: the runtime moves a throwaway token through the Machine to
find where an event leads. Every version a module lists stays loadable, so a
running process keeps the rules it started with.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Optional

from engine.definition import PAUSE, PAUSED, RESUME, WITHDRAW, Workflow, check
from engine.errors import NotAllowed, NotFound

BUILT_IN: tuple[str, ...] = ("workflows.notification", "workflows.dialogue", "workflows.letter_bank",
                              "workflows.referral", "workflows.agreement",
                              "workflows.intimidation")


@dataclass
class Compiled:
    workflow: Workflow
    machine: object  # transitions.Machine
    # The Machine's answers, remembered: a definition never changes once compiled, and its only
    # condition is the state a resume returns to, which is part of the key.
    _targets: dict = field(default_factory=dict, repr=False)
    _events: dict = field(default_factory=dict, repr=False)
    _steps: dict = field(default_factory=dict, repr=False)
    _known: Optional[frozenset] = field(default=None, repr=False)

    def target(self, state: str, event: str, resume_to: Optional[str] = None) -> str:
        """Run ``event`` from ``state`` through the Machine; return the new state."""
        key = (state, event, resume_to)
        if key not in self._targets:
            self._targets[key] = self._run(state, event, resume_to)
        return self._targets[key]

    def _run(self, state: str, event: str, resume_to: Optional[str]) -> str:
        from transitions import MachineError

        token = SimpleNamespace(state=state)
        try:
            moved = self.machine.events[event].trigger(token, resume_to=resume_to)
        except (MachineError, KeyError):
            moved = False
        if not moved:
            raise NotAllowed(f"Can't {event} when in {state}.", event=event, state=state)
        return token.state

    def known_events(self) -> frozenset[str]:
        """Every event the definition has (its steps', and pause, resume and withdraw)."""
        if self._known is None:
            self._known = frozenset({s.event for s in self.workflow.steps} | {PAUSE, RESUME, WITHDRAW})
        return self._known

    def step(self, source: str, event: str):
        """The definition's step for ``event`` from ``source``; None for pause, resume and withdraw."""
        key = (source, event)
        if key not in self._steps:
            self._steps[key] = next((s for s in self.workflow.steps if s.event == event and source in s.sources), None)
        return self._steps[key]

    def events_from(self, state: str) -> list[str]:
        if state not in self._events:
            self._events[state] = tuple(sorted(self.machine.get_triggers(state)))
        return list(self._events[state])


def compile_workflow(wf: Workflow) -> Compiled:
    from transitions import Machine

    from notices.render import template_exists

    check(wf, template_exists)
    machine = Machine(
        model=None, states=list(wf.state_names), initial=wf.initial,
        auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
    )
    for src, event, dst in wf.edges():
        if event == RESUME:
            machine.add_transition(event, PAUSED, dst, conditions=[_resume_to(dst)])
        else:
            machine.add_transition(event, src, dst)
    return Compiled(wf, machine)


def _resume_to(state: str):
    def condition(event_data) -> bool:
        return event_data.kwargs.get("resume_to") == state

    condition.__name__ = f"resume_to_{state}"
    return condition


class Registry:
    def __init__(self) -> None:
        self._by_key: dict[tuple[str, int], Compiled] = {}

    def add(self, wf: Workflow) -> Compiled:
        compiled = compile_workflow(wf)
        self._by_key[(wf.name, wf.version)] = compiled
        return compiled

    def get(self, name: str, version: int) -> Compiled:
        return _lookup(self._by_key, name, version)

    def definition(self, name: str, version: int) -> Workflow:
        """The definition a process is pinned to (what readers need: no Machine)."""
        return self.get(name, version).workflow

    def latest(self, name: str) -> Compiled:
        versions = [v for n, v in self._by_key if n == name]
        if not versions:
            raise NotFound(f"unknown workflow {name!r}; `vcase workflow list` shows them")
        return self._by_key[(name, max(versions))]

    def names(self) -> list[str]:
        return sorted({n for n, _ in self._by_key})

    def all(self) -> list[Compiled]:
        return [self._by_key[k] for k in sorted(self._by_key)]


def _lookup(by_key: dict, name: str, version: int):
    try:
        return by_key[(name, version)]
    except KeyError:
        if any(n == name for n, _ in by_key):
            raise NotFound(
                f"workflow {name} version {version} is no longer installed; a process pinned to it "
                "needs that version restored in workflows/ (definitions keep their old versions)"
            ) from None
        raise NotFound(f"unknown workflow {name!r}; `vcase workflow list` shows them") from None


def _definitions(module_names) -> list[Workflow]:
    found = []
    for module_name in module_names:
        module = importlib.import_module(module_name)
        found.extend(getattr(module, "VERSIONS", None) or [module.WORKFLOW])
    return found


def load_modules(module_names) -> Registry:
    registry = Registry()
    for wf in _definitions(module_names):
        registry.add(wf)
    return registry


def _installed() -> list[str]:
    """The built-in workflow modules plus any listed in ``VCASE_WORKFLOWS`` (comma-separated)."""
    return list(BUILT_IN) + [m.strip() for m in os.environ.get("VCASE_WORKFLOWS", "").split(",") if m.strip()]


@lru_cache(maxsize=1)
def default() -> Registry:
    """The installed workflows (``_installed``), each checked and compiled to its Machine."""
    return load_modules(_installed())


@lru_cache(maxsize=1)
def definitions():
    """The installed workflows' definitions by (name, version), neither checked nor compiled: for a
    read command that only asks who may read a process (``engine.reader``). ``default()`` is what
    checks them, at every command that changes anything and in the tests."""
    by_key = {(wf.name, wf.version): wf for wf in _definitions(_installed())}
    return lambda name, version: _lookup(by_key, name, version)
