"""The portal in a real browser: Debian's Chromium, headless, driven through Selenium and its
chromedriver, against the portal served by uvicorn on loopback (one server and one browser for the
module). A victim signs in, switches to Spanish, changes a channel, confirms an urgent notice, asks
for a dialogue and withdraws it, opts out, and leaves with the quick exit. Each page is saved as a
screenshot in tests/screenshots/ (desktop and a 390x844 phone).

Without Chromium the module is skipped with a reason, except under CI (the ``CI`` variable set),
where a missing browser fails: `.ci/run` and `make install` (as root) install it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import KEY, START

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = Path(__file__).parent / "screenshots"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage", "--window-size=1100,1400")
PIN = "blue kettle 77"


def _browser_or_reason():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        return None, f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}): `make install` as root"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, "needs selenium (pip install -e '.[test]')"
    return True, ""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    found, reason = _browser_or_reason()
    if not found:
        if os.environ.get("CI"):
            pytest.fail(f"CI: the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(15)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A fresh SQLite agency (the conftest's story), a victim registered, an urgent notice sent to her,
    her portal access issued, and the portal on a loopback port."""
    import uvicorn

    from engine.channels import files_only
    from engine.clock import SimulatedClock
    from engine.db import Store
    from engine.schema import store_key_check, upgrade
    from services import notify_api, portal
    from tests.conftest import build_admin, build_agency
    from web.app import create

    folder = tmp_path_factory.mktemp("portal-browser")
    store = Store(f"sqlite:///{folder / 'vcase.db'}", [KEY])
    upgrade(store)
    store_key_check(store)
    clock = SimulatedClock(START)
    agency = build_agency(build_admin(store, clock, folder / "outbox"))
    agency.registration = notify_api.register(agency.advocate, agency.case, agency.victim, "all", "phone")["process"]
    notify_api.record_event(agency.officer, agency.case, "escape", clock.now())
    notify_api.deliver(agency.admin, via=files_only(folder / "files"))
    with store.write() as s:  # she reads English; she switches the pages to Spanish in the test
        from engine import records

        records.change_choices(s, store.vault, agency.advocate._actor(s), agency.victim, clock.now(), language="en")
    agency.invited = portal.invite(agency.advocate, agency.victim)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create(agency.admin), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    agency.url = f"http://localhost:{port}"
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir()
    yield agency
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


def shot(driver, name: str) -> None:
    """The page at desktop width, then at a phone's (390x844), whole height."""
    for label, width in (("desktop", 1100), ("phone", 390)):
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(844, min(height + 140, 4000)))
        driver.save_screenshot(str(SHOTS / f"{name}-{label}.png"))
    driver.set_window_size(1100, 1400)


def click(driver, element_id: str, navigates: bool = True) -> None:
    """Click, and wait for the next page when the click submits a form or follows a link."""
    from selenium.webdriver.common.by import By

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, element_id).click()
    if navigates:
        wait_for_next_page(driver, page)


def wait_for_next_page(driver, page) -> None:
    """Until ``page`` (the old document's root) is gone and the new document has loaded. While the
    browser is between documents, chromedriver may answer that the node no longer belongs to the
    document instead of that it is stale: both mean the old page is gone."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_):
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            return True

    WebDriverWait(driver, 10).until(gone)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def field(driver, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(text)


def process_rows(store, workflow):
    from sqlalchemy import select

    from engine.models import Process

    with store.read() as s:
        return s.execute(select(Process).where(Process.workflow == workflow).order_by(Process.id)).scalars().all()


def test_a_victim_uses_the_portal_in_a_real_browser(browser, served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from engine.models import Notice

    d = browser
    d.get(served.url + "/")
    assert d.current_url.endswith("/sign-in")
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)  # the first stop is the skip link, then the quick exit
    assert d.switch_to.active_element.get_attribute("class") == "skip"
    shot(d, "01-sign-in")

    field(d, "access_id", served.invited["access_id"].lower().replace("-", " "))
    field(d, "secret", served.invited["code"])
    click(d, "sign-in")
    assert d.current_url.endswith("/pin"), d.find_element(By.TAG_NAME, "main").text
    shot(d, "02-choose-pin")
    field(d, "pin", PIN)
    field(d, "pin_again", PIN)
    click(d, "save-pin")
    assert d.current_url.endswith("/home")
    cookies = {c["name"]: c for c in d.get_cookies()}
    assert cookies["vcase_session"]["httpOnly"] and cookies["vcase_session"]["secure"]
    assert cookies["vcase_session"]["sameSite"] == "Strict"
    shot(d, "03-home")

    click(d, "lang-es")  # the page in Spanish
    assert d.find_element(By.TAG_NAME, "h1").text == "Su página"
    assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    shot(d, "04-home-spanish")

    click(d, "channel_sms", navigates=False)  # texts off: e-mail only
    click(d, "save-choices")
    assert d.find_element(By.ID, "done").text == "Hecho."
    assert served.advocate.show_party(served.victim)["channels"] == ["email"]

    d.get(served.url + "/notices")
    with served.store.read() as s:
        urgent = s.query(Notice).filter(Notice.recipient_party_id == served.victim, Notice.emergency.is_(True),
                                        Notice.status == "sent").first()
    shot(d, "05-notices")
    click(d, f"confirm-{urgent.id}")
    with served.store.read() as s:
        assert s.get(Notice, urgent.id).status == "confirmed"
    assert not d.find_elements(By.ID, f"confirm-{urgent.id}")
    d.get(served.url + f"/notices/{urgent.id}")
    shot(d, "06-notice")

    d.get(served.url + "/home")
    click(d, "request-dialogue")
    dialogue = process_rows(served.store, "dialogue")[-1]
    assert dialogue.state == "requested" and dialogue.initiator_party_id == served.victim
    shot(d, "07-dialogue-requested")
    click(d, f"dialogue-{dialogue.id}-withdraw")
    assert process_rows(served.store, "dialogue")[-1].state == "withdrawn"

    click(d, "opt-out-all")
    assert process_rows(served.store, "notification")[-1].state == "withdrawn"
    shot(d, "08-opted-out")

    click(d, "quick-exit")  # leaves at once (the closed network shows an error page there, which is fine)
    assert not d.current_url.startswith(served.url), d.current_url
    assert "weather.gov" in d.current_url


def test_escape_leaves_at_once_and_errors_are_plain_pages(browser, served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d = browser
    d.get(served.url + "/notices/999999")
    assert "Traceback" not in d.page_source
    shot(d, "09-not-found")
    page = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait_for_next_page(d, page)
    assert "weather.gov" in d.current_url
