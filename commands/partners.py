"""``vcase partner``: the directory of community partners victims are referred to."""

from __future__ import annotations

import click

from commands.common import ID, app, done, emit_json, fields, json_option, show_problems, table, with_progress

LIST_COLUMNS = ["id", "name", "model", "sector", "services", "languages", "hotline_24_7", "privileged"]
CONTACT_COLUMNS = ["id", "name", "role", "email", "phone", "escalation_order", "active"]
SHOW_FIELDS = ["id", "name", "model", "sector", "services", "languages", "service_area", "hours", "hotline_24_7",
               "hotline_phone", "privileged", "referral_method", "referral_email", "retired_at", "created_at",
               "updated_at"]


@click.group()
def partner():
    """The partner directory: organizations victims are referred to.

    A partner is an organization (a DV or sexual-assault program, a shelter,
    a child advocacy center, a prosecutor's victim unit...), never a person
    on a case: the directory holds no victim data. Officers, advocates,
    victim services and facilitators read it; victim services and admins
    keep it. A retired partner is kept (referrals point at it) but hidden
    from lists and cannot be chosen for new work.
    """


def _details(required: bool):
    """The options that set a partner's fields: required ones for add, all optional for update."""
    def wrap(f):
        opts = [
            click.option("--model", required=required,
                         help="community_based, systems_based or hybrid (seed 002's advocate models)."),
            click.option("--sector", required=required, help="What kind of organization (see above)."),
            click.option("--services", default=None, help="VOCA service categories offered, comma-separated."),
            click.option("--languages", default=None, help="Language codes, comma-separated, e.g. en,es,vi (default en)."),
            click.option("--area", "service_area", default=None, help="Where it serves, e.g. 'Cook County'."),
            click.option("--hours", default=None, help="When it is open, e.g. 'Mon-Fri 9-5'."),
            click.option("--hotline", "hotline_phone", default=None, help="Its hotline's phone number."),
            click.option("--24-7/--not-24-7", "hotline_24_7", default=None, help="The hotline answers day and night."),
            click.option("--privileged/--not-privileged", default=None,
                         help="Its communications with victims are privileged by law."),
            click.option("--referral-method", default=None, help="How it takes referrals, in its words."),
            click.option("--referral-email", default=None, help="Where referral notices go."),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f
    return wrap


@partner.command("add")
@click.argument("name")
@_details(required=True)
@json_option
def partner_add(name, as_json, **details):
    """Add a partner to the directory (victim services, admin).

    \b
    --model: community_based, systems_based, hybrid
    --sector: dv_program, sexual_assault_program, child_advocacy, elder_abuse,
      homicide_survivors, faith_based, shelter_housing, compensation,
      prosecutor, law_enforcement, courts, health, protective_services,
      legal_aid, other
    --services (VOCA categories): information_referral, personal_advocacy,
      emotional_support_safety, shelter_housing, justice_system_assistance

    A name is unique (spaces and case aside). A 24/7 hotline needs its
    number (--hotline).

    \b
    Examples:
      vcase partner add "Safe Harbor" --model community_based --sector dv_program \\
        --services personal_advocacy,emotional_support_safety,shelter_housing \\
        --languages en,es --hotline "+1 312 555 0100" --24-7 --privileged \\
        --referral-method "phone the hotline" --referral-email intake@safeharbor.example
      vcase partner add "County Prosecutor Victim Unit" --model systems_based --sector prosecutor
    """
    from services import partners

    out = partners.add(app(), name=name, **details)
    if as_json:
        return emit_json(out)
    done(f"Partner {out['id']} ({out['name']}) added. Add its contacts with `vcase partner contact add {out['id']} ...`.")


@partner.command("list")
@click.option("--sector", default=None, help="Only this sector, e.g. dv_program.")
@click.option("--service", default=None, help="Only partners offering this service, e.g. shelter_housing.")
@click.option("--language", default=None, help="Only partners serving in this language, e.g. es.")
@click.option("--model", default=None, help="Only this model: community_based, systems_based or hybrid.")
@click.option("--retired", "which", flag_value="retired", help="Only retired partners.")
@click.option("--all", "which", flag_value="all", help="Active and retired partners.")
@json_option
def partner_list(sector, service, language, model, which, as_json):
    """List the partner directory by name (active partners unless --retired or --all).

    \b
    Examples:
      vcase partner list
      vcase partner list --service shelter_housing --language es
      vcase partner list --sector dv_program --model community_based --json
      vcase partner list --all
    """
    from services import partners

    out = partners.list_partners(app(), sector, service, language, model, which or "active")
    if as_json:
        return emit_json(out)
    table(out, LIST_COLUMNS + (["retired_at"] if which else []), empty="No partners match.")


@partner.command("show")
@click.argument("partner_ref", metavar="PARTNER")
@click.option("--all-contacts", is_flag=True, help="Include contacts who are no longer active.")
@json_option
def partner_show(partner_ref, all_contacts, as_json):
    """Show a partner (by id or name) and its contacts, first to call first.

    \b
    Examples:
      vcase partner show 3
      vcase partner show "Safe Harbor" --json
    """
    from services import partners

    out = partners.show(app(), partner_ref, all_contacts)
    if as_json:
        return emit_json(out)
    fields(out, SHOW_FIELDS)
    click.echo("")
    table(out["contacts"], CONTACT_COLUMNS, title="contacts", empty="No contacts.")


@partner.command("update")
@click.argument("partner_ref", metavar="PARTNER")
@click.option("--name", default=None, help="A new name.")
@_details(required=False)
@json_option
def partner_update(partner_ref, name, as_json, **details):
    """Change a partner's fields; only those given change ("" clears a text field).

    \b
    Examples:
      vcase partner update 3 --hours "Mon-Sat 8-8" --languages en,es,vi
      vcase partner update "Safe Harbor" --referral-email "" --not-24-7
    """
    from services import partners

    out = partners.update(app(), partner_ref, name=name, **details)
    if as_json:
        return emit_json(out)
    changed = ", ".join(out["changed"]) or "nothing (the values were already so)"
    done(f"Partner {out['id']} ({out['name']}): changed {changed}.")


@partner.command("retire")
@click.argument("partner_ref", metavar="PARTNER")
@click.option("--reason", default="", help="Why, for the audit trail.")
def partner_retire(partner_ref, reason):
    """Retire a partner: kept for the referrals that name it, hidden from lists, refused for new work.

    \b
    Examples:
      vcase partner retire 3 --reason "program closed"
      vcase partner reinstate 3      # undo
    """
    from services import partners

    out = partners.retire(app(), partner_ref, reason)
    done(f"Partner {out['id']} ({out['name']}) is retired; `vcase partner list --retired` shows it.")


@partner.command("reinstate")
@click.argument("partner_ref", metavar="PARTNER")
def partner_reinstate(partner_ref):
    """Undo a retirement: the partner can be chosen for new work again.

    \b
    Example:
      vcase partner reinstate 3
    """
    from services import partners

    out = partners.reinstate(app(), partner_ref)
    done(f"Partner {out['id']} ({out['name']}) is active again.")


@partner.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would be added; write nothing.")
@json_option
def partner_import(file, dry_run, as_json):
    """Add partners from a CSV file (a spreadsheet saved as CSV UTF-8).

    Every row is checked first; if any row has a problem, each is listed as
    `row N: column: what` and nothing is written. Otherwise all rows are
    written in one transaction: all of them or none. Rows are numbered as a
    spreadsheet shows them (the header is row 1). A name already in the
    directory (retired ones too), or twice in the file, is refused: an
    import never updates or skips.

    \b
    Columns (header row; name, model and sector are required):
      name, model, sector, services, languages (default en), service_area,
      hours, hotline_24_7 (yes/no), hotline_phone, privileged (yes/no),
      referral_method, referral_email,
      contact_name, contact_role, contact_email, contact_phone (its first
      contact, called first; needs an email or a phone)
    Lists (services, languages) are separated by commas, semicolons or |.
    Words may be typed as people write them ("DV program", "Community-based").

    \b
    Example file:
      name,model,sector,services,languages,hotline_24_7,hotline_phone,contact_name,contact_email
      Safe Harbor,community_based,dv_program,"personal_advocacy;shelter_housing","en;es",yes,+1 312 555 0100,Dana Diaz,dana@safeharbor.example

    \b
    Examples:
      vcase partner import partners.csv --dry-run
      vcase partner import partners.csv --json
    """
    from services import csvfile, partners

    data = file.read(csvfile.MAX_BYTES + 1)
    try:
        out = with_progress(lambda progress: partners.import_csv(app(), data, dry_run, progress))
    except partners.ImportRefused as refused:
        show_problems(refused.problems)
        raise
    if as_json:
        return emit_json(out)
    if dry_run:
        done(f"Dry run: all {out['rows']} row(s) are good; this would add {out['partners']} partner(s) and "
             f"{out['contacts']} contact(s). Nothing was written.")
    else:
        table(out["created"], ["row", "partner", "name", "contact"])
        done(f"Imported {out['rows']} row(s): {out['partners']} partner(s), {out['contacts']} contact(s).")


@partner.group("contact")
def contact():
    """The named people at a partner, ranked by who is called first."""


@contact.command("add")
@click.argument("partner_ref", metavar="PARTNER")
@click.option("--name", required=True, help="The contact's name.")
@click.option("--role", default=None, help="Their role, e.g. 'intake coordinator'.")
@click.option("--email", default=None, help="Their e-mail address.")
@click.option("--phone", default=None, help="Their phone number.")
@click.option("--order", "escalation_order", type=click.IntRange(1, 999), default=None,
              help="Who is called first when it matters (1 first).")
@json_option
def contact_add(partner_ref, as_json, **values):
    """Add a contact at a partner: a name, and an e-mail or a phone.

    \b
    Examples:
      vcase partner contact add 3 --name "Dana Diaz" --role "intake coordinator" \\
        --email dana@safeharbor.example --phone "+1 312 555 0101" --order 1
    """
    from services import partners

    out = partners.add_contact(app(), partner_ref, **values)
    if as_json:
        return emit_json(out)
    done(f"Contact {out['id']} added to partner {out['partner']}.")


@contact.command("list")
@click.argument("partner_ref", metavar="PARTNER")
@click.option("--all", "include_inactive", is_flag=True, help="Include contacts who are no longer active.")
@json_option
def contact_list(partner_ref, include_inactive, as_json):
    """List a partner's contacts, first to call first.

    \b
    Examples:
      vcase partner contact list 3
      vcase partner contact list "Safe Harbor" --all --json
    """
    from services import partners

    out = partners.list_contacts(app(), partner_ref, include_inactive)
    if as_json:
        return emit_json(out)
    table(out, CONTACT_COLUMNS, empty="No contacts.")


@contact.command("update")
@click.argument("contact_id", type=ID)
@click.option("--name", default=None, help="A new name.")
@click.option("--role", default=None, help="Their role.")
@click.option("--email", default=None, help="Their e-mail address (\"\" clears it).")
@click.option("--phone", default=None, help="Their phone number (\"\" clears it).")
@click.option("--order", "escalation_order", default=None, help="1 is called first; \"\" clears it.")
@click.option("--active/--inactive", default=None, help="An inactive contact is kept but no longer listed.")
@json_option
def contact_update(contact_id, as_json, **values):
    """Change a contact, or deactivate one who has left (--inactive; kept on record).

    \b
    Examples:
      vcase partner contact update 7 --phone "+1 312 555 0199" --order 2
      vcase partner contact update 7 --inactive
    """
    from services import partners

    out = partners.update_contact(app(), contact_id, **values)
    if as_json:
        return emit_json(out)
    changed = ", ".join(out["changed"]) or "nothing (the values were already so)"
    done(f"Contact {out['id']} of partner {out['partner']}: changed {changed}.")
