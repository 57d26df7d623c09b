"""The victim portal over HTTP (Starlette's TestClient): the victim acts for themselves through the
engine's own calls, and every attempt to break in or reach another party's records leaves the
database as it was."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from sqlalchemy import select

from engine.models import AuditEntry, Notice, Process
from services import notify_api, portal
from tests.support import dump
from web.app import create

PIN = "correct horse 42"


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def site(reg):
    """The registered victim with portal access and a client that has signed in and set a PIN."""
    invited = portal.invite(reg.advocate, reg.victim)
    client = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    sign_in(client, invited["access_id"], invited["code"])
    page = client.get("/pin")
    assert page.status_code == 200
    answer = client.post("/pin", data={"csrf": csrf(page.text), "pin": PIN, "pin_again": PIN})
    assert answer.status_code == 303 and answer.headers["location"] == "/home"
    reg.client, reg.invited = client, invited
    return reg


def sign_in(client, access_id, secret):
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"csrf": csrf(page.text), "access_id": access_id, "secret": secret})


def home_csrf(client) -> str:
    page = client.get("/home")
    assert page.status_code == 200, page.text
    return csrf(page.text)


def test_invite_sign_in_and_the_victim_opts_out_as_themselves(site):
    page = site.client.get("/home")
    assert "Your page" in page.text or "Su página" in page.text
    assert "maria@example.org" not in page.text and "m•••@example.org" in page.text
    answer = site.client.post(f"/processes/{site.registration}/withdraw", data={"csrf": csrf(page.text)})
    assert answer.status_code == 303
    with site.store.read() as s:
        process = s.get(Process, site.registration)
        entry = s.query(AuditEntry).filter(AuditEntry.process_id == site.registration,
                                           AuditEntry.action == "notification.withdraw").one()
    assert process.state == "withdrawn"
    assert (entry.actor_login, entry.actor_role, entry.via, entry.on_behalf_of) == (
        f"self:{site.victim}", "self", "portal", site.victim)


def test_security_headers_and_cookie_flags(reg):
    invited = portal.invite(reg.advocate, reg.victim)
    client = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    answer = sign_in(client, invited["access_id"], invited["code"])
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/pin")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert invited["code"] not in page.text and str(reg.victim) not in answer.headers["location"]


def test_a_wrong_pin_and_a_wrong_id_get_the_same_answer_and_lockout_follows(site):
    client = TestClient(create(site.admin), base_url="https://testserver", follow_redirects=False)
    wrong_id = sign_in(client, "ZZZZ-ZZZZ-ZZZZ", PIN)
    wrong_pin = sign_in(client, site.invited["access_id"], "not the pin")
    assert wrong_id.status_code == wrong_pin.status_code == 401
    strip = lambda html: re.sub(r'name="csrf" value="[^"]+"', "", html)  # noqa: E731
    assert strip(wrong_id.text) == strip(wrong_pin.text)
    for _ in range(4):
        sign_in(client, site.invited["access_id"], "still wrong")
    assert portal.status(site.advocate, site.victim)["access"] == "locked"
    before = dump(site.store)
    locked = sign_in(client, site.invited["access_id"], PIN)  # the right PIN, while locked
    assert locked.status_code == 401 and strip(locked.text) == strip(wrong_id.text)
    assert dump(site.store) == before
    site.clock.advance(timedelta(minutes=16))
    assert sign_in(client, site.invited["access_id"], PIN).status_code == 303


def test_a_form_without_or_with_a_wrong_csrf_token_changes_nothing(site):
    before = dump(site.store)
    for data in ({}, {"csrf": "forged"}):
        answer = site.client.post(f"/processes/{site.registration}/withdraw", data=data)
        assert answer.status_code == 403 and "Traceback" not in answer.text
        assert site.client.post("/dialogue", data=data).status_code == 403
    other = TestClient(create(site.admin), base_url="https://testserver")
    assert other.post("/sign-in", data={"csrf": "x", "access_id": site.invited["access_id"],
                                        "secret": PIN}).status_code == 403
    assert dump(site.store) == before


def test_a_session_ends_after_15_idle_minutes(site):
    token = home_csrf(site.client)
    site.clock.advance(timedelta(minutes=14))
    assert site.client.get("/home").status_code == 200  # still in use: the idle clock starts again
    site.clock.advance(timedelta(minutes=15))
    answer = site.client.post("/dialogue", data={"csrf": token})
    assert answer.status_code == 401 and "Traceback" not in answer.text
    assert "signed out" in answer.text.lower() or "sesión terminó" in answer.text
    with site.store.read() as s:
        assert s.execute(select(Process).where(Process.workflow == "dialogue")).first() is None
    before = dump(site.store)
    assert site.client.get("/home").status_code == 401
    assert dump(site.store) == before


def test_another_partys_notice_or_process_is_not_found(site):
    guardian_reg = notify_api.register(site.advocate, site.case, site.guardian, "all", "phone")
    with site.store.read() as s:
        theirs = s.query(Notice).filter(Notice.recipient_party_id == site.guardian).first().id
    token = home_csrf(site.client)
    before = dump(site.store)
    for path in (f"/notices/{theirs}", "/notices/999999", "/notices/abc"):
        answer = site.client.get(path)
        assert answer.status_code == 404 and "Not found" in answer.text or "No encontrado" in answer.text
    for path in (f"/processes/{guardian_reg['process']}/withdraw", f"/notices/{theirs}/confirm",
                 "/processes/999999/withdraw", f"/processes/{site.registration}/waive"):
        answer = site.client.post(path, data={"csrf": token})
        assert answer.status_code == 404, (path, answer.status_code)
    assert dump(site.store) == before


def test_the_victim_asks_for_a_dialogue_and_withdraws_it(site):
    token = home_csrf(site.client)
    assert site.client.post("/dialogue", data={"csrf": token}).status_code == 303
    with site.store.read() as s:
        dialogue = s.query(Process).filter(Process.workflow == "dialogue").one()
        assert dialogue.initiator_party_id == site.victim and dialogue.state == "requested"
    assert site.client.post(f"/processes/{dialogue.id}/withdraw", data={"csrf": token}).status_code == 303
    with site.store.read() as s:
        assert s.get(Process, dialogue.id).state == "withdrawn"


def test_the_victim_changes_channels_language_and_events(site):
    token = home_csrf(site.client)
    assert site.client.post("/choices", data={"csrf": token, "channel_email": "1", "language": "en",
                                              "time_zone": "America/Chicago"}).status_code == 303
    me = site.advocate.show_party(site.victim)
    assert me["channels"] == ["email"] and me["language"] == "en"
    answer = site.client.post(f"/processes/{site.registration}/change_events",
                              data={"csrf": token, "events": ["escape", "released"]})
    assert answer.status_code == 303
    with site.store.read() as s:
        assert s.get(Process, site.registration).data["events"] == ["escape", "released"]


def test_the_victim_confirms_an_emergency_which_stops_the_fallback(site, tmp_path):
    notify_api.record_event(site.officer, site.case, "escape", site.clock.now())
    notify_api.deliver(site.admin, via=_files(tmp_path))
    with site.store.read() as s:
        sent = s.query(Notice).filter(Notice.recipient_party_id == site.victim, Notice.emergency.is_(True),
                                      Notice.status == "sent").first()
    token = home_csrf(site.client)
    assert site.client.post(f"/notices/{sent.id}/confirm", data={"csrf": token}).status_code == 303
    site.clock.advance(timedelta(hours=30))
    result = notify_api.deliver(site.admin, via=_files(tmp_path))
    assert result.fallbacks == 0


def test_revoked_access_ends_the_session_at_once(site):
    portal.revoke(site.advocate, site.victim)
    assert site.client.get("/home").status_code == 401
    assert sign_in(TestClient(create(site.admin), base_url="https://testserver", follow_redirects=False),
                   site.invited["access_id"], PIN).status_code == 401


def test_the_offender_side_and_a_minor_get_no_portal(agency):
    from engine.errors import InvalidInput

    for party in (agency.offender, agency.minor):
        with pytest.raises(InvalidInput):
            portal.invite(agency.advocate, party)


def test_confirm_links_are_single_use_and_expire(reg, tmp_path):
    reg.admin.set_setting("portal.public_url", "https://portal.agency.example")
    notify_api.record_event(reg.officer, reg.case, "escape", reg.clock.now())
    notify_api.deliver(reg.admin, via=_files(tmp_path))
    mails = _mails(tmp_path)
    links = [m for text in mails for m in re.findall(r"https://portal\.agency\.example/confirm/([A-Za-z0-9_\-]+)", text)]
    assert links, "an e-mailed emergency carries a confirm link"
    client = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    before = dump(reg.store)
    page = client.get(f"/confirm/{links[0]}")
    assert page.status_code == 200 and dump(reg.store) == before  # GET never confirms (mail scanners)
    assert client.post(f"/confirm/{links[0]}", data={"csrf": csrf(page.text)}).status_code == 200
    with reg.store.read() as s:
        assert s.query(Notice).filter(Notice.status == "confirmed").count() == 1
    after = dump(reg.store)
    replay = client.post(f"/confirm/{links[0]}", data={"csrf": csrf(page.text)})
    assert replay.status_code == 404 and dump(reg.store) == after
    # a second link, expired
    notify_api.record_event(reg.officer, reg.case, "recapture", reg.clock.now())
    notify_api.deliver(reg.admin, via=_files(tmp_path))
    mails = _mails(tmp_path)
    fresh = [m for text in mails for m in re.findall(r"/confirm/([A-Za-z0-9_\-]+)", text) if m != links[0]]
    reg.clock.advance(timedelta(hours=73))
    before = dump(reg.store)
    page = client.get(f"/confirm/{fresh[0]}")
    assert page.status_code == 404
    assert client.post(f"/confirm/{fresh[0]}", data={"csrf": csrf(page.text)}).status_code == 404
    assert dump(reg.store) == before


def _mails(tmp_path) -> list[str]:
    from email import message_from_bytes, policy

    return [message_from_bytes(p.read_bytes(), policy=policy.default).get_body().get_content()
            for p in (tmp_path / "files").rglob("*.eml")]


def _files(tmp_path):
    from engine.channels import files_only

    return files_only(tmp_path / "files")


def test_no_page_or_error_names_the_victim(site):
    for path in ("/home", "/notices", "/nope", "/notices/0", "/processes/1/x"):
        text = site.client.get(path).text
        assert "Maria" not in text and "+1 312" not in text and "Traceback" not in text
    assert "Traceback" not in site.client.get("/notices/1").text  # their own notice: addressed to them


def test_a_pin_must_be_typed_twice_and_be_long_enough(reg):
    invited = portal.invite(reg.advocate, reg.victim)
    client = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    sign_in(client, invited["access_id"], invited["code"])
    token = csrf(client.get("/pin").text)
    assert client.post("/pin", data={"csrf": token, "pin": "abc", "pin_again": "abc"}).status_code == 400
    assert client.post("/pin", data={"csrf": token, "pin": PIN, "pin_again": PIN + "x"}).status_code == 400
    assert client.get("/home").status_code == 303  # no PIN yet: only the PIN page
    assert client.post("/pin", data={"csrf": token, "pin": PIN, "pin_again": PIN}).status_code == 303
    fresh = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    assert sign_in(fresh, invited["access_id"], invited["code"]).status_code == 401  # the code is spent
    assert sign_in(fresh, invited["access_id"], PIN).headers["location"] == "/home"


def test_an_expired_one_time_code_does_not_sign_in(reg):
    invited = portal.invite(reg.advocate, reg.victim)
    reg.clock.advance(timedelta(days=15))
    client = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    assert sign_in(client, invited["access_id"], invited["code"]).status_code == 401


def test_the_portal_cli_invites_reports_and_revokes(run, agency, store):
    import json

    code, out, err = run("avery", "portal", "invite", "--for", str(agency.victim), "--json")
    assert code == 0, err
    issued = json.loads(out)
    code, out, _ = run("avery", "portal", "status", "--for", str(agency.victim), "--json")
    status = json.loads(out)
    assert status["access"] == "invited" and issued["code"] not in out and status["access_id"] == issued["access_id"]
    before = dump(store)
    for args in (["portal", "invite", "--for", str(agency.offender)], ["portal", "invite", "--for", str(agency.minor)],
                 ["portal", "revoke", "--for", str(agency.guardian)], ["portal", "invite", "--for", "999"]):
        code, out, err = run("avery", *args)
        assert code == 1 and err.startswith("Error: ") and len(err.strip().splitlines()) == 1, (args, err)
    code, _, err = run("oscar", "portal", "invite", "--for", str(agency.victim))
    assert code == 1 and "not permitted" in err
    assert dump(store) == before
    code, out, _ = run("avery", "portal", "revoke", "--for", str(agency.victim))
    assert code == 0 and "revoked" in out
    assert json.loads(run("avery", "portal", "status", "--for", str(agency.victim), "--json")[1])["access"] == "revoked"


def test_invite_send_delivers_the_code_on_the_partys_own_channel(agency, smtp):
    out = portal.invite(agency.advocate, agency.victim, send=True)
    assert out["sent_by"] == "email"
    [mail] = smtp.to("maria@example.org")
    text = mail.get_body().get_content()
    assert out["access_id"] in text and out["code"] in text
    assert out["code"] not in repr(dump(agency.store))  # the code is in no row, only its hash


def test_a_victim_acting_for_themselves_is_not_held_back_by_confidentiality_first(site):
    """The rule binds agency staff recording what a victim says; the victim is not staff."""
    fresh = site.advocate.add_party(site.case, "survivor", "Sol Survivor", email="sol@example.org",
                                    channels=("email",))
    with site.store.read() as s:
        case_id = s.get(Process, site.registration).case_id
    who = portal.Viewer(fresh["id"], case_id, "en", False, "unused")
    out = portal.register(site.admin, who, ["escape"])
    assert out["state"] == "active"


def test_a_held_letter_the_victim_was_told_of_is_asked_for_deferred_and_declined(site, tmp_path):
    """Shown only once a notice told her; each step is the workflow's own, as the victim herself."""
    from services import letters
    from tests.test_letter_bank import CHECKLIST, LETTER

    letter = letters.submit(site.officer, site.case, site.victim, site.offender, LETTER, "in_writing")["letter"]
    token = home_csrf(site.client)
    before = dump(site.store)
    assert site.client.post(f"/processes/{letter}/request", data={"csrf": token}).status_code == 404  # not told yet
    assert dump(site.store) == before
    site.vs.send(letter, "begin_review")
    site.vs.send(letter, "accept", params={"checklist": CHECKLIST})
    notify_api.deliver(site.admin, via=_files(tmp_path))  # the letter_held notice she registered for
    page = site.client.get("/home")
    assert f'id="letter-{letter}"' in page.text and LETTER[:20] not in page.text
    for event, state in (("request", "victim_requested"), ("defer", "held"), ("decline", "declined")):
        assert site.client.post(f"/processes/{letter}/{event}", data={"csrf": token}).status_code == 303, event
        with site.store.read() as s:
            assert s.get(Process, letter).state == state


def test_every_word_the_pages_use_is_in_english_and_spanish():
    from pathlib import Path

    from web.i18n import EVENT_NAMES, STRINGS

    assert set(STRINGS["en"]) == set(STRINGS["es"]) and set(EVENT_NAMES["en"]) == set(EVENT_NAMES["es"])
    assert set(EVENT_NAMES["en"]) == set(portal.registration_events())
    used = set()
    for page in (Path(__file__).parent.parent / "web" / "templates").glob("*.html"):
        used |= set(re.findall(r't\(\s*"([a-z_]+)"\s*\)', page.read_text()))
    assert used and used <= set(STRINGS["en"]), used - set(STRINGS["en"])


def test_an_unexpected_error_is_a_plain_page_and_logs_no_details(site, monkeypatch, caplog):
    def broken(app, who):
        raise RuntimeError("Maria Victim +1 312 555 0101")

    monkeypatch.setattr(portal, "overview", broken)
    client = TestClient(site.client.app, base_url="https://testserver", raise_server_exceptions=False,
                        cookies=site.client.cookies)
    answer = client.get("/home")
    assert answer.status_code == 500 and "Traceback" not in answer.text and "Maria" not in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "Maria" not in caplog.text and "312" not in caplog.text


def test_every_delivery_state_a_victim_may_see_has_words_in_both_languages():
    """A letter's mail-room states (issue 18) are shown in the victim's language like the others, never
    as a code."""
    from engine.models import NOTICE_STATUSES
    from web.i18n import STRINGS

    shown = set(NOTICE_STATUSES) - {"cancelled"}  # cancelled copies are not listed (services.portal)
    for language in ("en", "es"):
        assert shown <= set(STRINGS[language]), (language, shown - set(STRINGS[language]))


def test_a_victim_told_of_a_held_letter_by_post_sees_it_once_the_letter_is_mailed(reg, tmp_path):
    """A letter told her (issue 18): it counts once the mail room mailed it, as a sent e-mail does."""
    from services import letters
    from services import mailroom
    from tests.test_letter_bank import CHECKLIST, LETTER

    rosa = reg.advocate.add_party(reg.case, "survivor", "Rosa Quill", address="12 Larch Lane\nOakville, IL 60601",
                                  channels=("letter",))["id"]
    reg.advocate.explain_confidentiality(rosa, "in_writing")
    notify_api.register(reg.advocate, reg.case, rosa, "letter_held", "in_writing")
    invited = portal.invite(reg.advocate, rosa)
    client = TestClient(create(reg.admin), base_url="https://testserver", follow_redirects=False)
    sign_in(client, invited["access_id"], invited["code"])
    page = client.get("/pin")
    client.post("/pin", data={"csrf": csrf(page.text), "pin": PIN, "pin_again": PIN})
    letter = letters.submit(reg.officer, reg.case, rosa, reg.offender, LETTER, "in_writing")["letter"]
    reg.vs.send(letter, "begin_review")
    reg.vs.send(letter, "accept", params={"checklist": CHECKLIST})
    notify_api.deliver(reg.admin, via=_files(tmp_path))
    assert f'id="letter-{letter}"' not in client.get("/home").text  # waiting for the mail room: not yet told
    reg.admin.set_setting("letters.return_address", "Victim Services Unit; 100 Main Street; Springfield, IL 62701")
    reg.admin.add_staff("mo", "Mo Mailroom", "mailroom")
    clerk = reg.admin.as_user("mo")
    clerk.outbox = tmp_path / "outbox"
    batch = mailroom.batch(clerk)
    mailroom.mailed(clerk, batch["batch"])
    page = client.get("/home")
    assert f'id="letter-{letter}"' in page.text and "awaiting_print" not in page.text
