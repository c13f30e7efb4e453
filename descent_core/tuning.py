"""Choosing a learning rate per optimizer on a surface: one batched sweep, scored, with a margin from divergence.

Used for the built-in landscapes (``bench/tune_landscapes.py`` writes ``tuned.py``) and for surfaces users type.
A setting's score is the mean over steps of log10(loss - f_min): getting low early and staying low both count.
The chosen rate is the best one whose two larger neighbours on the grid also behave, so float32 rounding or
another start cannot tip it over the edge of stability. Other hyperparameters stay at their defaults, except that
Muon's and Sophia's default weight decay (0.1) is set to 0: decay pulls towards the origin, where a surface's
minimum rarely is; SOAP rotates its 2-D point (``precondition_1d``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .landscapes import Landscape
from .optimizers import OPTIMIZERS
from .race import Race, race

LR_RANGE = {"adadelta": (0.05, 200.0), "lars": (0.05, 500.0)}  # rules whose natural lr is far above 1
DEFAULT_LR_RANGE = (1e-5, 10.0)
FIXED_HPARAMS = {
    "muon": {"weight_decay": 0.0}, "sophia": {"weight_decay": 0.0},
    # SOAP leaves a vector unrotated unless asked (pytorch_optimizer's default, precondition_1d=False), which on a
    # 2-D point would make it a delayed Adam; the races on the surfaces show its eigenbasis of the 2 x 2 statistic.
    "soap": {"precondition_1d": True},
}


def lr_grid(opt_id: str, points: int) -> np.ndarray:
    """The learning rates tried for ``opt_id``: log-spaced over its range."""
    low, high = LR_RANGE.get(opt_id, DEFAULT_LR_RANGE)
    return np.geomspace(low, high, points)


def tuning_scores(result: Race, index: int) -> np.ndarray:
    """Per-run score of one optimizer in a sweep (lower is better). A run that wanders three region-widths from
    the centre scores 1e6, a diverged one inf."""
    gap = np.maximum(result.losses[index] - result.landscape.minimum_value, 1e-12)
    value = np.log10(gap).mean(axis=-1)
    (x0, x1), (y0, y1) = result.landscape.bounds
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    wandered = np.abs(result.paths[index] - centre).max(axis=(-1, -2)) > 3 * max(x1 - x0, y1 - y0)
    return np.where(result.diverged_at[index] >= 0, np.inf, np.where(wandered, 1e6, value))


def pick_stable(scores: np.ndarray) -> int:
    """Index of the best score whose two larger neighbours are stable too: a margin from the edge of divergence."""
    stable = np.isfinite(scores) & (scores < 1e6)
    safe = stable & np.append(stable[1:], False) & np.append(stable[2:], [False, False])
    if not safe.any():
        return int(np.argmin(np.where(stable, scores, np.inf))) if stable.any() else 0
    return int(np.argmin(np.where(safe, scores, np.inf)))


def tune(landscape: Landscape, optimizers=None, *, steps: int, points: int) -> dict[str, dict[str, float]]:
    """{optimizer id: hyperparameters} for ``landscape``, from one race sweeping ``points`` rates per optimizer."""
    ids = list(OPTIMIZERS) if optimizers is None else list(optimizers)
    hparams = {opt: {**FIXED_HPARAMS.get(opt, {}), "lr": lr_grid(opt, points)} for opt in ids}
    untuned = dataclasses.replace(landscape, tuned={})
    result = race(untuned, ids, steps=steps, hparams=hparams, device="cpu")
    tuned = {}
    for i, opt in enumerate(ids):
        best = pick_stable(tuning_scores(result, i))
        tuned[opt] = {**FIXED_HPARAMS.get(opt, {}), "lr": float(f"{lr_grid(opt, points)[best]:.3g}")}
    return tuned
