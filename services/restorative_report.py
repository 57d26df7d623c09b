"""What the dialogue program and the apology letter bank did in a period: a funder's and a board's figures.

Every figure is an aggregate counted from the audit trail (each step is on it, with its time) and
the processes' own records: how many times a step happened in the period, never who. A
withdrawal is counted by the side that withdrew and nothing more. ``suppress_below`` blanks small
counts for publication, as in the PMT report.

The report follows the same rule as the processes: taking part has no effect on supervision, so
only roles that may read both a dialogue and a letter (their workflows' ``readers``) may run it;
officers and the parole board cannot, and a partner's staff only if their agreement grants both.

The figures:

- dialogue: requests; accepted into the program (eligible: a facilitator assigned) and declined
  as ineligible; offenders approached, accepted, declined, invitations lapsed; dialogues held, by
  format; completed; ended for misconduct; withdrawn, by side; and the median days between
  stages (request to acceptance, acceptance to approach, approach to answer, answer to dialogue,
  dialogue to close) for the stages reached in the period;
- letters: submitted, returned for revision, held (banked), requested by the victim side,
  released, deferred, declined, expired and withdrawn; and how many victim-side parties registered
  in the period to be told when a letter is held;
- what federal restorative-practices grants ask: people served (victim side: a dialogue accepted
  into the program, or a letter released to them; offender side: a dialogue they accepted, or a
  letter they submitted) and people who sought the service and could not be served (a request
  declined as ineligible, an offender who declined, an invitation that lapsed, a process ended for
  misconduct).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import func, select

from engine import settings
from engine.clock import describe, from_db
from engine.definition import START, WITHDRAW
from engine.errors import InvalidInput, NotPermitted
from engine.models import AuditEntry, Party, Process
from engine.permissions import resolve
from services.pmt_report import day_start, suppress

DIALOGUE, LETTERS = "dialogue", "letter_bank"
MAX_DAYS = 3700  # about ten years: a report's period

DIALOGUE_COUNTS = {
    "requests": START, "accepted_into_program": "assign_facilitator", "declined_ineligible": "decline_ineligible",
    "offenders_approached": "invite_offender", "offenders_accepted": "offender_accepts",
    "offenders_declined": "offender_declines", "invitations_lapsed": "lapse_invitation",
    "dialogues_held": "record_dialogue", "completed": "close", "ended_for_misconduct": "end_for_misconduct",
}
LETTER_COUNTS = {
    "submitted": START, "returned_for_revision": "return", "held": "accept", "requested": "request",
    "released": "release", "deferred": "defer", "declined": "decline", "expired": "expire", "withdrawn": WITHDRAW,
}
# Stages in order, each the first time its step happened, for the medians.
STAGES = (("request", (START,)), ("accepted", ("assign_facilitator",)), ("approached", ("invite_offender",)),
          ("answered", ("offender_accepts", "offender_declines")), ("held", ("record_dialogue",)),
          ("closed", ("close",)))
COULD_NOT_SERVE = {"decline_ineligible": "declined_ineligible", "offender_declines": "offender_declined",
                   "lapse_invitation": "invitation_lapsed", "end_for_misconduct": "ended_for_misconduct"}


def _gate(app, session) -> None:
    actor = resolve(session, app.login, now=app.now())
    workflows = [app.registry.latest(name).workflow for name in (DIALOGUE, LETTERS)]
    if any(actor.role not in wf.readers or not actor.within(wf) for wf in workflows):
        allowed = sorted(set.intersection(*(set(wf.readers) for wf in workflows)))
        raise NotPermitted(f"{actor.role.replace('_', ' ')} is not permitted to run the restorative programs' report "
                           f"(vcase report restorative is for: {', '.join(r.replace('_', ' ') for r in allowed)}): "
                           "taking part must have no effect on supervision")


def period(start: date, end: date, zone_name: str) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput(f"--to {end} is before --from {start}")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(f"the period is {(end - start).days} days; at most {MAX_DAYS}")
    return day_start(start, zone_name), day_start(end + timedelta(days=1), zone_name)


def restorative(app, start: date, end: date, suppress_below: Optional[int] = None) -> dict[str, Any]:
    with app.store.read() as s:
        _gate(app, s)
        zone_name = settings.engine_value(s, "agency.time_zone")
        lo, hi = period(start, end, zone_name)
        steps = s.execute(
            select(Process.id, Process.workflow, Process.data, Process.initiator_party_id, Process.case_id,
                   AuditEntry.action, AuditEntry.at, AuditEntry.on_behalf_of)
            .join(AuditEntry, AuditEntry.process_id == Process.id)
            .where(Process.workflow.in_((DIALOGUE, LETTERS))).order_by(AuditEntry.id)).all()
        sides = dict(s.execute(select(Party.id, Party.side).where(
            Party.id.in_({row.on_behalf_of for row in steps if row.on_behalf_of is not None} or {0}))).all())
        registered = _letter_registrations(s, lo, hi)

    dialogue: dict[str, Any] = {k: 0 for k in DIALOGUE_COUNTS}
    letters: dict[str, Any] = {k: 0 for k in LETTER_COUNTS}
    by_format: dict[str, int] = defaultdict(int)
    withdrawn: dict[str, dict[str, int]] = {DIALOGUE: defaultdict(int), LETTERS: defaultdict(int)}
    firsts: dict[int, dict[str, datetime]] = defaultdict(dict)
    served_victims, served_offenders, not_served = set(), set(), defaultdict(set)
    dialogue_events = {v: k for k, v in DIALOGUE_COUNTS.items()}
    letter_events = {v: k for k, v in LETTER_COUNTS.items()}
    for row in steps:
        event, at = row.action.split(".", 1)[1], from_db(row.at)
        inside = lo <= at < hi
        if row.workflow == DIALOGUE:
            for stage, events in STAGES:
                if event in events and stage not in firsts[row.id]:
                    firsts[row.id][stage] = at
            if not inside:
                continue
            if event in dialogue_events:
                dialogue[dialogue_events[event]] += 1
            if event == "record_dialogue":
                by_format[str((row.data or {}).get("format", "unknown"))] += 1
            if event == "assign_facilitator":
                served_victims.add(row.initiator_party_id)
            if event == "offender_accepts":
                served_offenders.add(row.case_id)
            if event in COULD_NOT_SERVE:
                not_served[COULD_NOT_SERVE[event]].add(row.initiator_party_id)
        elif inside:
            if event in letter_events:
                letters[letter_events[event]] += 1
            if event == "release":
                served_victims.add(("letter", row.id))
            if event == START:
                served_offenders.add(row.case_id)
        if inside and event == WITHDRAW:
            withdrawn[row.workflow][sides.get(row.on_behalf_of, "staff")] += 1

    dialogue["held_by_format"] = {f: by_format.get(f, 0) for f in sorted({"in_person", "virtual", "letter_exchange",
                                                                            *by_format})}
    dialogue["withdrawn_by_side"] = _sides(withdrawn[DIALOGUE])
    dialogue["median_days"] = _medians(firsts, lo, hi)
    letters["withdrawn_by_side"] = _sides(withdrawn[LETTERS])
    letters["registered_to_hear_of_a_letter"] = registered
    report = {
        "report": "restorative",
        "from": describe(lo, zone_name),
        "to": describe(hi, zone_name),
        "time_zone": zone_name,
        "dialogue": dialogue,
        "letters": letters,
        "people": {"served_victim_side": len(served_victims - {None}),
                   "served_offender_side": len(served_offenders - {None}),
                   "sought_but_not_served": len(set().union(*not_served.values()) - {None}) if not_served else 0,
                   "not_served_by_reason": {reason: len(not_served.get(reason, set()) - {None})
                                            for reason in COULD_NOT_SERVE.values()}},
        "suppressed_below": suppress_below,
    }
    return suppress(report, suppress_below)


def _sides(counts: dict[str, int]) -> dict[str, int]:
    return {side: counts.get(side, 0) for side in ("victim", "offender", "staff")}


def _medians(firsts: dict[int, dict[str, datetime]], lo: datetime, hi: datetime) -> dict[str, Optional[float]]:
    """Median days from each stage to the next, over the processes that reached the later one in the period."""
    out: dict[str, Optional[float]] = {}
    for (before, _), (after, _) in zip(STAGES, STAGES[1:]):
        gaps = [(f[after] - f[before]).total_seconds() / 86400 for f in firsts.values()
                if after in f and before in f and lo <= f[after] < hi]
        out[f"{before}_to_{after}"] = round(statistics.median(gaps), 1) if gaps else None
    return out


def _letter_registrations(session, lo: datetime, hi: datetime) -> int:
    """Victim-side parties who registered in the period to be told when a letter is held: counted by the
    database (the registration's ``events`` fact is a JSON list; "letter_held" is no other event's part)."""
    return session.execute(select(func.count()).select_from(Process).where(
        Process.workflow == "notification", Process.started_at >= lo, Process.started_at < hi,
        Process.data["events"].as_string().contains('"letter_held"'))).scalar() or 0


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as flat rows (section, key, value): the CSV, and the plain table."""
    out: list[dict[str, Any]] = []

    def walk(section: str, value: Any, prefix: str = "") -> None:
        for key, inner in value.items():
            if isinstance(inner, dict):
                walk(section, inner, f"{prefix}{key}: ")
            else:
                out.append({"section": section, "key": f"{prefix}{key}", "value": inner})

    for section in ("dialogue", "letters", "people"):
        walk(section, report[section])
    return out
