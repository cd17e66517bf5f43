"""The review page and the report in a real headless Chromium (Debian's chromium and
chromium-driver under Selenium): no console errors, one ``data-shot`` element per shot, clicks
that change the plan file exactly as the API says, a re-plan round trip that keeps the locks,
the token, and a screenshot kept as a test artifact (``$MUSYNC_ARTIFACTS``, default
``test-artifacts/`` in the checkout)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from musync.planfile import load_plan
from musync.review import ReviewSession, write_report

from review_browser import browser_missing, chromium, console_errors, live_server, wait_ready
from review_media import fresh_plan, make_review_media

pytestmark = pytest.mark.skipif(bool(browser_missing()), reason=browser_missing() or "browser present")

ARTIFACTS = Path(os.environ.get("MUSYNC_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return make_review_media(tmp_path_factory.mktemp("review_browser"))


@pytest.fixture(scope="module")
def driver():
    with chromium(1600, 1100) as d:
        yield d


@pytest.fixture
def page(media, tmp_path, driver):
    """(driver, session, url) with the page loaded and drawn."""
    path = fresh_plan(media, tmp_path)
    session = ReviewSession(path, load_plan(path), analysis=media["analysis"], clips=media["clips"])
    with live_server(session) as url:
        console_errors(driver)       # start with an empty log
        driver.get(url)
        wait_ready(driver)
        yield driver, session, url
        driver.get("about:blank")    # leave the page before its server goes
        console_errors(driver)
    session.close()


def api(driver, method: str, path: str, body=None):
    """Call the API from inside the page, as the page does (same origin, the page's token)."""
    return driver.execute_async_script("""
        const [method, path, body, done] = arguments;
        const token = new URLSearchParams(location.search).get("token");
        fetch("api/" + path, {method, headers: {"X-Musync-Token": token, "Content-Type": "application/json"},
                              body: body === null ? undefined : JSON.stringify(body)})
          .then(async (r) => done({status: r.status, body: await r.text()}));
    """, method, path, body)


def click_shot(driver, i: int):
    el = driver.find_element("css selector", f'#strip [data-shot="{i}"]')
    driver.execute_script("arguments[0].scrollIntoView({inline: 'center', block: 'nearest'})", el)
    el.click()
    wait_for(driver, f"return document.querySelector('#inspector h2') && "
                     f"document.querySelector('#inspector h2').textContent.startsWith('Shot {i} ')")


def wait_for(driver, script: str, timeout: float = 15.0):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def idle(driver):
    """Wait until the page has no request in flight (it marks the body while busy)."""
    wait_for(driver, "return !document.body.dataset.busy")


def test_page_loads_without_errors_with_one_element_per_shot(page, media):
    driver, session, url = page
    time.sleep(0.5)      # let the thumbnails arrive
    assert console_errors(driver) == []
    n = len(session.plan.shots)
    strip = driver.find_elements("css selector", "#strip [data-shot]")
    assert [int(e.get_attribute("data-shot")) for e in strip] == list(range(n))
    # every thumbnail in the strip decoded (a broken image has naturalWidth 0)
    broken = driver.execute_script(
        "return [...document.querySelectorAll('#strip img')].filter(i => i.complete && !i.naturalWidth).length")
    assert broken == 0
    # the time axis: the climax is drawn where the song has it (left edge of the strip = 0 s)
    assert driver.execute_script("return document.querySelector('#song-facts').textContent").count("shots")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    click_shot(driver, 3)
    driver.save_screenshot(str(ARTIFACTS / "review.png"))
    assert (ARTIFACTS / "review.png").stat().st_size > 10_000


def test_clicking_lock_and_save_changes_the_file_as_the_api_says(page):
    driver, session, url = page
    before = session.path.read_text()
    click_shot(driver, 2)
    driver.find_element("id", "lockbtn").click()
    wait_for(driver, "return document.querySelector('#strip [data-shot=\"2\"]').classList.contains('locked')")
    assert driver.find_element("id", "dirty").is_displayed()
    assert session.path.read_text() == before
    driver.find_element("id", "save").click()
    wait_for(driver, "return document.getElementById('dirty').hidden")
    on_disk = json.loads(session.path.read_text())
    r = api(driver, "GET", "plan")
    assert r["status"] == 200 and json.loads(r["body"]) == on_disk
    assert [s["index"] for s in on_disk["shots"] if s["locked"]] == [2]
    assert session.path.with_name(session.path.name + ".history").is_dir()
    assert console_errors(driver) == []


def test_replan_round_trip_keeps_the_locks(page):
    driver, session, url = page
    plan = session.plan
    body = driver.find_element("tag name", "body")
    for i in (1, len(plan.shots) - 2):
        click_shot(driver, i)
        body.send_keys("l")
        wait_for(driver, f"return document.querySelector('#strip [data-shot=\"{i}\"]').classList.contains('locked')")
    kept = [(s.record_in, s.record_out, s.source, s.source_in) for s in plan.shots if s.index in (1, len(plan.shots) - 2)]
    driver.find_element("id", "replan").click()
    wait_for(driver, "return /re-planned around 2 locked/.test(document.getElementById('toast').textContent)")
    new = json.loads(api(driver, "GET", "plan")["body"])
    got = [(s["record_in"], s["record_out"], s["source"], s["source_in"]) for s in new["shots"] if s["locked"]]
    assert got == kept
    locked_el = [int(e.get_attribute("data-shot")) for e in driver.find_elements("css selector", "#strip .shot.locked")]
    assert locked_el == [s["index"] for s in new["shots"] if s["locked"]]
    assert len(driver.find_elements("css selector", "#strip [data-shot]")) == len(new["shots"])
    # undo brings the plan before the re-plan back, exactly
    body.send_keys("\ue009z")   # Ctrl+Z
    wait_for(driver, "return document.getElementById('toast').textContent === 'undone'")
    assert [s["source_in"] for s in json.loads(api(driver, "GET", "plan")["body"])["shots"]] == [
        s.source_in for s in plan.shots]
    assert console_errors(driver) == []


def test_the_token_is_required(page):
    driver, session, url = page
    base = url.split("?")[0]
    assert api(driver, "GET", "plan")["status"] == 200
    r = driver.execute_async_script("""
        const done = arguments[0];
        fetch("api/plan", {headers: {"X-Musync-Token": "guess"}}).then((r) => done(r.status));""")
    assert r == 403
    driver.get(base)
    assert "token" in driver.find_element("tag name", "body").text
    assert not driver.find_elements("css selector", "[data-shot]")
    driver.get_log("browser")  # the refused page logs its 403; that is the point of this test


def test_variants_side_by_side(page):
    driver, session, url = page
    driver.find_element("css selector", '#tabs [data-tab="variants"]').click()
    driver.find_element("id", "mkvar").click()
    wait_for(driver, "return document.querySelectorAll('#panel .vrow').length === 4", timeout=30)
    rows = driver.find_elements("css selector", "#panel .vrow")
    assert "current" in rows[0].text and "seed 1" in rows[1].text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script("document.getElementById('panel').scrollIntoView()")
    driver.save_screenshot(str(ARTIFACTS / "review-variants.png"))
    assert console_errors(driver) == []


def test_report_opens_offline_with_the_same_picture(media, tmp_path, driver):
    out = write_report(media["plan_path"], tmp_path / "report.html", analysis=media["analysis"], clips=media["clips"])
    html = out.read_text()
    assert "static/app." not in html and "api/" not in html.split("window.MUSYNC_REPORT")[0]
    driver.get(out.as_uri())
    wait_ready(driver)
    n = len(media["plan"].shots)
    assert len(driver.find_elements("css selector", "#strip [data-shot]")) == n
    imgs = driver.execute_script("return [...document.querySelectorAll('#strip img')].map(i => i.src.slice(0, 11))")
    assert len(imgs) == n and set(imgs) == {"data:image/"}     # every shot has its picture inline
    assert not driver.find_element("id", "replan").is_displayed()
    assert console_errors(driver) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "report.png"))


def test_leaving_with_unsaved_changes_asks_first(page):
    """The page cancels ``beforeunload`` while a change is unsaved (the browser then asks before
    closing). Headless Chromium under ChromeDriver shows no such dialog, so the test dispatches
    the event itself and reads whether the page cancelled it."""
    driver, session, url = page
    would_ask = ("const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); "
                 "return e.defaultPrevented;")
    assert driver.execute_script(would_ask) is False
    click_shot(driver, 1)
    driver.find_element("id", "lockbtn").click()
    wait_for(driver, "return !document.getElementById('dirty').hidden")
    assert driver.execute_script(would_ask) is True
    driver.refresh()                      # a reload gets the unsaved change back from the server
    wait_ready(driver)
    assert driver.find_element("css selector", '#strip [data-shot="1"]').get_attribute("class").count("locked")
    assert driver.find_element("id", "dirty").is_displayed()
    driver.find_element("id", "save").click()
    wait_for(driver, "return document.getElementById('dirty').hidden")
    assert driver.execute_script(would_ask) is False
