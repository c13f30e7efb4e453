"""Every page in a real browser at three widths (a phone, a tablet, a laptop): the checks and the page pool that the
test_pages_*_browser.py modules share. Each module takes a group of pages (by their menu group, descent_ui.links),
so pytest-xdist can run the groups on different workers; every page belongs to exactly one module.

Checks, at each width: no exception, nothing wider than the window, no chart wider than its container, no raw
markup a reader should never see (``$``, ``{{``, backticks, the word None), no text cut off without an ellipsis and
its full text on hover, every chart drawn, every race's loss panel spanning the whole race inside its canvas, and
on a log loss axis no tick labels crowding each other.

How a page is visited: opened fresh by its address on a phone-sized window and inspected once it has finished
running (Streamlit's status widget gone, every race player and Vega chart drawn, and the document unchanged for a
second); the same page is then widened to a tablet and a laptop (the window resized, as when a tablet turns) and
inspected again once every player has laid itself out for its new width and the document has been still for a
moment. One script run per page. Several pages are visited at once (separate tabs of one browser, driven in turn
from this thread, each waiting in the browser rather than on fixed sleeps), so one page's script run and drawing
overlap another's waits; each test then asserts on what its page showed at its width.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pytest

from live_server import launch_browser, streamlit_app

WIDTHS = (390, 768, 1400)
AHEAD = 3  # pages open at once: enough to overlap one page's waits with another's work on two shared cores
LOAD_TIMEOUT_S, RESIZE_TIMEOUT_S = 120.0, 60.0
LOAD_QUIET_MS, RESIZE_QUIET_MS = 1000, 500  # how long the document must stay unchanged before a page is inspected

TIMING = bool(os.environ.get("DESCENT_BROWSER_TIMING"))  # print how long each page took to be ready, per width

# Pages whose raw-markup findings belong to files this test's authors do not own; each xfail names the file.
KNOWN: dict[str, str] = {}

OTHER = "*"  # in a module's groups: every group no other module names


def page_groups() -> dict[str, list[str]]:
    """Page addresses ("" for home) by menu group, in menu order."""
    from descent_ui.links import pages

    groups: dict[str, list[str]] = {}
    for entry in pages():
        groups.setdefault(entry.group, []).append(entry.url_path if entry.url_path != "home" else "")
    return groups


# The groups each module checks; OTHER catches groups added later, so no page goes unchecked.
MODULE_GROUPS = {
    "basics": ("Start", "Foundations", "Momentum", "Adaptive rates"),
    "adam": ("The Adam family", "Frontier", "After Adam"),
    "practice": ("Practice", "Quiz", OTHER),
}


def page_paths(module: str) -> list[str]:
    groups = page_groups()
    named = {g for gs in MODULE_GROUPS.values() for g in gs}
    wanted = MODULE_GROUPS[module]
    return [path for group, paths in groups.items() for path in paths
            if group in wanted or (OTHER in wanted and group not in named)]


# What a reader sees as text: text nodes outside formulas (KaTeX), code, and hidden elements.
VISIBLE_TEXT = """() => {
  const root = document.querySelector('[data-testid="stMain"]') || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || el.closest('.katex, code, pre, script, style, [data-testid="stCode"], textarea, input')) continue;
    if (!el.checkVisibility || !el.checkVisibility()) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  return out;
}"""

GEOMETRY = """() => {
  const doc = document.scrollingElement;
  const wide = [];
  const check = (el, container, what) => {
    const w = el.getBoundingClientRect().width, c = container.getBoundingClientRect().width;
    if (w > c + 1) wide.push(`${what} ${Math.round(w)} px in ${Math.round(c)} px`);
  };
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')) {
    const canvas = chart.querySelector('canvas, svg.marks');
    if (canvas) check(canvas, chart.parentElement, 'chart');
  }
  const players = [], lossAxes = [];
  for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
    const player = host.shadowRoot && host.shadowRoot.querySelector('.player');
    if (!player) continue;
    const canvas = player.querySelector('canvas');
    players.push({ready: player.dataset.ready === '1', drawn: !!canvas && canvas.width > 0});
    if (canvas) check(canvas, host, 'race player');
    // The loss panel's step axis runs from 0 to the race's last step and is drawn inside the canvas.
    const view = player.__player && player.__player.view;
    if (canvas && view && player.__player.data.meta.panels === 2) {
      const steps = player.__player.steps;
      const group = view.scenegraph().root.items[0].items.find(m => m.name === 'loss_group');
      const panel = group && group.items[0];
      let domain = null, range = null;
      try { domain = view.scale('loss_x').domain(); range = view.scale('loss_x').range(); } catch (e) {}
      const [ox] = view.origin();
      const right = panel ? ox + panel.x + panel.width : Infinity;
      if (!panel || !domain || domain[0] !== 0 || domain[1] !== steps || Math.abs(range[1] - panel.width) > 1
          || right > canvas.getBoundingClientRect().width + 1) {
        lossAxes.push(`loss axis ${JSON.stringify(domain)} over ${panel && Math.round(panel.width)} px ending at `
                      + `${Math.round(right)} px of ${Math.round(canvas.getBoundingClientRect().width)} (race of ${steps})`);
      }
    }
  }
  // Text cut off by a box that hides its overflow: allowed only with an ellipsis and the full text on hover.
  const clipped = [];
  for (const el of (document.querySelector('[data-testid="stMain"]') || document.body).querySelectorAll('*')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    if (el.closest('.katex, [data-testid="stCode"], pre') || !el.checkVisibility()) continue;
    let box = null;
    for (let a = el, i = 0; a && i < 4; a = a.parentElement, i++) {
      const s = getComputedStyle(a);
      if ((s.overflowX === 'hidden' || s.overflowX === 'clip') && a.scrollWidth > a.clientWidth + 1) { box = a; break; }
    }
    if (!box) continue;
    // Only text that itself runs past the box's edge (a box may overflow because of a wide formula beside it).
    const cut = box === el || el.scrollWidth > el.clientWidth + 1
      || el.getBoundingClientRect().right > box.getBoundingClientRect().right + 1;
    if (!cut) continue;
    const ellipsis = [el, box].some(e => getComputedStyle(e).textOverflow === 'ellipsis');
    const hover = el.closest('[title], [data-testid="stTooltipHoverTarget"]');
    if (!(ellipsis && hover)) clipped.push(el.innerText.slice(0, 80));
  }
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')]
    .filter(c => c.checkVisibility())  // a chart in a closed expander is drawn when opened
    .map(c => { const m = c.querySelector('canvas, svg.marks'); return !!m && m.getBoundingClientRect().width > 0; });
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide, players, charts, lossAxes, clipped,
          exceptions: document.querySelectorAll('[data-testid="stException"]').length,
          errors: [...document.querySelectorAll('[data-testid="stAlertContentError"]')].map(e => e.innerText)};
}"""

SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  if (!document.querySelector('[data-testid="stMain"] h1, [data-testid="stMain"] h2')) return false;
  for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
    const p = host.shadowRoot && host.shadowRoot.querySelector('.player');
    if (!p || p.dataset.ready !== '1') return false;
  }
  for (const c of document.querySelectorAll('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')) {
    const m = c.querySelector('canvas, svg.marks');
    if (!m) return false;
    if (c.checkVisibility() && !(m.getBoundingClientRect().width > 0)) return false;  // re-embedding (a rerun, a resize)
  }
  return true;
}"""


COUNT = """() => document.querySelectorAll('[data-testid="stBidiComponentIsolated"], [data-testid="stVegaLiteChart"],'
  + ' [data-testid="stArrowVegaLiteChart"], [data-testid="stMarkdown"]').length"""


# Every race player has laid itself out for the width it now has (the player re-embeds on resize, after a pause).
RELAID = """() => {
  for (const host of document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')) {
    const p = host.shadowRoot && host.shadowRoot.querySelector('.player');
    if (!p || p.dataset.ready !== '1' || p.dataset.embedding === '1') return false;
    if (Math.abs(Number(p.dataset.laidOut) - Math.floor(p.getBoundingClientRect().width)) >= 2) return false;
  }
  return true;
}"""



# Installed before any of a page's own scripts: the time of the document's last change (light DOM; the players draw
# inside their shadow roots, which this does not see).
WATCH_CHANGES = """
window.__lastChange = performance.now();
new MutationObserver(() => { window.__lastChange = performance.now(); })
  .observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
"""

# Ready to inspect: settled (and, after a resize, every player re-laid out), with neither the document nor the count
# of its charts, players and text blocks changed for `quiet` ms.
READY = """([quiet, relaid]) => {
  const settled = (%s)(), laid = !relaid || (%s)(), count = (%s)(), now = performance.now();
  if (window.__readyCount !== count) { window.__readyCount = count; window.__readySince = now; }
  if (!settled || !laid) { window.__readySince = now; return false; }
  return now - Math.max(window.__readySince, window.__lastChange || 0) >= quiet;
}""" % (SETTLED.strip(), RELAID.strip(), COUNT.strip())


def settle(page, quiet_ms: int = LOAD_QUIET_MS, timeout_ms: int = 120_000) -> None:
    """Wait (in the browser) until the page is ready to inspect: its script has run, every player and chart is drawn,
    and nothing changed for ``quiet_ms`` (React mounts elements a moment after the run ends; the players then load
    and embed). Without WATCH_CHANGES installed, "nothing changed" is the count of charts, players and text blocks."""
    page.wait_for_function(READY, arg=[quiet_ms, False], timeout=timeout_ms, polling=100)


def raw_markup(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        # "None" as a value (a cell, "x=None", "(None, 1)"), not the English word ("None of these ...").
        if "$" in text or "{{" in text or "`" in text or re.search(r"(?:^|[=:(\[,]\s*)None\b(?!\s+of\b)", text):
            found.append(text[:120])
    return found


class Visit:
    """One page through its widths: load, wait until ready, inspect, widen, wait, inspect, ... then close."""

    def __init__(self, browser, url: str, path: str, widths: list[int]):
        self.path, self.widths, self.seen, self.error = path, widths, {}, None
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": widths[0], "height": 900})
        self.page.add_init_script(WATCH_CHANGES)
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.relaid, self.quiet, self.nudged = False, LOAD_QUIET_MS, False
        self.deadline = time.monotonic() + LOAD_TIMEOUT_S
        self.since = time.perf_counter()
        self.page.goto(f"{url}/{path}", wait_until="commit")

    @property
    def done(self) -> bool:
        return self.page is None

    def step(self) -> bool:
        """Look once (no waiting); inspect and move on when ready. True when something moved on."""
        width = self.widths[len(self.seen)]
        try:
            if not self.page.evaluate(READY, [self.quiet, self.relaid]):
                if time.monotonic() > self.deadline:
                    if self.relaid and not self.nudged:
                        # Under load a window resize can reach a player before it has finished its first layout,
                        # and it then never hears of the new width: resize once more (same check, same width).
                        self.nudged = True
                        self.page.set_viewport_size({"width": width + 1, "height": 900})
                        self.page.set_viewport_size({"width": width, "height": 900})
                        self.deadline = time.monotonic() + RESIZE_TIMEOUT_S
                        return False
                    raise TimeoutError(f"{self.path or 'home'} at {width} px never settled")
                return False
            if TIMING:
                print(f"[pages] {self.path or 'home'} {width} px ready after {time.perf_counter() - self.since:.2f} s",
                      file=sys.stderr)
            geometry = self.page.evaluate(GEOMETRY)
            if not all(p["ready"] and p["drawn"] for p in geometry["players"]) and time.monotonic() <= self.deadline:
                # A player began again between the ready check and this look (under load a late rerun re-mounts
                # it): wait for it, as for any other player; past the deadline the test reports what it saw.
                self.page.evaluate("() => { window.__readySince = performance.now(); }")
                return False
            self.seen[width] = {"viewport": self.page.viewport_size["width"], "geometry": geometry,
                                "texts": self.page.evaluate(VISIBLE_TEXT), "problems": list(self.problems)}
            if len(self.seen) == len(self.widths):
                self.close()
            else:
                self.page.set_viewport_size({"width": self.widths[len(self.seen)], "height": 900})
                self.page.evaluate("() => { window.__readySince = performance.now(); }")  # quiet from the resize on
                self.relaid, self.quiet, self.nudged = True, RESIZE_QUIET_MS, False
                self.deadline = time.monotonic() + RESIZE_TIMEOUT_S
                self.since = time.perf_counter()
        except Exception as error:  # noqa: BLE001 - reported by the tests of the widths not inspected
            self.error = error
            self.close()
        return True

    def close(self):
        if self.page is not None:
            try:
                self.page.close()
            finally:
                self.page = None


class PagePool:
    """Visits pages, AHEAD at a time, in the order the tests ask for them; ``observe`` returns what one showed."""

    def __init__(self, browser, url: str, plan: list[tuple[str, list[int]]]):
        self.browser, self.url = browser, url
        self.queue, self.visits, self.active = list(plan), {}, []

    def _fill(self):
        while self.queue and len(self.active) < AHEAD:
            path, widths = self.queue.pop(0)
            visit = Visit(self.browser, self.url, path, widths)
            self.visits[path] = visit
            self.active.append(visit)

    def observe(self, path: str, width: int) -> dict:
        if path not in self.visits and not any(p == path for p, _ in self.queue):
            self.queue.insert(0, (path, [width]))  # not planned (a test asked out of order)
        elif path not in self.visits:  # planned later: start it now
            entry = next(e for e in self.queue if e[0] == path)
            self.queue.remove(entry)
            self.queue.insert(0, entry)
        while True:
            self._fill()
            visit = self.visits.get(path)
            if visit is not None and (width in visit.seen or visit.done):
                break
            moved = False
            for v in list(self.active):
                moved |= v.step()
                if v.done:
                    self.active.remove(v)
            if not moved:
                time.sleep(0.05)
        if width in visit.seen:
            return visit.seen[width]
        if visit.error is not None:
            raise visit.error
        raise LookupError(f"{path or 'home'} was not planned at {width} px")

    def close(self):
        for visit in self.active:
            visit.close()


def pool_fixture(request):
    """The module's pool (one server, one browser), planned from the tests collected in that module."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    plan: dict[str, list[int]] = {}
    for item in request.session.items:
        if item.module is request.module and hasattr(item, "callspec") and "path" in item.callspec.params:
            params = item.callspec.params
            if params["path"] not in KNOWN:
                plan.setdefault(params["path"], [])
                if params["width"] not in plan[params["path"]]:
                    plan[params["path"]].append(params["width"])
    with streamlit_app() as url, playwright_api.sync_playwright() as p:
        browser = launch_browser(p)
        pool = PagePool(browser, url, [(path, sorted(widths)) for path, widths in plan.items()])
        try:
            yield pool
        finally:
            pool.close()
            browser.close()


def check_page(pages: PagePool, path: str, width: int) -> None:
    if path in KNOWN:
        pytest.xfail(KNOWN[path])
    shown = pages.observe(path, width)
    assert shown["viewport"] == width
    seen, texts, problems = shown["geometry"], shown["texts"], shown["problems"]
    assert not problems, f"script errors: {problems}"
    assert seen["exceptions"] == 0 and not seen["errors"], seen["errors"]
    assert seen["scrollWidth"] <= seen["clientWidth"] + 1, f"the page scrolls sideways: {seen}"
    assert not seen["wide"], seen["wide"]
    assert all(p["ready"] and p["drawn"] for p in seen["players"]), seen["players"]
    assert all(seen["charts"]), "every chart is drawn"
    assert not seen["lossAxes"], seen["lossAxes"]
    assert not seen["clipped"], f"text cut off without an ellipsis and its full text on hover: {seen['clipped']}"
    assert not raw_markup(texts), raw_markup(texts)
