"""Every notice template: renders in every language, uses only its audience's fields,
and an unfilled placeholder is an error, never text in a notice."""

from __future__ import annotations

from dataclasses import fields

import pytest

from engine.errors import RenderError
from notices import contexts, render

TEMPLATES = render.all_templates()
VICTIM_ONLY = {f.name for f in fields(contexts.VictimContext)} - {f.name for f in fields(contexts.OffenderContext)}


def audience_of(path: str) -> str:
    return path.split("/")[2]


def sample(audience: str) -> dict:
    values = {
        "recipient_name": "{{ 7*7 }} <Name>", "case_number": "2026-CR-0001", "agency_name": "Victim Services Unit",
        "agency_phone": "1-800-555-0100", "sent_on": "Monday, March 2, 2026, 9:00 AM CST",
        "appointment": "Wednesday, April 15, 2026, 10:00 AM CDT", "details": "Cook County Jail",
        "previous": "Tuesday, April 14, 2026, 10:00 AM CDT", "process_ref": "dialogue #4", "state": "preparation",
        "items": (), "partner_name": "Safe Harbor DV Program", "partner_phone": "1-800-555-0199",
        "partner_email": "intake@safeharbor.example", "partner_hours": "Mon-Fri 9-5",
        "partner_how": "call the intake line", "victim_name": "{{ 7*7 }} <Victim>", "victim_contact": "v@example.org",
        "victim_language": "Spanish", "summary": "Needs help with housing.", "supervised_person": "Sam Supervised",
    }
    return {name: values[name] for name in contexts.field_names(audience)}


def test_there_are_templates_for_every_shipped_process():
    processes = {p.split("/")[1] for p in TEMPLATES}
    assert {"notification"} <= processes


@pytest.mark.parametrize("path", TEMPLATES)
def test_template_uses_only_its_audience_fields(path):
    audience = audience_of(path)
    assert audience in contexts.CONTEXTS, f"{path}: unknown audience folder {audience!r}"
    used = render.undeclared_variables(path)
    assert used <= contexts.field_names(audience), f"{path} uses {sorted(used - contexts.field_names(audience))}"
    if audience == "offender":
        assert not used & VICTIM_ONLY


@pytest.mark.parametrize("path", TEMPLATES)
def test_template_renders_and_inserts_values_literally(path):
    out = render.render(path, sample(audience_of(path)))
    assert "{{" not in out.body.replace("{{ 7*7 }}", "") and "{%" not in out.body
    if "recipient_name" in render.undeclared_variables(path):
        assert "{{ 7*7 }} <Name>" in out.body + out.subject
    if path.endswith(".email"):
        assert out.subject
    if path.endswith(".sms"):
        assert len(out.body) <= 320, f"{path} needs more than two SMS messages"


@pytest.mark.parametrize("path", [p for p in TEMPLATES if p.startswith("en/")])
def test_every_template_exists_in_every_language(path):
    for language in render.LANGUAGES:
        assert f"{language}/{path[3:]}" in TEMPLATES


def test_offender_context_cannot_hold_victim_data():
    names = contexts.field_names("offender")
    assert not {"details", "previous"} & names
    assert not [n for n in names if "victim" in n]


def test_missing_variable_is_an_error_not_text(tmp_path, monkeypatch):
    folder = tmp_path / "en" / "toy" / "victim"
    folder.mkdir(parents=True)
    (folder / "broken.sms").write_text("Hello {{ recipient_name }}, your date is {{ release_date }}.")
    monkeypatch.setenv(render.EXTRA_DIRS_ENV, str(tmp_path))
    render.environment.cache_clear()
    try:
        with pytest.raises(RenderError, match="release_date"):
            render.render("en/toy/victim/broken.sms", sample("victim"))
        assert render.undeclared_variables("en/toy/victim/broken.sms") - contexts.field_names("victim") == {"release_date"}
    finally:
        render.environment.cache_clear()


def test_sandbox_refuses_attribute_tricks(tmp_path, monkeypatch):
    folder = tmp_path / "en" / "toy" / "victim"
    folder.mkdir(parents=True)
    (folder / "evil.sms").write_text("{{ recipient_name.__class__.__mro__[1].__subclasses__() }}")
    monkeypatch.setenv(render.EXTRA_DIRS_ENV, str(tmp_path))
    render.environment.cache_clear()
    try:
        with pytest.raises(RenderError):
            render.render("en/toy/victim/evil.sms", sample("victim"))
    finally:
        render.environment.cache_clear()
