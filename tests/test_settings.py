"""Every setting has a type: a bad value is refused when it is set, and a bad stored value never breaks an event.

The tests walk the registry's full list of settings (the engine's and every
workflow's), so a setting declared without a type, or with a type this file
has no bad values for, fails here.
"""

from __future__ import annotations

import json

import pytest

from services import notify_api as N
from engine import settings as S
from engine.models import Setting
from engine.registry import default
from tests.support import dump

CASE = "2026-CR-0001"

# Values each kind of setting must refuse. A new kind needs its own entry.
BAD = {
    "whole number": ["", "abc", "1.5", "-1", "0", "999999999", "1e3", "12 3", "ten"],
    "hours": ["", "abc", "0", "-2", "100000", "nan", "inf", "1e3", "24h"],
    "time of day": ["", "25:00", "7", "07:60", "7pm", "07:00:00", "24:00", "-1:00"],
    "day counts": ["", "30,,1", "0", "400", "30,30", "a,b", "30;7", "-7", ",".join(["1"] * 11)],
    "choice": ["", "nope", "REFUSE ALL", "x" * 300],
    "time zone": ["", "Mars/Base", "../etc/passwd", "/etc/localtime", "utc+2"],
    "yes/no": ["", "maybe", "2", "yes please"],
    "text": ["", "   ", "x" * 2001, "Victim\x1b[31m Services", "line\nbreak"],
    "optional text": ["x" * 2001, "Victim\x1b[31m Services", "line\nbreak"],
    "file": ["logo.png", "../logo.png", "/etc/passwd", "/srv/logo.exe", "/srv/" + "x" * 600 + ".png", "/a\nb.png"],
    "url": ["javascript:alert(1)", "http://portal.example", "ftp://portal.example", "https://a b", "https://x/?q=<"],
}
GOOD = {  # typed -> stored
    ("notices.quiet_start", "7:05"): "07:05",
    ("notification.advance_days", " 1, 30 ,7"): "30,7,1",
    ("notices.confirm_window_hours", "1.5"): "1.5",
    ("privacy.officer_sees_victim_address", "YES"): "yes",
    ("agency.time_zone", "America/Chicago"): "America/Chicago",
    ("dialogue.ipv_policy", "refuse"): "refuse",
}


def declared() -> dict[str, object]:
    """Every declaration as written, engine first, then each workflow version's."""
    out = dict(S.ENGINE_DEFAULTS)
    for compiled in default().all():
        out.update(compiled.workflow.settings)
    return out


def test_every_declared_setting_has_a_type_with_bad_values_here():
    untyped = [k for k, v in declared().items() if not isinstance(v, S.SettingSpec)]
    assert not untyped, f"declare these with a type from engine.settings: {untyped}"
    kinds = {v.kind for v in declared().values()}
    assert kinds <= set(BAD), f"add bad values for: {kinds - set(BAD)}"
    for key, spec in declared().items():
        assert spec.parse(spec.default) == spec.default, key
        assert spec.invalid_reads_as == spec.parse(spec.invalid_reads_as), key


def test_agency_time_zone_is_declared_utc():
    assert S.ENGINE_DEFAULTS["agency.time_zone"] == "UTC"
    assert S.defaults(default())["agency.time_zone"] == "UTC"


def _refused(spec, value) -> bool:
    try:
        spec.parse(value)
    except ValueError:
        return True
    return False


def test_every_bad_value_of_the_table_is_refused_by_its_type():
    missed = [(key, bad) for key, spec in declared().items() for bad in BAD[spec.kind] if not _refused(spec, bad)]
    assert not missed, missed


@pytest.mark.parametrize("key", sorted(declared()))
def test_bad_values_are_refused_by_the_cli_and_nothing_is_saved_or_audited(run, store, agency, key):
    before = dump(store)
    for bad in BAD[declared()[key].kind]:
        code, out, err = run("ada", "settings", "set", "--", key, bad)
        assert code == 1 and out == "", (bad, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: setting {key} takes "), (bad, err)
        assert "nothing was changed" in lines[0] and "Traceback" not in err and "unexpected" not in err
    assert dump(store) == before


@pytest.mark.parametrize("key,typed,stored", [(k, t, v) for (k, t), v in GOOD.items()], ids=[k for k, _ in GOOD])
def test_a_good_value_is_stored_as_its_type_writes_it(run, agency, key, typed, stored):
    code, out, err = run("ada", "settings", "set", key, typed)
    assert code == 0 and out.strip() == f"{key} = {stored}", (out, err)
    rows = {r["setting"]: r for r in json.loads(run("ada", "settings", "list", "--json")[1])}
    assert rows[key]["value"] == stored and rows[key]["stored"] == stored and rows[key]["valid"] is True


def test_only_an_admin_sets_and_the_check_comes_after_permission(run, store, agency):
    before = dump(store)
    code, _, err = run("oscar", "settings", "set", "notices.quiet_start", "25:00")
    assert code == 1 and "not permitted" in err
    assert dump(store) == before


def stored_badly(store, values: dict[str, str]) -> None:
    """As an older vcase, or a hand-edit of the table, would leave them."""
    with store.write() as s:
        for key, value in values.items():
            s.merge(Setting(key=key, value=value))


def test_a_stored_bad_value_never_breaks_recording_an_event(run, store, agency):
    N.register(agency.advocate, CASE, agency.victim, "all", "phone")
    bad = {key: BAD[spec.kind][1] for key, spec in declared().items()}
    stored_badly(store, bad)
    code, out, err = run("oscar", "event", "record", CASE, "release_scheduled", "--at", "2030-06-01T10:00")
    assert code == 0, err
    assert "unexpected" not in out + err
    code, out, err = run("oscar", "event", "record", CASE, "transfer", "--at", "2026-03-02T10:00")
    assert code == 0, err
    with store.read() as s:
        used = S.load(s, default())
    for key, spec in declared().items():
        assert used[key] == spec.invalid_reads_as, key


def test_settings_list_shows_a_stored_bad_value_as_invalid(run, store, agency):
    stored_badly(store, {"notices.quiet_start": "25:99", "notification.mass_threshold": "fifty"})
    rows = {r["setting"]: r for r in json.loads(run("vera", "settings", "list", "--json")[1])}
    quiet = rows["notices.quiet_start"]
    assert (quiet["valid"], quiet["stored"], quiet["value"]) == (False, "25:99", "21:00")
    assert "invalid" in quiet["note"] and rows["notification.mass_threshold"]["valid"] is False
    assert rows["notices.quiet_end"]["valid"] is True and rows["notices.quiet_end"]["stored"] is None
    code, table, _ = run("vera", "settings", "list")
    line = next(line for line in table.splitlines() if line.startswith("notices.quiet_start"))
    assert code == 0 and "'25:99' is invalid" in line and "21:00" in line


def test_a_stored_ipv_policy_that_is_neither_choice_reads_as_refuse(store, agency):
    stored_badly(store, {"dialogue.ipv_policy": "requre_assesment"})
    with store.read() as s:
        assert S.load(s, default())["dialogue.ipv_policy"] == "refuse"


def test_definition_fingerprints_ignore_the_types_of_settings():
    """The settings are not part of a fingerprint: typing them keeps every pinned definition valid."""
    import dataclasses

    for compiled in default().all():
        wf = compiled.workflow
        plain = dataclasses.replace(wf, settings={k: str(v) for k, v in wf.settings.items()})
        assert plain.fingerprint() == wf.fingerprint(), wf.name
