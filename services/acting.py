"""Applying an event for staff who may act on a process but not read it.

An officer submits a letter for its writer, or offers a referral for a
victim, but may not read either. The engine refuses such a person without
naming the process's state (``runtime.apply``); this says it in the process's
own noun ("a letter", "a referral"), so the refusal reads as the command did.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from engine import runtime
from engine.errors import NotAllowed, NotPermitted


def apply_worded(session, app, wf, staff_role: str, actor, process_id: int, event: str, noun: str,
                 params: Optional[Mapping[str, Any]] = None, document: Optional[str] = None) -> runtime.Outcome:
    """``runtime.apply``; a ``staff_role`` outside ``wf.readers`` is refused in words that name ``noun``,
    the event and nothing of the state."""
    try:
        return runtime.apply(session, app.store.vault, app.registry, process_id=process_id, event=event,
                             actor=actor, now=app.now(), params=params, document=document)
    except NotPermitted:
        if staff_role in wf.readers:
            raise
        raise NotPermitted(f"{actor.describe()} is not permitted to {runtime.words(event)} a {noun}") from None
    except NotAllowed:
        if staff_role in wf.readers:
            raise
        raise NotAllowed(f"Can't {runtime.words(event)} {noun} {process_id} now; victim services can tell you why.",
                         event=event) from None
