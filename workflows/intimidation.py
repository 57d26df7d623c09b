"""Intimidation and retaliation: a report reaches law enforcement and the prosecutor at once, and
someone is seen to act (issue 15, seed 003).

    recording --record_safe_contact / add_evidence / record_summary (encrypted documents)--> recording
    recording --escalate--> escalated: emergencies to the case's first designated law-enforcement
                            and prosecutor contacts and to the supervising officer
    escalated --re_escalate (timer, intimidation.ack_minutes, re-armed each time)--> escalated:
                            the next contact down each list, and victim-services supervisors
    escalated --acknowledge (who acted, what they did)--> acknowledged (the timer is cancelled)
    acknowledged: the safety steps, each an internal step
        record_safety_plan (encrypted), request_order -> order_granted / order_denied,
        link_referral (a relocation or shelter referral: services/referrals.py),
        check_in_24h / check_in_7d (timers: the staff member who recorded the report is asked to
        check in with the victim, as the victim's safe-contact choice allows)
    acknowledged --close--> closed
    escalated / acknowledged --decline_safety (the victim side)--> the victim withdraws from the
        safety steps: from acknowledged the process ends (safety_declined); while it is still
        escalated, only the fact is recorded and the escalation runs on to an acknowledgement.

Recording is done in one transaction by ``services/intimidation.py``: the process is started in
``recording`` (nothing is sent), its documents are attached, and ``escalate`` queues the notices;
nobody ever sees a process in ``recording``.

Why withdrawal is not the generic withdraw: the escalation is the agency's duty, not something the
victim started, so nothing the victim says cancels it or its record. The victim may decline the
safety steps at any time (``decline_safety``): no check-in reminder is queued after it, and from
``acknowledged`` the process ends.

What happened, the evidence, the safe-contact choice, the safety plan and the summary are victim
data: encrypted documents, never process facts. The facts hold codes and times only. Readers are
victim staff; the officer may record a report for a victim and acknowledge an escalation (they act
on the conditions of supervision) but reads only what ``services/intimidation.py`` shows an
officer: that a report exists, and the summary if the victim agreed to share it. The parole board
and the person under supervision have no part in it, and no notice has the offender's audience.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Optional

from engine.definition import (
    OFFICER, SYSTEM, Facts, Glimpse, Notify, Sharing, Workflow, after, allow, assigned, case_contact, choice, staff_with_role,
    step, text, when,
)
from engine.settings import minutes


class State(str, Enum):
    recording = "recording"  # inside the recording transaction only
    escalated = "escalated"
    acknowledged = "acknowledged"
    closed = "closed"
    safety_declined = "safety_declined"  # the victim withdrew from the safety steps after acknowledgement


S = State
NAME = "intimidation"
ACCOUNT, SAFE_CONTACT, EVIDENCE, SUMMARY, SAFETY_PLAN = "account", "safe_contact", "evidence", "summary", "safety_plan"
BY_WHOM = ("supervised_person", "acting_for_them", "unknown")
REACHED_VIA = ("in_person", "phone", "text", "email", "social_media", "mail", "third_party", "other")
SHARE = ("name", "contact", "summary")  # what the victim may agree responders and the officer get
RECORD = allow("officer", "advocate", "victim_services", side="victim")
VICTIM_SIDE = allow("advocate", "victim_services", side="victim")
ACKNOWLEDGE = allow("officer", "advocate", "victim_services", "admin")
STAFF = allow("advocate", "victim_services", "admin")
LAW = case_contact("law_enforcement", level="level")
PROSECUTOR = case_contact("prosecutor", level="level")
SUPERVISORS = staff_with_role("victim_services")
REPORTER = assigned("reported_by")
FUTURE_SLACK = timedelta(minutes=5)


def parse_share(value: str) -> list[str]:
    chosen = {v.strip() for v in (value or "").split(",") if v.strip()}
    return [code for code in SHARE if code in chosen] + sorted(chosen - set(SHARE))


# -- guards (pure) -------------------------------------------------------------

def not_in_future(f: Facts) -> Optional[str]:
    from engine.clock import parse_when

    at = f.params.get("happened_at")
    if at and parse_when(at) > f.now + FUTURE_SLACK:
        return "happened_at is in the future; a report says what already happened"
    return None


def share_known(f: Facts) -> Optional[str]:
    unknown = [c for c in parse_share(f.params.get("share", "")) if c not in SHARE]
    if unknown:
        return f"cannot share {unknown[0][:40]!r}; choose from: {', '.join(SHARE)}"
    if "summary" in parse_share(f.params.get("share", "")) and not f.data.get("summary_given"):
        return "the summary is shared but none was recorded (record_summary with the text)"
    return None


def safe_contact_recorded(f: Facts) -> Optional[str]:
    return None if f.data.get("safe_contact_given") else "record how the victim may be contacted safely first"


def safety_steps_open(f: Facts) -> Optional[str]:
    return "the victim withdrew from the safety steps" if f.data.get("safety_withdrawn") else None


def order_requested(f: Facts) -> Optional[str]:
    return None if f.data.get("order_status") == "requested" else "no protective-order request is pending"


def no_order_pending(f: Facts) -> Optional[str]:
    return "a protective-order request is already pending" if f.data.get("order_status") == "requested" else None


def referral_id(f: Facts) -> Optional[str]:
    value = str(f.params.get("referral", ""))
    return None if value.isdigit() else f"referral must be a process id (a number), got {value[:40]!r}"


# -- records (pure) --------------------------------------------------------------

def record_start(f: Facts):
    return {"reported_by": f.actor_login, "happened_at": f.params["happened_at"], "by_whom": f.params["by_whom"],
            "reached_via": f.params["reached_via"],
            "codes": [f"by_{f.params['by_whom']}", f"via_{f.params['reached_via']}"]}


def record_safe_contact(f: Facts):
    return {"safe_contact_given": True}


def record_evidence(f: Facts):
    return {"evidence_items": int(f.data.get("evidence_items", 0)) + 1}


def record_summary(f: Facts):
    return {"summary_given": True}


def record_escalation(f: Facts):
    return {"share_scope": parse_share(f.params.get("share", "")), "level": 0, "escalated_at": f.now.isoformat(),
            "check_ins": True}


def record_re_escalation(f: Facts):
    level = int(f.data.get("level", 0)) + 1
    return {"level": level, "re_escalated_at": [*f.data.get("re_escalated_at", []), f.now.isoformat()]}


def record_acknowledged(f: Facts):
    return {"acknowledged_at": f.now.isoformat(), "acknowledged_by": f.params["responder"],
            "action_taken": f.params["action"], "acknowledgement_recorded_by": f.actor_login,
            "check_ins": not f.data.get("safety_withdrawn")}


def record_declined(f: Facts):
    return {"safety_withdrawn": True, "safety_withdrawn_at": f.now.isoformat(), "check_ins": False}


def record_plan(f: Facts):
    return {"safety_plan_at": f.now.isoformat()}


def record_order_request(f: Facts):
    return {"order_status": "requested", "order_requested_at": f.now.isoformat()}


def record_order(outcome: str):
    def record(f: Facts):
        return {"order_status": outcome, f"order_{outcome}_at": f.now.isoformat()}
    record.__qualname__ = f"record_order_{outcome}"
    return record


def record_referral(f: Facts):
    return {"referrals": [*f.data.get("referrals", []), int(f.params["referral"])]}


NOTE = text("note", required=False, help="a note for the audit trail (no victim details; never sent)")
LIVE = (S.escalated, S.acknowledged)

STEPS = (
    step(S.recording, "record_safe_contact", S.recording, by=RECORD, attach=SAFE_CONTACT, record=record_safe_contact,
         help="how the victim may be contacted safely (channel, times, whether a message may be left), encrypted"),
    step(S.recording, "record_summary", S.recording, by=RECORD, attach=SUMMARY, record=record_summary,
         help="the summary the victim agrees to share with responders and the officer (encrypted)"),
    *(step(s, "add_evidence", s, by=RECORD, attach=EVIDENCE, record=record_evidence,
           help="a piece of evidence (text, encrypted; each one a new version)") for s in (S.recording, *LIVE)),
    step(S.recording, "escalate", S.escalated, by=RECORD, guards=(safe_contact_recorded, share_known),
         params=(text("share", required=False,
                      help=f"what the victim agrees responders and the officer may have: {', '.join(SHARE)}"),),
         record=record_escalation,
         notify=(Notify("escalation", LAW, emergency=True, items="codes"),
                 Notify("escalation", PROSECUTOR, emergency=True, items="codes"),
                 Notify("officer_alert", OFFICER, emergency=True, items="codes")),
         help="tell the case's law-enforcement and prosecutor contacts and the officer at once"),
    step(S.escalated, "re_escalate", S.escalated, by=SYSTEM, record=record_re_escalation, rearm=True,
         notify=(Notify("re_escalation", LAW, emergency=True, items="codes"),
                 Notify("re_escalation", PROSECUTOR, emergency=True, items="codes"),
                 Notify("supervisor_alert", SUPERVISORS, emergency=True, items="codes")),
         help="nobody acknowledged: the next contact on each list and victim-services supervisors"),
    step(S.escalated, "acknowledge", S.acknowledged, by=ACKNOWLEDGE, record=record_acknowledged,
         params=(text("responder", help="who acted (a name and agency, e.g. 'Det. Ruiz, county sheriff')"),
                 text("action", help="what they did (e.g. 'called the victim, warrant requested')")),
         help="someone acted on the report: who, and what they did"),
    step(S.escalated, "decline_safety", S.escalated, by=VICTIM_SIDE, record=record_declined,
         help="the victim withdraws from the safety steps (the escalation runs on)"),
    step(S.acknowledged, "decline_safety", S.safety_declined, by=VICTIM_SIDE, record=record_declined,
         help="the victim withdraws from the safety steps: the report ends here"),
    step(S.acknowledged, "record_safety_plan", S.acknowledged, by=VICTIM_SIDE, attach=SAFETY_PLAN,
         guards=(safety_steps_open,), record=record_plan, help="the safety plan made with the victim (encrypted)"),
    step(S.acknowledged, "request_order", S.acknowledged, by=VICTIM_SIDE, guards=(safety_steps_open, no_order_pending),
         record=record_order_request, help="a protective-order request was filed"),
    step(S.acknowledged, "order_granted", S.acknowledged, by=STAFF, guards=(order_requested,),
         record=record_order("granted"), params=(choice("kind", "protective", "no_contact"), NOTE),
         help="the order was granted (it becomes the case's active order in the same transaction)"),
    step(S.acknowledged, "order_denied", S.acknowledged, by=STAFF, guards=(order_requested,),
         record=record_order("denied"), params=(NOTE,), help="the order was denied"),
    step(S.acknowledged, "link_referral", S.acknowledged, by=VICTIM_SIDE, guards=(safety_steps_open, referral_id),
         params=(text("referral", help="the referral's process id"),), record=record_referral,
         help="a relocation or shelter referral made for the victim (vcase referral)"),
    step(S.acknowledged, "check_in_24h", S.acknowledged, by=SYSTEM,
         notify=(Notify("check_in", REPORTER, if_fact="check_ins"),),
         help="a day on: remind the staff member who recorded it to check in with the victim"),
    step(S.acknowledged, "check_in_7d", S.acknowledged, by=SYSTEM,
         notify=(Notify("check_in", REPORTER, if_fact="check_ins"),),
         help="a week on: remind the staff member who recorded it to check in with the victim"),
    step(S.acknowledged, "close", S.closed, by=STAFF, params=(NOTE,), help="the safety steps are done"),
)

WORKFLOW = Workflow(
    duty=True,  # escalated at once whatever intake formality is still to do
    name=NAME,
    version=1,
    title="Intimidation or retaliation report",
    states=State,
    initial=S.recording.value,
    finals=frozenset({S.closed.value, S.safety_declined.value}),
    # Not victim-initiated: the escalation is the agency's duty, so the victim cannot withdraw it
    # (they decline the safety steps instead). Staff record it acting for the victim or witness.
    victim_initiated=False,
    start_by=(RECORD,),
    start_params=(when("happened_at", help="when it happened (the case's zone unless an offset is given)"),
                  choice("by_whom", *BY_WHOM, help="who did it, if known"),
                  choice("reached_via", *REACHED_VIA, help="how it reached the victim")),
    start_guards=(not_in_future,),
    start_record=record_start,
    start_attach=ACCOUNT,
    readers=frozenset({"advocate", "victim_services", "admin"}),
    steps=STEPS,
    timers=(
        after(S.escalated, timedelta(minutes=15), "re_escalate", name="re_escalation",
              setting="intimidation.ack_minutes", unit="minutes"),
        after(S.acknowledged, timedelta(days=1), "check_in_24h", name="check_in_24h"),
        after(S.acknowledged, timedelta(days=7), "check_in_7d", name="check_in_7d"),
    ),
    appointment="happened_at",
    sharing=Sharing(partner="", scope="share_scope", summary=SUMMARY),
    settings={"intimidation.ack_minutes": minutes("15", low=1, high=1440)},
    # The officer acts on the conditions of supervision: they see that a report exists, its times and
    # codes, and the summary only if the victim agreed to share it; never whereabouts or safe contact.
    glimpse=Glimpse(roles=frozenset({"officer"}), facts=(
        "happened_at", "by_whom", "reached_via", "escalated_at", "level", "acknowledged_at"),
        document=SUMMARY, scope="share_scope", code="summary"),
    partner_staff=False,  # victim data of the gravest kind: no agreement opens it to a partner's staff
)
