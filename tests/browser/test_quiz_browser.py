"""Real browser: a live `streamlit run` of the quiz, driven by Debian's chromium through Playwright.

Checks what AppTest cannot: the countdown fragment ticks by itself; a choice card is answered, an explain-aloud card
revealed and graded, and the session advanced, all from the keyboard; a numeric answer box has the cursor; a hidden
page pauses the card; and a reload (F5) resumes the session where it was.
"""

from __future__ import annotations

import os
import re
import textwrap
import time

import pytest

from live_server import CHROMIUM, launch_browser, streamlit_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (browser tests never download one)"),
]

# A tiny wrapper page: a local profile, then a session of known cards (a choice, an explain, a numeric), so the
# test knows the answers. A reload goes through the quiz page's own resume path (the token in the URL).
WRAPPER = textwrap.dedent(
    """
    import streamlit as st
    from descent_core.quiz import profiles
    from descent_ui import progress_store, quiz, quiz_flow

    quiz_flow.init_state()
    if "resume" not in st.query_params and "browser.started" not in st.session_state:
        engine = progress_store.engine()
        found = profiles.find_profile(engine, "ada") or profiles.create_profile(engine, "ada")
        progress_store.adopt(found)
        cards = quiz_flow.deck()
        kinds = ("choice", "explain", "numeric")
        ids = [next(c.id for c in cards.cards if c.kind == kind) for kind in kinds]
        quiz_flow.start_session(cards, "drill", 3, [], card_ids=ids)
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


def press(page, key: str) -> None:
    page.mouse.click(5, 5)  # focus the page, not a widget, so the key reaches Streamlit's shortcut handler
    page.keyboard.press(key)


def test_keyboard_session_focus_pause_and_reload_resume(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from descent_core.quiz import load_deck

    first = next(c for c in load_deck().cards if c.kind == "choice")
    with sync_api.sync_playwright() as p:
        browser = launch_browser(p)
        try:
            page = browser.new_page()
            page.goto(server, wait_until="domcontentloaded")
            page.get_by_text("card 1 of 3").wait_for(timeout=90_000)
            started = countdown_seconds(page)
            t0 = time.monotonic()
            page.wait_for_timeout(3_500)
            later = countdown_seconds(page)
            waited = time.monotonic() - t0
            print(f"\ncountdown {started} -> {later} s over {waited:.1f} s of wall time")
            assert later < started, "the countdown did not tick"
            assert started - later <= waited + 2

            # Card 1 (choice): the digit of the right option answers it; N moves on.
            press(page, str(first.correct + 1))
            page.get_by_text("Right!").wait_for(timeout=30_000)
            press(page, "n")
            page.get_by_text("card 2 of 3").wait_for(timeout=30_000)

            # Card 2 (explain): V reveals, 3 grades Good, U undoes the grade, 2 grades Hard, N moves on.
            press(page, "v")
            page.get_by_text("How well did you know it?").wait_for(timeout=30_000)
            press(page, "3")
            page.get_by_text(re.compile("Graded Good")).wait_for(timeout=30_000)
            press(page, "u")
            page.get_by_text("How well did you know it?").wait_for(timeout=30_000)
            press(page, "2")
            page.get_by_text(re.compile("Graded Hard")).wait_for(timeout=30_000)
            press(page, "n")
            page.get_by_text("card 3 of 3").wait_for(timeout=30_000)

            # Card 3 (numeric): the cursor is in the answer box without a click.
            box = page.get_by_label("Your answer")
            box.wait_for(timeout=30_000)
            page.wait_for_function("document.activeElement && document.activeElement.getAttribute('aria-label') === 'Your answer'",
                                   timeout=30_000)

            # F5 mid-session: the same card, position and score come back (the token in the URL finds them).
            assert "resume=" in page.url
            page.reload(wait_until="domcontentloaded")
            page.get_by_text("card 3 of 3").wait_for(timeout=90_000)
            page.get_by_label("Your answer").wait_for(timeout=30_000)
            assert page.get_by_text(re.compile("card 1 of 3|card 2 of 3")).count() == 0

            # Leaving the page (hidden) pauses the card; P resumes it.
            page.evaluate("""() => {
                Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
                document.dispatchEvent(new Event('visibilitychange'));
            }""")
            page.get_by_text(re.compile("Paused: the clock has stopped")).wait_for(timeout=30_000)
            page.evaluate("() => { Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true}); }")
            press(page, "p")
            page.get_by_label("Your answer").wait_for(timeout=30_000)
        finally:
            browser.close()
