"""Basins of attraction on Himmelblau: from a grid of starts, which of the four minima each optimizer reaches.

One race carries every optimizer and every start (starts are per-run), recorded only at the quarters of the race;
a run has settled at a minimum when it is within ``tolerance`` of it at both of the last two records (three
quarters through and at the end) and never left the finite numbers.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from ..landscapes import get_landscape
from ..optimizers import OPTIMIZERS
from ..race import race
from .base import Check, ViewResult

LANDSCAPE = "himmelblau"
REFERENCE = "gd"  # every map is compared with gradient descent's, which is always drawn first
BASIN_OPTIMIZERS = tuple(o for o in OPTIMIZERS if o != REFERENCE)  # what a reader may add beside it
DEFAULT_OTHERS = ("momentum", "adam", "lion")
NOT_SETTLED = "not settled"
DIFFERENT_SHARE = 0.05  # "the optimizer decides": at least one start in twenty ends elsewhere than under GD
FLOW_SHARE = 0.98  # "GD's basins are the landscape's": halving its step changes the end of at most 2% of starts


def minimum_labels() -> list[str]:
    return [f"({x:.3g}, {y:.3g})".replace("-", "−") for x, y in get_landscape(LANDSCAPE).minima]


def start_grid(grid: int) -> np.ndarray:
    """Cell centres of a grid × grid tiling of the landscape's bounds, row by row from the bottom: (grid², 2)."""
    (x0, x1), (y0, y1) = get_landscape(LANDSCAPE).bounds
    xs = x0 + (np.arange(grid) + 0.5) * (x1 - x0) / grid
    ys = y0 + (np.arange(grid) + 0.5) * (y1 - y0) / grid
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def settled_at(paths: np.ndarray, diverged_at: np.ndarray, minima: np.ndarray, tolerance: float) -> np.ndarray:
    """Index of the minimum each run settled at (within ``tolerance`` at its last two recorded points), −1 if none.
    ``paths`` (..., points, 2)."""
    last, before = paths[..., -1, :], paths[..., -2, :]
    near_last = np.linalg.norm(last[..., None, :] - minima, axis=-1)  # (..., minima)
    near_before = np.linalg.norm(before[..., None, :] - minima, axis=-1)
    which = near_last.argmin(-1)
    stays = (np.take_along_axis(near_last, which[..., None], -1)[..., 0] <= tolerance) & (
        np.take_along_axis(near_before, which[..., None], -1)[..., 0] <= tolerance)
    return np.where(stays & (diverged_at < 0), which, -1)


def basin_map(others: tuple[str, ...] = DEFAULT_OTHERS, grid: int = 40, steps: int = 300,
              tolerance: float = 0.25) -> ViewResult:
    """GD and up to three ``others`` from every start of a grid × grid grid on Himmelblau, at each optimizer's tuned
    learning rate: one batched race (record every quarter), plus GD at half its rate for twice the steps."""
    unknown = [o for o in others if o not in BASIN_OPTIMIZERS]
    if unknown or len(others) > 3 or len(set(others)) != len(others):
        raise ValueError(f"choose up to three distinct optimizers besides GD from the registry, got {list(others)}")
    if steps % 4:
        raise ValueError(f"steps must be a multiple of 4 (recorded every quarter), got {steps}")
    surface = get_landscape(LANDSCAPE)
    opts = (REFERENCE, *others)
    starts = start_grid(grid)
    minima = np.array(surface.minima)
    began = time.perf_counter()
    result = race(surface, list(opts), steps=steps, starts=starts, record=steps // 4, dtype=torch.float64, device="cpu")
    gd_lr = float(result.hparams[REFERENCE]["lr"])
    halved = race(surface, [REFERENCE], steps=2 * steps, starts=starts, record=steps // 2,
                  hparams={REFERENCE: {"lr": gd_lr / 2}}, dtype=torch.float64, device="cpu")
    runtime = time.perf_counter() - began

    reached = settled_at(result.paths, result.diverged_at, minima, tolerance)  # (opts, runs)
    reached_halved = settled_at(halved.paths, halved.diverged_at, minima, tolerance)[0]
    labels = minimum_labels()
    names = [OPTIMIZERS[o].name for o in opts]
    categories = labels + [NOT_SETTLED]
    frame = pd.DataFrame({
        "optimizer": pd.Categorical(np.repeat(names, len(starts)), categories=names),
        "x": np.tile(starts[:, 0], len(opts)).astype(np.float32),
        "y": np.tile(starts[:, 1], len(opts)).astype(np.float32),
        "basin": pd.Categorical.from_codes(np.where(reached < 0, len(labels), reached).ravel(), categories=categories),
        "final_loss": result.losses[..., -1].ravel().astype(np.float32),
    })
    counts = pd.DataFrame({name: np.bincount(np.where(reached[i] < 0, len(labels), reached[i]), minlength=len(categories))
                           for i, name in enumerate(names)}, index=categories)
    lrs = {o: float(result.hparams[o]["lr"]) for o in opts}
    checks = _checks(opts, names, reached, reached_halved, starts, minima, labels)
    return ViewResult(
        frames={"starts": frame, "counts": counts.rename_axis("minimum").reset_index()}, checks=checks,
        settings={"surface": "Himmelblau, f = (x² + y − 11)² + (x + y² − 7)²",
                  "starts": f"{grid}×{grid} grid of cell centres over [−5, 5]²", "steps": str(steps),
                  "learning rates": ", ".join(f"{OPTIMIZERS[o].name} η = {lrs[o]:g}" for o in opts)
                  + " (each optimizer's tuned rate on Himmelblau; other hyperparameters at their defaults)",
                  "settled": f"within {tolerance:g} of a minimum at steps {3 * steps // 4} and {steps}",
                  "runs": f"{len(opts)} optimizers × {len(starts):,} starts in one race, plus GD at η/2 for "
                          f"{2 * steps} steps", "dtype": "float64"},
        facts={"lrs": lrs, "optimizers": opts, "names": names, "labels": labels, "grid": grid,
               "runs": len(opts) * len(starts)},
        runtime_s=runtime)


def _checks(opts, names, reached, reached_halved, starts, minima, labels) -> tuple[Check, ...]:
    unsettled = {name: int((reached[i] < 0).sum()) for i, name in enumerate(names)}
    nearest = [int(np.argmin(np.linalg.norm(starts - m, axis=1))) for m in minima]  # the start next to each minimum
    strays = [f"{name} from beside {labels[k]}" for i, name in enumerate(names) for k, s in enumerate(nearest)
              if i > 0 and reached[i, s] != k]
    gd_strays = [f"from beside {labels[k]}" for k, s in enumerate(nearest) if reached[0, s] != k]
    different = {name: float(np.mean(reached[i] != reached[0])) for i, name in enumerate(names) if i > 0}
    same_flow = float(np.mean(reached_halved == reached[0]))
    runs = reached.shape[1]
    return (
        Check("all_settled", "Every start reaches one of the four Himmelblau minima; a start that does not is marked "
              "not settled.", sum(unsettled.values()) == 0,
              "not settled: " + ", ".join(f"{name} {n} of {runs}" for name, n in unsettled.items()),
              float(sum(unsettled.values())), 0.0),
        Check("own_basin", "Gradient descent keeps the start next to each minimum at that minimum (a step that "
              "follows the gradient cannot jump out; one of about η per coordinate, like Adam's or Lion's, can).",
              not gd_strays, ("GD keeps all four" if not gd_strays else "GD strays: " + "; ".join(gd_strays))
              + ("; others: " + "; ".join(strays) if strays else "; every other optimizer keeps them too"),
              float(len(gd_strays)), 0.0),
        Check("optimizer_decides", "The optimizer, not only the start, picks the basin: each of the others sends at "
              f"least {DIFFERENT_SHARE:.0%} of the starts to a different minimum than GD.",
              bool(different) and min(different.values()) >= DIFFERENT_SHARE,
              ", ".join(f"{name} {share:.1%}" for name, share in different.items()) or "no other optimizer chosen",
              min(different.values(), default=0.0), DIFFERENT_SHARE),
        Check("gd_is_the_flow", "GD's map is the landscape's own (the gradient flow's): at half the step for twice the "
              f"steps, at least {FLOW_SHARE:.0%} of the starts reach the same minimum.", same_flow >= FLOW_SHARE,
              f"{same_flow:.1%} of {runs:,} starts agree", same_flow, FLOW_SHARE),
    )
