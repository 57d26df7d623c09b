"""`vcase workflow show` draws each definition as a Mermaid state diagram.

The text was rendered with the real renderer (mermaid-cli 11.17 in Chromium)
for every built-in workflow; these tests hold the properties that made it
render and show everything: the stateDiagram-v2 line grammar, every event on
some edge, and one edge per pair of states (Mermaid draws only the last of
several edges between the same two states, mermaid-js/mermaid#6132).
"""

from __future__ import annotations

import re

import pytest

from engine.diagram import mermaid
from engine.registry import default

WORKFLOWS = [c.workflow for c in default().all()]
ID = r"[A-Za-z_][A-Za-z0-9_]*"
LINE = re.compile(
    rf"^(stateDiagram-v2"
    rf"|    %% .*"
    rf"|    \[\*\] --> {ID}"
    rf"|    {ID} --> \[\*\]"
    rf"|    {ID} --> {ID}: {ID}(<br/>{ID})*"
    rf'|    state "[^"]+" as {ID})$')


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda wf: f"{wf.name}-v{wf.version}")
def test_every_line_is_state_diagram_grammar(wf):
    text = mermaid(wf)
    bad = [line for line in text.splitlines() if not LINE.match(line)]
    assert text.startswith("stateDiagram-v2\n") and not bad


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda wf: f"{wf.name}-v{wf.version}")
def test_every_event_is_drawn_on_one_edge_per_pair_of_states(wf):
    edges = [line.strip().split(": ", 1) for line in mermaid(wf).splitlines() if ": " in line and "-->" in line]
    pairs = [pair for pair, _ in edges]
    assert len(pairs) == len(set(pairs)), "two edges between the same states: Mermaid would drop one"
    drawn = {(pair, event) for pair, label in edges for event in label.split("<br/>")}
    for src, event, dst in wf.edges():
        if event in ("pause", "resume", "withdraw"):
            continue
        assert (f"{src} --> {dst}", event) in drawn, f"{src} --{event}--> {dst} is not drawn"
    states = {s for pair in pairs for s in pair.split(" --> ")}
    assert set(wf.state_names) - {"paused"} <= states | {wf.initial}


def test_the_cli_prints_the_diagram(tmp_path):
    from click.testing import CliRunner

    import cli

    result = CliRunner().invoke(cli.vcase, ["workflow", "show", "dialogue"])
    assert result.exit_code == 0 and result.output.startswith("stateDiagram-v2")
    assert "offender_invited --> offender_accepted: offender_accepts" in result.output
