"""Real browser: the four explanatory views draw in Debian's chromium, and clicking a rate-map cell races that cell."""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pytest

from live_server import CHROMIUM, launch_browser, streamlit_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (browser tests never download one)"),
]

VIEWS = {"momentum": ["rate_map", "eigenbasis"], "frontier": ["muon_spectrum"], "grand_race": ["basin_map"]}
NUMBER = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"
RACING = re.compile(rf"Racing the cell you clicked, η = {NUMBER}, μ = {NUMBER}")


@pytest.fixture(scope="module")
def browser_page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with streamlit_app() as url, playwright_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        yield url, page
        browser.close()


def view_box(page, view_id: str):
    selector = f"[class*='view-{view_id}']"
    page.wait_for_selector(f"{selector} .vega-embed canvas, {selector} .vega-embed svg", timeout=120_000,
                           state="attached")
    return page.locator(selector).first


def pixels_of(embed) -> np.ndarray:
    from PIL import Image

    embed.scroll_into_view_if_needed()
    return np.asarray(Image.open(io.BytesIO(embed.screenshot())).convert("RGB")).reshape(-1, 3).astype(int)


def drawn(embed) -> float:
    """Share of an embed's pixels that differ from its most common colour (the background)."""
    pixels = pixels_of(embed)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    return float((np.abs(pixels - colours[counts.argmax()]).max(axis=1) > 12).mean())


def share(pixels: np.ndarray, hex_colour: str, tolerance: int = 24) -> float:
    if hex_colour == "saturated":  # any strong colour (the heatmap's ramp), as opposed to white, grey and text
        return float((pixels.max(axis=1) - pixels.min(axis=1) > 60).mean())
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(pixels - target).max(axis=1) <= tolerance).mean())


# Colours each view's first chart must show: its data, not only axes.
MUST_SHOW = {
    "rate_map": {"saturated": 0.25, "#dee2e6": 0.05},  # the viridis cells; the grey of the diverged ones
    "eigenbasis": {"#1c7ed6": 0.0005, "#e8590c": 0.0005},  # the two components
    "basin_map": {"#f59f00": 0.03, "#1c7ed6": 0.03, "#2b8a3e": 0.03, "#ae3ec9": 0.03},  # four basins
    "muon_spectrum": {"#0b7285": 0.0005, "#e03131": 0.0005},  # Newton–Schulz's values; the polar factor's
}


@pytest.mark.parametrize("path, view_id", [(p, v) for p, ids in VIEWS.items() for v in ids])
def test_each_view_draws_its_chart_and_its_verdicts(browser_page, path, view_id):
    url, page = browser_page
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    if path == "grand_race":  # the section's body sits in an expander under the race
        page.get_by_text("How to read the race").first.click()
    box = view_box(page, view_id)
    embeds = box.locator(".vega-embed")
    assert embeds.count() >= 1
    first = embeds.first
    first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    size = first.bounding_box()
    assert size["width"] > 250 and size["height"] > 250, size
    pixels = pixels_of(first)
    for colour, least in MUST_SHOW[view_id].items():
        assert share(pixels, colour) >= least, f"{view_id} paints {colour}"
    assert box.get_by_text(re.compile(r"\d+ of \d+ properties hold")).count() == 1
    assert box.get_by_text("fails here").count() == 0
    assert page.get_by_text("Traceback").count() == 0


def test_clicking_a_rate_map_cell_races_that_cell(browser_page):
    from descent_core.views import rate_map

    url, page = browser_page
    page.goto(f"{url}/momentum", wait_until="domcontentloaded")
    box = view_box(page, "rate_map")
    box.get_by_text("Racing heavy ball's optimum").wait_for(timeout=60_000)
    cells = rate_map().frames["cells"]
    chart = box.locator(".vega-embed").first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    seen = []
    for fx, fy in ((0.35, 0.45), (0.55, 0.6)):  # two points inside the plot area (legends sit above and below)
        area = chart.bounding_box()
        page.mouse.click(area["x"] + fx * area["width"], area["y"] + fy * area["height"])
        racing = box.get_by_text(RACING)
        racing.wait_for(timeout=60_000)
        page.wait_for_function(
            "([sel, old]) => { const el = document.querySelector(sel); return el && !el.innerText.includes(old); }",
            arg=[f"[class*='view-rate_map']", seen[-1] if seen else "Racing heavy ball's optimum"], timeout=60_000)
        lr, mu = (float(v) for v in RACING.search(box.inner_text()).groups())
        seen.append(f"η = {lr:.4g}, μ = {mu:.3g}")
        # The clicked values are a cell of the grid, and the race below runs exactly them.
        distance = np.abs(cells["lr"] - lr) / cells["lr"].max() + np.abs(cells["mu"] - mu)
        row = cells.iloc[int(distance.argmin())]
        assert distance.min() < 2e-3, (lr, mu)
        rate = float(row["rate"])
        claim = f"Heavy ball at this cell contracts its error by {rate:.4f} per step"
        box.get_by_text(claim).first.wait_for(timeout=60_000)
        player = box.locator(".vega-embed").nth(1)
        player.scroll_into_view_if_needed()
        assert drawn(player) > 0.05, "the race of the clicked cell is drawn"
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
    assert seen[0] != seen[1], "a second click races the second cell"
