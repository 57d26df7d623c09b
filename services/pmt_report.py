"""The VOCA quarterly report (the PMT's victim-assistance figures), from the services log.

A quarter is a fiscal quarter: the fiscal year starts in the month ``agency.fiscal_year_start``
(October, the federal year, by default) and is named by the calendar year it ends in, so with
the default ``2027Q1`` is 1 October to 31 December 2026. Its bounds are midnights in the agency's
zone (``agency.time_zone``).

The counts, as the PMT defines them:

- **served**: individuals (victim-side parties) given any service in the quarter;
- **new**: served in the quarter and never before in the same fiscal year; a person is new once
  per fiscal year (served on 30 September and 1 October: new in both years), and continuing in
  every later quarter of that year, whatever else changes (a new victimization type included);
- **anonymous contacts**: staff-recorded contacts with no name, counted apart from individuals;
- demographics (race/ethnicity, gender, age band) of the **new** individuals only; victimization
  types and special classifications of everyone served; "not reported" and "not tracked" are
  answers of their own, never merged with each other or with zero;
- per service category, the individuals served and the anonymous contacts, and per item the
  times it was given (a person may be counted under several items and categories).

``suppress_below`` blanks every count from 1 to N-1 (shown as "<N", ``null`` in JSON) so a
published table cannot single anyone out; zero is shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import Integer, LargeBinary, String, case, cast, except_, func, literal, select, union_all

from engine import settings
from engine import tables
from engine.clock import describe, zone
from engine.errors import InvalidInput
from engine.permissions import require, resolve
from services import service_sources
from services.pmt_catalog import (
    AGE_BANDS, CATEGORIES, GENDER, ITEMS, MULTIPLE_RACES, NONE, NOT_REPORTED, NOT_TRACKED, RACE_ETHNICITY,
    SPECIAL_CLASSIFICATIONS, VICTIMIZATION_TYPES, category_of,
)

QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.IGNORECASE)


def day_start(day: date, zone_name: str) -> datetime:
    """The first instant of ``day`` in the zone, in UTC (where midnight is skipped, the end of the gap)."""
    from datetime import time, timezone

    return datetime.combine(day, time(0), tzinfo=zone(zone_name)).astimezone(timezone.utc)


def _month(year: int, month: int) -> date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, 1)


def fiscal_quarter(text: str, start_month: int) -> tuple[int, int, date, date, date]:
    """(fiscal year, quarter, first day of the year, first day of the quarter, first day after it)."""
    match = QUARTER.fullmatch((text or "").strip())
    if not match:
        raise InvalidInput(f"malformed quarter {text!r}; use YEARQn for a fiscal quarter, e.g. 2027Q1")
    year, quarter = int(match.group(1)), int(match.group(2))
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"fiscal year {year} is out of range (2000 to 2100)")
    first_year = year - 1 if start_month > 1 else year  # named by the calendar year it ends in
    fy_start = date(first_year, start_month, 1)
    q_start = _month(first_year, start_month + 3 * (quarter - 1))
    return year, quarter, fy_start, q_start, _month(q_start.year, q_start.month + 3)


def quarter_containing(day: date, start_month: int) -> str:
    """The fiscal quarter ``day`` falls in, as ``YEARQn`` (the year it ends in)."""
    months = (day.month - start_month) % 12
    year = day.year + (1 if start_month > 1 and day.month >= start_month else 0)
    return f"{year}Q{months // 3 + 1}"


def current_quarter(app, moment: datetime) -> str:
    """The agency's fiscal quarter at ``moment`` (its zone, its fiscal year)."""
    with app.store.read() as s:
        zone_name = settings.engine_value(s, "agency.time_zone")
        start_month = int(settings.engine_value(s, "agency.fiscal_year_start"))
    return quarter_containing(moment.astimezone(zone(zone_name)).date(), start_month)


def _count(profile: dict[str, list[str]], question: str, counts: dict[str, int], people: int) -> None:
    """Count ``people`` who gave the same ``profile`` under each of their answers to ``question``."""
    answers = profile.get(question) or [NOT_TRACKED]
    if question == "race" and len(answers) > 1:
        answers = [MULTIPLE_RACES]
    for answer in answers:
        counts[answer] += people


def _table(keys: tuple[str, ...], counts: dict[str, int], extra: tuple[str, ...] = ()) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in (*keys, *extra, NOT_REPORTED, NOT_TRACKED)}


PARTY = ("party_id",)


@dataclass
class Counts:
    served: int
    new: int
    times: dict[str, int]
    people: dict[str, int]
    contacts: int
    anonymous_by_category: dict[str, int]
    profiles: list[tuple[bytes, bool]]  # (sealed profile, new this fiscal year) of each party served that has one


def _tally(tag: str, key, n, blob=None):
    """A row of the report's one statement: what it counts (``tag``), by what (``key``), how many
    (``n``); a profile's row carries it sealed (``blob``)."""
    return (literal(tag).label("tag"), cast(key, String).label("key"), cast(n, Integer).label("n"),
            cast(blob, LargeBinary).label("blob"))


def _counts(s, fy_lo: datetime, lo: datetime, hi: datetime) -> Counts:
    """Every count of the quarter, and the sealed profiles of those served, in one statement: the
    quarter's services (the union of every source, ``service_sources.given``) are read once into a
    materialized table and counted from it several ways, not walked once a figure."""
    g = service_sources.given(lo, hi, columns=("party_id", "item")).element.cte("g").prefix_with("MATERIALIZED")
    earlier = service_sources.given(fy_lo, lo, columns=PARTY)
    new = except_(select(g.c.party_id), select(earlier.c.party_id)).cte("new").prefix_with("MATERIALIZED")
    a = service_sources.anonymous(lo, hi)
    cat, acat = service_sources.category(g.c.item), service_sources.category(a.c.item)
    profile = tables.party_profile.c
    none = literal(None)
    statement = union_all(
        select(*_tally("served", none, func.count(func.distinct(g.c.party_id)))),
        select(*_tally("new", none, select(func.count()).select_from(new).scalar_subquery())),
        select(*_tally("times", g.c.item, func.count())).group_by(g.c.item),
        select(*_tally("people", cat, func.count(func.distinct(g.c.party_id)))).group_by(cat),
        select(*_tally("contacts", none, func.count(func.distinct(a.c.contact)))),
        select(*_tally("times", a.c.item, func.count())).group_by(a.c.item),
        select(*_tally("contacts_by_category", acat, func.count(func.distinct(a.c.contact)))).group_by(acat),
        # one row a party served with a profile on file: "new" or not, and the profile as sealed
        select(*_tally("profile", case((profile.party_id.in_(select(new.c.party_id)), "new"), else_=none),
                       literal(1), profile.profile_enc))
        .where(profile.party_id.in_(select(g.c.party_id))),
    )
    counts = Counts(0, 0, defaultdict(int), {}, 0, {}, [])
    for tag, key, n, blob in s.execute(statement):
        if tag == "served":
            counts.served = n
        elif tag == "new":
            counts.new = n
        elif tag == "times":
            counts.times[key] += n
        elif tag == "people":
            counts.people[key] = n
        elif tag == "contacts":
            counts.contacts = n
        elif tag == "contacts_by_category":
            counts.anonymous_by_category[key] = n
        else:  # a profile
            counts.profiles.append((blob, key == "new"))
    return counts


def pmt(app, quarter: str, suppress_below: Optional[int] = None) -> dict[str, Any]:
    """The report (``app``: an ``App`` or the read-only ``engine.reader.Reader``; it reads through
    ``engine.tables`` on a plain connection, so ``vcase report pmt`` loads no ORM)."""
    with app.store.reading() as s:
        require(resolve(s, app.login, now=app.now()), "report.pmt")
        zone_name = settings.engine_value(s, "agency.time_zone")
        start_month = int(settings.engine_value(s, "agency.fiscal_year_start"))
        year, q, fy_day, q_day, end_day = fiscal_quarter(quarter, start_month)
        fy_lo, lo, hi = day_start(fy_day, zone_name), day_start(q_day, zone_name), day_start(end_day, zone_name)

        counts = _counts(s, fy_lo, lo, hi)
        # Every profile is decrypted; people who gave the same answers are then counted together
        # (each distinct set of answers parsed once, not once a person).
        same = Counter((app.store.vault.decrypt(sealed), new) for sealed, new in counts.profiles)
        victimization, classification = defaultdict(int), defaultdict(int)
        race, gender, age = defaultdict(int), defaultdict(int), defaultdict(int)
        for (answers, new), people in same.items():
            profile = json.loads(answers)
            _count(profile, "victimization", victimization, people)
            _count(profile, "classification", classification, people)
            if new:
                _count(profile, "race", race, people)
                _count(profile, "gender", gender, people)
                _count(profile, "age", age, people)
        # Everyone served or new with no profile on file: every question not tracked.
        for table in (victimization, classification):
            table[NOT_TRACKED] += counts.served - len(counts.profiles)
        for table in (race, gender, age):
            table[NOT_TRACKED] += counts.new - sum(new for _, new in counts.profiles)

    report = {
        "report": "pmt",
        "quarter": f"{year}Q{q}",
        "fiscal_year": year,
        "from": describe(lo, zone_name),
        "to": describe(hi, zone_name),
        "time_zone": zone_name,
        "individuals": {"served": counts.served, "new": counts.new, "continuing": counts.served - counts.new,
                        "anonymous_contacts": counts.contacts, "compensation_assisted": counts.people.get("COMP", 0)},
        "demographics": {"race": _table(RACE_ETHNICITY, race, (MULTIPLE_RACES,)), "gender": _table(GENDER, gender),
                         "age": _table(AGE_BANDS, age)},
        "victimization": _table(VICTIMIZATION_TYPES, victimization),
        "classification": _table(SPECIAL_CLASSIFICATIONS, classification, (NONE,)),
        "services": [
            {"category": code, "name": name, "individuals": counts.people.get(code, 0),
             "anonymous_contacts": counts.anonymous_by_category.get(code, 0),
             "items": [{"item": item, "name": label, "times": counts.times.get(item, 0)}
                       for item, label in ITEMS.items() if category_of(item) == code]}
            for code, name in CATEGORIES.items()
        ] + [{"category": "COMP", "name": ITEMS["COMP"], "individuals": counts.people.get("COMP", 0),
              "anonymous_contacts": counts.anonymous_by_category.get("COMP", 0),
              "items": [{"item": "COMP", "name": ITEMS["COMP"], "times": counts.times.get("COMP", 0)}]}],
        "suppressed_below": suppress_below,
    }
    return suppress(report, suppress_below)


def suppress(report: dict[str, Any], below: Optional[int]) -> dict[str, Any]:
    """Blank every count from 1 to ``below - 1`` (``None``), everywhere in the report."""
    if not below or below <= 1:
        return report

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool) and key not in KEEP and 0 < value < below:
            return None
        return value

    return walk(report)


KEEP = {"fiscal_year", "suppressed_below"}


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as flat rows (section, key, label, value): the CSV, and the plain table."""
    out: list[dict[str, Any]] = []

    def add(section: str, key: str, label: str, value: Any) -> None:
        out.append({"section": section, "key": key, "label": label, "value": value})

    for key, value in report["individuals"].items():
        add("individuals", key, key.replace("_", " "), value)
    for question, counts in report["demographics"].items():
        for key, value in counts.items():
            add(f"demographics of new: {question}", key, key.replace("_", " "), value)
    for section in ("victimization", "classification"):
        for key, value in report[section].items():
            add(section, key, key.replace("_", " "), value)
    for category in report["services"]:
        add("services", category["category"], f"{category['name']}: individuals", category["individuals"])
        add("services", f"{category['category']}-anonymous", f"{category['name']}: anonymous contacts",
            category["anonymous_contacts"])
        for item in category["items"]:
            add("services", item["item"], item["name"], item["times"])
    return out
