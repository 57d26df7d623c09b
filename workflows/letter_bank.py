"""The apology letter bank: a letter from the person under supervision, held until the victim chooses.

    submitted --begin_review--> in_review
    submitted / in_review --accept (checklist complete)--> held
    submitted / in_review --return (reasons)--> returned_for_revision --resubmit (revised text)--> submitted
    held --request (victim side)--> victim_requested --release (identity checked, no order)--> released
    victim_requested --defer (the victim wants to wait)--> held
    held --review_retention (yearly timer)--> retention_review --keep--> held | --expire--> expired
    any live state --decline (the victim never wants it)--> declined
    plus the generic withdraw (by the writer) and pause / resume (victim services, victim side).

Staff (an officer or a facilitator) submit a letter for the writer, acting
for the supervised person; the text is stored encrypted, and each revision is
a new version. Submission is refused while a protective or no-contact order is
active or misconduct toward the victim is on record. Victim services screen it
against the checklist: a letter that blames, excuses, asks for forgiveness,
contact or a reply, gives contact details, preaches or re-victimizes goes back
to the writer with reasons.

The victim is told nothing unless they registered for ``letter_held`` (one
gentle notice when the letter is accepted into the bank, to them or, for a
minor or deceased victim, to the guardian or next of kin who registered) or
ask. Release needs the victim side's request, an identity check and no active
order; it goes to the victim if an adult, otherwise to their guardian, or for
a deceased victim to their next of kin. The writer is told the letter was
received only if the victim chooses so.

Retention is a policy (``letter_bank.retention``): ``indefinite`` (default) or
``end_of_supervision``. A yearly review passes through ``retention_review``
(the engine re-arms a state's timers only when the state is entered again) and
either keeps the letter or lets it expire.

Readers exclude the officer and the parole board: a letter must not be
factored into supervision or parole review.

Sources: seed 000; Oregon OAR 291-205-0210, -0220; Cal. Penal Code 5034;
Pennsylvania OVA; Colorado, Wisconsin, Washington DOC (see ../shared/DOMAIN.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from typing import Any, Mapping, Optional

from engine.definition import (
    OFFENDER, SYSTEM, Facts, Notify, Subscription, Workflow, after, allow, choice, flag, party_fact, step, text,
)
from engine.settings import days, one_of


class State(str, Enum):
    submitted = "submitted"
    in_review = "in_review"
    returned_for_revision = "returned_for_revision"
    held = "held"
    retention_review = "retention_review"  # the yearly check against the retention policy (passes at once)
    victim_requested = "victim_requested"
    released = "released"
    declined = "declined"  # the victim never wants it
    expired = "expired"  # the retention policy ended it
    paused = "paused"
    withdrawn = "withdrawn"  # by the writer


S = State
NAME = "letter_bank"
WRITER = allow("officer", "facilitator", side="offender")
REVIEWER = allow("victim_services")
VICTIM_SIDE = allow("advocate", "victim_services", side="victim")
RELEASER = allow("victim_services", "advocate")
HOLDERS = (S.held, S.retention_review)
IN_SCREENING = (S.submitted, S.in_review)
LIVE = (S.submitted, S.in_review, S.returned_for_revision, S.held, S.retention_review, S.victim_requested)

# The screening checklist. Accepting confirms every item; returning names the items the letter fails.
CHECKLIST: Mapping[str, str] = {
    "harm": "acknowledges the harm done",
    "blame": "does not blame the victim or anyone else",
    "excuses": "makes no excuses",
    "forgiveness": "does not ask for forgiveness",
    "contact": "does not ask for contact or a reply",
    "contact_details": "gives no contact details",
    "preaching": "does not preach",
    "revictimizing": "contains nothing re-victimizing",
}
RECEIVER_KINDS = ("victim", "survivor", "co_victim")  # whom a letter may be addressed to
METHODS = ("mail", "email", "read_by_facilitator")
RETENTION = ("indefinite", "end_of_supervision")


# -- guards (pure) ---------------------------------------------------------------

def items(value: Optional[str]) -> list[str]:
    """A comma-separated list of checklist items, in order, without repeats."""
    out: list[str] = []
    for item in (v.strip() for v in (value or "").split(",")):
        if item and item not in out:
            out.append(item)
    return out


def _unknown(found: list[str]) -> Optional[str]:
    bad = [i for i in found if i not in CHECKLIST]
    return f"unknown checklist item {bad[0]!r}; the items are: {', '.join(CHECKLIST)}" if bad else None


def no_active_order(f: Facts) -> Optional[str]:
    return "a protective or no-contact order is active on this case" if f.case["order_active"] else None


def no_misconduct(f: Facts) -> Optional[str]:
    return "misconduct toward the victim is on record for this case" if f.case["misconduct_toward_victim"] else None


def addressed_to_a_victim(f: Facts) -> Optional[str]:
    raw = str(f.params.get("victim", "")).strip()
    if not raw.isdigit():
        return "give the party id of the victim the letter is to (--victim PARTY; `vcase party list CASE`)"
    party = f.parties.get(int(raw))
    if party is None:
        return f"party {raw} is not on this case"
    if party["side"] != "victim" or party["kind"] not in RECEIVER_KINDS:
        return (f"party {raw} is a {party['kind'].replace('_', ' ')}: name the victim the letter is to "
                "(a guardian or next of kin receives it for them)")
    return None


def checklist_complete(f: Facts) -> Optional[str]:
    found = items(f.params.get("checklist"))
    missing = [i for i in CHECKLIST if i not in found]
    if _unknown(found):
        return _unknown(found)
    if missing:
        return (f"the checklist is not complete (not confirmed: {', '.join(missing)}); "
                "return the letter with those reasons instead")
    return None


def a_reason_for_the_writer(f: Facts) -> Optional[str]:
    found = items(f.params.get("reasons"))
    if _unknown(found):
        return _unknown(found)
    if not found and not f.params.get("note"):
        return f"give at least one reason ({', '.join(CHECKLIST)}) or a note"
    return None


def _victim(f: Facts) -> Optional[Mapping[str, Any]]:
    return f.parties.get(int(f.data["victim"])) if "victim" in f.data else None


def _may_receive(f: Facts, party: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The victim if a living adult; for a minor, their guardian; for a deceased victim, next of kin."""
    victim = _victim(f)
    if victim is None:
        return "the victim this letter is for is no longer on the case"
    if not party:
        return "act --for the victim, or for their guardian or next of kin"
    if party["minor"]:
        return "the letter cannot go to a minor; a guardian may receive it for them"
    if party["deceased"]:
        return "that party is recorded as deceased"
    if party["id"] == victim["id"]:
        if victim["minor"]:
            return "the victim is a minor: act --for their guardian, who may receive it for them"
        return None
    if party["represents"] == victim["id"]:
        if victim["minor"] and party["kind"] == "guardian":
            return None
        if victim["deceased"] and party["kind"] in ("next_of_kin", "survivor"):
            return None
        if victim["minor"] or victim["deceased"]:
            who = "guardian" if victim["minor"] else "next of kin"
            return f"only the victim's {who} may receive it for them"
        return "the victim is a living adult: only they may ask for and receive the letter"
    return "that party is not the victim this letter is for, nor their guardian or next of kin"


def rightful_requester(f: Facts) -> Optional[str]:
    return _may_receive(f, f.actor_party)


def requester_still_rightful(f: Facts) -> Optional[str]:
    requester = f.parties.get(int(f.data.get("requested_by", 0)))
    reason = _may_receive(f, requester)
    return f"the recipient on record may no longer receive it: {reason}" if reason else None


def victim_or_representative(f: Facts) -> Optional[str]:
    """Whether the victim wants the letter is theirs to say, at any age; or their representative's."""
    victim, party = _victim(f), f.actor_party
    if victim and party and (party["id"] == victim["id"] or party["represents"] == victim["id"]):
        return None
    return "only the victim this letter is for, or their guardian or next of kin, can say so"


def identity_checked(f: Facts) -> Optional[str]:
    return None if f.params.get("identity_checked") else "check the recipient's identity first (--identity-checked)"


def _retention_ends(f: Facts) -> bool:
    if f.settings.get("letter_bank.retention") != "end_of_supervision":
        return False  # indefinite, and anything unrecognised: keep the letter for the victim
    ends = f.case.get("supervision_ends_on")
    if not ends:
        return False
    from engine.clock import zone

    return date.fromisoformat(ends) < f.now.astimezone(zone(f.case["time_zone"])).date()


def retention_ended(f: Facts) -> Optional[str]:
    return None if _retention_ends(f) else "the retention policy keeps the letter"


def retention_continues(f: Facts) -> Optional[str]:
    return "supervision has ended and the retention policy is end_of_supervision" if _retention_ends(f) else None


# -- records (pure) --------------------------------------------------------------

def record_submitted(f: Facts):
    return {"victim": int(f.params["victim"]), "submitted_on": f.now.isoformat()}


def record_accepted(f: Facts):
    return {"checklist": list(CHECKLIST), "accepted_on": f.now.isoformat()}


def record_returned(f: Facts):
    return {"return_reasons": items(f.params.get("reasons")), "return_note": f.params.get("note", ""),
            "returned_on": f.now.isoformat(), "returns": int(f.data.get("returns", 0)) + 1}


def record_resubmitted(f: Facts):
    return {"resubmitted_on": f.now.isoformat()}


def record_requested(f: Facts):
    return {"requested_by": f.actor_party["id"], "requested_on": f.now.isoformat()}


def record_deferred(f: Facts):
    return {"requested_by": None, "deferred_on": f.now.isoformat()}


def record_released(f: Facts):
    return {"released_on": f.now.isoformat(), "method": f.params["method"], "identity_checked": True,
            "tell_writer": bool(f.params.get("tell_writer"))}


def record_declined(f: Facts):
    return {"declined_by": f.actor_party["id"], "declined_on": f.now.isoformat()}


def record_kept(f: Facts):
    return {"retention_reviewed_on": f.now.isoformat()}


# Opt-in only: told a letter is held only if registered for it (a notification registration listing letter_held).
TO_VICTIM_IF_REGISTERED = party_fact("victim", requires=Subscription("notification", "events", "letter_held"))

STEPS = (
    step(S.submitted, "begin_review", S.in_review, by=REVIEWER, help="take the letter up for screening"),
    step(IN_SCREENING, "accept", S.held, by=REVIEWER,
         params=(text("checklist", help=f"every checklist item confirmed, comma-separated: {', '.join(CHECKLIST)}"),),
         guards=(checklist_complete, no_misconduct), record=record_accepted,
         notify=(Notify("accepted", OFFENDER), Notify("letter_held", TO_VICTIM_IF_REGISTERED)),
         help="accept the screened letter into the bank (a registered victim is told, once)"),
    step(IN_SCREENING, "return", S.returned_for_revision, by=REVIEWER,
         params=(text("reasons", required=False, help=f"items the letter fails: {', '.join(CHECKLIST)}"),
                 text("note", required=False, help="a note on the revision (no victim details)")),
         guards=(a_reason_for_the_writer,), record=record_returned, notify=(Notify("returned", OFFENDER, items="return_reasons"),),
         help="return the letter to the writer for revision, with reasons"),
    step(S.returned_for_revision, "resubmit", S.submitted, by=WRITER, attach="letter", record=record_resubmitted,
         help="the writer's revised letter (the earlier versions are kept)"),
    step(S.held, "review_retention", S.retention_review, by=SYSTEM,
         help="the yearly check of a held letter against the retention policy"),
    step(S.retention_review, "keep", S.held, by=SYSTEM, guards=(retention_continues,), record=record_kept,
         help="the retention policy keeps the letter"),
    step(S.retention_review, "expire", S.expired, by=SYSTEM, guards=(retention_ended,),
         help="supervision has ended and the policy keeps letters only until then"),
    step(HOLDERS, "request", S.victim_requested, by=VICTIM_SIDE, guards=(rightful_requester,),
         record=record_requested, help="the victim (or their guardian or next of kin) asks for the letter"),
    step(S.victim_requested, "defer", S.held, by=VICTIM_SIDE, guards=(victim_or_representative,),
         record=record_deferred, help="the victim would rather wait: the letter stays in the bank"),
    step(S.victim_requested, "release", S.released, by=RELEASER,
         params=(flag("identity_checked", help="the recipient's identity was checked"),
                 choice("method", *METHODS, help="how the letter is delivered"),
                 flag("tell_writer", help="the victim chose to let the writer know it was received")),
         guards=(identity_checked, no_active_order, no_misconduct, requester_still_rightful),
         record=record_released, notify=(Notify("letter_received", OFFENDER, if_fact="tell_writer"),),
         help="deliver the letter to the recipient who asked for it"),
    step(LIVE, "decline", S.declined, by=VICTIM_SIDE, guards=(victim_or_representative,), record=record_declined,
         help="the victim never wants the letter"),
)

WORKFLOW = Workflow(
    name=NAME,
    version=1,
    title="Apology letter bank",
    states=State,
    initial=S.submitted.value,
    finals=frozenset({S.released.value, S.declined.value, S.expired.value, S.withdrawn.value}),
    victim_initiated=False,
    start_by=(WRITER,),
    start_params=(text("victim", help="the party id of the victim the letter is to"),),
    start_guards=(no_active_order, no_misconduct, addressed_to_a_victim),
    start_record=record_submitted,
    start_attach="letter",
    readers=frozenset({"victim_services", "advocate", "facilitator", "admin"}),
    steps=STEPS,
    timers=(
        after(S.held, timedelta(days=365), "review_retention", name="retention_review",
              setting="letter_bank.retention_review_days"),
        after(S.retention_review, timedelta(0), "keep", name="retention_keep"),
        after(S.retention_review, timedelta(0), "expire", name="retention_expire"),
    ),
    pause_by=(REVIEWER, VICTIM_SIDE),
    resume_by=(REVIEWER, VICTIM_SIDE),
    withdraw_by=(WRITER,),
    partner_staff=False,  # no agreement opens a letter to a partner's staff
    settings={
        "letter_bank.retention": one_of("indefinite", "end_of_supervision"),  # the latter e.g. Wisconsin
        "letter_bank.retention_review_days": days("365", high=3650),
    },
)
