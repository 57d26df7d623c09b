"""``vcase intimidation``: reports of intimidation or retaliation, escalated at once.

Each command is one call to ``services.intimidation`` (one transaction). Who
reads what is decided there and in the definition: victim staff read a
report; the officer sees that it exists and the summary the victim agreed to
share; the parole board has no part in it.
"""

from __future__ import annotations

import click

from commands.common import ID, VIA, app, done, emit_json, fields, json_option, table

BY_WHOM = ("supervised_person", "acting_for_them", "unknown")  # workflows.intimidation.BY_WHOM
REACHED_VIA = ("in_person", "phone", "text", "email", "social_media", "mail", "third_party", "other")
SAFE_CHANNELS = ("phone", "sms", "email", "in_person", "through_advocate")  # services.intimidation
DOCUMENTS = ("account", "safe_contact", "evidence", "summary", "safety_plan")


def _notices(out) -> str:
    return f" ({out['notices']} notice(s) queued)" if out["notices"] else ""


@click.group()
def intimidation():
    """Intimidation and retaliation reports: escalated at once, until someone acts.

    Recording a report tells the case's designated law-enforcement and
    prosecutor contacts (`vcase case contacts`) and the supervising officer at
    once, on every channel, at any hour. Until someone acknowledges it, it goes
    down each list and to victim-services supervisors every
    `intimidation.ack_minutes` minutes. Then the safety steps: a plan, a
    protective order, a shelter referral, check-ins.
    """


@intimidation.command("report")
@click.argument("case_number")
@click.option("--for", "party", type=ID, required=True, help="The victim or witness (party id).")
@click.option("--account-file", "account", type=click.File("rb"), required=True,
              help="What happened (UTF-8 file, or - for stdin); stored encrypted.")
@click.option("--at", "happened_at", required=True, help="When it happened (the case's zone unless an offset is given).")
@click.option("--by", "by_whom", type=click.Choice(BY_WHOM), required=True, help="Who did it, if known.")
@click.option("--reached-via", type=click.Choice(REACHED_VIA), required=True, help="How it reached them.")
@click.option("--evidence-file", "evidence", type=click.File("rb"), multiple=True,
              help="A piece of evidence as text (repeatable); stored encrypted.")
@click.option("--safe-channel", type=click.Choice(SAFE_CHANNELS), required=True, help="How they may be contacted safely.")
@click.option("--safe-times", required=True, help="When they may be contacted (e.g. 'weekdays 12:00-13:00').")
@click.option("--message-ok/--no-message", default=False, help="Whether a message may be left (default: no).")
@click.option("--share", default="", metavar="FIELDS",
              help="What they agree responders and the officer may have: name, contact, summary (default: nothing).")
@click.option("--summary-file", "summary", type=click.File("rb"), default=None,
              help="With summary in --share: the summary they agreed to share.")
@click.option("--via", type=VIA, default=None, help="How the report reached you.")
def intimidation_report(case_number, party, account, happened_at, by_whom, reached_via, evidence, safe_channel,
                        safe_times, message_ok, share, summary, via):
    """Record a report and escalate it at once (one transaction).

    \b
    Example:
      vcase intimidation report 2026-CR-0042 --for 3 --account-file account.txt \\
        --at 2026-03-02T02:40 --by supervised_person --reached-via text \\
        --safe-channel phone --safe-times "weekdays 12:00-13:00" --no-message --via phone
    """
    from services import intimidation as service

    out = service.report(app(), case_number, party, account=account.read(), happened_at=happened_at, by_whom=by_whom,
                         reached_via=reached_via, safe_channel=safe_channel, safe_times=safe_times,
                         message_ok=message_ok, evidence=tuple(e.read() for e in evidence), share=share,
                         summary=summary.read() if summary else None, via=via)
    done(f"Report {out['report']} recorded and escalated{_notices(out)}.")


@intimidation.command("acknowledge")
@click.argument("report_id", type=ID)
@click.option("--responder", required=True, help="Who acted (a name and agency).")
@click.option("--action", required=True, help="What they did.")
def intimidation_acknowledge(report_id, responder, action):
    """Record that someone acted on the escalation; it stops going down the list.

    \b
    Example:
      vcase intimidation acknowledge 12 --responder "Det. Ruiz, County Sheriff" --action "called the victim"
    """
    from services import intimidation as service

    service.acknowledge(app(), report_id, responder, action)
    done(f"Report {report_id}: acknowledged.")


@intimidation.command("plan")
@click.argument("report_id", type=ID)
@click.option("--file", "source", type=click.File("rb"), required=True, help="The safety plan (UTF-8 file, or -).")
@click.option("--via", type=VIA, default=None, help="How it was made with the victim.")
def intimidation_plan(report_id, source, via):
    """Record the safety plan made with the victim (stored encrypted; a new version each time).

    \b
    Example:
      vcase intimidation plan 12 --file plan.txt --via in_person
    """
    from services import intimidation as service

    service.step(app(), report_id, "record_safety_plan", document=source.read(), via=via, victim_side=True)
    done(f"Report {report_id}: safety plan recorded.")


@intimidation.command("order")
@click.argument("report_id", type=ID)
@click.option("--requested", "what", flag_value="requested", help="A protective-order request was filed.")
@click.option("--granted", "what", flag_value="granted", help="It was granted: it becomes the case's active order.")
@click.option("--denied", "what", flag_value="denied", help="It was denied.")
@click.option("--kind", type=click.Choice(["protective", "no_contact"]), default="protective", help="With --granted.")
@click.option("--from", "starts", type=click.DateTime(["%Y-%m-%d"]), default=None, help="With --granted: start date.")
@click.option("--until", "ends", type=click.DateTime(["%Y-%m-%d"]), default=None, help="With --granted: end date.")
def intimidation_order(report_id, what, kind, starts, ends):
    """Track a protective-order request to granted or denied.

    \b
    Examples:
      vcase intimidation order 12 --requested
      vcase intimidation order 12 --granted --kind protective --from 2026-03-05 --until 2027-03-05
    """
    from services import intimidation as service

    if what is None:
        raise click.UsageError("give --requested, --granted or --denied")
    instance = app()
    if what == "requested":
        service.step(instance, report_id, "request_order", victim_side=True)
    elif what == "denied":
        service.step(instance, report_id, "order_denied")
    else:
        if starts is None:
            raise click.UsageError("--granted needs --from YYYY-MM-DD")
        service.order_granted(instance, report_id, kind, starts.date(), ends.date() if ends else None)
    done(f"Report {report_id}: order {what}.")


@intimidation.command("refer")
@click.argument("report_id", type=ID)
@click.option("--partner", type=ID, required=True, help="The shelter or relocation partner (vcase partner list).")
@click.option("--contact", type=ID, default=None, help="Its contact (default: its first).")
@click.option("--via", type=VIA, default=None, help="How the victim was asked.")
def intimidation_refer(report_id, partner, contact, via):
    """Offer the victim a relocation or shelter referral, linked to the report.

    The victim then chooses with `vcase referral self` or `vcase referral consent`.

    \b
    Example:
      vcase intimidation refer 12 --partner 4 --via phone
    """
    from services import intimidation as service

    out = service.refer(app(), report_id, partner, contact, via)
    done(f"Report {report_id}: referral {out['referral']} offered ({out['partner']}).")


@intimidation.command("decline")
@click.argument("report_id", type=ID)
@click.option("--via", type=VIA, default=None, help="How they told you.")
def intimidation_decline(report_id, via):
    """The victim withdraws from the safety steps. The escalation and its record stay.

    \b
    Example:
      vcase intimidation decline 12 --via phone
    """
    from services import intimidation as service

    service.step(app(), report_id, "decline_safety", via=via, victim_side=True)
    done(f"Report {report_id}: the victim withdrew from the safety steps.")


@intimidation.command("close")
@click.argument("report_id", type=ID)
@click.option("--note", default=None, help="For the audit trail (no victim details).")
def intimidation_close(report_id, note):
    """Close a report once the safety steps are done.

    \b
    Example:
      vcase intimidation close 12
    """
    from services import intimidation as service

    service.step(app(), report_id, "close", {"note": note} if note else None)
    done(f"Report {report_id}: closed.")


@intimidation.command("show")
@click.argument("report_id", type=ID)
@click.option("--document", type=click.Choice(DOCUMENTS), default=None,
              help="Also print that document's text (victim staff only; the read is audited).")
@json_option
def intimidation_show(report_id, document, as_json):
    """A report as your role may see it.

    The officer sees that it exists, its times and codes, and the summary the
    victim agreed to share; never the account, evidence or safe-contact choice.

    \b
    Examples:
      vcase intimidation show 12
      vcase intimidation show 12 --document safe_contact --json
    """
    from services import intimidation as service

    instance = app()
    out = service.show(instance, report_id)
    if document:
        out["text"] = service.read_document(instance, report_id, document)["text"]
    if as_json:
        return emit_json(out)
    facts = out.get("facts", out)
    row = {"report": out["id"], "case": out["case_number"], "state": out.get("state"),
           **{k: facts.get(k) for k in ("happened_at", "by_whom", "reached_via", "escalated_at", "level",
                                          "acknowledged_at", "acknowledged_by", "action_taken", "order_status")
              if facts.get(k) is not None}}
    if "timers" in out:
        row["timers"] = [f"{t['name']} {t['due_at']}" for t in out["timers"]]
    for key in ("summary", "text"):
        if key in out:
            row[key] = out[key]
    fields(row)


@intimidation.command("list")
@click.argument("case_number")
@json_option
def intimidation_list(case_number, as_json):
    """The reports of a case, as your role may see them.

    \b
    Example:
      vcase intimidation list 2026-CR-0042 --json
    """
    from services import intimidation as service

    rows = service.list_for_case(app(), case_number)
    if as_json:
        return emit_json(rows)
    table([{"id": r["id"], "state": r.get("state"), "happened_at": (r.get("facts") or r).get("happened_at"),
            "level": (r.get("facts") or r).get("level")} for r in rows],
          ["id", "state", "happened_at", "level"], empty="(no reports you may see)")
