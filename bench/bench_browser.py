"""Browser-side figures for the race charts, measured in headless Debian chromium against a live server.

    python bench/bench_browser.py

Prints, for the grand race (18 optimizers, 500 steps):
- animation frames per second while playing (distinct frame values the Vega timer produces per second),
- bytes the server sends over the websocket while the race plays (target: 0),
- the chart payload: spec JSON plus its Arrow datasets (target < 150 KB),
and for every page, the server-side run time of a warm rerun (AppTest, second run; target < 300 ms).
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

SLIDER = "input[type=range][name='frame']"


def chart_payload_bytes() -> int:
    import pyarrow as pa

    import descent_core as dc
    from descent_ui.race_chart import race_spec

    spec = race_spec(dc.race("rosenbrock", list(dc.OPTIMIZERS), steps=500), width=500, show_loss=True)
    datasets = spec.pop("datasets")
    total = len(json.dumps(spec).encode())
    for frame in datasets.values():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        total += sink.getvalue().size
    return total


def browser_figures() -> dict:
    from playwright.sync_api import sync_playwright

    with streamlit_app() as url, sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        received: list[tuple[float, int]] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.append(
            (time.monotonic(), len(data) if isinstance(data, (bytes, str)) else 0))))
        page.goto(f"{url}/grand_race?landscape=rosenbrock&steps=1000", wait_until="domcontentloaded")
        page.wait_for_selector(SLIDER, timeout=120_000)
        slider = page.locator(SLIDER).first
        stride = int(float(slider.get_attribute("step")))
        page.wait_for_timeout(1500)  # let the page settle after the first render
        start_frame, start = int(float(slider.input_value())), time.monotonic()
        seen = {start_frame}
        while time.monotonic() - start < 4.0:
            seen.add(int(float(slider.input_value())))
            page.wait_for_timeout(5)
        end_frame, elapsed = int(float(slider.input_value())), time.monotonic() - start
        during = sum(size for t, size in received if start <= t <= start + elapsed)
        browser.close()
    ticks = (end_frame - start_frame) / stride
    return {"fps": round(ticks / elapsed, 1), "distinct_frames_seen": len(seen),
            "websocket_bytes_during_playback": during, "frames_advanced": end_frame - start_frame}


def warm_page_runs() -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    from descent_ui.navigation import TOOLS

    pages = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("[0-9][0-9]_*.py"))
    pages += [t[0] for t in TOOLS if (ROOT / t[0]).exists()]
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
    print(f"animation: {figures['fps']} fps in headless chromium (target >= 25); "
          f"websocket bytes while playing: {figures['websocket_bytes_during_playback']} (target 0)")
    timings = warm_page_runs()
    for path, ms in timings.items():
        print(f"  warm server run {path}: {ms} ms")
    print(f"slowest warm page run: {max(timings.values())} ms (target < 300 ms)")
    print(json.dumps({"payload_bytes": payload, **figures, "warm_runs_ms": timings}))


if __name__ == "__main__":
    main()
