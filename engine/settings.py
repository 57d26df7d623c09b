"""Agency policy: defaults declared by the engine and the workflows, overridden per agency.

Where a rule differs by jurisdiction it is a setting, and its default is the
stricter, victim-protective choice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping

from sqlalchemy import select
from sqlmodel import Session

from engine import audit
from engine.errors import InvalidInput
from engine.models import Setting
from engine.permissions import Actor, require

ENGINE_DEFAULTS: Mapping[str, str] = {
    "agency.name": "Victim Services Unit",
    "agency.phone": "1-800-555-0100",
    "notices.quiet_start": "21:00",
    "notices.quiet_end": "07:00",
    "notices.confirm_window_hours": "24",
}


def defaults(registry) -> dict[str, str]:
    merged = dict(ENGINE_DEFAULTS)
    for compiled in registry.all():
        merged.update(compiled.workflow.settings)
    return merged


CACHE = "vcase.settings"  # per transaction: a scheduler batch reads the settings once, not per timer


def load(session: Session, registry) -> dict[str, str]:
    cached = session.info.get(CACHE)
    if cached is not None and cached[0] is registry:
        return dict(cached[1])
    merged = defaults(registry)
    merged.update({s.key: s.value for s in session.execute(select(Setting)).scalars()})
    session.info[CACHE] = (registry, dict(merged))
    return merged


def set_value(session: Session, registry, actor: Actor, key: str, value: str, now: datetime) -> None:
    require(actor, "settings.set")
    known = defaults(registry)
    if key not in known:
        raise InvalidInput(f"unknown setting {key!r}; `vcase settings list` shows them")
    session.info.pop(CACHE, None)
    row = session.get(Setting, key) or Setting(key=key, value=value)
    row.value = value
    session.add(row)
    session.flush()
    audit.append(session, at=now, actor=actor, action="settings.set", detail={"key": key, "value": value})
