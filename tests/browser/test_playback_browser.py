"""Real browser: the race player's controls. Play and pause, a step back and forward, replay from the start, speeds
that differ as they say, the keyboard, the legend picking one optimizer on both panels, hover tooltips, and a click
on the map restarting the race there (kept in the URL). Playback itself sends nothing over the websocket."""

from __future__ import annotations

import os
import time

import pytest

from live_server import CHROMIUM, launch_browser, streamlit_app
from player_helpers import PLAYER, frame, items, legend_label, page_point, player, state, surface_box

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (browser tests never download one)"),
]

RACE = "grand_race?landscape=rosenbrock&steps=1000&opts=adam,lion,momentum,shampoo"


@pytest.fixture(scope="module")
def session():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with streamlit_app() as url, playwright_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        received: list[tuple[float, int]] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(
            (time.monotonic(), len(data) if isinstance(data, (bytes, str)) else 0))))
        page.goto(f"{url}/{RACE}", wait_until="domcontentloaded")
        page.wait_for_selector(PLAYER, timeout=120_000)
        wait_for_run(page)  # the rest of the page (results table...) arrives after the player is drawn
        player(page).scroll_into_view_if_needed()
        yield page, received, url
        browser.close()


def wait_for_run(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'",
        timeout=120_000)
    page.wait_for_timeout(500)


def button(page, name: str):
    return player(page).locator(f"button.{name}")


def test_plays_pauses_and_sends_nothing_while_playing(session):
    page, received, _ = session
    page.wait_for_timeout(1000)
    assert state(page)["playing"] == "1", "the race starts playing once it is on screen"
    start, count = frame(page), len(received)
    t0 = time.monotonic()
    page.wait_for_timeout(2000)
    assert frame(page) > start, "the frame advances in the browser"
    assert sum(size for t, size in received[count:] if t >= t0) == 0, "no websocket traffic while playing"
    button(page, "play").click()
    assert state(page)["playing"] == "0"
    paused = frame(page)
    page.wait_for_timeout(800)
    assert frame(page) == paused, "paused: the frame holds still"


def test_steps_back_and_forward_by_one_recorded_step(session):
    page, _, _ = session
    if state(page)["playing"] == "1":
        button(page, "play").click()
    stride = player(page).evaluate("e => e.__player.stride")
    here = frame(page)
    button(page, "forward").click()
    assert frame(page) in (here - here % stride + stride, 1000)
    after = frame(page)
    button(page, "back").click()
    assert frame(page) == after - stride


def test_replay_starts_from_zero_and_plays(session):
    page, _, _ = session
    button(page, "replay").click()
    page.wait_for_timeout(100)
    st = state(page)
    assert st["playing"] == "1" and int(st["frame"]) < 60


def frames_per_second_at(page, label: str) -> float:
    player(page).locator("select.speed").select_option(label=label)
    button(page, "replay").click()
    page.wait_for_timeout(300)
    a, t0 = frame(page), time.monotonic()
    page.wait_for_timeout(1500)
    return (frame(page) - a) / (time.monotonic() - t0)


def test_speeds_differ_visibly_and_go_into_the_url(session):
    page, _, _ = session
    slow = frames_per_second_at(page, "½×")
    fast = frames_per_second_at(page, "2×")
    assert fast > 2.5 * slow, f"2× ran {fast:.0f} steps/s, ½× {slow:.0f} steps/s"
    page.wait_for_function("() => location.search.includes('speed=2')", timeout=30_000)
    player(page).locator("select.speed").select_option(label="1×")
    page.wait_for_function("() => location.search.includes('speed=1')", timeout=30_000)


def test_keyboard_plays_pauses_and_steps(session):
    page, _, _ = session
    play = button(page, "play")
    play.focus()
    was = state(page)["playing"]
    page.keyboard.press("Space")
    assert state(page)["playing"] != was, "Space on the focused play button toggles playback"
    if state(page)["playing"] == "1":
        page.keyboard.press("Space")
    here = frame(page)
    player(page).locator("button.back").focus()
    page.keyboard.press("ArrowRight")
    assert frame(page) > here, "→ steps forward"
    page.keyboard.press("Home")
    assert frame(page) == 0
    page.keyboard.press("End")
    assert frame(page) == 1000
    slider = player(page).locator("input.step")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    stride = player(page).evaluate("e => e.__player.stride")
    assert frame(page) == 1000 - stride, "the step slider answers the arrow keys, one recorded step at a time"


def test_legend_picks_one_optimizer_on_both_panels(session):
    page, _, _ = session
    label = legend_label(page, "Lion")
    page.mouse.click(label["left"] + 3, label["top"] + 3)
    page.wait_for_timeout(300)
    lines = [i for i in items(page) if i["type"] == "line" and i["series"] and i["opacity"] > 0]
    by_panel: dict[str, set] = {}
    for line in lines:
        panel = "loss" if "loss" in line["name"] else "map"
        by_panel.setdefault(panel, set()).add((line["series"], round(line["opacity"], 2)))
    for panel in ("map", "loss"):
        shown = by_panel[panel]
        assert ("Lion", 1.0) in shown, f"{panel}: Lion stays at full strength"
        assert all(o < 0.5 for s, o in shown if s != "Lion"), f"{panel}: the others are dimmed"
    page.keyboard.down("Shift")  # shift-click toggles Lion off again: nothing picked, everything at full strength
    page.mouse.click(label["left"] + 3, label["top"] + 3)
    page.keyboard.up("Shift")
    page.wait_for_timeout(300)
    assert player(page).evaluate("e => e.__player.view.data('pick_store').length") == 0


def test_hover_shows_name_step_loss_and_position(session):
    page, _, _ = session
    heads = [i for i in items(page) if i["type"] == "symbol" and i["series"] == "Adam" and i["opacity"] > 0.5]
    assert heads, "Adam's head is drawn"
    head = heads[0]
    page.mouse.move(head["left"], head["top"])
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5_000)
    text = tooltip.inner_text()
    for word in ("optimizer", "step", "loss", "x", "y"):
        assert word in text
    page.mouse.move(5, 5)


def test_clicking_the_map_restarts_the_race_there_and_the_url_keeps_it(session):
    page, _, _ = session
    box = surface_box(page)
    x, y = page_point(box, 0.2, 0.2)
    page.mouse.click(x, y)
    page.wait_for_function("() => location.search.includes('start=')", timeout=60_000)
    page.wait_for_selector("text=picked on the map", timeout=60_000)
    wait_for_run(page)
    starts = player(page).evaluate(
        "e => e.__player.data.spec.hconcat[0].layer.find(l => l.mark && l.mark.size === 150).data.values[0]")
    assert starts["x"] < -1.0 and starts["y"] > 2.0, f"the drawn start moved to the clicked corner: {starts}"
    assert state(page)["playing"] == "1" and frame(page) < 500, "the new race plays from its start"
