"""Reading and driving the race player (descent_ui/race_player.js) from Playwright.

The player lives in a shadow root (an isolated ``st.components.v2`` component); Playwright's CSS locators pierce
open shadow roots, and ``.player`` exposes its state as data attributes (frame, playing, speed, renders, layout)
and its Vega view as ``__player.view`` for reading the scenegraph (where legend entries, heads and the surface are
drawn, so a test can point the mouse at them).
"""

from __future__ import annotations

PLAYER = ".player[data-ready='1']"

# Every scenegraph item with its absolute position on the page (CSS pixels), its mark's role, type and name, its
# text (legend labels) and the series of its datum.
ITEMS_JS = """(root) => {
  const player = root.__player;
  const view = player.view;
  const canvas = root.querySelector('canvas');
  const rect = canvas.getBoundingClientRect();
  const [ox, oy] = view.origin();
  const out = [];
  const walk = (mark, gx, gy) => {
    for (const item of mark.items || []) {
      const x = gx + (item.x || 0), y = gy + (item.y || 0);
      out.push({role: mark.role, type: mark.marktype, name: mark.name || '', text: item.text ?? null,
                series: item.datum ? (item.datum.series ?? null) : null, opacity: item.opacity ?? 1,
                left: rect.left + x, top: rect.top + y, width: item.width || 0, height: item.height || 0});
      if (mark.marktype === 'group') for (const child of item.items || []) walk(child, x, y);
    }
  };
  walk(view.scenegraph().root, ox, oy);
  return out;
}"""


def player(page, index: int = 0):
    return page.locator(PLAYER).nth(index)


def state(page, index: int = 0) -> dict:
    return player(page, index).evaluate("e => ({...e.dataset})")


def frame(page, index: int = 0) -> int:
    return int(state(page, index)["frame"])


def items(page, index: int = 0) -> list[dict]:
    return player(page, index).evaluate(ITEMS_JS)


def legend_label(page, text: str, index: int = 0) -> dict:
    found = [i for i in items(page, index) if i["role"] == "legend-label" and i["text"] == text]
    assert found, f"no legend entry {text!r}"
    return found[0]


def surface_box(page, index: int = 0) -> dict:
    image = next(i for i in items(page, index) if i["type"] == "image")
    return image


def page_point(box: dict, fx: float, fy: float) -> tuple[float, float]:
    """A point inside a box given as fractions of its width and height from its top-left corner."""
    return box["left"] + fx * box["width"], box["top"] + fy * box["height"]


def wait_frame_above(page, value: int, timeout_ms: int = 20_000, index: int = 0) -> None:
    player(page, index).evaluate(
        "(e, v) => new Promise((ok, no) => { const t0 = performance.now(); const f = () => {"
        " if (Number(e.dataset.frame) > v) ok(); else if (performance.now() - t0 > %d) no(new Error('frame stuck'));"
        " else requestAnimationFrame(f); }; f(); })" % timeout_ms, value)
