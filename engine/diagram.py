"""A workflow definition drawn as a Mermaid state diagram."""

from __future__ import annotations

from engine.definition import PAUSE, PAUSED, RESUME, WITHDRAW, WITHDRAWN, Workflow


def mermaid(wf: Workflow) -> str:
    """``stateDiagram-v2`` text: every step, plus the generic pause/resume/withdraw."""
    lines = ["stateDiagram-v2", f"    %% {wf.name} v{wf.version}: {wf.title}", f"    [*] --> {wf.initial}"]
    # One line per (from, to): Mermaid draws only the last of several edges between the same two
    # states (mermaid-js/mermaid#6132), so parallel events share one label, a line each.
    pairs: dict[tuple[str, str], list[str]] = {}
    for src, event, dst in wf.edges():
        if event not in (PAUSE, RESUME, WITHDRAW):
            pairs.setdefault((src, dst), []).append(event)
    lines += [f"    {src} --> {dst}: {'<br/>'.join(events)}" for (src, dst), events in pairs.items()]
    live = [s for s in wf.state_names if s not in wf.finals and s != PAUSED]
    if wf.pausable:
        lines += [f"    {s} --> {PAUSED}: pause" for s in live]
        lines.append(f"    {PAUSED} --> {PAUSED}_resume: resume")
        lines.append(f"    state \"back to the state it was paused in\" as {PAUSED}_resume")
    if wf.withdrawable:
        sources = live + ([PAUSED] if wf.pausable else [])
        lines += [f"    {s} --> {WITHDRAWN}: withdraw" for s in sources]
    lines += [f"    {s} --> [*]" for s in sorted(wf.finals)]
    return "\n".join(lines) + "\n"


def describe(wf: Workflow) -> dict:
    """The definition as data: states, steps with who may send them, timers."""
    return {
        "name": wf.name, "version": wf.version, "title": wf.title, "victim_initiated": wf.victim_initiated,
        "states": list(wf.state_names), "initial": wf.initial, "finals": sorted(wf.finals),
        "readers": sorted(wf.readers), "start_by": [a.describe() for a in wf.start_by],
        "steps": [{"from": list(s.sources), "event": s.event, "to": s.target, "by": [a.describe() for a in s.by],
                   "params": [p.name for p in s.params], "guards": [g.__name__ for g in s.guards],
                   "notices": [f"{n.to.audience}/{n.template}" for n in s.notify], "help": s.help} for s in wf.steps],
        "timers": [{"name": t.name, "state": t.state, "event": t.event,
                    "after_days": t.after.total_seconds() / 86400 if t.after else None,
                    "before_days": t.before.total_seconds() / 86400 if t.before else None, "fact": t.fact,
                    "setting": t.setting} for t in wf.timers],
        "pause_by": [a.describe() for a in wf.pause_by], "resume_by": [a.describe() for a in wf.resume_by],
        "withdraw_by": [a.describe() for a in wf.withdraw_by], "settings": dict(wf.settings),
        "mermaid": mermaid(wf),
    }
