"""Victim-offender dialogue (VOD): a facilitated, victim-initiated process.

    requested --begin_intake--> intake --assign_facilitator--> facilitator_assigned
      --invite_offender--> offender_invited --offender_accepts--> offender_accepted
                                            --offender_declines--> offender_declined (final)
                                            --lapse_invitation (timer)--> not_possible (final)
      offender_accepted --begin_preparation--> preparation --schedule--> dialogue_scheduled
      dialogue_scheduled --record_dialogue--> dialogue_held --begin_follow_up--> follow_up
      follow_up --close (facilitator, or the timer)--> closed (final)
      intake / facilitator_assigned --decline_ineligible--> declined_ineligible (final)
      dialogue_scheduled --postpone--> preparation (then schedule again: a new date re-arms the reminders)
      facilitator_assigned .. dialogue_scheduled --end_for_misconduct--> not_possible (final)
    internal steps: record_screening (intake), record_safety_assessment (intake .. dialogue_scheduled),
      reassign_facilitator, remind_invitation (timer), record_agreements, record_session, mark_ready,
      remind_dialogue (timers, 7 and 1 days before), check_in (timer);
    plus the generic pause / resume / withdraw from every non-terminal state.

Only the victim side starts it (victim, guardian, next of kin, through an
advocate or victim services). A request from the person under supervision is
kept on file with ``services.interest`` and starts nothing. The offender is not
approached while the case is flagged for intimate partner violence or has an
active protective / no-contact order, until victim services records an
approved safety assessment; ``dialogue.ipv_policy=refuse`` refuses such cases
outright. Readers exclude the officer and the parole board: taking part has no
effect on supervision.

Sources: seed 000 (20 Essential Principles); Texas TDCJ VOMD; OAR 291-205-0050,
-0070, -0090; Pennsylvania OVA; Colorado DOC (see ../shared/DOMAIN.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Optional

from engine.clock import zone
from engine.definition import (
    OFFENDER, SYSTEM, VICTIM, Facts, Notify, Workflow, after, allow, assigned, before, choice, staff, step, text, when,
)
from engine.settings import days, one_of


class State(str, Enum):
    requested = "requested"
    intake = "intake"  # eligibility and safety screening
    facilitator_assigned = "facilitator_assigned"
    offender_invited = "offender_invited"
    offender_accepted = "offender_accepted"  # agreements are signed here
    offender_declined = "offender_declined"
    preparation = "preparation"  # separate sessions with each party
    dialogue_scheduled = "dialogue_scheduled"
    dialogue_held = "dialogue_held"
    follow_up = "follow_up"
    closed = "closed"
    declined_ineligible = "declined_ineligible"
    not_possible = "not_possible"  # the invitation lapsed, or ended for misconduct toward the victim
    paused = "paused"
    withdrawn = "withdrawn"


S = State
PARTIES = ("victim", "offender")
VICTIM_SIDE = allow("advocate", "victim_services", side="victim")
OFFENDER_SIDE = allow("facilitator", "officer", side="offender")
VICTIM_STAFF = allow("advocate", "victim_services")
FACILITATOR = allow("facilitator")
COORDINATOR = allow("victim_services")
TO_FACILITATOR = assigned("facilitator")

# Once a facilitator is assigned: where the offender may already know of the process, or is about to.
WORKING = (S.facilitator_assigned, S.offender_invited, S.offender_accepted, S.preparation,
           S.dialogue_scheduled, S.dialogue_held, S.follow_up)
# Where a safety assessment can be (re)made: any time before the dialogue is held.
ASSESSABLE = (S.intake, S.facilitator_assigned, S.offender_invited, S.offender_accepted, S.preparation,
              S.dialogue_scheduled)
# Where the offender has been approached (they may be told that the process ended).
OFFENDER_KNOWS = (S.offender_invited, S.offender_accepted, S.preparation, S.dialogue_scheduled)


# -- guards (pure) -------------------------------------------------------------

def _risky(f: Facts) -> bool:
    return bool(f.case["ipv"] or f.case["order_active"])


def ipv_policy_allows(f: Facts) -> Optional[str]:
    """``dialogue.ipv_policy``: anything but require_assessment refuses (the stricter reading)."""
    if _risky(f) and f.settings.get("dialogue.ipv_policy") != "require_assessment":
        return ("this agency does not offer dialogue when intimate partner violence is flagged or a "
                "protective or no-contact order is active (setting dialogue.ipv_policy)")
    return None


def _risks(f: Facts) -> list[str]:
    """What makes approaching the offender unsafe without an assessment, as of now."""
    risks = [r for r in ("ipv", "order_active") if f.case[r]]
    if f.data.get("safety_screen") == "refer_for_assessment":
        risks.append("screening")
    return risks


def safety_assessment_approved(f: Facts) -> Optional[str]:
    """An approved assessment covers the risks known when it was made; a new flag needs a new one."""
    risks = _risks(f)
    covered = set(f.data.get("safety_assessment_covers", ()))
    if not risks or (f.data.get("safety_assessment") == "approved" and set(risks) <= covered):
        return None
    why = {"ipv": "the case is flagged for intimate partner violence",
           "order_active": "a protective or no-contact order is active",
           "screening": "the safety screening asked for an assessment"}
    reason = "; ".join(why[r] for r in risks if r not in covered or f.data.get("safety_assessment") != "approved")
    return f"{reason}: victim services must first record an approved safety assessment (record_safety_assessment)"


def no_misconduct(f: Facts) -> Optional[str]:
    if f.case["misconduct_toward_victim"]:
        return ("misconduct toward the victim is on record: put the process on hold, or end it with "
                "end_for_misconduct")
    return None


def misconduct_on_record(f: Facts) -> Optional[str]:
    return None if f.case["misconduct_toward_victim"] else "no misconduct toward the victim is on record for this case"


def screened_eligible(f: Facts) -> Optional[str]:
    if "appeals" not in f.data or "safety_screen" not in f.data:
        return "record the eligibility and safety screening first (record_screening)"
    if f.data["appeals"] not in ("exhausted", "waived"):
        return f"appeals must be exhausted or waived (recorded: {f.data['appeals']})"
    return None


def agreements_signed(f: Facts) -> Optional[str]:
    missing = [p for p in PARTIES if not f.data.get(f"agreements_{p}")]
    if missing:
        return f"the participation and confidentiality agreements of the {' and '.join(missing)} are not recorded"
    return None


def both_ready(f: Facts) -> Optional[str]:
    missing = [p for p in PARTIES if not f.data.get(f"ready_{p}")]
    return f"the {' and '.join(missing)} not yet marked ready (mark_ready)" if missing else None


def date_in_future(f: Facts) -> Optional[str]:
    if datetime.fromisoformat(f.params["dialogue_at"]) <= f.now:
        return "the dialogue date must be in the future"
    return None


def dialogue_day_reached(f: Facts) -> Optional[str]:
    """A dialogue is recorded as held on or after its day (in the case's zone)."""
    tz = zone(f.case["time_zone"])
    planned = datetime.fromisoformat(f.data["dialogue_at"]).astimezone(tz).date()
    if f.now.astimezone(tz).date() < planned:
        return f"the dialogue is planned for {planned.isoformat()}; it cannot be recorded as held before that day"
    return None


# -- records (pure) --------------------------------------------------------------

def _party(f: Facts) -> str:
    return f.params["party"]


def record_screening(f: Facts):
    return {"appeals": f.params["appeals"], "safety_screen": f.params["safety_screen"]}


def record_assessment(f: Facts):
    return {"safety_assessment": f.params["outcome"], "safety_assessment_on": f.now.isoformat(),
            "safety_assessment_covers": _risks(f)}


def record_facilitator(f: Facts):
    return {"facilitator": f.params["facilitator"]}


def record_invited(f: Facts):
    return {"invited_at": f.now.isoformat()}


def record_answer(f: Facts):
    return {"answered_at": f.now.isoformat()}


def record_agreements(f: Facts):
    return {f"agreements_{_party(f)}": f.now.isoformat()}


def record_session(f: Facts):
    key = f"sessions_{_party(f)}"
    return {key: int(f.data.get(key, 0)) + 1}


def record_ready(f: Facts):
    return {f"ready_{_party(f)}": True}


def record_schedule(f: Facts):
    return {"dialogue_at": f.params["dialogue_at"], "format": f.params["format"]}


def record_postponed(f: Facts):
    return {"postponements": int(f.data.get("postponements", 0)) + 1}


def record_held(f: Facts):
    return {"held_at": f.now.isoformat()}


PARTY = choice("party", *PARTIES, help="whose: victim or offender")
SAFETY_GUARDS = (ipv_policy_allows, safety_assessment_approved, no_misconduct)

STEPS = (
    step(S.requested, "begin_intake", S.intake, by=VICTIM_STAFF,
         help="start intake: eligibility and safety screening with the victim"),
    step(S.intake, "record_screening", S.intake, by=VICTIM_STAFF,
         params=(choice("appeals", "exhausted", "waived", "pending", help="appeals exhausted, waived, or pending"),
                 choice("safety_screen", "no_concerns", "refer_for_assessment", help="outcome of the safety screening")),
         record=record_screening, help="record eligibility (appeals) and the safety screening"),
    *(step(s, "record_safety_assessment", s, by=COORDINATOR,
           params=(choice("outcome", "approved", "not_approved", help="victim services' decision"),),
           record=record_assessment, help="victim services records the safety assessment")
      for s in ASSESSABLE),
    step(S.intake, "assign_facilitator", S.facilitator_assigned, by=COORDINATOR,
         params=(staff("facilitator", role="facilitator", help="the facilitator's login"),),
         guards=(screened_eligible, ipv_policy_allows, no_misconduct), record=record_facilitator,
         notify=(Notify("facilitator_assigned", VICTIM), Notify("facilitator_assigned", TO_FACILITATOR)),
         help="accept the request into the program and assign a trained facilitator"),
    *(step(s, "reassign_facilitator", s, by=COORDINATOR,
           params=(staff("facilitator", role="facilitator", help="the new facilitator's login"),),
           record=record_facilitator,
           notify=(Notify("facilitator_changed", VICTIM), Notify("facilitator_assigned", TO_FACILITATOR)),
           help="hand the process to another facilitator")
      for s in WORKING),
    step((S.intake, S.facilitator_assigned), "decline_ineligible", S.declined_ineligible, by=VICTIM_STAFF,
         params=(text("reason", required=False, help="why (kept in the audit trail, never sent)"),),
         notify=(Notify("not_eligible", VICTIM),),
         help="the request cannot go ahead (not eligible, or not safe)"),
    step(S.facilitator_assigned, "invite_offender", S.offender_invited, by=FACILITATOR,
         guards=SAFETY_GUARDS, record=record_invited,
         notify=(Notify("invitation", OFFENDER), Notify("offender_invited", VICTIM)),
         help="approach the person under supervision (only once it is safe)"),
    step(S.offender_invited, "remind_invitation", S.offender_invited, by=SYSTEM,
         notify=(Notify("invitation_reminder", TO_FACILITATOR),),
         help="the invitation is unanswered: remind the facilitator"),
    step(S.offender_invited, "lapse_invitation", S.not_possible, by=SYSTEM,
         notify=(Notify("not_possible", VICTIM), Notify("invitation_lapsed", TO_FACILITATOR)),
         help="the invitation went unanswered: the request closes as not possible"),
    step(S.offender_invited, "offender_accepts", S.offender_accepted, by=OFFENDER_SIDE, record=record_answer,
         notify=(Notify("offender_accepted", VICTIM), Notify("offender_responded", TO_FACILITATOR)),
         help="the person under supervision agrees to take part"),
    step(S.offender_invited, "offender_declines", S.offender_declined, by=OFFENDER_SIDE, record=record_answer,
         notify=(Notify("offender_declined", VICTIM), Notify("offender_responded", TO_FACILITATOR)),
         help="the person under supervision declines"),
    step(S.offender_accepted, "record_agreements", S.offender_accepted, by=FACILITATOR, params=(PARTY,),
         record=record_agreements, help="a party signed the participation and confidentiality agreements"),
    step(S.offender_accepted, "begin_preparation", S.preparation, by=FACILITATOR,
         guards=(agreements_signed, no_misconduct),
         notify=(Notify("preparation_started", VICTIM), Notify("preparation_started", OFFENDER)),
         help="start preparation with each party separately"),
    step(S.preparation, "record_session", S.preparation, by=FACILITATOR, params=(PARTY,), record=record_session,
         help="a preparation session was held with one party"),
    step(S.preparation, "mark_ready", S.preparation, by=FACILITATOR, params=(PARTY,), record=record_ready,
         help="a party is ready for the dialogue"),
    step(S.preparation, "schedule", S.dialogue_scheduled, by=FACILITATOR,
         params=(when("dialogue_at", help="date and time of the dialogue, e.g. 2027-03-14T10:00"),
                 choice("format", "in_person", "virtual", "letter_exchange", help="how the dialogue takes place")),
         guards=(both_ready, date_in_future, *SAFETY_GUARDS), record=record_schedule,
         notify=(Notify("dialogue_scheduled", VICTIM), Notify("dialogue_scheduled", OFFENDER),
                 Notify("dialogue_scheduled", TO_FACILITATOR)),
         help="set the date and format once both parties are ready"),
    step(S.dialogue_scheduled, "remind_dialogue", S.dialogue_scheduled, by=SYSTEM,
         notify=(Notify("dialogue_reminder", VICTIM), Notify("dialogue_reminder", TO_FACILITATOR)),
         help="a reminder before the dialogue"),
    step(S.dialogue_scheduled, "postpone", S.preparation, by=FACILITATOR, record=record_postponed,
         notify=(Notify("dialogue_postponed", VICTIM), Notify("dialogue_postponed", OFFENDER)),
         help="the date is off; back to preparation, then schedule the new date"),
    step(S.dialogue_scheduled, "record_dialogue", S.dialogue_held, by=FACILITATOR,
         guards=(dialogue_day_reached,), record=record_held, help="the dialogue took place"),
    step(S.dialogue_held, "begin_follow_up", S.follow_up, by=FACILITATOR, help="start the follow-up period"),
    step(S.follow_up, "check_in", S.follow_up, by=SYSTEM,
         notify=(Notify("follow_up_check_in", VICTIM), Notify("follow_up_check_in", TO_FACILITATOR)),
         help="the follow-up check-in with the victim"),
    step(S.follow_up, "close", S.closed, by=(FACILITATOR, SYSTEM),
         notify=(Notify("closed", VICTIM), Notify("closed", TO_FACILITATOR)),
         help="the process is complete"),
    # Misconduct toward the victim ends it; the offender hears only that it ended, and only if approached.
    step(S.facilitator_assigned, "end_for_misconduct", S.not_possible, by=(COORDINATOR, FACILITATOR),
         guards=(misconduct_on_record,),
         notify=(Notify("not_possible", VICTIM), Notify("process_ended", TO_FACILITATOR)),
         help="end the process after misconduct toward the victim"),
    step(OFFENDER_KNOWS, "end_for_misconduct", S.not_possible, by=(COORDINATOR, FACILITATOR),
         guards=(misconduct_on_record,),
         notify=(Notify("not_possible", VICTIM), Notify("process_ended", OFFENDER),
                 Notify("process_ended", TO_FACILITATOR)),
         help="end the process after misconduct toward the victim"),
)

WORKFLOW = Workflow(
    name="dialogue",
    version=1,
    title="Victim-offender dialogue",
    states=State,
    initial=S.requested.value,
    finals=frozenset({S.closed.value, S.offender_declined.value, S.declined_ineligible.value,
                      S.not_possible.value, S.withdrawn.value}),
    victim_initiated=True,
    start_by=(VICTIM_SIDE,),
    start_notify=(Notify("request_received", VICTIM),),
    readers=frozenset({"advocate", "victim_services", "facilitator", "admin"}),
    steps=STEPS,
    timers=(
        after(S.offender_invited, timedelta(days=30), "remind_invitation", name="invitation_reminder",
              setting="dialogue.invite_reminder_days"),
        after(S.offender_invited, timedelta(days=60), "lapse_invitation", name="invitation_lapse",
              setting="dialogue.invite_lapse_days"),
        before("dialogue_at", timedelta(days=7), "remind_dialogue", state=S.dialogue_scheduled.value,
               name="dialogue_reminder_week"),
        before("dialogue_at", timedelta(days=1), "remind_dialogue", state=S.dialogue_scheduled.value,
               name="dialogue_reminder_day"),
        after(S.follow_up, timedelta(days=30), "check_in", name="follow_up_check_in",
              setting="dialogue.follow_up_check_in_days"),
        after(S.follow_up, timedelta(days=90), "close", name="follow_up_close",
              setting="dialogue.follow_up_close_days"),
    ),
    pause_by=(VICTIM_SIDE, OFFENDER_SIDE, FACILITATOR),
    resume_by=(VICTIM_SIDE, OFFENDER_SIDE, FACILITATOR),
    withdraw_by=(VICTIM_SIDE, OFFENDER_SIDE),
    pause_notify=(Notify("paused", VICTIM), Notify("paused", TO_FACILITATOR)),
    resume_notify=(Notify("resumed", VICTIM), Notify("resumed", TO_FACILITATOR)),
    # Everyone is told it ended, never why nor who; the offender only if they were ever approached.
    withdraw_notify=(Notify("process_ended", VICTIM), Notify("process_ended", OFFENDER, if_fact="invited_at"),
                     Notify("process_ended", TO_FACILITATOR)),
    settings={
        # or "refuse" (e.g. Colorado); a stored value that is neither reads as refuse, the stricter
        "dialogue.ipv_policy": one_of("require_assessment", "refuse", invalid_reads_as="refuse"),
        "dialogue.invite_reminder_days": days("30", high=365),
        "dialogue.invite_lapse_days": days("60", high=730),
        "dialogue.follow_up_check_in_days": days("30", high=365),
        "dialogue.follow_up_close_days": days("90", high=730),
    },
    appointment="dialogue_at",
)
