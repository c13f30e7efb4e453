"""One colour per optimizer, used by every chart in the app, and the colour map of loss surfaces."""

from __future__ import annotations

import numpy as np

# Families share a hue range so a legend reads as a map of the guide: greys for plain descent, blues for momentum,
# greens for the adaptive rates, reds/oranges for the Adam family, purples/browns for the frontier.
OPTIMIZER_COLORS: dict[str, str] = {
    "gd": "#495057",
    "sgd": "#868e96",
    "momentum": "#1c7ed6",
    "nesterov": "#15aabf",
    "adagrad": "#2b8a3e",
    "rmsprop": "#66a80f",
    "adadelta": "#94d82d",
    "adam": "#e03131",
    "amsgrad": "#f76707",
    "adamw": "#c2255c",
    "nadam": "#f59f00",
    "radam": "#ff8787",
    "lion": "#7048e8",
    "lamb": "#ae3ec9",
    "lars": "#d0bfff",
    "muon": "#0b7285",
    "shampoo": "#8d6e63",
    "sophia": "#e64980",
}

# Perceptually ordered anchors (dark blue -> teal -> pale yellow): low loss is dark, so bright trails stand out.
_SURFACE_ANCHORS = np.array([
    [0.050, 0.082, 0.278],
    [0.118, 0.247, 0.463],
    [0.145, 0.451, 0.565],
    [0.298, 0.647, 0.573],
    [0.647, 0.800, 0.565],
    [0.957, 0.937, 0.745],
])


def color_of(opt_id: str) -> str:
    return OPTIMIZER_COLORS.get(opt_id, "#212529")


def colormap(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB bytes (..., 3) by interpolating the surface anchors."""
    v = np.clip(np.nan_to_num(values, nan=1.0), 0.0, 1.0) * (len(_SURFACE_ANCHORS) - 1)
    low = np.floor(v).astype(int).clip(0, len(_SURFACE_ANCHORS) - 2)
    frac = (v - low)[..., None]
    rgb = _SURFACE_ANCHORS[low] * (1 - frac) + _SURFACE_ANCHORS[low + 1] * frac
    return (rgb * 255).round().astype(np.uint8)
