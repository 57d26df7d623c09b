"""``vcase referral``: referrals to community partners, the victim deciding what is shared.

Each command is one call to ``services.referrals`` (one transaction). The
parole board and facilitators have no part in referrals; an officer may offer
one and record a withdrawal, but never read one.
"""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, fields, json_option, table

SHAREABLE = "name, contact, language, summary"  # workflows.referral / engine.definition.SHAREABLE
OUTCOMES = ("started", "declined", "not_reached")  # services.referrals.OUTCOMES


def _notices(out) -> str:
    return f" ({out['notices']} notice(s) queued)" if out["notices"] else ""


@click.group()
def referral():
    """Referrals to community partners: the victim decides what is shared.

    Staff offer a referral to a partner in the directory; the victim chooses a
    self-referral (they get the partner's details, the partner gets nothing)
    or a referral sharing exactly what they consent to. They can withdraw
    consent at any time: the partner is told to stop.
    """


@referral.command("offer")
@click.argument("case_number")
@click.option("--victim", type=ID, required=True, help="The victim-side party the referral is for (party id).")
@click.option("--partner", type=ID, required=True, help="The partner's id (vcase partner list).")
@click.option("--contact", type=ID, default=None, help="The partner contact to send it to (default: its first).")
@click.option("--via", type=VIA, default=None, help="How the victim was asked.")
def referral_offer(case_number, victim, partner, contact, via):
    """Offer a victim-side party a referral to a partner (nothing is sent yet).

    Refused for a retired partner. The victim then chooses: `vcase referral
    self` or `vcase referral consent`.

    \b
    Example:
      vcase referral offer 2026-CR-0042 --victim 3 --partner 2 --via in_person
    """
    from services import referrals

    out = referrals.offer(app(), case_number, victim, partner, contact, via)
    done(f"Referral {out['referral']} offered: {out['partner']}.")


@referral.command("self")
@click.argument("referral_id", type=ID)
@click.option("--for", "for_party", type=ID, default=None, help="Who chose (default: the victim it is for).")
@click.option("--via", type=VIA, default=None, help="How they told you.")
def referral_self(referral_id, for_party, via):
    """The victim will contact the partner themselves: they are sent its details.

    Nothing about them is sent to the partner.

    \b
    Example:
      vcase referral self 12 --via phone
    """
    from services import referrals

    out = referrals.self_refer(app(), referral_id, for_party, via)
    done(f"Referral {referral_id}: self-referral recorded{_notices(out)}.")


@referral.command("consent")
@click.argument("referral_id", type=ID)
@click.option("--share", required=True, metavar="FIELDS",
              help=f"What the victim agrees to share, comma-separated: {SHAREABLE}.")
@click.option("--summary-file", "source", type=click.File("rb"), default=None,
              help="With summary in --share: the short summary they agreed to (UTF-8 file, or - for stdin).")
@click.option("--for", "for_party", type=ID, default=None, help="Who consented (default: the victim it is for).")
@click.option("--via", type=VIA, default=None, help="How they consented.")
def referral_consent(referral_id, share, source, for_party, via):
    """Refer with consent: the partner gets a notice with only the fields named.

    The summary is stored encrypted and read only to build the partner's
    notice. A partner that has not acknowledged within
    referral.acknowledge_business_days business days brings a reminder.

    \b
    Example:
      vcase referral consent 12 --share name,contact,language --via in_person
      vcase referral consent 12 --share name,summary --summary-file summary.txt
    """
    from services import referrals

    out = referrals.consent(app(), referral_id, share, source.read() if source else None, for_party, via)
    done(f"Referral {referral_id} sent to the partner with the consented fields only{_notices(out)}.")


@referral.command("acknowledge")
@click.argument("referral_id", type=ID)
@click.option("--note", default=None, help="A note for the audit trail (no victim details).")
def referral_acknowledge(referral_id, note):
    """Record that the partner acknowledged the referral (stops the reminder).

    \b
    Example:
      vcase referral acknowledge 12
    """
    from services import referrals

    referrals.record(app(), referral_id, "acknowledge", note)
    done(f"Referral {referral_id}: acknowledged by the partner.")


@referral.command("outcome")
@click.argument("referral_id", type=ID)
@click.argument("outcome", type=click.Choice(OUTCOMES))
@click.option("--note", default=None, help="A note for the audit trail (no victim details).")
def referral_outcome(referral_id, outcome, note):
    """Record what the partner reported: services started, declined, or could not reach the victim.

    A check-in with the victim follows after referral.check_in_days days.

    \b
    Example:
      vcase referral outcome 12 started
      vcase referral outcome 12 not_reached --note "three calls, no answer"
    """
    from services import referrals

    referrals.record(app(), referral_id, referrals.OUTCOMES[outcome], note)
    done(f"Referral {referral_id}: {outcome.replace('_', ' ')} recorded.")


@referral.command("close")
@click.argument("referral_id", type=ID)
@click.option("--note", default=None, help="A note for the audit trail (no victim details).")
def referral_close(referral_id, note):
    """Close a referral once it has an outcome (or after a self-referral).

    \b
    Example:
      vcase referral close 12
    """
    from services import referrals

    referrals.record(app(), referral_id, "close", note)
    done(f"Referral {referral_id} closed.")


@referral.command("withdraw")
@click.argument("referral_id", type=ID)
@click.option("--for", "for_party", type=ID, default=None, help="Who withdrew (default: the victim it is for).")
@click.option("--via", type=VIA, default=None, help="How they told you.")
@click.option("--reason", default=None, help="Why (kept in the audit trail, never sent).")
def referral_withdraw(referral_id, for_party, via, reason):
    """The victim withdraws consent: the partner is told to stop, nothing more is sent.

    Every pending reminder and unsent notice is cancelled at once.

    \b
    Example:
      vcase referral withdraw 12 --via phone
    """
    from services import referrals

    out = referrals.withdraw(app(), referral_id, reason, for_party, via)
    done(f"Referral {referral_id}: consent withdrawn{_notices(out)}.")


@referral.command("show")
@click.argument("referral_id", type=ID)
@click.option("--summary", "with_summary", is_flag=True, help="Also print the summary's text (the read is audited).")
@json_option
def referral_show(referral_id, with_summary, as_json):
    """A referral: state, partner, consent scope, live timers.

    Not for the officer or the parole board.

    \b
    Example:
      vcase referral show 12
      vcase referral show 12 --summary --json
    """
    from services import referrals

    instance = app()
    out = referrals.show(instance, referral_id)
    if with_summary:
        out["summary"] = referrals.read_summary(instance, referral_id)["summary"]
    if as_json:
        return emit_json(out)
    facts = out["facts"]
    row = {"referral": out["id"], "case": out["case_number"], "state": out["state"],
           "partner": (out["partner"] or {}).get("name"), "choice": facts.get("choice"),
           "consent_scope": facts.get("consent_scope"), "offered_by": facts.get("offered_by"),
           "follow_up_by": facts.get("follow_up_by"),
           "timers": [f"{t['name']} {t['due_at']}" for t in out["timers"]]}
    if with_summary:
        row["summary"] = out["summary"]
    fields(row)


@referral.command("list")
@click.argument("case_number")
@json_option
def referral_list(case_number, as_json):
    """The referrals of a case. Not for the officer or the parole board.

    \b
    Example:
      vcase referral list 2026-CR-0042 --json
    """
    from services import referrals

    rows = referrals.list_for_case(app(), case_number)
    if as_json:
        return emit_json(rows)
    table([{"id": r["id"], "state": r["state"], "partner": r["partner"], "victim": r["initiator_party"],
            "shared": r["facts"].get("consent_scope"), "updated": r["updated_at"]} for r in rows],
          ["id", "state", "partner", "victim", "shared", "updated"], empty="(no referrals you may see)")
