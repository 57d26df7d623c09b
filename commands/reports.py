"""``vcase report``: what the agency did, for its funders and its board: aggregates only.

Each command is one call to ``services.pmt_report`` or
``services.restorative_report``; this layer only prints.
"""

from __future__ import annotations

import csv
import io

import click

from commands.common import emit_json, json_option, table

SUPPRESS = click.IntRange(2, 1000)
csv_option = click.option("--csv", "as_csv", is_flag=True, help="Print CSV (section, key, label, value).")
suppress_option = click.option("--suppress-below", type=SUPPRESS, default=None,
                               help="Blank every count from 1 to N-1 (for publication).")


@click.group()
def report():
    """Funders' and programs' reports, counted from what vcase holds.

    \b
    pmt          the VOCA quarterly figures (the federal PMT)
    restorative  the dialogue program and the apology letter bank
    """


def _emit(out, flat, as_json, as_csv, title):
    if as_json:
        return emit_json(out)
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]) if flat else ["section", "key", "value"],
                                lineterminator="\n")
        writer.writeheader()
        for row in flat:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return click.echo(buffer.getvalue(), nl=False)
    below = out.get("suppressed_below")
    shown = [{**row, "value": f"<{below}" if row["value"] is None and below else row["value"]} for row in flat]
    # The key (the JSON and CSV name) is left out of the table when a label says the same in words.
    labelled = bool(flat) and "label" in flat[0]
    table(shown, ["section", "label" if labelled else "key", "value"], title=title)


@report.command("pmt")
@click.option("--quarter", required=True, help="The fiscal quarter, e.g. 2027Q1 (with the federal year: Oct-Dec 2026).")
@suppress_option
@json_option
@csv_option
def report_pmt(quarter, suppress_below, as_json, as_csv):
    """The VOCA victim-assistance figures for a fiscal quarter (the PMT's questions).

    Individuals served, new and continuing (new once per fiscal year),
    anonymous contacts, demographics of the new, victimization types, special
    classifications, compensation help, and per service category the
    individuals served and the times each item was given. The fiscal year
    starts in the month set by agency.fiscal_year_start (10: October).

    \b
    Examples:
      vcase report pmt --quarter 2027Q1
      vcase report pmt --quarter 2027Q1 --csv > pmt-2027Q1.csv
      vcase report pmt --quarter 2027Q2 --suppress-below 5 --json
    """
    from commands.common import reader
    from services import pmt_report

    out = pmt_report.pmt(reader(), quarter, suppress_below)
    _emit(out, pmt_report.rows(out), as_json, as_csv,
          f"PMT {out['quarter']}: {out['from']} to {out['to']}")


@report.command("restorative")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="First day, YYYY-MM-DD (in the agency's zone).")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Last day, YYYY-MM-DD (included).")
@suppress_option
@json_option
@csv_option
def report_restorative(start, end, suppress_below, as_json, as_csv):
    """The dialogue program's and the letter bank's figures for a period.

    Requests, eligible and ineligible, offenders approached, accepted and
    declined, dialogues held by format, withdrawals by side, median days
    between stages; letters submitted, returned, held, requested, released;
    people served and people who sought the service and could not be served.
    Officers and the parole board cannot run it.

    \b
    Examples:
      vcase report restorative --from 2027-01-01 --to 2027-12-31
      vcase report restorative --from 2027-01-01 --to 2027-03-31 --suppress-below 5 --csv
    """
    from commands.common import app
    from services import restorative_report

    out = restorative_report.restorative(app(), start.date(), end.date(), suppress_below)
    _emit(out, restorative_report.rows(out), as_json, as_csv,
          f"Restorative programs: {out['from']} to {out['to']}")
