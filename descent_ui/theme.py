"""Colours, dashes and head shapes for every optimizer, and the colour map of loss surfaces.

With 26 optimizers no single hue list stays legible, so the palette is built like a map of the guide: one hue per
family (greys for plain descent, blues for momentum, greens for the adaptive rates, reds and oranges for the Adam
family, purples for the frontier, browns for the rules after Adam), a different shade for each member, and on top of
the shade a dash pattern for its trail and loss curve and a shape for its moving head. Two members of a family that
share a shade never share a dash, so every path can be told apart by more than colour alone (which is what keeps the
palette usable with red-green colour blindness: hue tells the family, dash and shape tell the member).

A race of at most four series (a figure comparing two or three rules, or one rule at three settings) does not need
the family map; it needs contrast. ``series_styles`` gives such races colours from the Okabe-Ito set, keeping an
optimizer's own family colour where no other series needs it.

Surfaces are drawn light where the loss is low and in a cool grey-blue where it is high, so trails of any hue (each
drawn on a white casing) stand out on every part of the picture and on the loss panel's white background alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import descent_core as dc

FAMILY_SHADES: dict[str, tuple[str, ...]] = {
    "Foundations": ("#343a40", "#6c757d"),
    "Momentum": ("#1c5fa8", "#3d8fd6"),
    "Adaptive rates": ("#1b7a3a", "#37a04d", "#6aa82a"),
    "The Adam family": ("#c92a2a", "#e8590c", "#a61e4d", "#f08c00", "#e64980"),
    "Frontier": ("#6a1fb5", "#ae3ec9", "#8458d6", "#5c2a8a", "#c2255c", "#9b59d0"),
    "After Adam": ("#7a4a12", "#a86a1c", "#c48a2c", "#8d6e63", "#5d4037", "#b07b3b", "#946c00", "#6d5a2e"),
}
DASHES: tuple[tuple[int, ...], ...] = ((), (7, 3), (2, 2), (9, 3, 2, 3), (4, 4), (1, 3), (12, 4), (5, 2, 1, 2))
SHAPES: tuple[str, ...] = ("circle", "square", "triangle-up", "diamond", "triangle-down", "cross", "triangle-right",
                           "triangle-left")
# Okabe & Ito's colour-blind-safe set (black left out: the darkest family shades already use it).
CONTRAST = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
FALLBACK = "#212529"


@dataclass(frozen=True)
class Style:
    color: str
    dash: tuple[int, ...]
    shape: str


def _registry_styles() -> dict[str, Style]:
    styles, seen = {}, {family: 0 for family in FAMILY_SHADES}
    for opt, spec in dc.OPTIMIZERS.items():
        shades = FAMILY_SHADES.get(spec.family, (FALLBACK,))
        k = seen.get(spec.family, 0)
        seen[spec.family] = k + 1
        styles[opt] = Style(shades[k % len(shades)], DASHES[k % len(DASHES)], SHAPES[k % len(SHAPES)])
    return styles


OPTIMIZER_STYLES: dict[str, Style] = _registry_styles()
OPTIMIZER_COLORS: dict[str, str] = {opt: style.color for opt, style in OPTIMIZER_STYLES.items()}


def color_of(opt_id: str) -> str:
    return OPTIMIZER_COLORS.get(opt_id, FALLBACK)


def style_of(opt_id: str) -> Style:
    return OPTIMIZER_STYLES.get(opt_id, Style(FALLBACK, (), "circle"))


def series_styles(owners: list[str]) -> list[Style]:
    """The style of each drawn series, given the optimizer id that owns it (an id repeats for a sweep's runs).

    Up to four series: contrasting colours, an optimizer keeping its family colour when it is the only series of
    its family; solid lines, one head shape per series. More: the family map (each optimizer's own style)."""
    if len(owners) > 4:
        return [style_of(opt) for opt in owners]
    families = [dc.OPTIMIZERS[opt].family if opt in dc.OPTIMIZERS else opt for opt in owners]
    alone = [families.count(f) == 1 for f in families]
    colors: list[str | None] = [style_of(opt).color if ok else None for opt, ok in zip(owners, alone)]
    spare = iter(c for c in CONTRAST if not any(_close(c, used) for used in colors if used))
    colors = [c if c is not None else next(spare, FALLBACK) for c in colors]
    return [Style(color, (), SHAPES[i]) for i, color in enumerate(colors)]


def _close(a: str, b: str, limit: float = 60.0) -> bool:
    """True when two colours are near each other in RGB (so a contrast colour is not a family colour's twin)."""
    ra = np.array([int(a[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    rb = np.array([int(b[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return float(np.linalg.norm(ra - rb)) < limit


# Loss surface: near-white at the lowest loss, through pale blue-grey to a cool slate at the highest.
_SURFACE_ANCHORS = np.array([
    [0.985, 0.988, 0.992],
    [0.902, 0.929, 0.953],
    [0.792, 0.839, 0.882],
    [0.675, 0.737, 0.800],
    [0.553, 0.624, 0.702],
    [0.435, 0.510, 0.596],
])


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB bytes (..., 3) by interpolating the surface anchors."""
    v = np.clip(np.nan_to_num(values, nan=1.0), 0.0, 1.0) * (len(_SURFACE_ANCHORS) - 1)
    low = np.floor(v).astype(int).clip(0, len(_SURFACE_ANCHORS) - 2)
    frac = (v - low)[..., None]
    rgb = _SURFACE_ANCHORS[low] * (1 - frac) + _SURFACE_ANCHORS[low + 1] * frac
    return (rgb * 255).round().astype(np.uint8)


# Streamlit draws a page link's label on one line and cuts it with an ellipsis; on a phone, where there is no hover
# to read the rest, the guide's long section titles (the home route list, a section's footer links) lost their
# ends. These rules let a link's label wrap instead.
READER_CSS = """<style>
[data-testid="stPageLink-NavLink"] { height: auto; min-height: 2rem; }
[data-testid="stPageLink-NavLink"] span, [data-testid="stPageLink-NavLink"] p {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere; }
</style>"""


def apply_reader_css() -> None:
    """Add ``READER_CSS`` to the page (a style-only ``st.html`` takes no room in the layout)."""
    import streamlit as st

    st.html(READER_CSS)
