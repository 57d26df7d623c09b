"""The lean read client (``engine.reader``, behind ``vcase case show`` and ``vcase report pmt``)
shows exactly what ``App`` shows, refuses exactly what it refuses, and loads no ORM (issue 19: a
read command within 1.2x of ``import sqlmodel``). On SQLite and PostgreSQL.

Both run ``engine.views.show_case``; what differs is the session (a plain connection here, an ORM
session in ``App``) and the definitions (uncompiled here). So the comparison is made for every
reader there is: each role, the officer setting off and on, a partner's staff member without an
agreement and within one, an unknown case, an unknown user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from engine.errors import VcaseError
from engine.reader import Reader
from services import letters
from tests.conftest import KEY
from tests.test_partner_access import agree, partner_staff  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
READERS = ["oscar", "avery", "vera", "fay", "pat", "ada", "mo", "hana", "kai", "nobody"]


def outcome(call):
    try:
        return ("shown", call())
    except VcaseError as exc:
        return (type(exc).__name__, str(exc))


@pytest.fixture
def busy_case(partner_staff):  # noqa: F811
    """The agency's case with a registration, a letter in the bank (closed to supervision and the
    parole board), an active protective order and the mail room's login."""
    a = partner_staff
    a.admin.add_staff("mo", "Mo Mailroom", "mailroom")
    letters.submit(a.officer, a.case, a.minor, a.offender, "A second letter.", "in_writing")
    a.officer.set_safety(a.case, ipv=True, order=("no_contact", date(2026, 1, 1), None))  # after: it stops letters
    return a


@pytest.mark.parametrize("setting", ["no", "yes"])
@pytest.mark.parametrize("agreement", [False, True], ids=["no-agreement", "agreement"])
def test_every_reader_is_shown_or_refused_the_same_by_both(busy_case, setting, agreement):
    a = busy_case
    a.admin.set_setting("privacy.officer_sees_victim_address", setting)
    if agreement:
        agree(a)
    shown = 0
    for login in READERS:
        full = outcome(lambda: a.admin.as_user(login).show_case(a.case))
        lean = outcome(lambda: Reader(a.store, login, a.clock).show_case(a.case))
        assert lean == full, login
        shown += full[0] == "shown"
    assert shown == 6 + agreement  # the agency's six reading roles; hana within her agreement; never kai
    for login in ("avery", "pat"):
        assert outcome(lambda: Reader(a.store, login, a.clock).show_case("NO-SUCH-CASE")) == \
            outcome(lambda: a.admin.as_user(login).show_case("NO-SUCH-CASE"))


def test_what_it_shows_is_filtered_by_role(busy_case):
    """Not only equal to App: the rules hold (parties and the letter bank are not the board's)."""
    a = busy_case
    advocate = Reader(a.store, "avery", a.clock).show_case(a.case)
    board = Reader(a.store, "pat", a.clock).show_case(a.case)
    assert "Maria Victim" in [p.get("name") for p in advocate["parties"]]
    assert "letter_bank" in {p["workflow"] for p in advocate["processes"]}
    assert "parties" not in board and "letter_bank" not in {p["workflow"] for p in board["processes"]}
    assert advocate["order_active"] is True and advocate["ipv"] is True


def test_one_reader_sees_an_order_recorded_between_two_reads(partner_staff):  # noqa: F811
    """The order cache lives for one transaction, not on the pooled connection: a client kept open
    (a service, a test) must not show an order recorded since as absent."""
    a = partner_staff
    reader = Reader(a.store, "avery", a.clock)
    assert reader.show_case(a.case)["order_active"] is False
    a.officer.set_safety(a.case, order=("no_contact", date(2026, 1, 1), None))
    assert reader.show_case(a.case)["order_active"] is True
    a.admin.set_setting("privacy.officer_sees_victim_address", "yes")  # the settings cache likewise
    officer = Reader(a.store, "oscar", a.clock)
    assert "Maria Victim" in [p.get("name") for p in officer.show_case(a.case)["parties"]]
    a.admin.set_setting("privacy.officer_sees_victim_address", "no")
    assert "Maria Victim" not in [p.get("name") for p in officer.show_case(a.case)["parties"]]


def test_vcase_case_show_prints_what_app_returns(run, busy_case):
    a = busy_case
    code, out, err = run("avery", "case", "show", a.case, "--json")
    assert code == 0, err
    assert json.loads(out) == json.loads(json.dumps(a.advocate.show_case(a.case), default=str))
    code, out, err = run("avery", "case", "show", "NO-SUCH-CASE")
    assert code != 0 and "no case 'NO-SUCH-CASE'" in err and "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1


def test_the_pmt_report_is_the_same_through_either_client(busy_case):
    from services import pmt_report

    a = busy_case
    for login in ("vera", "avery"):  # victim services may run it; an advocate is refused, the same way
        assert outcome(lambda: pmt_report.pmt(Reader(a.store, login, a.clock), "2026Q2")) == \
            outcome(lambda: pmt_report.pmt(a.admin.as_user(login), "2026Q2"))
    assert pmt_report.pmt(Reader(a.store, "vera", a.clock), "2026Q2")["individuals"]["served"] >= 1


@pytest.mark.parametrize("command,login,expect", [
    (("case", "show", "2026-CR-0001", "--json"), "avery", "Maria Victim"),
    (("report", "pmt", "--quarter", "2026Q2", "--json"), "vera", '"served"'),
], ids=["case-show", "report-pmt"])
def test_the_read_commands_load_no_orm_and_no_write_path(busy_case, tmp_path, command, login, expect):
    """In a fresh interpreter, as a person runs them: SQLModel, pydantic, the ORM, the compiled
    workflows (transitions), the templates and the audit trail's writer stay unloaded."""
    a = busy_case
    script = (
        "import sys, cli\n"
        f"code = cli.main({list(command)!r})\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlmodel', 'pydantic', 'transitions', 'jinja2',"
        " 'babel') or m.startswith('sqlalchemy.orm') or m in ('engine.models', 'engine.api', 'engine.audit',"
        " 'engine.runtime'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = dict(os.environ, VCASE_DATABASE_URL=a.store.url, VCASE_KEY=KEY, VCASE_USER=login,
               VCASE_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert expect in done.stdout
    assert "HEAVY []" in done.stderr, done.stderr
