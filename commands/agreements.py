"""``vcase agreement``: formal agreements (MOUs) with community partners.

Each command is one call to ``services.agreements`` (one transaction). The
rules are in ``workflows/agreement.py``; victim services and admins draft,
sign, review, revise and terminate, and read them.
"""

from __future__ import annotations

import click

from commands.common import ID, app, done, emit_json, fields, json_option, table

GRANTABLE_WORKFLOWS = "notification, referral"  # services.agreements (not imported here: --help stays light)
GRANTABLE_PERMISSIONS = "case.list, case.show, party.show, event.list, partner.read"


def _said(out) -> str:
    steps = " -> ".join(e.replace("_", " ") for e in out["events"])
    notices = f" ({out['notices']} notice(s) queued)" if out["notices"] else ""
    return f"Agreement {out['agreement']}: {steps}; now {out['state'].replace('_', ' ')}{notices}."


@click.group()
def agreement():
    """Formal agreements (MOUs) with partners: draft, sign, review on time, revise, end.

    An agreement names its partners, purpose and goals, what each contributes,
    the limits of information sharing, contacts, its term and signatures, with
    its text kept encrypted, one version per revision. While it is in force it
    grants the partners' staff only the records it names; the grant ends the
    moment it expires or is terminated.
    """


@agreement.command("draft")
@click.option("--title", required=True, help="A short name for the agreement.")
@click.option("--partner", "partners", type=ID, multiple=True, required=True,
              help="A partner party to it (repeatable; `vcase partner list`).")
@click.option("--purpose", required=True, help="The purpose and shared goals.")
@click.option("--goals", default=None, help="Signs of success.")
@click.option("--contributions", required=True, help="What each partner contributes.")
@click.option("--sharing-limits", required=True, help="The limits of information sharing (confidentiality, access).")
@click.option("--contacts", required=True, help="The named contacts of each party.")
@click.option("--starts", required=True, help="When the term starts (a date: midnight in the agency's zone).")
@click.option("--ends", required=True, help="When the term ends (a date: midnight in the agency's zone).")
@click.option("--grant-workflow", "grant_workflows", multiple=True,
              help=f"What partner staff may read and act in while it is in force (repeatable): {GRANTABLE_WORKFLOWS}.")
@click.option("--grant", "grant_permissions", multiple=True,
              help=f"What else partner staff may do while it is in force (repeatable): {GRANTABLE_PERMISSIONS}.")
@click.option("--file", "source", type=click.File("rb"), required=True,
              help="The agreement text as a UTF-8 text file, or - to read standard input.")
def agreement_draft(title, partners, purpose, goals, contributions, sharing_limits, contacts, starts, ends,
                    grant_workflows, grant_permissions, source):
    """Draft an agreement with one or more partners (its text is version 1).

    \b
    Example:
      vcase agreement draft --title "Harbor House MOU" --partner 3 --purpose "Joint response to DV" \\
        --contributions "Harbor: on-call advocates; agency: referrals" --sharing-limits "No letters" \\
        --contacts "Hal Director, Vera Chief" --starts 2027-01-01 --ends 2028-12-31 \\
        --grant-workflow referral --grant case.show --file mou.txt
    """
    from services import agreements

    out = agreements.draft(app(), title=title, partners=partners, purpose=purpose, goals=goals,
                           contributions=contributions, sharing_limits=sharing_limits, contacts=contacts,
                           starts=starts, ends=ends, text=source.read(), grant_workflows=grant_workflows,
                           grant_permissions=grant_permissions)
    done(_said(out) + " Each party signs with `vcase agreement sign`.")


@agreement.command("sign")
@click.argument("agreement_id", type=ID)
@click.option("--party", required=True, help="Who signed: agency, or a partner's id.")
@click.option("--signer", required=True, help="The name and title of the person who signed for that party.")
@click.option("--at", default=None, help="When they signed (default: now; read in the agency's zone).")
def agreement_sign(agreement_id, party, signer, at):
    """Record one party's signature; the last one puts the agreement into effect.

    \b
    Example:
      vcase agreement sign 4 --party agency --signer "Vera Chief, Director" --at 2027-01-02
    """
    from services import agreements

    done(_said(agreements.sign(app(), agreement_id, party, signer, at)))


@agreement.command("review")
@click.argument("agreement_id", type=ID)
@click.option("--now", "early", is_flag=True, help="Take it up for review now, before its review date.")
@click.option("--continue", "keep", is_flag=True, help="Reviewed: it continues; the next review is armed.")
@click.option("--revise", "source", type=click.File("rb"), default=None,
              help="Reviewed: the revised text (a file, or -), to be signed again by every party.")
@click.option("--terminate", "reason", default=None, help="Reviewed: end it, for this reason.")
@click.option("--ends", default=None, help="With --continue or --revise: a new end of the term (renewal).")
@click.option("--note", default=None, help="What the review found.")
@click.option("--grant-workflow", "grant_workflows", multiple=True, help="With --revise: the new workflows granted.")
@click.option("--grant", "grant_permissions", multiple=True, help="With --revise: the new permission keys granted.")
def agreement_review(agreement_id, early, keep, source, reason, ends, note, grant_workflows, grant_permissions):
    """Review an agreement: take it up now, then continue, revise or terminate it.

    \b
    Examples:
      vcase agreement review 4 --continue --note "Working well"
      vcase agreement review 4 --continue --ends 2030-12-31
      vcase agreement review 4 --revise mou-v2.txt --grant-workflow referral
      vcase agreement review 4 --terminate "Written notice from the partner"
    """
    from services import agreements

    chosen = [early, keep, source is not None, reason is not None]
    if chosen.count(True) != 1:
        raise click.UsageError("choose one of --now, --continue, --revise FILE or --terminate REASON")
    if ends is not None and not (keep or source is not None):
        raise click.UsageError("--ends goes with --continue or --revise")
    if (grant_workflows or grant_permissions) and source is None:
        raise click.UsageError("--grant-workflow and --grant go with --revise")
    a = app()
    if early:
        out = agreements.review(a, agreement_id)
    elif keep:
        out = agreements.continue_(a, agreement_id, ends, note)
    elif source is not None:
        out = agreements.revise(a, agreement_id, source.read(), ends, note,
                                grant_workflows if grant_workflows else None,
                                grant_permissions if grant_permissions else None)
    else:
        out = agreements.terminate(a, agreement_id, reason)
    done(_said(out))


@agreement.command("terminate")
@click.argument("agreement_id", type=ID)
@click.option("--reason", required=True, help="Why (e.g. written notice from a partner).")
def agreement_terminate(agreement_id, reason):
    """End an agreement now, at any stage: partner staff lose the access it granted at once.

    \b
    Example:
      vcase agreement terminate 4 --reason "Written notice from Harbor House"
    """
    from services import agreements

    done(_said(agreements.terminate(app(), agreement_id, reason)))


@agreement.command("list")
@click.option("--due", is_flag=True, help="Only those due for review, or whose review falls within the reminder period.")
@click.option("--ended", is_flag=True, help="Include expired and terminated agreements.")
@json_option
def agreement_list(due, ended, as_json):
    """List the agreements in force or in progress.

    \b
    Examples:
      vcase agreement list --due
      vcase agreement list --ended --json
    """
    from services import agreements

    rows = agreements.list_agreements(app(), due=due, ended=ended)
    if as_json:
        return emit_json(rows)
    table(rows, ["id", "title", "state", "partners", "revision", "starts", "ends", "review_due_on"],
          empty="(none due for review)" if due else "(none)")


@agreement.command("show")
@click.argument("agreement_id", type=ID)
@click.option("--text", "with_text", is_flag=True, help="Print the agreement's text (the read is audited).")
@click.option("--version", type=ID, default=None, help="With --text: an earlier version.")
@json_option
def agreement_show(agreement_id, with_text, version, as_json):
    """Show an agreement: its terms, signatures, versions, timers and the access it grants.

    \b
    Example:
      vcase agreement show 4
      vcase agreement show 4 --text --version 1
    """
    from services import agreements

    if version is not None and not with_text:
        raise click.UsageError("--version goes with --text")
    a = app()
    out = agreements.read_text(a, agreement_id, version) if with_text else agreements.show(a, agreement_id)
    if as_json:
        return emit_json(out)
    if with_text:
        fields(out, ["process", "version", "written_by", "at"])
        click.echo()
        return click.echo(out["text"])
    fields(out, ["id", "state", "version", "ended", "started_at", "updated_at"])
    click.echo()
    fields(out["facts"])
    click.echo()
    table(out["versions"], ["version", "bytes", "by", "at"], title="Versions of the text")
    table(out["timers"], ["name", "event", "status", "due_at"], title="Timers", empty="(no timers)")
    table(out["access"], ["partner", "workflows", "permissions", "from", "until", "ended", "ended_because"],
          title="Access granted to partner staff", empty="(no access granted)")
