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

    python bench/bench_server.py --mode websocket [--clients 30] [--json out.json]

4. The same concurrency measured on the server alone: each client is a websocket that speaks Streamlit's own
   protocol (``/_stcore/stream``, one ``BackMsg.rerun_script`` with the page's URL path and query string, as the
   browser's first message is) and renders nothing. A client's page time runs from opening the socket to the
   ``ForwardMsg.script_finished`` (successfully) of its run; every client must have received deltas, the page it
   asked for (the ``navigation`` message names the running page) and no exception element, else the benchmark
   fails. (a) one client alone opening a new grand race (median of ``--baseline``), (b) ``--clients`` clients at
   once, each a new race, (c) the same clients again with the same settings (now cached), against one client alone
   opening a cached race, (d) a section page with race figures (``/momentum``), once alone and then by every
   client at once. Bytes are the ForwardMsg payloads a client received (after websocket decompression). The
   server's own CPU time over each phase (from /proc) says whether it was busy computing or waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
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
RACE_PATH, SECTION_PATH = "grand_race", "momentum"  # descent_ui.links: the pages' url_path
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


def race_query(i: int) -> str:
    """The query string of a grand race no one has asked for yet: its own landscape, seed and noise."""
    return f"landscape={LANDSCAPES[i % len(LANDSCAPES)]}&noise=0.5&seed={1000 + i}"


def race_address(base: str, i: int) -> str:
    return f"{base}/{RACE_PATH}?{race_query(i)}"


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


# ---- 4. websocket clients: Streamlit's protocol, nothing rendered ------------------------------------------------

class PageRunError(RuntimeError):
    """A websocket client's page did not run as a reader's would (an exception, no elements, another page)."""


def _elements(msg) -> list:
    """The elements a delta ForwardMsg carries (a new element, or the elements of a transient)."""
    delta = msg.delta
    kind = delta.WhichOneof("type")
    if kind == "new_element":
        return [delta.new_element]
    if kind == "new_transient":
        return list(delta.new_transient.elements)
    return []


async def ws_visit(port: int, path: str, query: str = "", timeout: float = 900.0) -> dict:
    """Open one session on ``/_stcore/stream`` and run page ``path`` with ``query`` as a browser's first message
    does; return the times (s, from opening the socket) and what came back. Raises PageRunError unless the page
    ran to the end with elements and without an exception."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    began = time.perf_counter()
    async with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                       ping_interval=None, open_timeout=timeout, close_timeout=5) as ws:
        opened = time.perf_counter()
        back = BackMsg()
        state = back.rerun_script  # what the frontend's first sendRerunBackMsg holds: no page hash yet, the path
        state.query_string = query
        state.page_name = path
        state.page_script_hash = ""
        state.widget_states.SetInParent()
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url = f"http://127.0.0.1:{port}/{path}" + (f"?{query}" if query else "")
        info.is_embedded, info.color_scheme = False, "light"
        await ws.send(back.SerializeToString())
        received = deltas = runs = 0
        first_delta = None
        kinds: collections.Counter = collections.Counter()
        exceptions, headings, alerts, pages = [], [], [], {}
        running_hash = None
        while True:
            data = await asyncio.wait_for(ws.recv(), timeout)
            received += len(data)
            msg = ForwardMsg.FromString(data)
            which = msg.WhichOneof("type")
            if which == "new_session":
                running_hash = msg.new_session.page_script_hash or running_hash
                pages.update({page.page_script_hash: page.url_pathname for page in msg.new_session.app_pages})
            elif which == "navigation":
                running_hash = msg.navigation.page_script_hash or running_hash
                pages.update({page.page_script_hash: page.url_pathname for page in msg.navigation.app_pages})
            elif which == "page_not_found":
                raise PageRunError(f"/{path}: page not found ({msg.page_not_found.page_name!r})")
            elif which == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
                raise PageRunError(f"/{path}: script compilation exception {msg.session_event}")
            elif which == "delta":
                deltas += 1
                first_delta = first_delta or time.perf_counter()
                for element in _elements(msg):
                    kind = element.WhichOneof("type")
                    kinds[kind] += 1
                    if kind == "exception":
                        exceptions.append(f"{element.exception.type}: {element.exception.message}")
                    elif kind == "heading":
                        headings.append(element.heading.body)
                    elif kind == "alert":
                        alerts.append(element.alert.body[:80])
            elif which == "script_finished":
                runs += 1
                status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if status == "FINISHED_SUCCESSFULLY":
                    break
                if status != "FINISHED_EARLY_FOR_RERUN":
                    raise PageRunError(f"/{path}?{query}: script finished with {status}")
        finished = time.perf_counter()
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    if exceptions:
        raise PageRunError(f"/{path}?{query}: the page showed {len(exceptions)} exception(s): {exceptions[:3]}")
    if not deltas or not kinds:
        raise PageRunError(f"/{path}?{query}: no elements came back ({received} bytes)")
    ran = pages.get(running_hash)
    if ran is not None and ran != path:
        raise PageRunError(f"/{path}?{query}: the server ran /{ran} instead")
    return {"path": path, "query": query, "open_s": opened - began, "first_delta_s": (first_delta or finished) - began,
            "finished_s": finished - began, "bytes": received, "deltas": deltas, "runs": runs,
            "elements": dict(kinds), "title": headings[0] if headings else None, "alerts": alerts, "ran": ran,
            "compression": extensions or "none"}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) from /proc."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def ws_phase(server: Server, visits: list[tuple[str, str]]) -> dict:
    """Every visit at once (one session each); times, bytes and the server's CPU over the phase."""
    cpu0, wall0, load0 = cpu_seconds(server.proc.pid), time.perf_counter(), os.getloadavg()[0]
    runs = await asyncio.gather(*(ws_visit(server.port, path, query) for path, query in visits))
    wall, cpu = time.perf_counter() - wall0, cpu_seconds(server.proc.pid) - cpu0
    times = [r["finished_s"] for r in runs]
    return {"clients": len(runs), "times_s": times, "median_s": statistics.median(times), "p95_s": p95(times),
            "max_s": max(times), "first_delta_median_s": statistics.median(r["first_delta_s"] for r in runs),
            "bytes_median": statistics.median(r["bytes"] for r in runs), "deltas_median": statistics.median(
                r["deltas"] for r in runs), "elements": runs[0]["elements"], "title": runs[0]["title"],
            "alerts": runs[0]["alerts"], "ran": runs[0]["ran"], "compression": runs[0]["compression"],
            "wall_s": wall, "server_cpu_s": cpu, "load_before": load0}


async def ws_alone(server: Server, visits: list[tuple[str, str]]) -> dict:
    """The visits one after another (one client alone each time)."""
    phases = [await ws_phase(server, [visit]) for visit in visits]
    times = [p["median_s"] for p in phases]
    return {**phases[-1], "times_s": times, "median_s": statistics.median(times), "p95_s": max(times),
            "max_s": max(times), "server_cpu_s": statistics.median(p["server_cpu_s"] for p in phases),
            "clients": 1}


async def websocket_bench(clients: int, baseline: int) -> dict:
    server = Server()
    results: dict = {"clients": clients, "cores": os.cpu_count()}
    try:
        results["healthy_s"] = server.wait_healthy()
        warm = await ws_phase(server, [("", "")])  # the server's first session: imports, the frame, the home page
        results["first_home_s"] = warm["median_s"]
        await ws_phase(server, [(RACE_PATH, race_query(0))])  # the grand race's module, claims and player, once
        new = [(RACE_PATH, race_query(1 + i)) for i in range(baseline)]
        crowd = [(RACE_PATH, race_query(1 + baseline + i)) for i in range(clients)]
        rows = {
            "a_alone_new_race": await ws_alone(server, new),
            "b_concurrent_new_races": await ws_phase(server, crowd),
            "c_alone_cached_race": await ws_alone(server, new),
            "c_concurrent_cached_races": await ws_phase(server, crowd),
            "c_concurrent_one_cached_race": await ws_phase(server, [new[0]] * clients),
            "d_alone_section_first": await ws_phase(server, [(SECTION_PATH, "")]),
            "d_alone_section": await ws_alone(server, [(SECTION_PATH, "")] * baseline),
            "d_concurrent_section": await ws_phase(server, [(SECTION_PATH, "")] * clients),
        }
    finally:
        server.stop()
    for name, base in (("b_concurrent_new_races", "a_alone_new_race"),
                       ("c_concurrent_cached_races", "c_alone_cached_race"),
                       ("c_concurrent_one_cached_race", "c_alone_cached_race"),
                       ("d_concurrent_section", "d_alone_section")):
        rows[name]["median_ratio"] = rows[name]["median_s"] / rows[base]["median_s"]
        rows[name]["p95_ratio"] = rows[name]["p95_s"] / rows[base]["median_s"]
    results.update(rows)
    print(f"4. websocket clients (no rendering), {os.cpu_count()} cores, server healthy after "
          f"{results['healthy_s']:.2f} s, first home page {results['first_home_s']:.2f} s; page time = socket "
          "opened to script_finished")
    print("| phase | clients | median s | p95 s | max s | ratio (median, p95) | first delta s | KB per client | "
          "deltas | server CPU s | wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, row in rows.items():
        ratio = f"{row['median_ratio']:.1f}x, {row['p95_ratio']:.1f}x" if "median_ratio" in row else "baseline"
        print(f"| {name} | {row['clients']} | {row['median_s']:.3f} | {row['p95_s']:.3f} | {row['max_s']:.3f} | "
              f"{ratio} | {row['first_delta_median_s']:.3f} | {row['bytes_median'] / 1024:.0f} | "
              f"{row['deltas_median']:.0f} | {row['server_cpu_s']:.2f} | {row['wall_s']:.2f} |")
    for name in ("a_alone_new_race", "d_alone_section"):
        row = rows[name]
        print(f"   {name}: ran /{row['ran']} titled {row['title']!r}, elements {row['elements']}, "
              f"alerts {row['alerts']}, compression {row['compression']}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("browser", "websocket"), default="browser",
                        help="browser: sections 1-3 (chromium); websocket: section 4 (the server alone)")
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--cold", type=int, default=2, help="fresh servers per cold-start figure")
    parser.add_argument("--baseline", type=int, default=3, help="single-client races timed alone")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    if args.mode == "websocket":
        results = asyncio.run(websocket_bench(args.clients, args.baseline))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
        return
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
