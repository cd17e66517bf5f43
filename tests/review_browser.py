"""Helpers for the review page's browser tests: a live server in a thread, headless Chromium.

Chromium and ChromeDriver are Debian's (``chromium``, ``chromium-driver``: ``.ci/run`` installs
them); Selenium drives them through ``/usr/bin/chromedriver`` and downloads nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = os.environ.get("MUSYNC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MUSYNC_CHROMEDRIVER", "/usr/bin/chromedriver")


def browser_missing() -> str:
    """Why no browser test can run here ('' when one can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not (Path(exe).is_file() and os.access(exe, os.X_OK)):
            return f"{exe} not found: install Debian's chromium and chromium-driver (.ci/run does)"
    return ""


@contextlib.contextmanager
def live_server(session, token: str = "test-token"):
    """Serve ``session`` on a free 127.0.0.1 port in a thread; yields the page URL."""
    import uvicorn

    from musync.review.server import _bind, make_app

    sock = _bind(0)
    port = sock.getsockname()[1]
    app = make_app(session, token, port=port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    t0 = time.monotonic()
    while not server.started:
        if time.monotonic() - t0 > 20 or not th.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/?token={token}"
    finally:
        server.should_exit = True
        th.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def chromium(width: int = 1600, height: int = 1000):
    """A headless Chromium under Selenium with console logging on; quits and cleans up after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="musync-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
                 f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    """Console messages of level SEVERE since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def wait_ready(driver, timeout: float = 20.0) -> None:
    """Wait until the page says it has drawn the plan (``body[data-ready]``)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
