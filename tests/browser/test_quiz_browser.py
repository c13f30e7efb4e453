"""Real browser: a live `streamlit run` of the quiz, driven by Debian's chromium through Playwright.

Checks what AppTest cannot: the countdown fragment ticks by itself in the browser, and a multiple-choice
card can be answered with its keyboard shortcut.
"""

from __future__ import annotations

import os
import pathlib
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (browser tests never download one)"),
]

# A tiny wrapper page: it opens a two-card session of the first two choice cards, so the test knows the answers.
WRAPPER = textwrap.dedent(
    """
    import streamlit as st
    from descent_ui import quiz

    quiz._init_state()
    if "browser.started" not in st.session_state:
        cards = quiz.deck()
        ids = [c.id for c in cards.cards if c.kind == "choice"][:2]
        quiz.start_session(cards, "drill", 2, [], card_ids=ids)
        st.session_state["browser.started"] = True
    quiz.render()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture
def server(tmp_path):
    app = tmp_path / "quiz_wrapper.py"
    app.write_text(WRAPPER)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESCENT_DB_URL": f"sqlite:///{tmp_path / 'browser.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, proc)
        yield url
    finally:  # stop exactly the process this test started
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def countdown_seconds(page) -> int:
    text = page.get_by_text(re.compile(r"\d+ s left")).first.inner_text(timeout=60_000)
    return int(re.search(r"(\d+) s left", text).group(1))


def test_countdown_ticks_and_a_choice_card_is_answered_by_keyboard(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from descent_core.quiz import load_deck

    first = next(c for c in load_deck().cards if c.kind == "choice")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(server, wait_until="domcontentloaded")
            page.get_by_text("card 1 of 2").wait_for(timeout=90_000)
            started = countdown_seconds(page)
            t0 = time.monotonic()
            page.wait_for_timeout(3_500)
            later = countdown_seconds(page)
            waited = time.monotonic() - t0
            print(f"\ncountdown {started} -> {later} s over {waited:.1f} s of wall time")
            assert later < started, "the countdown did not tick"
            assert started - later <= waited + 2

            # Press the digit of the right option: the button's keyboard shortcut answers the card.
            page.mouse.click(5, 5)  # focus the page, not a widget, so the key reaches Streamlit's shortcut handler
            page.keyboard.press(str(first.correct + 1))
            page.get_by_text("Right!").wait_for(timeout=30_000)
            page.get_by_role("button", name=re.compile("Next card")).click()
            page.get_by_text("card 2 of 2").wait_for(timeout=30_000)
        finally:
            browser.close()
