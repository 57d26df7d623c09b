"""A small test-only workflow that exercises every engine feature.

open --submit--> review --approve--> done
                 review --expire (timer, 10 days)--> done
plus the generic pause / resume / withdraw.
"""

from datetime import timedelta
from enum import Enum

from engine.definition import OFFENDER, SYSTEM, VICTIM, Notify, Workflow, after, allow, step, text


class S(str, Enum):
    open = "open"
    review = "review"
    done = "done"
    paused = "paused"
    withdrawn = "withdrawn"


def no_active_order(facts):
    return "an active protective order is on record" if facts.case["order_active"] else None


VICTIM_SIDE = allow("advocate", "victim_services", side="victim")

WORKFLOW = Workflow(
    name="toy", version=1, title="Toy process", states=S, initial=S.open.value,
    finals=frozenset({S.done.value, S.withdrawn.value}), victim_initiated=True,
    start_by=(VICTIM_SIDE,), readers=frozenset({"advocate", "victim_services", "facilitator", "admin"}),
    steps=(
        step(S.open, "submit", S.review, by=VICTIM_SIDE, params=(text("summary"),),
             record=lambda f: {"summary": f.params["summary"]}, notify=(Notify("submitted", VICTIM),)),
        step(S.review, "approve", S.done, by=allow("victim_services"), guards=(no_active_order,)),
        step(S.review, "note", S.review, by=allow("victim_services")),
        step(S.review, "expire", S.done, by=SYSTEM),
    ),
    timers=(after(S.review, timedelta(days=10), "expire", name="review_deadline"),),
    pause_by=(VICTIM_SIDE, allow("facilitator")),
    resume_by=(VICTIM_SIDE, allow("facilitator")),
    withdraw_by=(VICTIM_SIDE, allow("officer", side="offender")),
    withdraw_notify=(Notify("ended", VICTIM), Notify("ended", OFFENDER)),
)
