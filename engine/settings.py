"""Agency policy: settings declared by the engine and the workflows, each with a type, overridden per agency.

Where a rule differs by jurisdiction it is a setting, and its default is the
stricter, victim-protective choice.

Every setting is declared with a type from this module (``whole_number``,
``days``, ``hours``, ``time_of_day``, ``day_counts``, ``one_of``,
``zone_name``, ``yes_no``, ``free_text``). A declaration is the default value
itself (a ``str``, so a definition's settings still read as plain text and its
fingerprint does not change) carrying what it accepts. ``vcase settings set``
refuses a value its type does not accept and stores nothing; a bad value
already stored (by hand, or by an older vcase) is never handed to the engine:
``load`` reads the setting's default instead (``invalid_reads_as`` for a
setting where something stricter than the default is the safe reading), and
``vcase settings list`` shows the stored value as invalid.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import select

from engine import tables
from engine.db import flushed
from engine.errors import InvalidInput
from engine.permissions import Actor, require

# Reading settings goes through ``engine.tables`` (a session or a plain connection will do); only
# ``set_value`` loads the ORM and the audit trail.


class SettingSpec(str):
    """A setting's default (the string itself) and what it accepts.

    ``parse(text)`` returns the value as it is stored (e.g. ``"7:00"`` -> ``"07:00"``) or raises
    ``ValueError``; ``expected`` says what it takes in words, for error messages and the list.
    """

    kind: str
    expected: str
    invalid_reads_as: str
    _parse: Callable[[str], str]

    def __new__(cls, default: Any, kind: str, expected: str, parse: Callable[[str], str],
                invalid_reads_as: Optional[str] = None) -> "SettingSpec":
        spec = super().__new__(cls, str(default))
        spec.kind, spec.expected, spec._parse = kind, expected, parse
        if parse(str(default)) != str(default):
            raise ValueError(f"default {default!r} is not a valid {kind} ({expected})")
        spec.invalid_reads_as = str(default) if invalid_reads_as is None else parse(invalid_reads_as)
        return spec

    @property
    def default(self) -> str:
        return str(self)

    def parse(self, text: str) -> str:
        if not isinstance(text, str) or _CONTROL.search(text):
            raise ValueError(self.expected)
        return self._parse(text.strip())


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WHOLE = re.compile(r"\+?\d{1,9}")
_DECIMAL = re.compile(r"\+?\d{1,6}(\.\d{1,6})?")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _range(low: float, high: float, unit: str) -> str:
    return f"from {low:g} to {high:g}{' ' + unit if unit else ''}"


def whole_number(default: Any, *, low: int, high: int, unit: str = "") -> SettingSpec:
    """A whole number from ``low`` to ``high``."""
    expected = f"a whole number {_range(low, high, unit)}"

    def parse(text: str) -> str:
        if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
            raise ValueError(expected)
        return str(int(text))

    return SettingSpec(default, "whole number", expected, parse)


def days(default: Any, *, low: int = 1, high: int = 3650) -> SettingSpec:
    """A number of days (a timer's delay)."""
    return whole_number(default, low=low, high=high, unit="days")


def business_days(default: Any, *, low: int = 1, high: int = 60) -> SettingSpec:
    """A number of business days (weekdays: a timer declared with ``business=True``)."""
    return whole_number(default, low=low, high=high, unit="business days")


def minutes(default: Any, *, low: int = 1, high: int = 10080) -> SettingSpec:
    return whole_number(default, low=low, high=high, unit="minutes")


def hours(default: Any, *, low: float, high: float) -> SettingSpec:
    """A number of hours, decimals allowed (``1.5``)."""
    expected = f"a number of hours {_range(low, high, '')}"

    def parse(text: str) -> str:
        if not _DECIMAL.fullmatch(text) or not math.isfinite(float(text)) or not low <= float(text) <= high:
            raise ValueError(expected)
        return f"{float(text):g}"

    return SettingSpec(default, "hours", expected, parse)


def time_of_day(default: str) -> SettingSpec:
    """A wall-clock time, HH:MM on the 24-hour clock."""
    expected = "a time of day as HH:MM (24-hour clock, 00:00 to 23:59)"

    def parse(text: str) -> str:
        found = _TIME.fullmatch(text)
        if not found or int(found[1]) > 23 or int(found[2]) > 59:
            raise ValueError(expected)
        return f"{int(found[1]):02d}:{found[2]}"

    return SettingSpec(default, "time of day", expected, parse)


def day_counts(default: str, *, low: int = 1, high: int = 365, most: int = 10) -> SettingSpec:
    """A comma-separated list of day counts (``30,7,1``), each from ``low`` to ``high``, no repeats."""
    expected = f"comma-separated days, each {_range(low, high, '')}, at most {most}, e.g. 30,7,1"

    def parse(text: str) -> str:
        parts = [p.strip() for p in text.split(",")]
        if not 1 <= len(parts) <= most or any(not _WHOLE.fullmatch(p) or not low <= int(p) <= high for p in parts):
            raise ValueError(expected)
        values = [int(p) for p in parts]
        if len(set(values)) != len(values):
            raise ValueError(expected)
        return ",".join(str(v) for v in sorted(values, reverse=True))

    return SettingSpec(default, "day counts", expected, parse)


def one_of(default: str, *others: str, invalid_reads_as: Optional[str] = None) -> SettingSpec:
    """One word of a fixed list; the default first."""
    options = (default, *others)
    expected = f"one of: {', '.join(options)}"

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(expected)
        return text

    return SettingSpec(default, "choice", expected, parse, invalid_reads_as)


def zone_name(default: str) -> SettingSpec:
    """An IANA time zone name (``America/Chicago``)."""
    expected = "an IANA time zone name, e.g. America/Chicago or UTC"

    def parse(text: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(text)
        except (ValueError, OSError, LookupError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(expected) from None
        return text

    return SettingSpec(default, "time zone", expected, parse)


def yes_no(default: str) -> SettingSpec:
    expected = "yes or no"

    def parse(text: str) -> str:
        word = text.lower()
        if word not in ("yes", "no"):
            raise ValueError(expected)
        return word

    return SettingSpec(default, "yes/no", expected, parse)


def free_text(default: str, *, max_length: int = 200) -> SettingSpec:
    """A line of text, 1 to ``max_length`` characters (shown to recipients in notices)."""
    expected = f"text of 1 to {max_length} characters on one line"

    def parse(text: str) -> str:
        if not text or len(text) > max_length:
            raise ValueError(expected)
        return text

    return SettingSpec(default, "text", expected, parse)


def optional_text(default: str = "", *, max_length: int = 200) -> SettingSpec:
    """A line of text of at most ``max_length`` characters, or nothing (empty: not set)."""
    expected = f"text of at most {max_length} characters on one line, or empty (not set)"

    def parse(text: str) -> str:
        if len(text) > max_length:
            raise ValueError(expected)
        return text

    return SettingSpec(default, "optional text", expected, parse)


def file_path(default: str = "", *, suffixes: tuple[str, ...]) -> SettingSpec:
    """An absolute path to a file ending in one of ``suffixes``, or empty (none). Whether the file is
    there is checked where it is used (it may be mounted later), and said then."""
    expected = f"an absolute path to a {' / '.join(suffixes)} file, or empty (none)"

    def parse(text: str) -> str:
        if text and (not text.startswith("/") or len(text) > 500 or not text.lower().endswith(suffixes)):
            raise ValueError(expected)
        return text

    return SettingSpec(default, "file", expected, parse)


def public_url(default: str) -> SettingSpec:
    """An https:// address (http:// only for localhost), or empty for none."""
    expected = "an https:// address (http://localhost or http://127.0.0.1 for testing), or empty for none"

    def parse(text: str) -> str:
        if text and not (re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", text)
                         or re.fullmatch(r"http://(localhost|127\.0\.0\.1)(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", text)):
            raise ValueError(expected)
        return text.rstrip("/")

    return SettingSpec(default, "url", expected, parse)


ENGINE_DEFAULTS: Mapping[str, SettingSpec] = {
    "agency.name": free_text("Victim Services Unit"),
    "agency.phone": free_text("1-800-555-0100", max_length=40),
    # The zone agency-wide times typed by staff are read in when no case gives one
    # (e.g. `vcase scheduler tick --until`).
    "agency.time_zone": zone_name("UTC"),
    # The month a fiscal year starts (funders' reports): 10 is the federal year (VOCA's PMT); some
    # state funders count from July (7). A fiscal year is named by the calendar year it ends in.
    "agency.fiscal_year_start": whole_number("10", low=1, high=12, unit="(a month: 1 is January)"),
    "notices.quiet_start": time_of_day("21:00"),
    "notices.quiet_end": time_of_day("07:00"),
    "notices.confirm_window_hours": hours("24", low=0.5, high=168),
    # Officers enforcing a no-contact or stay-away condition may need to know where the victim lives;
    # "yes" shows them the victim side's names and postal addresses, never e-mail or phone.
    "privacy.officer_sees_victim_address": yes_no("no"),
    # Seed 000: agency (systems-based) staff record that the limits of confidentiality were explained
    # to a victim-side party before they record anything the victim says or asks for
    # (engine.confidentiality). "no" lifts the rule; the record can still be kept.
    "privacy.confidentiality_first": yes_no("yes"),
    # Printed letters (engine.mailroom, notices.pdf). The letterhead's name (empty: agency.name) and the
    # return address, its lines separated by ';': a letter is never printed without one, since mail that
    # cannot be delivered must come back to the agency, not vanish.
    "letters.letterhead_name": optional_text(""),
    "letters.return_address": optional_text("", max_length=300),
    "letters.logo_file": file_path("", suffixes=(".png", ".jpg", ".jpeg", ".svg")),
    # The printed letter's text in large print (16 pt instead of 11 pt), for recipients who need it.
    "letters.large_print": yes_no("no"),
    # Batch PDFs and manifests hold the letters in clear: removed this many days after printing.
    "mailroom.batch_retention_days": days("30", low=1, high=365),
    # An emergency letter (escape, an unconfirmed emergency: Ohio's certified mail) goes certified.
    "mailroom.certified_emergencies": yes_no("yes"),
    # Sorted by ZIP code for the post office's presort discount from this many letters in a batch (USPS
    # presorted First-Class Mail needs 500 pieces); below it, in the order the letters came.
    "mailroom.presort_minimum": whole_number("500", low=1, high=1_000_000, unit="letters"),
    # The victim portal (issue 17): its public address (https://, behind the agency's TLS proxy),
    # which e-mailed emergencies link to for confirming receipt; empty: no links. How long such a
    # link or a text's code works, how long a one-time invitation code works.
    "portal.public_url": public_url(""),
    "portal.confirm_link_hours": hours("72", low=1, high=720),
    "portal.invite_days": days("14", high=90),
}


def typed(value: str) -> SettingSpec:
    """A declaration as a ``SettingSpec``. One declared as a plain string (a workflow from elsewhere)
    takes any line of text; tests/test_settings.py fails for a built-in one until it gets a type."""
    if isinstance(value, SettingSpec):
        return value
    expected = "a line of text (this setting declares no type)"

    def parse(text: str) -> str:
        if len(text) > 2000:
            raise ValueError(expected)
        return text

    return SettingSpec(str(value).strip(), "untyped", expected, parse)


def specs(registry) -> dict[str, SettingSpec]:
    """Every declared setting: the engine's, then each workflow's."""
    merged = {key: typed(value) for key, value in ENGINE_DEFAULTS.items()}
    for compiled in registry.all():
        merged.update({key: typed(value) for key, value in compiled.workflow.settings.items()})
    return merged


def defaults(registry) -> dict[str, str]:
    return {key: spec.default for key, spec in specs(registry).items()}


CACHE = "vcase.settings"  # per transaction: a scheduler batch reads the settings once, not per timer


def _read(spec: SettingSpec, stored: str) -> tuple[str, bool]:
    """The value the engine uses for ``stored``, and whether ``stored`` was valid."""
    try:
        return spec.parse(stored), True
    except ValueError:
        return spec.invalid_reads_as, False


def load(session: Any, registry) -> dict[str, str]:
    """The value of every setting; a stored value its type refuses reads as the default."""
    cached = session.info.get(CACHE)
    if cached is not None and cached[0] is registry:
        return dict(cached[1])
    declared = specs(registry)
    merged = {key: spec.default for key, spec in declared.items()}
    for row in flushed(session).execute(select(tables.setting)):
        spec = declared.get(row.key)
        merged[row.key] = row.value if spec is None else _read(spec, row.value)[0]
    session.info[CACHE] = (registry, dict(merged))
    return merged


def engine_value(session: Any, key: str) -> str:
    """One of the engine's own settings (no registry needed), checked like ``load``."""
    spec = ENGINE_DEFAULTS[key]
    cached = session.info.get(CACHE)
    if cached is not None:
        return cached[1][key]
    row = flushed(session).execute(select(tables.setting).where(tables.setting.c.key == key)).one_or_none()
    return spec.default if row is None else _read(spec, row.value)[0]


def listing(session: Any, registry) -> list[dict[str, Any]]:
    """Every setting with its value, what it takes, and whether a stored value was refused."""
    declared = specs(registry)
    stored = {row.key: row.value for row in flushed(session).execute(select(tables.setting))}
    rows = []
    for key in sorted(set(declared) | set(stored)):
        spec = declared.get(key)
        if spec is None:
            rows.append({"setting": key, "value": stored[key], "default": None, "expected": None,
                         "stored": stored[key], "valid": True, "note": "not declared by any workflow; unused"})
            continue
        value, valid = _read(spec, stored[key]) if key in stored else (spec.default, True)
        note = "" if valid else (f"stored value {stored[key][:60]!r} is invalid ({spec.expected}); "
                                 f"read as {value!r}: set it again")
        rows.append({"setting": key, "value": value, "default": spec.default, "expected": spec.expected,
                     "stored": stored.get(key), "valid": valid, "note": note})
    return rows


def set_value(session, registry, actor: Actor, key: str, value: str, now: datetime) -> str:
    """Store ``value`` (as its type writes it) and audit it; a value the type refuses changes nothing."""
    require(actor, "settings.set")
    declared = specs(registry)
    if key not in declared:
        raise InvalidInput(f"unknown setting {key!r}; `vcase settings list` shows them")
    try:
        value = declared[key].parse(value)
    except ValueError:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise InvalidInput(f"setting {key} takes {declared[key].expected}, not {shown!r}; nothing was changed") from None
    from engine import audit
    from engine.models import Setting

    session.info.pop(CACHE, None)
    row = session.get(Setting, key) or Setting(key=key, value=value)
    row.value = value
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor, action="settings.set", detail={"key": key, "value": value})
    return value
