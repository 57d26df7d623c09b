"""What each audience's templates may use. One type per audience.

An offender-facing notice is built from ``OffenderContext``, which has no
field that could hold victim data: it is not filtered out, it is not there.
A community partner's notice is built from ``PartnerContext``: no case
number, and its victim fields are empty unless the victim consented to share
that field (the engine fills them from the consent scope only, and never
after a withdrawal). A test proves every template uses only its audience's
fields.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class VictimContext:
    recipient_name: str
    case_number: str
    agency_name: str
    agency_phone: str
    sent_on: str
    appointment: str  # the time of what the notice is about (a meeting, a release, a hearing)
    details: str  # staff's free-text details of a custody or supervision event
    previous: str  # for a correction: the time the earlier notice gave
    items: tuple[str, ...] = ()  # codes (never free text) the template spells out, e.g. checklist items
    # A community partner the process is about (a referral): how the victim can reach it themselves.
    partner_name: str = ""
    partner_phone: str = ""
    partner_email: str = ""
    partner_hours: str = ""
    partner_how: str = ""  # how it takes referrals, in its own words


@dataclass(frozen=True)
class OffenderContext:
    recipient_name: str
    case_number: str
    agency_name: str
    agency_phone: str
    sent_on: str
    appointment: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffContext:
    recipient_name: str
    case_number: str
    process_ref: str
    state: str
    agency_name: str
    sent_on: str
    appointment: str
    details: str
    previous: str
    items: tuple[str, ...] = ()
    partner_name: str = ""


@dataclass(frozen=True)
class PartnerContext:
    """A community partner's contact. Every victim field is optional and filled only when the
    victim consented to share it; there is no case number and no field for anything else."""

    recipient_name: str
    partner_name: str
    process_ref: str  # e.g. "referral #12": what the partner quotes back
    agency_name: str
    agency_phone: str
    sent_on: str
    victim_name: str = ""
    victim_contact: str = ""  # the address of the victim's first chosen channel
    victim_language: str = ""
    summary: str = ""  # the short summary the victim agreed to share


@dataclass(frozen=True)
class ResponderContext:
    """A case's designated law-enforcement or prosecutor contact told of an urgent report: what they
    need to act (the case, the person under supervision, when, codes for by whom and how), and the
    victim's name, how to reach them and the summary only if the victim agreed; never an address."""

    recipient_name: str
    case_number: str
    supervised_person: str
    process_ref: str  # e.g. "intimidation #12": what they quote when they acknowledge
    agency_name: str
    agency_phone: str
    sent_on: str
    appointment: str  # when it happened
    items: tuple[str, ...] = ()  # codes: by whom, how it reached the victim
    victim_name: str = ""
    victim_contact: str = ""
    summary: str = ""


CONTEXTS = {"victim": VictimContext, "offender": OffenderContext, "staff": StaffContext, "partner": PartnerContext,
            "responder": ResponderContext}


FIELDS = {cls: tuple(f.name for f in fields(cls)) for cls in CONTEXTS.values()}


def field_names(audience: str) -> set[str]:
    return set(FIELDS[CONTEXTS[audience]])


def as_dict(context: Any) -> dict[str, Any]:
    """The template's variables (a flat copy: every field is a str or a tuple of str)."""
    return {name: getattr(context, name) for name in FIELDS[type(context)]}


def from_dict(audience: str, values: dict[str, Any]) -> Any:
    """The context a notice was first rendered from (kept for its fallbacks)."""
    wanted = field_names(audience)
    kept = {k: (tuple(v) if k == "items" else v) for k, v in values.items() if k in wanted}
    return CONTEXTS[audience](**kept)


CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def codes(values: Any) -> tuple[str, ...]:
    """Items for a context: short codes only, so no free text (and no victim detail) can ride in."""
    if not values:
        return ()
    out = tuple(str(v) for v in values)
    bad = [v for v in out if not CODE.fullmatch(v)]
    if bad:
        from engine.errors import RenderError

        raise RenderError(f"notice items must be short codes, not text (got {bad[0][:40]!r})")
    return out


@lru_cache(maxsize=4096)  # a scheduler batch formats the same "sent on" moment for every notice
def format_moment(moment: datetime | None, language: str, tz_name: str) -> str:
    """A date and time as a person reads it, in their language and zone."""
    if moment is None:
        return ""
    from zoneinfo import ZoneInfo

    from babel.dates import format_date, format_time

    local = moment.astimezone(ZoneInfo(tz_name))
    day = format_date(local.date(), "full", locale=language)
    clock = format_time(local, "short", tzinfo=ZoneInfo(tz_name), locale=language)
    abbreviation = local.tzname() or tz_name
    return f"{day}, {clock} {abbreviation}"
