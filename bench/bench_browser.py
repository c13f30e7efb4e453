"""Browser-side figures for the race charts, measured in headless Debian chromium against a live server.

    python bench/bench_browser.py

Prints, for the grand race (every optimizer, Rosenbrock, 1000 steps):
- animation frames per second while playing: pictures the race player (descent_ui/race_player.js) finished
  drawing per second, read from its ``data-renders`` counter (target >= 25),
- how far the race advanced in that time, at 1x (50 recorded steps per second),
- bytes the server sends over the websocket while the race plays (target: 0),
- the player's payload: spec and surface JSON plus its Arrow tables (target < 150 KB),
and for every page, the server-side run time of a warm rerun (AppTest: the second run of the page; target 50 ms).
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from live_server import launch_browser, streamlit_app  # noqa: E402

PLAYER = ".player[data-ready='1']"


def chart_payload_bytes(steps: int = 1000) -> int:
    import pyarrow as pa

    import descent_core as dc
    from descent_ui.race_chart import player_data

    data = player_data(dc.race("rosenbrock", list(dc.OPTIMIZERS), steps=steps), show_loss=True)
    tables = {k: v for k, v in data.items() if hasattr(v, "to_numpy")}
    total = len(json.dumps({k: v for k, v in data.items() if k not in tables}).encode())
    for frame in tables.values():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        total += sink.getvalue().size
    return total


def browser_figures(seconds: float = 4.0) -> dict:
    from playwright.sync_api import sync_playwright

    with streamlit_app() as url, sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        received: list[tuple[float, int]] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(
            (time.monotonic(), len(data) if isinstance(data, (bytes, str)) else 0))))
        page.goto(f"{url}/grand_race?landscape=rosenbrock&steps=1000&speed=1", wait_until="domcontentloaded")
        page.wait_for_selector(PLAYER, timeout=120_000)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stApp]').dataset.testScriptState === 'notRunning'",
            timeout=120_000)
        player = page.locator(PLAYER).first
        player.scroll_into_view_if_needed()
        player.locator("button.replay").click()  # from step 0, playing
        page.wait_for_timeout(500)
        read = lambda: player.evaluate("e => [Number(e.dataset.renders || 0), Number(e.dataset.frame)]")  # noqa: E731
        (renders0, frame0), start = read(), time.monotonic()
        page.wait_for_timeout(int(seconds * 1000))
        (renders1, frame1), elapsed = read(), time.monotonic() - start
        during = sum(size for t, size in received if start <= t <= start + elapsed)
        browser.close()
    return {"fps": round((renders1 - renders0) / elapsed, 1), "steps_per_second": round((frame1 - frame0) / elapsed, 1),
            "websocket_bytes_during_playback": during, "frames_rendered": renders1 - renders0}


def warm_page_runs() -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    from descent_ui.links import pages as all_pages

    pages = [entry.path for entry in all_pages()]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    timings = {}
    for path in pages:
        at.switch_page(path)
        at.run()  # first visit: fills the caches
        samples = []
        for _ in range(3):
            start = time.perf_counter()
            at.run()
            samples.append(time.perf_counter() - start)
        timings[path] = round(statistics.median(samples) * 1e3, 1)
    return timings


def main() -> None:
    payload = chart_payload_bytes()
    print(f"grand race chart payload (spec + Arrow datasets): {payload / 1024:.1f} KB (target < 150 KB)")
    figures = browser_figures()
    print(f"animation: {figures['fps']} fps in headless chromium (target >= 25), "
          f"{figures['steps_per_second']} steps/s at 1x; "
          f"websocket bytes while playing: {figures['websocket_bytes_during_playback']} (target 0)")
    timings = warm_page_runs()
    for path, ms in timings.items():
        print(f"  warm server run {path}: {ms} ms")
    print(f"slowest warm page run: {max(timings.values())} ms (target 50 ms)")
    print(json.dumps({"payload_bytes": payload, **figures, "warm_runs_ms": timings}))


if __name__ == "__main__":
    main()
