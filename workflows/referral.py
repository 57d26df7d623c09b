"""Referral to a community partner, with the victim deciding what is shared.

    offered --self_refer--> self_referred (the victim gets the partner's contact details; nothing is
                                           sent about them to the partner)
    offered --record_summary (the summary text, encrypted)--> offered
    offered --consent (a scope: name, contact, language, summary)--> referred (the partner gets a
                                           notice built only from the consented fields)
    referred --remind_acknowledgement (timer, N business days)--> referred (a reminder to staff)
    referred --acknowledge--> acknowledged
    referred / acknowledged --start_services--> services_started
                            --partner_declines--> partner_declined
                            --could_not_reach--> not_reached
    self_referred / services_started / partner_declined / not_reached
        --check_in (timer, N days)--> same state ("did you get the help you needed?")
        --close--> closed
    plus the generic withdraw (victim side) from every live state.

Staff offer it (an officer too: seed 000 asks officers to refer victims to
services), acting for the victim-side party the referral is for. Only the
victim side chooses (through an advocate or victim services). Withdrawing is
withdrawing consent: the partner, if it was ever sent anything, is told to
stop, every unsent notice and timer is cancelled in the same transaction,
and nothing of the victim's is put in a notice after it.

The consent scope is a process fact (codes only); the summary is victim data,
so it is never a process fact: it is an encrypted document (``summary``),
read only to build a partner notice whose scope names it. Readers are victim
staff: the officer may offer a referral and record a withdrawal, but not read
one; the parole board has no part in it.

Sources: seeds 000, 002, 003; NNEDV's consent-to-release template (see
../shared/DOMAIN.md "Partnerships").
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Optional

from engine.definition import (
    SHAREABLE, SYSTEM, VICTIM, Facts, Notify, Sharing, Workflow, after, allow, assigned, partner_contact, step, text,
)
from engine.settings import business_days, days


class State(str, Enum):
    offered = "offered"
    self_referred = "self_referred"
    referred = "referred"
    acknowledged = "acknowledged"
    services_started = "services_started"
    partner_declined = "partner_declined"
    not_reached = "not_reached"  # the partner could not reach the victim
    closed = "closed"
    withdrawn = "withdrawn"  # consent withdrawn


S = State
NAME = "referral"
SUMMARY = "summary"  # the kind of the encrypted document holding the summary
OFFER = allow("officer", "advocate", "victim_services", side="victim")
VICTIM_SIDE = allow("advocate", "victim_services", side="victim")
STAFF = allow("advocate", "victim_services")
PARTNER = partner_contact("contact")
TO_FOLLOW_UP = assigned("follow_up_by")
OUTCOMES = (S.services_started, S.partner_declined, S.not_reached)
CHECKED_IN = (S.self_referred, *OUTCOMES)
ANSWERED = (S.referred, S.acknowledged)
MAX_SUMMARY = 1000  # characters: a short summary, not a case file


def parse_scope(value: str) -> list[str]:
    """``name,contact`` -> ["name", "contact"], in SHAREABLE's order, without repeats."""
    chosen = {v.strip() for v in (value or "").split(",") if v.strip()}
    return [code for code in SHAREABLE if code in chosen] + sorted(chosen - set(SHAREABLE))


# -- guards (pure) -------------------------------------------------------------

def ids_given(f: Facts) -> Optional[str]:
    for name in ("partner", "contact"):
        value = f.params.get(name)
        if value is not None and not str(value).isdigit():
            return f"{name} must be a record id (a number), got {str(value)[:40]!r}"
    return None


def scope_known(f: Facts) -> Optional[str]:
    scope = parse_scope(f.params.get("share", ""))
    unknown = [c for c in scope if c not in SHAREABLE]
    if unknown:
        return f"cannot share {unknown[0][:40]!r}; choose from: {', '.join(SHAREABLE)}"
    if not scope:
        return f"name what the victim agrees to share (from: {', '.join(SHAREABLE)}), or record a self-referral"
    return None


def summary_recorded(f: Facts) -> Optional[str]:
    if "summary" in parse_scope(f.params.get("share", "")) and not f.data.get("summary_given"):
        return "the summary is in the scope but none was recorded (record_summary with the text)"
    return None


def contact_known(f: Facts) -> Optional[str]:
    return None if f.data.get("contact") else "the partner has no contact on this referral to send it to"


# -- records (pure) --------------------------------------------------------------

def record_offer(f: Facts):
    out = {"partner": int(f.params["partner"]), "offered_by": f.actor_login}
    if f.params.get("contact"):
        out["contact"] = int(f.params["contact"])
    return out


def record_summary(f: Facts):
    return {"summary_given": True}


def record_self(f: Facts):
    return {"choice": "self_referral", "chosen_at": f.now.isoformat()}


def record_consent(f: Facts):
    return {"choice": "referral", "consent_scope": parse_scope(f.params["share"]), "referred_at": f.now.isoformat(),
            "follow_up_by": f.actor_login}


def record_acknowledged(f: Facts):
    return {"acknowledged_at": f.now.isoformat()}


def record_answer(f: Facts):
    return {"answered_at": f.now.isoformat(), **({} if f.data.get("acknowledged_at") else record_acknowledged(f))}


NOTE = text("note", required=False, help="a note for the audit trail (no victim details; never sent)")

STEPS = (
    step(S.offered, "record_summary", S.offered, by=VICTIM_SIDE, attach=SUMMARY, record=record_summary,
         help="the short summary the victim agrees to share (stored encrypted; sent only if in the scope)"),
    step(S.offered, "self_refer", S.self_referred, by=VICTIM_SIDE, record=record_self,
         notify=(Notify("self_referral", VICTIM),),
         help="the victim will contact the partner themselves: they get its details, the partner gets nothing"),
    step(S.offered, "consent", S.referred, by=VICTIM_SIDE,
         params=(text("share", help=f"what the victim agrees to share, comma-separated: {', '.join(SHAREABLE)}"),),
         guards=(scope_known, summary_recorded, contact_known), record=record_consent,
         notify=(Notify("referral", PARTNER), Notify("referred", VICTIM, items="consent_scope")),
         help="the victim consents to a referral sharing exactly the named fields"),
    step(S.referred, "remind_acknowledgement", S.referred, by=SYSTEM,
         notify=(Notify("acknowledgement_reminder", TO_FOLLOW_UP),),
         help="the partner has not acknowledged: remind the staff member following it up"),
    step(S.referred, "acknowledge", S.acknowledged, by=STAFF, params=(NOTE,), record=record_acknowledged,
         help="the partner acknowledged the referral"),
    step(ANSWERED, "start_services", S.services_started, by=STAFF, params=(NOTE,), record=record_answer,
         help="the partner started services with the victim"),
    step(ANSWERED, "partner_declines", S.partner_declined, by=STAFF, params=(NOTE,), record=record_answer,
         help="the partner declined the referral"),
    step(ANSWERED, "could_not_reach", S.not_reached, by=STAFF, params=(NOTE,), record=record_answer,
         help="the partner could not reach the victim"),
    # The check-in is an internal step of each state it is asked in (a step has one target).
    *(step(s, "check_in", s, by=SYSTEM, notify=(Notify("check_in", VICTIM),),
           help="ask the victim whether they got the help they needed") for s in CHECKED_IN),
    step(CHECKED_IN, "close", S.closed, by=STAFF, params=(NOTE,), help="the referral is complete"),
)

WORKFLOW = Workflow(
    name=NAME,
    version=1,
    title="Referral to a community partner",
    states=State,
    initial=S.offered.value,
    finals=frozenset({S.closed.value, S.withdrawn.value}),
    victim_initiated=True,  # about a victim-side party, who alone decides; staff offer it for them
    start_by=(OFFER,),
    start_params=(text("partner", help="the partner's id (vcase partner list)"),
                  text("contact", required=False, help="the partner contact's id (default: its first contact)")),
    start_guards=(ids_given,),
    start_record=record_offer,
    readers=frozenset({"advocate", "victim_services", "admin"}),
    steps=STEPS,
    timers=(
        after(S.referred, timedelta(days=3), "remind_acknowledgement", name="acknowledgement_reminder",
              setting="referral.acknowledge_business_days", business=True),
        *(after(s, timedelta(days=30), "check_in", name=f"check_in_{s.value}", setting="referral.check_in_days")
          for s in CHECKED_IN),
    ),
    withdraw_by=(OFFER,),
    # The partner is told to stop only if it was ever sent anything; its notice carries no victim field.
    withdraw_notify=(Notify("stop", PARTNER, if_fact="referred_at"), Notify("consent_withdrawn", VICTIM)),
    sharing=Sharing(partner="partner", scope="consent_scope", summary=SUMMARY),
    settings={
        "referral.acknowledge_business_days": business_days("3", high=60),
        "referral.check_in_days": days("30", high=365),
    },
)
