"""A formal agreement (MOU) with community partners: drafted, signed, in force, reviewed on time.

    draft --sign (one party: the agency or a partner)--> draft
    draft --execute (every party signed)--> signed --activate (the term has started)--> active
    active --remind_review (N days before the review is due)--> active
    active --review (the review date; or staff take it up early)--> review_due
    review_due --continue (optionally a new end of term: renewed)--> active (the next review armed)
    review_due --revise (a new version of the text)--> revising --sign--> revising --execute--> active
    active / review_due / revising --expire (the end of the term)--> expired
    any live state --terminate (written notice)--> terminated

Seed 002 ("Formalizing External Partnerships"): an agreement documents shared
goals, what each partner contributes and the parameters for information
sharing; it is reviewed periodically ("what is working well, changes to agency
structure and resources, areas of concern"), which "may involve revising
original agreements and updating signatures". No source fixes the interval:
the review comes every ``agreement.review_months`` months (12), with a reminder
to victim services ``agreement.review_reminder_days`` days before (30).

The agreement belongs to the agency, not to a case (``agency_level``): its
times are read in the agency's zone and its notices go to victim services.
While it is in force (active, due for review, or being revised and re-signed
under the earlier version) it grants the partners' staff the workflows and
permission keys it names (``grants``); the grant ends the moment it expires
or is terminated. The text is an encrypted document, one version per revision.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Optional

from engine.definition import (
    SYSTEM, Facts, Grants, Notify, Workflow, allow, before, codes, staff_with_role, step, text, when,
)
from engine.settings import days, whole_number


class State(str, Enum):
    draft = "draft"  # being drafted and signed
    signed = "signed"  # every party signed; in force from the start of the term
    active = "active"
    review_due = "review_due"
    revising = "revising"  # a revised text being re-signed; the earlier version stays in force
    expired = "expired"  # the term ended
    terminated = "terminated"


S = State
NAME = "agreement"
STAFF = allow("victim_services", "admin")
LIVE = (S.draft, S.signed, S.active, S.review_due, S.revising)
IN_FORCE = (S.active, S.review_due, S.revising)
AGENCY = "agency"  # the party name the agency signs as; partners sign by their id
MONTHS = "agreement.review_months"
TO_VICTIM_SERVICES = staff_with_role("victim_services")


# -- pure helpers ----------------------------------------------------------------

def ids(value: Any) -> list[str]:
    """Partner ids from a list or comma-separated text, in order, without repeats."""
    return codes(value)


def parties(f: Facts) -> list[str]:
    """Who signs: the agency and every partner to the agreement."""
    return [AGENCY] + [str(p) for p in f.data.get("partners", [])]


def months_later(moment: datetime, months: int, tz: str) -> datetime:
    """The same wall-clock time ``months`` calendar months later in ``tz`` (the 31st becomes the
    month's last day)."""
    from engine.clock import UTC, zone

    local = moment.astimezone(zone(tz))
    year, month = divmod(local.month - 1 + months, 12)
    year += local.year
    day = min(local.day, monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day).astimezone(UTC)


def next_review(f: Facts) -> str:
    try:
        months = int(f.settings.get(MONTHS) or 12)
    except ValueError:
        months = 12
    return months_later(f.now, months, f.settings.get("agency.time_zone") or "UTC").isoformat()


def _moment(value: Any) -> Optional[datetime]:
    return datetime.fromisoformat(value) if value else None


# -- guards (pure) ---------------------------------------------------------------

def a_term(f: Facts) -> Optional[str]:
    starts, ends = _moment(f.params.get("starts")), _moment(f.params.get("ends"))
    if starts is None or ends is None:
        return "give the term: when it starts and when it ends"
    if ends <= starts:
        return "the term must end after it starts"
    if ends <= f.now:
        return "the term has already ended"
    return None


def some_partner(f: Facts) -> Optional[str]:
    found = ids(f.params.get("partners"))
    if not found or not all(p.isdigit() for p in found):
        return "name one or more partners by id (`vcase partner list`)"
    return None


def a_party_to_it(f: Facts) -> Optional[str]:
    party = str(f.params.get("party", "")).strip()
    if party not in parties(f):
        return f"{party!r} is not a party to this agreement; the parties are: {', '.join(parties(f))}"
    if party in (f.data.get("signatures") or {}):
        return f"{party} has already signed this version"
    return None


def signed_not_in_future(f: Facts) -> Optional[str]:
    at = _moment(f.params.get("at"))
    return "a signature cannot be dated in the future" if at is not None and at > f.now else None


def all_signed(f: Facts) -> Optional[str]:
    missing = [p for p in parties(f) if p not in (f.data.get("signatures") or {})]
    return f"not every party has signed (still to sign: {', '.join(missing)})" if missing else None


def term_started(f: Facts) -> Optional[str]:
    starts = _moment(f.data.get("starts"))
    return "the term has not started yet" if starts is not None and starts > f.now else None


def new_end_later(f: Facts) -> Optional[str]:
    ends = _moment(f.params.get("ends"))
    if ends is None:
        return None
    if ends <= f.now:
        return "a renewed term must end in the future"
    starts = _moment(f.data.get("starts"))
    return "the term must end after it starts" if starts is not None and ends <= starts else None


# -- records (pure) --------------------------------------------------------------

SCOPE = ("grant_workflows", "grant_permissions")


def record_drafted(f: Facts):
    fields = ("title", "purpose", "goals", "contributions", "sharing_limits", "contacts", "starts", "ends")
    out = {name: f.params.get(name, "") for name in fields}
    out.update(partners=[int(p) for p in ids(f.params["partners"])], signatures={}, revision=1,
               grant_workflows=ids(f.params.get("grant_workflows")),
               grant_permissions=ids(f.params.get("grant_permissions")), drafted_by=f.actor_role)
    return out


def record_signature(f: Facts):
    signatures = dict(f.data.get("signatures") or {})
    signatures[str(f.params["party"]).strip()] = {"by": f.params["signer"], "at": f.params.get("at") or f.now.isoformat()}
    return {"signatures": signatures}


def record_executed(f: Facts):
    return {"executed_on": f.now.isoformat()}


def record_activated(f: Facts):
    return {"activated_on": f.now.isoformat(), "review_due_on": next_review(f)}


def record_re_signed(f: Facts):
    return {"executed_on": f.now.isoformat(), "review_due_on": next_review(f)}


def record_review_taken_up(f: Facts):
    return {"review_started_on": f.now.isoformat()}


def _renewal(f: Facts) -> dict:
    return {"ends": f.params["ends"]} if f.params.get("ends") else {}


def record_continued(f: Facts):
    reviews = list(f.data.get("reviews") or []) + [{"on": f.now.isoformat(), "outcome": "continue"}]
    return {"reviews": reviews, "review_due_on": next_review(f), **_renewal(f)}


def record_revised(f: Facts):
    reviews = list(f.data.get("reviews") or []) + [{"on": f.now.isoformat(), "outcome": "revise"}]
    out = {"reviews": reviews, "revision": int(f.data.get("revision", 1)) + 1, "signatures": {}, **_renewal(f)}
    for name in SCOPE:
        if f.params.get(name) is not None and f.params.get(name) != "":
            out[name] = ids(f.params[name])
    return out


def record_terminated(f: Facts):
    return {"terminated_on": f.now.isoformat(), "termination_reason": f.params["reason"]}


def record_expired(f: Facts):
    return {"expired_on": f.now.isoformat()}


# -- the definition --------------------------------------------------------------

TERM = (when("starts", help="when the term starts (a date: its midnight in the agency's zone)"),
        when("ends", help="when the term ends (a date: its midnight in the agency's zone)"))
GRANT_PARAMS = (
    text("grant_workflows", required=False,
         help="what partner staff may read and act in while it is in force (comma-separated workflows)"),
    text("grant_permissions", required=False,
         help="what else partner staff may do while it is in force (comma-separated permission keys)"),
)
SIGN = (text("party", help=f"who signs: {AGENCY}, or a partner's id"),
        text("signer", help="the name and title of the person who signed for that party"),
        when("at", required=False, help="when they signed (default: now)"))

STEPS = (
    step(S.draft, "sign", S.draft, by=STAFF, params=SIGN, guards=(a_party_to_it, signed_not_in_future),
         record=record_signature, help="record one party's signature (the agency, or a partner)"),
    step(S.revising, "sign", S.revising, by=STAFF, params=SIGN, guards=(a_party_to_it, signed_not_in_future),
         record=record_signature, help="record one party's signature of the revised text"),
    step(S.draft, "execute", S.signed, by=STAFF, guards=(all_signed,), record=record_executed,
         help="every party has signed: the agreement takes effect at the start of its term"),
    step(S.signed, "activate", S.active, by=(STAFF, SYSTEM), guards=(term_started,), record=record_activated,
         help="the term has started: the agreement is in force and its first review is armed"),
    step(S.active, "remind_review", S.active, by=SYSTEM, notify=(Notify("review_reminder", TO_VICTIM_SERVICES),),
         help="remind victim services that the review is coming"),
    step(S.active, "remind_term_end", S.active, by=SYSTEM, notify=(Notify("term_ending", TO_VICTIM_SERVICES),),
         help="remind victim services that the term ends soon (renew it at a review)"),
    step(S.active, "review", S.review_due, by=(SYSTEM, STAFF), record=record_review_taken_up,
         notify=(Notify("review_due", TO_VICTIM_SERVICES),),
         help="the review is due (or taken up early, e.g. to renew the term)"),
    step(S.review_due, "continue", S.active, by=STAFF,
         params=(when("ends", required=False, help="a new end of the term (renewal)"),
                 text("note", required=False, help="what the review found")),
         guards=(new_end_later,), record=record_continued,
         help="reviewed: it continues as it is (or renewed to a new end of term); the next review is armed"),
    step(S.review_due, "revise", S.revising, by=STAFF, attach="agreement",
         params=(when("ends", required=False, help="a new end of the term"), *GRANT_PARAMS,
                 text("note", required=False, help="what changed")),
         guards=(new_end_later,), record=record_revised,
         help="reviewed: a revised text (a new version) to be signed again by every party"),
    step(S.revising, "execute", S.active, by=STAFF, guards=(all_signed,), record=record_re_signed,
         help="every party signed the revised text: it is in force, and the next review is armed"),
    step(LIVE, "terminate", S.terminated, by=STAFF,
         params=(text("reason", help="why (e.g. written notice from a partner)"),), record=record_terminated,
         help="end the agreement now: partner staff lose the access it granted"),
    step(IN_FORCE + (S.signed,), "expire", S.expired, by=SYSTEM, record=record_expired,
         notify=(Notify("expired", TO_VICTIM_SERVICES),),
         help="the term has ended: partner staff lose the access it granted"),
)

WORKFLOW = Workflow(
    name=NAME,
    version=1,
    title="Formal agreement with partners",
    states=State,
    initial=S.draft.value,
    finals=frozenset({S.expired.value, S.terminated.value}),
    start_by=(STAFF,),
    start_params=(
        text("title", help="a short name for the agreement"),
        text("partners", help="the partner ids (comma-separated; `vcase partner list`)"),
        text("purpose", help="the purpose and shared goals"),
        text("goals", required=False, help="signs of success"),
        text("contributions", help="what each partner contributes"),
        text("sharing_limits", help="the limits of information sharing (confidentiality, privacy, access)"),
        text("contacts", help="the named contacts of each party"),
        *TERM, *GRANT_PARAMS,
    ),
    start_guards=(some_partner, a_term),
    start_record=record_drafted,
    start_attach="agreement",
    readers=frozenset({"victim_services", "admin"}),
    steps=STEPS,
    timers=(
        before("starts", timedelta(0), "activate", state=S.signed, name="term_start"),
        before("review_due_on", timedelta(days=30), "remind_review", state=S.active, name="review_reminder",
               setting="agreement.review_reminder_days"),
        before("review_due_on", timedelta(0), "review", state=S.active, name="review"),
        before("ends", timedelta(days=30), "remind_term_end", state=S.active, name="term_end_reminder",
               setting="agreement.term_end_reminder_days"),
        before("ends", timedelta(0), "expire", state=S.signed, name="term_end_signed"),
        before("ends", timedelta(0), "expire", state=S.active, name="term_end"),
        before("ends", timedelta(0), "expire", state=S.review_due, name="term_end_review"),
        before("ends", timedelta(0), "expire", state=S.revising, name="term_end_revising"),
    ),
    settings={
        MONTHS: whole_number("12", low=1, high=60, unit="months"),
        "agreement.review_reminder_days": days("30", high=365),
        "agreement.term_end_reminder_days": days("30", high=365),
    },
    appointment="review_due_on",
    agency_level=True,
    grants=Grants(partners="partners", workflows="grant_workflows", permissions="grant_permissions",
                  states=frozenset(s.value for s in IN_FORCE), until="ends"),
)
