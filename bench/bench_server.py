"""The server as a reader meets it, timed by a real browser (Debian's chromium through Playwright; never downloaded).

    python bench/bench_server.py                  # everything below
    python bench/bench_server.py --clients 30 --cold 2 --json out.json

1. Cold start: the time from ``streamlit run app.py`` to a drawn home page, and, on another fresh server, to a
   drawn deep link (the grand race) that is the server's very first request. Reported with the time the server took
   to answer its health check, and whether Streamlit's raw page list was ever put on the page.
2. First visit of a deep link on a running server (a section page, ``/adam``), then a second visit of it.
3. Concurrency: 30 clients (one browser context each, all in one chromium) open the grand race at once, each with
   its own settings (landscape, seed and gradient noise from the URL: nothing cached), against a single client
   opening such a race alone, measured on the same server in the same run. Median and p95 time-to-drawn, and both
   as ratios to the single-client baseline. Then the same with every client (and the baseline) opening one race
   that is already cached: what the caches buy.

"Drawn" is the moment the page, once it has run, shows its title and every race player and Vega chart on it has
drawn, provided it stays so for 0.75 s (the moment is taken at the start of that stretch, in the page's own clock).
Server, browser and this script share one machine (here 2 shared cores): 30 clients means 30 pages rendering as
well as 30 races, so the ratio says more than the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from live_server import free_port, launch_browser  # noqa: E402

# Runs before the page's own scripts, on every document: notes when the page first became drawn (and stayed so),
# and whether Streamlit's own page list was ever in the document.
WATCH = """
window.__drawn = null;
window.__nativeNavSeen = false;
const drawnNow = () => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return null;
  if (!document.querySelector('[data-testid="stMain"] h1')) return null;
  const hosts = document.querySelectorAll('[data-testid="stBidiComponentIsolated"]');
  for (const host of hosts) {
    const p = host.shadowRoot && host.shadowRoot.querySelector('.player');
    if (!p || p.dataset.ready !== '1') return null;
  }
  const charts = document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]');
  for (const c of charts) if (!c.querySelector('canvas, svg.marks')) return null;
  return hosts.length + ',' + charts.length + ',' + document.querySelectorAll('[data-testid="stMarkdown"]').length;
};
setInterval(() => {
  if (document.querySelector('[data-testid="stSidebarNav"], [data-testid="stSidebarNavItems"]')) {
    window.__nativeNavSeen = true;
  }
  const shape = drawnNow();
  if (shape === null) window.__drawn = null;
  else if (!window.__drawn || window.__drawn.shape !== shape) window.__drawn = {at: Date.now(), shape};
}, 20);
"""
STEADY_MS = 750
LANDSCAPES = ("beale", "rosenbrock", "ravine", "himmelblau", "saddle", "rotated_ravine", "rastrigin")


class Server:
    """``streamlit run app.py`` on a free loopback port; ``started`` is the wall-clock time of the command."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_healthy(self, timeout: float = 120.0) -> float:
        """Seconds from the command to the first healthy answer."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return time.time() - self.started
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("streamlit did not become healthy") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop this server's own process only."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.add_init_script(WATCH)
    return page


def open_address(page, url: str) -> float:
    """Start loading ``url``; returns the wall-clock time the navigation began."""
    began = time.time()
    page.goto(url, wait_until="commit", timeout=120_000)
    return began


def drawn_at(page, timeout_ms: int = 300_000) -> float:
    """Wall-clock time (s) at which the page became drawn and stayed so."""
    page.wait_for_function(f"() => window.__drawn && Date.now() - window.__drawn.at > {STEADY_MS}",
                           timeout=timeout_ms, polling=50)
    return page.evaluate("window.__drawn.at") / 1000


def cold_start(browser, path: str) -> dict:
    """A fresh server; the browser asks for ``path`` as soon as the server answers."""
    server = Server()
    try:
        healthy = server.wait_healthy()
        page = new_page(browser)
        began = open_address(page, f"{server.url}/{path}")
        done = drawn_at(page)
        result = {"path": path or "/", "healthy_s": healthy, "drawn_s": done - server.started,
                  "request_to_drawn_s": done - began, "raw_page_list_seen": page.evaluate("window.__nativeNavSeen"),
                  "title": page.locator("[data-testid=stMain] h1").first.inner_text()}
        page.context.close()
        return result
    finally:
        server.stop()


def visit(browser, url: str) -> float:
    page = new_page(browser)
    began = open_address(page, url)
    seconds = drawn_at(page) - began
    page.context.close()
    return seconds


def race_address(base: str, i: int) -> str:
    """A grand race no one has asked for yet: its own landscape, seed and noise."""
    return f"{base}/grand_race?landscape={LANDSCAPES[i % len(LANDSCAPES)]}&noise=0.5&seed={1000 + i}"


def concurrent(browser, base: str, clients: int, offset: int | None) -> list[float]:
    """Every client opens its own new race (``offset`` numbers them), or, with ``offset=None``, the one race all
    of them share (already cached)."""
    pages = [new_page(browser) for _ in range(clients)]
    addresses = [race_address(base, 0 if offset is None else offset + i) for i in range(clients)]
    began = [open_address(page, address) for page, address in zip(pages, addresses)]
    times = [drawn_at(page) - start for page, start in zip(pages, began)]
    for page in pages:
        page.context.close()
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--cold", type=int, default=2, help="fresh servers per cold-start figure")
    parser.add_argument("--baseline", type=int, default=3, help="single-client races timed alone")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict = {}
    with sync_playwright() as p:
        browser = launch_browser(p)
        for path, name in (("", "home"), ("grand_race", "deep_link")):
            runs = [cold_start(browser, path) for _ in range(args.cold)]
            results[f"cold_{name}"] = runs
            for run in runs:
                print(f"1. cold start, first request {run['path']}: healthy after {run['healthy_s']:.2f} s, drawn "
                      f"{run['drawn_s']:.2f} s after `streamlit run` ({run['request_to_drawn_s']:.2f} s after the "
                      f"request); raw page list shown: {run['raw_page_list_seen']}; title {run['title']!r}")

        server = Server()
        try:
            server.wait_healthy()
            visit(browser, server.url)  # the server's first session: imports and the home page
            first, second = visit(browser, f"{server.url}/adam"), visit(browser, f"{server.url}/adam")
            results.update(deep_link_first_visit_s=first, deep_link_second_visit_s=second)
            print(f"2. running server, first visit of /adam: {first:.2f} s to drawn; second visit {second:.2f} s")

            visit(browser, race_address(server.url, 0))  # the grand race's module, claims and player, once
            for name, offset in (("distinct", 1 + args.baseline), ("shared", None)):
                if name == "distinct":
                    alone = [visit(browser, race_address(server.url, 1 + i)) for i in range(args.baseline)]
                    what = "a new grand race each (nothing cached)"
                else:
                    alone = [visit(browser, race_address(server.url, 0)) for _ in range(args.baseline)]
                    what = "the same grand race (cached on the server)"
                together = concurrent(browser, server.url, args.clients, offset)
                base = statistics.median(alone)
                med, tail = statistics.median(together), p95(together)
                results[f"concurrent_{name}"] = {
                    "single_client_s": alone, "clients_s": together, "single_median_s": base, "median_s": med,
                    "p95_s": tail, "median_ratio": med / base, "p95_ratio": tail / base, "clients": args.clients}
                print(f"3. {what}: one client alone {base:.2f} s to drawn (median of "
                      f"{', '.join(f'{t:.2f}' for t in alone)}); {args.clients} clients at once: median {med:.2f} s "
                      f"({med / base:.1f}x the single client), p95 {tail:.2f} s ({tail / base:.1f}x), max "
                      f"{max(together):.2f} s (target: median <= 2 s)")
        finally:
            server.stop()
        browser.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
