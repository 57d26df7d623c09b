"""``vcase demo``: a guided walk on a throwaway database and a simulated clock.

The story only calls ``engine.api.App``, the same calls the other commands
make; tests/test_demo.py runs it, so it cannot drift from the engine. The
chapters after set-up are in ``commands/demo_story.py``.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import click

START = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)  # Monday 09:00 in Chicago
CASE = "2026-CR-0042"


class Narrator:
    def __init__(self) -> None:
        self.chapter = 0

    def heading(self, title: str) -> None:
        self.chapter += 1
        click.echo()
        click.secho(f"{self.chapter}. {title}", bold=True)
        click.echo("-" * (len(title) + 3))

    def say(self, text: str) -> None:
        click.echo(f"   {text}")

    def show(self, label: str, value) -> None:
        click.echo(f"   {label:<28} {value}")

    def refused(self, who: str, attempt, *args, **kwargs) -> None:
        from engine.errors import VcaseError

        try:
            attempt(*args, **kwargs)
        except VcaseError as exc:
            click.echo(f"   {who}: refused: {exc}")
            return
        raise AssertionError(f"{who} should have been refused")


def run_story(folder: Path, say: Narrator) -> dict:
    """The whole demo; returns a few facts the tests check."""
    from engine.api import App
    from engine.clock import SimulatedClock
    from engine.crypto import new_key
    from engine.db import Store

    clock = SimulatedClock(START)
    key = new_key()
    store = Store(f"sqlite:///{folder / 'demo.db'}", [key])
    outbox = folder / "outbox"
    admin = App(store, clock=clock, login="ada", outbox=outbox)

    say.heading("An agency sets up vcase")
    admin.init("ada", "Ada Admin")
    for login, name, role in [("oscar", "Oscar Ortiz", "officer"), ("avery", "Avery Adams", "advocate"),
                              ("vera", "Vera Vance", "victim_services"), ("fay", "Fay Fuentes", "facilitator"),
                              ("pat", "Pat Parker", "parole_board"), ("mo", "Mo Moreno", "mailroom")]:
        admin.add_staff(login, name, role, email=f"{login}@doc.example")
    admin.set_setting("letters.return_address", "100 W Randolph St, Suite 4-200; Chicago, IL 60601")
    say.say("A SQLite file and an encryption key the agency holds; seven staff in seven roles; the return "
            "address its letters carry.")
    say.show("database", folder / "demo.db")
    say.show("staff", ", ".join(f"{s['login']} ({s['role']})" for s in admin.list_staff()))

    officer, advocate = admin.as_user("oscar"), admin.as_user("avery")
    say.heading("An officer opens a case; an advocate registers the victim")
    officer.open_case(CASE, "Sam Doe", "oscar", "America/Chicago")
    victim = advocate.add_party(CASE, "victim", "Maria Lopez", email="maria.lopez@example.org",
                                phone="+1 312 555 0101", channels=("email", "sms"), language="es")
    say.say(f"Case {CASE} (America/Chicago). Victim party {victim['id']}: Spanish, email then SMS.")
    advocate.explain_confidentiality(victim["id"], "in_person")
    say.say("Her advocate explains what can and cannot stay confidential, and records it "
            "(`vcase party confidentiality`): agency staff record nothing she asks for before that.")
    raw = b"".join(p.read_bytes() for p in folder.glob("demo.db*"))
    found = b"maria.lopez@example.org" in raw or b"Maria Lopez" in raw
    say.show("victim's email in the file?", "FOUND (this is a bug)" if found else "not found: encrypted at rest")

    say.heading("Each role sees what it may")
    seen = advocate.show_case(CASE)
    say.show("advocate sees parties", ", ".join(f"{p['name']} ({p['kind']})" for p in seen["parties"]))
    parole_view = admin.as_user("pat").show_case(CASE)
    say.show("parole board sees", ", ".join(sorted(k for k in parole_view if k != "processes")))
    say.say("The parole board sees supervision facts only: no victims, no restorative processes.")
    say.refused("parole board reading a party", admin.as_user("pat").show_party, victim["id"])
    say.refused("officer adding staff", officer.add_staff, "eve", "Eve", "admin")

    facts = {"victim_party": victim["id"], "email_found_in_file": found, "outbox": outbox, "key": key,
             "database_url": store.url}
    for chapter in _chapters():
        facts.update(chapter(admin, clock, say, facts) or {})

    say.heading("Every act is on a tamper-evident record")
    result = admin.verify_audit()
    say.show("audit entries", result["entries"])
    say.show("hash chain", "intact" if result["ok"] else result["problems"][0])
    facts["audit_ok"] = result["ok"]
    store.dispose()
    return facts


def _chapters() -> list:
    from commands.demo_story import CHAPTERS

    return CHAPTERS


MARKER = ".vcase-demo"


def portal_access(facts: dict):
    """The demo victim's portal access, issued on the real clock (a portal runs on it): an App on
    the demo's database acting as her advocate, and the access ID and one-time code."""
    from engine.api import App
    from engine.db import Store
    from services import portal

    app = App(Store(facts["database_url"], [facts["key"]]), login="avery", outbox=facts["outbox"])
    return app, portal.invite(app, facts["victim_party"])


def open_portal(facts: dict, port: int) -> None:
    from web.app import serve

    app, access = portal_access(facts)
    click.secho("The demo victim's portal", bold=True)
    click.echo(f"   Open    http://127.0.0.1:{port}/  (or http://localhost:{port}/)")
    click.echo(f"   Access ID        {access['access_id']}")
    click.echo(f"   One-time code    {access['code']}")
    click.echo("   She chooses a PIN on first sign-in. Ctrl-C stops the portal.")
    serve(app, "127.0.0.1", port)


@click.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("vcase-demo"),
              show_default=True, help="Where the demo's database and outbox go (replaced on each run).")
@click.option("--throwaway", is_flag=True, help="Use a temporary folder and remove it afterwards.")
@click.option("--portal", is_flag=True, help="Afterwards, serve the demo victim's portal on localhost (Ctrl-C stops it).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True,
              help="The port of the demo's portal (with --portal).")
def demo(folder, throwaway, portal, port):
    """A guided walk through vcase: one case followed for a year on a simulated clock.

    A registered victim, custody events, a dialogue to follow-up, a withdrawn
    one, an apology letter held and released. Nothing touches your real
    database, key or mail server: the demo makes its own database in DIR and
    writes every notice as a file in DIR/outbox for you to open.

    \b
    Examples:
      vcase demo
      vcase demo --dir /tmp/vcase-demo
      vcase demo --throwaway
      vcase demo --portal           # then open http://127.0.0.1:8080 and sign in as the victim
    """
    from engine.errors import InvalidInput

    if throwaway:
        folder = Path(tempfile.mkdtemp(prefix="vcase-demo-"))
    elif folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise InvalidInput(f"{folder} exists and is not a vcase demo folder; choose another with --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `vcase demo`; replaced on the next run\n")
    try:
        click.secho("vcase demo: a simulated clock starts on Monday 2 March 2026, 09:00 in Chicago.", bold=True)
        facts = run_story(folder, Narrator())
        click.echo()
        if portal:
            open_portal(facts, port)
        if throwaway:
            click.echo("Done. The throwaway folder was removed.")
        else:
            click.echo(f"Done. Open the notices in {folder / 'outbox'}; the database is {folder / 'demo.db'}.")
            if not portal:
                click.echo("To open the victim's own portal on localhost: vcase demo --portal (or make demo-portal).")
    finally:
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)
