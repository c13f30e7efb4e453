"""Take the README's screenshots in headless Debian chromium against a live server:

    python docs/screenshots/take_screenshots.py

Home, a section with a race (momentum) and the grand race, each on a phone (390 px) and a laptop (1400 px), saved
as PNG next to this file. A race is shown at its last step (every trail drawn); each picture is the window's view
with the race in it, palette-reduced when needed so a file stays under 300 KB.
"""

from __future__ import annotations

import io
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from live_server import launch_browser, streamlit_app  # noqa: E402

LIMIT = 300 * 1024
SHOTS = {  # name: (address, height of the window, what to scroll to; None: the top of the page)
    "home": ("", 900, None),
    "momentum": ("momentum", 1000, ".player[data-ready='1']"),
    "grand-race": ("grand_race", 1100, ".player[data-ready='1']"),
}
WIDTHS = (390, 1400)


def settle(page) -> None:
    from page_checks import settle as wait_until_drawn

    wait_until_drawn(page)


def save(png: bytes, path: pathlib.Path) -> int:
    from PIL import Image

    if len(png) > LIMIT:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        for colours in (256, 128, 64):
            buffer = io.BytesIO()
            image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
            png = buffer.getvalue()
            if len(png) <= LIMIT:
                break
    path.write_bytes(png)
    return len(png)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with streamlit_app() as url, sync_playwright() as p:
        browser = launch_browser(p)
        for name, (address, height, target) in SHOTS.items():
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(f"{url}/{address}", wait_until="domcontentloaded")
                page.wait_for_selector("[data-testid=stApp]", timeout=120_000)
                page.wait_for_timeout(800)
                settle(page)
                if target:
                    player = page.locator(target).first
                    player.scroll_into_view_if_needed()
                    player.locator("button.play").focus()
                    page.keyboard.press("End")  # the whole race drawn, paused at its last step
                    player.evaluate("e => e.scrollIntoView({block: 'start'})")
                    page.evaluate("() => { window.scrollBy(0, -140); const m = document.querySelector('[data-testid=stMain]');"
                                  " if (m) m.scrollBy(0, -140); }")  # the claim above the player stays in view
                    page.wait_for_timeout(600)
                path = HERE / f"{name}-{width}.png"
                size = save(page.screenshot(), path)
                print(f"{path.relative_to(ROOT)}: {size / 1024:.0f} KB")
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
