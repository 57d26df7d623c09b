"""Where an agency-level process stands instead of a case.

A formal agreement with partners belongs to no case. The runtime, the timers
and the outbox read a few things from a process's case: its id (the audit and
the notices), its number (the notices), and its time zone (timers, typed times,
quiet hours). ``AgencyScope`` answers those for an agency-level process: no id,
no number, and the agency's zone (setting ``agency.time_zone``). It has no
officer and no parties, and its facts for guards are empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from sqlmodel import Session

from engine.errors import InvalidInput
from engine.models import Case

ZONE_SETTING = "agency.time_zone"


@dataclass(frozen=True)
class AgencyScope:
    """The agency, standing where a case stands for a process on a case."""

    time_zone: str
    id: Optional[int] = None
    case_number: str = ""
    officer_id: Optional[int] = None


def scope(policy: Mapping[str, str]) -> AgencyScope:
    """The agency's scope under ``policy`` (the loaded settings)."""
    return AgencyScope(time_zone=policy.get(ZONE_SETTING) or "UTC")


def agency_zone(session: Session) -> str:
    """The agency's time zone, without a registry (the engine's own setting)."""
    from engine.settings import engine_value

    return engine_value(session, ZONE_SETTING)


def case_or_scope(session: Session, process: Any, policy: Optional[Mapping[str, str]] = None):
    """The case of ``process``, or the agency's scope for an agency-level process."""
    if process.case_id is not None:
        return session.get(Case, process.case_id)
    return scope(policy) if policy is not None else AgencyScope(time_zone=agency_zone(session))


def is_agency(case: Any) -> bool:
    return isinstance(case, AgencyScope)


def no_case_for(workflow: str, case_number: Optional[str], agency_level: bool) -> None:
    """Refuse a case number for an agency-level workflow, and its absence for any other."""
    if agency_level and case_number:
        raise InvalidInput(f"a {workflow} belongs to the agency, not to a case: start it without a case number")
    if not agency_level and not case_number:
        raise InvalidInput(f"a {workflow} is started on a case: give the case number")
