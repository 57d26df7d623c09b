"""Victim notification: a victim-side party's registration on a case.

The registration is the process. A custody or supervision event recorded on
the case is applied to every live registration on it, and a registration
subscribed to that type of event queues a notice in the registrant's
language, on the channel they chose. Escape and recapture are emergencies:
every channel, at once, quiet hours ignored. A scheduled release or hearing
also arms advance notices (30, 7 and 1 days before by default).

Opting out is the generic withdraw: it cancels every unsent notice and
pending advance notice of the registration in the same transaction. A
written waiver ends it the same way, with the waiver on record.

Sources: VINE, Ohio DRC, Washington DOC, DOJ VNS (see ../shared/DOMAIN.md).
"""

from enum import Enum

from engine.definition import SYSTEM, VICTIM, Facts, Notify, Workflow, allow, choice, flag, step, text
from engine.settings import day_counts, minutes, one_of, whole_number


class State(str, Enum):
    active = "active"
    paused = "paused"
    waived = "waived"
    withdrawn = "withdrawn"  # opted out


# What a victim can register for: custody and supervision events, and ``letter_held`` (the letter
# bank's opt-in notice, sent by the letter bank itself). Emergencies go at once on every channel.
EVENT_TYPES = (
    "release_scheduled", "released", "transfer", "escape", "recapture", "death",
    "parole_hearing", "violation_hearing", "court_hearing", "furlough", "work_release",
    "absconded", "discharged", "letter_held",
)
EMERGENCIES = frozenset({"escape", "recapture"})
WITH_ADVANCE_NOTICE = ("release_scheduled", "parole_hearing", "violation_hearing", "court_hearing")
CUSTODY_EVENTS = tuple(t for t in EVENT_TYPES if t != "letter_held")  # what "all" subscribes to

VICTIM_SIDE = allow("advocate", "victim_services", side="victim")


def parse_events(value: str) -> list[str]:
    """``all`` means every custody and supervision event (letters are opted into by name)."""
    chosen: list[str] = []
    for name in (e.strip() for e in value.split(",")):
        for event in (CUSTODY_EVENTS if name == "all" else (name,) if name else ()):
            if event not in chosen:
                chosen.append(event)
    return chosen


def known_events(facts: Facts):
    if facts.data.get("events") and not facts.params.get("events") and facts.params.get(PAUSE_CHOICE):
        return None  # a change of the pause choice alone keeps the events
    unknown = [e for e in parse_events(facts.params.get("events", "")) if e not in EVENT_TYPES]
    if unknown:
        return f"unknown event type {unknown[0]!r}; choose from: all, {', '.join(EVENT_TYPES)}"
    if not parse_events(facts.params.get("events", "")):
        return "choose at least one event type (or all)"
    return None


# A pause is "not now", not "never tell me about a danger": emergencies the registrant chose still go
# out during a pause unless they chose to have them wait too. Everything else recorded during a
# pause waits, and goes out when they resume.
PAUSE_CHOICE = "emergencies_while_paused"
PAUSE_PARAM = choice(PAUSE_CHOICE, "send", "hold", required=False,
                     help="during a pause, emergencies are sent at once (send, the default) or wait too (hold)")


def choices(facts: Facts) -> dict:
    """What a registration records: its events, and whether emergencies pass a pause."""
    out = {}
    if facts.params.get("events"):
        out["events"] = parse_events(facts.params["events"])
    if facts.params.get(PAUSE_CHOICE) or not facts.data.get("events"):  # set when it starts
        out[PAUSE_CHOICE] = facts.params.get(PAUSE_CHOICE, "send") != "hold"
    return out


def subscribed(event_type: str):
    def guard(facts: Facts):
        return None if event_type in facts.data.get("events", []) else f"not registered for {event_type}"

    guard.__name__ = f"subscribed_to_{event_type}"
    return guard


def written_waiver(facts: Facts):
    return None if facts.params.get("written_waiver_on_file") else "a written waiver must be on file (--written-waiver-on-file)"


def _notify_step(event_type: str):
    return step(State.active, f"notify_{event_type}", State.active, by=SYSTEM, guards=(subscribed(event_type),),
                notify=(Notify(event_type, VICTIM, emergency=event_type in EMERGENCIES),), while_paused=True,
                help=f"tell the registrant about {event_type.replace('_', ' ')}")


def _advance_step(event_type: str):
    return step(State.active, f"advance_{event_type}", State.active, by=SYSTEM, guards=(subscribed(event_type),),
                notify=(Notify(f"{event_type}_advance", VICTIM),),
                help=f"advance notice of {event_type.replace('_', ' ')}")


WORKFLOW = Workflow(
    name="notification",
    version=1,
    title="Victim notification registration",
    states=State,
    initial=State.active.value,
    finals=frozenset({State.waived.value, State.withdrawn.value}),
    victim_initiated=True,
    start_by=(VICTIM_SIDE,),
    start_params=(text("events", help="event types, comma-separated, or all"), PAUSE_PARAM),
    start_guards=(known_events,),
    start_record=choices,
    start_notify=(Notify("registered", VICTIM),),
    readers=frozenset({"advocate", "victim_services", "admin"}),
    steps=(
        step(State.active, "change_events", State.active, by=VICTIM_SIDE,
             params=(text("events", required=False), PAUSE_PARAM), guards=(known_events,), record=choices,
             help="change which events the registrant is told about, or what a pause does to emergencies"),
        step(State.active, "waive", State.waived, by=allow("advocate", "victim_services", side="victim"),
             params=(flag("written_waiver_on_file"),), guards=(written_waiver,),
             help="a written waiver ends all notices"),
        *(_notify_step(t) for t in EVENT_TYPES),
        *(_advance_step(t) for t in WITH_ADVANCE_NOTICE),
        step(State.active, "notify_correction", State.active, by=SYSTEM, while_paused=True,
             notify=(Notify("correction", VICTIM),), help="correct an earlier notice"),
    ),
    # Only custody and supervision events are recorded on a case: a letter is never a case event
    # (staff could otherwise record one where supervision reads events). The notify_letter_held
    # step stays in version 1 (removing a step needs a new version) and nothing sends it.
    listens={t: f"notify_{t}" for t in CUSTODY_EVENTS},
    advance={t: f"advance_{t}" for t in WITH_ADVANCE_NOTICE},
    advance_days_setting="notification.advance_days",
    emergencies=EMERGENCIES,
    emergencies_while_paused=PAUSE_CHOICE,
    pause_by=(VICTIM_SIDE,),
    resume_by=(VICTIM_SIDE,),
    withdraw_by=(VICTIM_SIDE,),
    withdraw_notify=(Notify("opted_out", VICTIM),),
    settings={
        "notification.advance_days": day_counts("30,7,1", high=365),
        "notification.mass_threshold": whole_number("50", low=1, high=100_000, unit="registrants"),
        "notification.mass_window_minutes": minutes("60", high=10_080),
        "notification.mass_guard_emergencies": one_of("exempt", "guard"),  # guard: held like the rest
    },
)
