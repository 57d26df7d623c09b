"""``vcase case`` and ``vcase party``."""

from __future__ import annotations

import click

from commands.common import ID, app, done, emit_json, fields, json_option, reader, table


@click.group()
def case():
    """Cases: the person under supervision, their officer, safety flags."""


@case.command("open")
@click.argument("case_number")
@click.option("--person", required=True, help="Name of the person under supervision.")
@click.option("--officer", required=True, help="Login of the supervising officer.")
@click.option("--tz", "time_zone", required=True, help="The case's IANA time zone, e.g. America/Chicago.")
@click.option("--ipv", is_flag=True, help="Flag intimate partner violence.")
def case_open(case_number, person, officer, time_zone, ipv):
    """Open a case (officers and admins).

    \b
    Example:
      vcase case open 2026-CR-0042 --person "Sam Doe" --officer oscar --tz America/Chicago
    """
    out = app().open_case(case_number, person, officer, time_zone, ipv)
    done(f"Opened case {out['case_number']} ({out['time_zone']}).")


@case.command("transfer")
@click.argument("case_number")
@click.option("--officer", default=None, help="Login of the new supervising officer.")
@click.option("--tz", "time_zone", default=None, help="The new IANA time zone.")
def case_transfer(case_number, officer, time_zone):
    """Transfer a case to another officer or jurisdiction; registrations follow it.

    \b
    Example:
      vcase case transfer 2026-CR-0042 --officer olga --tz America/Denver
    """
    out = app().transfer_case(case_number, officer, time_zone)
    done(f"Case {out['case_number']} now with {out['officer']} ({out['time_zone']}).")


@case.command("supervision")
@click.argument("case_number")
@click.option("--ends", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The date supervision ends (YYYY-MM-DD).")
@click.option("--clear", is_flag=True, help="Forget the end date (supervision continues).")
def case_supervision(case_number, ends, clear):
    """Record when supervision ends (officers and admins).

    The letter bank's retention policy `end_of_supervision` expires held
    letters after this date.

    \b
    Example:
      vcase case supervision 2026-CR-0042 --ends 2029-06-30
    """
    if bool(ends) == clear:
        raise click.UsageError("give --ends DATE or --clear")
    out = app().set_supervision_end(case_number, None if clear else ends.date())
    done(f"Case {out['case_number']}: supervision ends {out['supervision_ends_on'] or 'not set'}.")


@case.command("show")
@click.argument("case_number")
@json_option
def case_show(case_number, as_json):
    """Show a case as your role may see it.

    The parties are shown as `vcase party show` says (officers see less, the
    parole board none); each role sees only the processes it may read
    (restorative processes never appear to supervision or parole).

    \b
    Example:
      vcase case show 2026-CR-0042
    """
    out = reader().show_case(case_number)
    if as_json:
        return emit_json(out)
    fields(out, ["case_number", "supervised_person", "officer", "time_zone", "ipv", "order_active",
                 "misconduct_toward_victim", "supervision_ends_on", "opened"])
    if "parties" in out:
        click.echo()
        table(out["parties"], ["id", "kind", "name", "represents", "channels", "language"], title="Parties")
    if out["processes"]:
        click.echo()
        table(out["processes"], ["id", "workflow", "state", "version", "updated_at"], title="Processes")


@case.command("timeline")
@click.argument("case_number")
@json_option
def case_timeline(case_number, as_json):
    """What happened on a case and what is scheduled next, as your role may see it.

    \b
    Example:
      vcase case timeline 2026-CR-0042
    """
    out = app().timeline(case_number)
    if as_json:
        return emit_json(out)
    table(out["happened"], ["at", "what", "process", "from", "to", "by"], title="What happened")
    click.echo()
    table(out["scheduled"], ["at", "what", "process"], title="Scheduled next", empty="Nothing is scheduled.")


@case.command("list")
@json_option
def case_list(as_json):
    """List cases.

    \b
    Example:
      vcase case list --json
    """
    rows = app().list_cases()
    emit_json(rows) if as_json else table(rows, ["case_number", "supervised_person", "officer", "time_zone", "ipv",
                                                 "order_active"], title="Cases")


@case.command("safety")
@click.argument("case_number")
@click.option("--ipv/--no-ipv", default=None, help="Intimate partner violence flag.")
@click.option("--misconduct/--no-misconduct", default=None, help="Misconduct toward the victim on record.")
@click.option("--order", "order_kind", type=click.Choice(["protective", "no_contact"]), default=None,
              help="Record a protective or no-contact order.")
@click.option("--from", "starts", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Order start date.")
@click.option("--until", "ends", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Order end date (open if omitted).")
def case_safety(case_number, ipv, misconduct, order_kind, starts, ends):
    """Record safety flags and protective / no-contact orders.

    An active order blocks letter release and dialogue contact.

    \b
    Examples:
      vcase case safety 2026-CR-0042 --ipv
      vcase case safety 2026-CR-0042 --order no_contact --from 2026-01-05 --until 2027-01-05
    """
    order = None
    if order_kind:
        if starts is None:
            raise click.UsageError("--order needs --from YYYY-MM-DD")
        order = (order_kind, starts.date(), ends.date() if ends else None)
    out = app().set_safety(case_number, ipv=ipv, misconduct=misconduct, order=order)
    done(f"Case {out['case_number']}: ipv={out['ipv']}, order active={out['order_active']}, "
         f"misconduct={out['misconduct_toward_victim']}.")


@case.command("contacts")
@click.argument("case_number")
@click.option("--law-enforcement", "law_enforcement", default=None, metavar="CONTACT[,CONTACT]",
              help="Partner contact ids for law enforcement, first called first (replaces the list).")
@click.option("--prosecutor", default=None, metavar="CONTACT[,CONTACT]",
              help="Partner contact ids for the prosecutor, first called first (replaces the list).")
@json_option
def case_contacts(case_number, law_enforcement, prosecutor, as_json):
    """Designate or read the case's law-enforcement and prosecutor contacts.

    They are contacts in the partner directory; an intimidation report goes to
    the first of each at once, and down the list while nobody acknowledges it.
    Without options, shows the list.

    \b
    Examples:
      vcase case contacts 2026-CR-0042 --law-enforcement 4,7 --prosecutor 9
      vcase case contacts 2026-CR-0042 --json
    """
    from services import case_contacts as cc

    le = cc.parse_ids(law_enforcement, "--law-enforcement")
    pr = cc.parse_ids(prosecutor, "--prosecutor")
    instance = app()
    out = cc.show(instance, case_number) if le is None and pr is None else cc.set_contacts(instance, case_number, le, pr)
    if as_json:
        return emit_json(out)
    table(out["contacts"], ["role", "position", "contact", "name", "partner", "email", "phone"],
          title=f"Designated contacts of {case_number}", empty="(no designated contacts)")


@click.group()
def party():
    """Victims, survivors, co-victims and their representatives on a case."""


@party.command("add")
@click.argument("case_number")
@click.option("--kind", required=True, type=click.Choice(["victim", "survivor", "co_victim", "witness", "guardian", "next_of_kin"]))
@click.option("--name", required=True)
@click.option("--email", default=None)
@click.option("--phone", default=None)
@click.option("--address", default=None)
@click.option("--channel", "channels", multiple=True, type=click.Choice(["email", "sms", "letter"]),
              help="Preferred channels, most preferred first (repeatable).")
@click.option("--language", default="en", type=click.Choice(["en", "es"]))
@click.option("--tz", "time_zone", default=None, help="Their time zone if not the case's.")
@click.option("--represents", type=ID, default=None, help="For a guardian or next of kin: the party they act for.")
@click.option("--minor", is_flag=True, help="The person is under 18.")
@click.option("--deceased", is_flag=True, help="The person has died.")
def party_add(case_number, kind, name, email, phone, address, channels, language, time_zone, represents, minor, deceased):
    """Add a victim-side party. Names and contact details are stored encrypted.

    \b
    Examples:
      vcase party add 2026-CR-0042 --kind victim --name "Maria Lopez" --email m@example.org --channel email --language es
      vcase party add 2026-CR-0042 --kind guardian --name "Ana Lopez" --represents 3 --channel sms --phone +13125550101
    """
    out = app().add_party(case_number, kind, name, email=email, phone=phone, address=address, channels=channels,
                          language=language, time_zone=time_zone, represents=represents, minor=minor, deceased=deceased)
    done(f"Added party {out['id']} ({out['kind']}) to case {out['case_number']}.")


@party.command("show")
@click.argument("party_id", type=ID)
@json_option
def party_show(party_id, as_json):
    """Show one party as your role may see it.

    Advocates, victim services, facilitators and admins see the name, e-mail,
    phone, postal address and the party's choices (channels, language, zone).
    An officer sees that a victim-side party exists and its kind, nothing
    more; an agency whose officers enforce no-contact or stay-away conditions
    can set privacy.officer_sees_victim_address=yes, and officers then also
    see the name and postal address, never e-mail or phone. The parole board
    sees no parties.

    \b
    Examples:
      vcase party show 3
      vcase settings set privacy.officer_sees_victim_address yes   # admins
    """
    out = app().show_party(party_id)
    emit_json(out) if as_json else fields(out)


@party.command("list")
@click.argument("case_number")
@json_option
def party_list(case_number, as_json):
    """List the parties of a case (no contact details; an officer sees what
    `vcase party show` says).

    \b
    Example:
      vcase party list 2026-CR-0042
    """
    rows = app().list_parties(case_number)
    emit_json(rows) if as_json else table(rows, ["id", "kind", "side", "name", "represents", "channels", "language"])


@party.command("confidentiality")
@click.argument("party_id", type=ID)
@click.option("--method", type=click.Choice(["in_person", "phone", "in_writing", "video"]), default=None,
              help="Record that you explained the limits of confidentiality to the party, and how.")
@json_option
def party_confidentiality(party_id, method, as_json):
    """Record, or show, that the limits of confidentiality were explained.

    Agency staff must make sure a victim understands what can and cannot
    stay confidential with them (seed 000). With --method, record that you
    explained it (by you, now); without, show when, how and by whom it was.
    While privacy.confidentiality_first is yes (the default), agency staff
    record nothing a victim-side party says or asks for until this is on
    record for them, their representative, or whom they represent.

    \b
    Examples:
      vcase party confidentiality 3 --method in_person
      vcase party confidentiality 3 --json
    """
    instance = app()
    if method is not None:
        out = instance.explain_confidentiality(party_id, method)
        return emit_json(out) if as_json else done(
            f"Party {party_id}: limits of confidentiality explained ({method.replace('_', ' ')}) by "
            f"{out['explained_by']} at {out['explained_at']}.")
    rows = instance.confidentiality(party_id)
    if as_json:
        return emit_json(rows)
    table(rows, ["explained_at", "method", "explained_by"], empty=f"(not on record for party {party_id})")
