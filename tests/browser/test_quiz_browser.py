"""Real browser: a live `streamlit run` of the quiz, driven by Debian's chromium through Playwright.

Checks what AppTest cannot: the countdown fragment ticks by itself in the browser, and a multiple-choice
card can be answered with its keyboard shortcut.
"""

from __future__ import annotations

import os
import re
import time
import textwrap

import pytest

from live_server import CHROMIUM, launch_browser, streamlit_app

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


@pytest.fixture
def server(tmp_path):
    app = tmp_path / "quiz_wrapper.py"
    app.write_text(WRAPPER)
    with streamlit_app(str(app), env={"DESCENT_DB_URL": f"sqlite:///{tmp_path / 'browser.db'}"}) as url:
        yield url


def countdown_seconds(page) -> int:
    text = page.get_by_text(re.compile(r"\d+ s left")).first.inner_text(timeout=60_000)
    return int(re.search(r"(\d+) s left", text).group(1))


def test_countdown_ticks_and_a_choice_card_is_answered_by_keyboard(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from descent_core.quiz import load_deck

    first = next(c for c in load_deck().cards if c.kind == "choice")
    with sync_api.sync_playwright() as p:
        browser = launch_browser(p)
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
