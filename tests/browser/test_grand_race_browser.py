"""Real browser: the grand race animates client-side in Debian's chromium (Playwright, no browser download)."""

from __future__ import annotations

import os

import pytest

from live_server import CHROMIUM, launch_browser, streamlit_app
from player_helpers import PLAYER, frame, player, state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (browser tests never download one)"),
]



@pytest.fixture(scope="module")
def race_page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with streamlit_app() as url, playwright_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{url}/grand_race?landscape=rosenbrock&steps=500", wait_until="domcontentloaded")
        page.wait_for_selector(PLAYER, timeout=90_000)
        player(page).scroll_into_view_if_needed()
        yield page
        browser.close()


def test_frame_advances_while_playing_and_stops_when_paused(race_page):
    first = frame(race_page)
    race_page.wait_for_timeout(1500)
    second = frame(race_page)
    assert second > first, "the player advances the frame in the browser"
    play = player(race_page).locator("button.play")
    play.click()
    paused = frame(race_page)
    race_page.wait_for_timeout(1200)
    assert frame(race_page) == paused, "paused: the frame holds still"
    play.click()
    race_page.wait_for_timeout(800)
    assert frame(race_page) > paused or frame(race_page) == 500


def colour_share(image, hex_colour: str, tolerance: int = 18) -> float:
    import numpy as np

    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    return float((np.abs(pixels - target).max(axis=-1) <= tolerance).mean())


def test_surface_and_legend_are_drawn(race_page):
    import io

    from PIL import Image

    from descent_ui.theme import OPTIMIZER_COLORS, colormap

    chart = player(race_page).locator(".chart")
    picture = Image.open(io.BytesIO(chart.screenshot()))
    ramp = ["#%02x%02x%02x" % tuple(colormap(v)) for v in [i / 20 for i in range(21)]]
    painted = sum(colour_share(picture, colour, tolerance=6) for colour in ramp)
    assert painted > 0.2, "the loss surface (our colour ramp) fills the plot under the trails"
    width, height = picture.size
    legend = picture.crop((0, int(height * 0.75), width, height))  # the legend sits under the plots
    for opt in ("adam", "momentum", "lion"):
        assert colour_share(legend, OPTIMIZER_COLORS[opt]) > 0.0002, f"{opt}'s legend swatch is drawn"
    assert race_page.get_by_text("Link parameter ignored").count() == 0
    assert race_page.get_by_text("Page not found").count() == 0


def test_a_deep_link_opens_inside_the_app_frame(race_page):
    # The server's very first request was this deep link: the page must still get app.py's grouped navigation
    # and sidebar, not Streamlit's file-list fallback.
    sidebar = race_page.locator("[data-testid=stSidebar]")
    assert sidebar.get_by_text("Foundations", exact=True).count() == 1
    assert sidebar.get_by_text("Animation speed").count() == 1


def test_url_carries_the_race(race_page):
    assert "landscape=rosenbrock" in race_page.url
    assert "steps=500" in race_page.url
    assert "speed=" in race_page.url


def test_no_deploy_button_for_readers(race_page):
    assert race_page.get_by_role("button", name="Deploy").count() == 0
    assert race_page.locator("[data-testid=stAppDeployButton]").count() == 0


def test_fair_mode_tunes_then_races_in_the_browser(race_page):
    """Last in the module: it changes the race. The toggle tunes every optimizer by the same sweep, then the
    player draws the tuned race and the page discloses the budget and each winning rate."""
    from descent_ui import fair_view

    race_page.get_by_text("Fair mode: tune each optimizer's learning rate first", exact=False).click()
    race_page.get_by_text(fair_view.CLAIM[:40], exact=False).first.wait_for(timeout=180_000)
    race_page.wait_for_selector(PLAYER, timeout=90_000)
    tuning = race_page.locator("[data-testid=stDataFrame]").last
    tuning.wait_for(state="attached", timeout=60_000)  # the grid draws on a canvas once scrolled into view
    assert race_page.get_by_text("Budget:", exact=False).count() >= 1 and race_page.get_by_text("Objective:", exact=False).count() >= 1
    before = frame(race_page)
    race_page.wait_for_timeout(1200)
    assert frame(race_page) != before or frame(race_page) == 500, "the tuned race plays"
    assert race_page.locator("[data-testid=stException]").count() == 0
